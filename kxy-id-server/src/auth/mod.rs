//! The admin account: bcrypt passwords (a legacy DES value accepted once), JWT tokens, the
//! refusal of well-known or short JWT secrets, and the login brake (`brake`) and hashing
//! bound (`hash_gate`) in front of every password check.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kxy_id::MetaStore;
use kxy_id::store::names;
use serde::{Deserialize, Serialize};

use crate::brake::LoginBrake;
use crate::error::ApiError;
use crate::hash_gate::HashGate;

/// The longest password bcrypt reads; longer ones are refused rather than silently cut.
pub const MAX_PASSWORD_BYTES: usize = 72;

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

/// How tokens are signed and how long they live.
#[derive(Clone)]
pub struct AuthSettings {
    /// The configured JWT secret; `None` makes the server generate one and keep it in the store.
    pub jwt_secret: Option<String>,
    /// HS256 (default), HS384 or HS512.
    pub jwt_algorithm: Algorithm,
    /// Token lifetime (default 24 h).
    pub jwt_expiry: Duration,
    /// The old service's DES key, only to read a legacy admin password (default `f87e43f9`).
    pub des_key: String,
    /// bcrypt cost (at least 10).
    pub bcrypt_cost: u32,
    /// A file on this host that records that an admin existed (`<data-dir>/admin-exists`), so
    /// that a store which lost its admin account (a Redis restarted empty) does not let the
    /// first caller of `init-user` become admin. `None` keeps no such record.
    pub admin_marker: Option<std::path::PathBuf>,
    /// Login attempts per user name and per client address before logins are refused for a
    /// while (default 5).
    pub login_attempts: u32,
    /// Password hashes run at once (0: half the cores, at least one).
    pub hash_permits: usize,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { "<redacted>" } else { "<none>" };
        f.debug_struct("AuthSettings")
            .field("jwt_secret", &redacted(self.jwt_secret.is_some()))
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("jwt_expiry", &self.jwt_expiry)
            .field("des_key", &"<redacted>")
            .field("bcrypt_cost", &self.bcrypt_cost)
            .field("admin_marker", &self.admin_marker)
            .field("login_attempts", &self.login_attempts)
            .field("hash_permits", &self.hash_permits)
            .finish()
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            jwt_secret: None,
            jwt_algorithm: Algorithm::HS256,
            jwt_expiry: Duration::from_secs(24 * 3600),
            des_key: "f87e43f9".into(),
            bcrypt_cost: 12,
            admin_marker: None,
            login_attempts: 5,
            hash_permits: 0,
        }
    }
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

/// Admin authentication over a [`MetaStore`].
#[derive(Clone)]
pub struct Auth {
    /// Where the admin account and a generated secret live.
    meta: Arc<dyn MetaStore>,
    /// Settings.
    settings: AuthSettings,
    /// The signing secret in use.
    secret: Arc<Vec<u8>>,
    /// Failed logins per user name and client address.
    brake: Arc<LoginBrake>,
    /// Bounds concurrent password hashes.
    gate: Arc<HashGate>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("algorithm", &self.settings.jwt_algorithm)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Decrypts the old service's admin password: DES-CBC, key and IV = `des_key`, PKCS5, hex.
pub fn des_decrypt_hex(hex: &str, des_key: &str) -> Option<String> {
    use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
    let key = des_key.as_bytes();
    if key.len() != 8 || !hex.len().is_multiple_of(16) || hex.is_empty() {
        return None;
    }
    let data: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let dec = cbc::Decryptor::<des::Des>::new_from_slices(key, key).ok()?;
    let plain = dec.decrypt_padded_vec_mut::<Pkcs7>(&data).ok()?;
    String::from_utf8(plain).ok()
}

/// Encrypts like the old service did (for tests that fill a store as it would).
pub fn des_encrypt_hex(plain: &str, des_key: &str) -> String {
    use cbc::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
    let key = des_key.as_bytes();
    let enc = cbc::Encryptor::<des::Des>::new_from_slices(key, key).expect("an 8-byte DES key");
    enc.encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Auth {
    /// Sets up authentication: uses the configured secret or the one kept in the store
    /// (generating and storing a random one the first time; every server sharing the store
    /// ends up with the same). A configured secret that is a published default or shorter
    /// than [`MIN_JWT_SECRET_BYTES`] is refused ([`check_jwt_secret`]).
    pub async fn new(
        meta: Arc<dyn MetaStore>,
        settings: AuthSettings,
    ) -> Result<Self, kxy_id::Error> {
        let secret = match settings.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => {
                check_jwt_secret(s)?;
                s.as_bytes().to_vec()
            }
            None => {
                use base64::Engine;
                let mut bytes = [0u8; 32];
                rand::Rng::fill(&mut rand::rng(), &mut bytes);
                let fresh = base64::engine::general_purpose::STANDARD.encode(bytes);
                meta.set_if_absent(names::JWT_SECRET, &fresh, None).await?;
                meta.get(names::JWT_SECRET)
                    .await?
                    .ok_or_else(|| {
                        kxy_id::Error::InvalidConfig("the generated JWT secret vanished".into())
                    })?
                    .into_bytes()
            }
        };
        let auth = Auth {
            meta,
            brake: Arc::new(LoginBrake::new(settings.login_attempts)),
            gate: Arc::new(HashGate::new(settings.hash_permits)),
            settings,
            secret: Arc::new(secret),
        };
        if auth.store_has_admin().await? {
            auth.record_admin()?;
        }
        Ok(auth)
    }

    async fn store_has_admin(&self) -> Result<bool, kxy_id::Error> {
        Ok(self.meta.get(names::SYSTEM_INIT).await?.as_deref() == Some("1"))
    }

    /// Writes the admin marker file (once).
    fn record_admin(&self) -> Result<(), kxy_id::Error> {
        let Some(path) = &self.settings.admin_marker else {
            return Ok(());
        };
        if path.exists() {
            return Ok(());
        }
        let io =
            |e: std::io::Error| kxy_id::Error::InvalidConfig(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(io)?;
        std::io::Write::write_all(
            &mut file,
            b"an administrator exists; `kxy-id-server reopen-init` removes this file\n",
        )
        .map_err(io)
    }

    /// Whether this host recorded that an admin existed.
    fn admin_recorded(&self) -> bool {
        self.settings
            .admin_marker
            .as_ref()
            .is_some_and(|p| p.exists())
    }

    /// `true` once an admin exists (or existed: a store that lost its admin stays closed).
    pub async fn initialized(&self) -> Result<bool, ApiError> {
        Ok(self.store_has_admin().await? || self.admin_recorded())
    }

    async fn hash(&self, password: &str) -> Result<String, ApiError> {
        let password = password.to_owned();
        let cost = self.settings.bcrypt_cost.max(10);
        self.gate
            .run(move || bcrypt::hash(password, cost))
            .await?
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// Creates the admin; 400 when one exists. Only one of concurrent callers wins.
    pub async fn init_user(&self, username: &str, password: &str) -> Result<(), ApiError> {
        if self.store_has_admin().await? {
            return Err(ApiError::handled(400, "System already initialized"));
        }
        if self.admin_recorded() {
            return Err(ApiError::handled(
                400,
                "System already initialized: an administrator existed, but the store no longer \
                 has the account (was it emptied?). Restore the store, or reopen initialization \
                 on the server's host with `kxy-id-server reopen-init`.",
            ));
        }
        let hash = self.hash(password).await?;
        // The password slot is the claim: whoever writes it first is the admin.
        if !self
            .meta
            .set_if_absent(names::SYSTEM_PASSWORD, &hash, None)
            .await?
        {
            return Err(ApiError::handled(400, "System already initialized"));
        }
        self.meta
            .set(names::SYSTEM_USERNAME, username, None)
            .await?;
        self.meta.set(names::SYSTEM_INIT, "1", None).await?;
        self.record_admin()?;
        Ok(())
    }

    /// Checks the credentials and returns a token. A legacy DES password is accepted once
    /// and replaced by a bcrypt hash. Both checks sit behind the login brake: a user name or
    /// client address with too many recent failures is refused (429) before any password is
    /// looked at.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<String, ApiError> {
        // Cheap refusals first (memory only), then the store, then the hash.
        self.gate.check_room()?;
        if !self.initialized().await? {
            return Err(ApiError::handled(
                400,
                "System not initialized. Please initialize first.",
            ));
        }
        self.brake
            .begin(username, client)
            .map_err(|r| ApiError::TooManyRequests {
                msg: format!(
                    "Too many failed logins; retry in {} seconds.",
                    r.retry_after
                ),
                retry_after: r.retry_after,
            })?;
        let stored_user = self
            .meta
            .get(names::SYSTEM_USERNAME)
            .await?
            .unwrap_or_default();
        let stored = self
            .meta
            .get(names::SYSTEM_PASSWORD)
            .await?
            .unwrap_or_default();
        let valid = if stored.starts_with("$2") {
            let (p, h) = (password.to_owned(), stored.clone());
            self.gate
                .run(move || bcrypt::verify(p, &h).unwrap_or(false))
                .await?
        } else {
            let legacy_ok =
                des_decrypt_hex(&stored, &self.settings.des_key).is_some_and(|p| p == password);
            if legacy_ok && stored_user == username {
                let hash = self.hash(password).await?;
                self.meta.set(names::SYSTEM_PASSWORD, &hash, None).await?;
                tracing::info!("replaced the legacy DES admin password with a bcrypt hash");
            }
            legacy_ok
        };
        if !valid || stored_user != username {
            return Err(ApiError::handled(401, "Invalid username or password"));
        }
        self.brake.succeeded(username, client);
        self.issue(username)
    }

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
        let mut parts = header.split_whitespace();
        let (Some(scheme), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ApiError::Unauthorized(
                "Invalid authorization header format",
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthorized("Invalid authentication scheme"));
        }
        let mut validation = Validation::new(self.settings.jwt_algorithm);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &validation)
            .map(|data| data.claims.sub)
            .map_err(|_| ApiError::Unauthorized("Invalid or expired token"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings with the lowest bcrypt cost the tests use, so hashing stays fast.
    fn fast() -> AuthSettings {
        AuthSettings {
            bcrypt_cost: 10,
            ..Default::default()
        }
    }

    /// An empty in-memory meta store.
    fn memory() -> Arc<dyn MetaStore> {
        Arc::new(kxy_id::MemoryMetaStore::new())
    }

    async fn auth_with(meta: Arc<dyn MetaStore>, settings: AuthSettings) -> Auth {
        Auth::new(meta, settings).await.unwrap()
    }

    /// `Authorization: Bearer {token}`.
    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn des_round_trips_like_the_old_service() {
        let hex = des_encrypt_hex("admin123", "f87e43f9");
        assert_eq!(hex.len() % 16, 0);
        assert_eq!(
            des_decrypt_hex(&hex, "f87e43f9").as_deref(),
            Some("admin123")
        );
        assert_eq!(des_decrypt_hex(&hex, "00000000"), None);
        assert_eq!(des_decrypt_hex("zz", "f87e43f9"), None);
    }

    #[tokio::test]
    async fn tokens_verify_and_bad_headers_say_why() {
        let meta = memory();
        let auth = auth_with(meta.clone(), fast()).await;
        let token = auth.issue("admin").unwrap();
        assert_eq!(auth.verify_header(Some(&bearer(&token))).unwrap(), "admin");
        let detail = |h: Option<&str>| match auth.verify_header(h) {
            Err(ApiError::Unauthorized(d)) => d,
            other => panic!("{other:?}"),
        };
        assert_eq!(detail(None), "Authorization header missing");
        assert_eq!(
            detail(Some(&format!("Basic {token}"))),
            "Invalid authentication scheme"
        );
        assert_eq!(
            detail(Some("Bearer")),
            "Invalid authorization header format"
        );
        assert_eq!(detail(Some("Bearer not.a.jwt")), "Invalid or expired token");
        // Another server over the same store shares the generated secret.
        let other = auth_with(meta, fast()).await;
        assert_eq!(other.verify_header(Some(&bearer(&token))).unwrap(), "admin");
        // A different secret rejects it.
        let stranger = auth_with(
            memory(),
            AuthSettings {
                jwt_secret: Some("another-secret-of-at-least-32-bytes!".into()),
                ..fast()
            },
        )
        .await;
        assert!(stranger.verify_header(Some(&bearer(&token))).is_err());
    }

    #[tokio::test]
    async fn repeated_failures_refuse_logins_even_with_the_right_password() {
        let auth = auth_with(memory(), fast()).await;
        auth.init_user("admin", "secret123").await.unwrap();
        let ip = Some(IpAddr::from([192, 0, 2, 7]));
        for _ in 0..5 {
            let e = auth.login("admin", "wrong-pw", ip).await.unwrap_err();
            assert!(matches!(e, ApiError::Handled { .. }), "{e:?}");
        }
        let e = auth.login("admin", "secret123", ip).await.unwrap_err();
        assert!(matches!(e, ApiError::TooManyRequests { .. }), "{e:?}");
        let e = auth.login("admin", "secret123", None).await.unwrap_err();
        assert!(
            matches!(e, ApiError::TooManyRequests { .. }),
            "per user name too: {e:?}"
        );
    }

    #[tokio::test]
    async fn published_default_and_short_jwt_secrets_are_refused() {
        for secret in ["your-secret-key-change-in-production", "short"] {
            let settings = AuthSettings {
                jwt_secret: Some(secret.into()),
                ..fast()
            };
            let e = Auth::new(memory(), settings).await.unwrap_err().to_string();
            assert!(e.contains("openssl rand -base64 48"), "{e}");
            assert!(!e.contains(secret), "the secret is not repeated: {e}");
        }
        let debug = format!(
            "{:?}",
            AuthSettings {
                jwt_secret: Some("a-long-enough-secret-for-signing-tokens".into()),
                ..fast()
            }
        );
        assert!(
            !debug.contains("a-long-enough") && !debug.contains("f87e43f9"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn expired_tokens_are_refused() {
        let auth = auth_with(
            memory(),
            AuthSettings {
                jwt_expiry: Duration::ZERO,
                ..fast()
            },
        )
        .await;
        let token = auth.issue("admin").unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(auth.verify_header(Some(&bearer(&token))).is_err());
    }
}
