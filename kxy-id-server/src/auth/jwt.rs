//! JWT tokens of the admin: signed with the configured or generated secret, checked with no
//! leeway; and the refusal of published or short secrets before any token is signed.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::Auth;
use crate::error::ApiError;
use crate::request::bearer_token;

/// The shortest configured JWT secret accepted, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// JWT secrets that were published as defaults (the old service's README and `.env.example`)
/// and so sign nothing here.
const KNOWN_DEFAULT_SECRETS: &[&str] = &[
    "your-secret-key-change-in-production",
    "your-secret-key",
    "secret",
    "changeme",
    "change-me",
];

/// Refuses a configured JWT secret that is a published default or shorter than
/// [`MIN_JWT_SECRET_BYTES`]; the message says how to make a good one (never the secret).
pub fn check_jwt_secret(secret: &str) -> Result<(), kxy_id::Error> {
    let how = "generate one with `openssl rand -base64 48`, or leave JWT_SECRET_KEY unset and \
               the server generates and keeps a random one";
    if KNOWN_DEFAULT_SECRETS
        .iter()
        .any(|d| d.eq_ignore_ascii_case(secret.trim()))
    {
        return Err(kxy_id::Error::InvalidConfig(format!(
            "JWT_SECRET_KEY is a published default secret, with which anyone can sign admin \
             tokens: {how}"
        )));
    }
    if secret.len() < MIN_JWT_SECRET_BYTES {
        return Err(kxy_id::Error::InvalidConfig(format!(
            "JWT_SECRET_KEY is {} bytes long; at least {MIN_JWT_SECRET_BYTES} are needed: {how}",
            secret.len()
        )));
    }
    Ok(())
}

/// JWT claims: the user and the expiry.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user name.
    sub: String,
    /// Expiry, seconds since the epoch.
    exp: u64,
    /// Issued at, seconds since the epoch.
    iat: u64,
}

/// Seconds since the epoch, for `iat` and `exp` (0 with a clock set before it).
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Auth {
    /// A signed token for `username`.
    pub fn issue(&self, username: &str) -> Result<String, ApiError> {
        let now = now_secs();
        let claims = Claims {
            sub: username.to_owned(),
            iat: now,
            exp: now + self.settings.jwt_expiry.as_secs(),
        };
        jsonwebtoken::encode(
            &Header::new(self.settings.jwt_algorithm),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )
        .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Checks an `Authorization` header value; the user name on success, the old service's
    /// 401 `detail` otherwise.
    pub fn verify_header(&self, header: Option<&str>) -> Result<String, ApiError> {
        let header = header.ok_or(ApiError::Unauthorized("Authorization header missing"))?;
        let token = bearer_token(header)?;
        let mut validation = Validation::new(self.settings.jwt_algorithm);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &validation)
            .map(|data| data.claims.sub)
            .map_err(|_| ApiError::Unauthorized("Invalid or expired token"))
    }
}
