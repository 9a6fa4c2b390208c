//! The admin account: bcrypt passwords (a legacy DES value accepted once), JWT tokens and
//! a brake on repeated failed logins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kxy_id::MetaStore;
use kxy_id::store::names;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// How tokens are signed and how long they live.
#[derive(Debug, Clone)]
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

/// Failed logins per user name, to slow down guessing.
#[derive(Debug, Default)]
struct Failures {
    /// (failures in the window, start of the window) per user name.
    by_user: HashMap<String, (u32, Instant)>,
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
    /// Recent failures.
    failures: Arc<Mutex<Failures>>,
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
    /// ends up with the same).
    pub async fn new(
        meta: Arc<dyn MetaStore>,
        settings: AuthSettings,
    ) -> Result<Self, kxy_id::Error> {
        let secret = match settings.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => s.as_bytes().to_vec(),
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
            settings,
            secret: Arc::new(secret),
            failures: Arc::default(),
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
        std::fs::write(
            path,
            "an administrator exists; `kxy-id-server reopen-init` removes this file\n",
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
        tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
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
    /// and replaced by a bcrypt hash.
    pub async fn login(&self, username: &str, password: &str) -> Result<String, ApiError> {
        if !self.initialized().await? {
            return Err(ApiError::handled(
                400,
                "System not initialized. Please initialize first.",
            ));
        }
        self.brake(username).await;
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
            tokio::task::spawn_blocking(move || bcrypt::verify(p, &h).unwrap_or(false))
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?
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
            self.record_failure(username);
            return Err(ApiError::handled(401, "Invalid username or password"));
        }
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_user
            .remove(username);
        self.issue(username)
    }

    /// Waits before answering a user name with recent failures: 0 s for the first three,
    /// then 1, 2, 4, ... seconds (at most 8) within a 15-minute window.
    async fn brake(&self, username: &str) {
        let delay = self.brake_delay(username);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// How long the next login of `username` waits, from its recent failures.
    fn brake_delay(&self, username: &str) -> Duration {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match f.by_user.get(username) {
            Some((_, since)) if since.elapsed() > Duration::from_secs(900) => {
                f.by_user.remove(username);
                Duration::ZERO
            }
            Some((n, _)) if *n > 3 => Duration::from_secs(1 << (n - 4).min(3)),
            _ => Duration::ZERO,
        }
    }

    fn record_failure(&self, username: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if f.by_user.len() > 10_000 {
            f.by_user.clear();
        }
        let entry = f
            .by_user
            .entry(username.to_owned())
            .or_insert((0, Instant::now()));
        entry.0 += 1;
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
                jwt_secret: Some("x".into()),
                ..fast()
            },
        )
        .await;
        assert!(stranger.verify_header(Some(&bearer(&token))).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_failures_slow_the_next_logins_down_until_a_success() {
        let auth = auth_with(memory(), fast()).await;
        auth.init_user("admin", "secret123").await.unwrap();
        let mut delays = Vec::new();
        for _ in 0..8 {
            delays.push(auth.brake_delay("admin").as_secs());
            auth.record_failure("admin");
        }
        assert_eq!(delays, [0, 0, 0, 0, 1, 2, 4, 8]);
        assert_eq!(
            auth.brake_delay("someone-else"),
            Duration::ZERO,
            "per user name"
        );
        // Waits, then succeeds, and the slate is clean again.
        let started = tokio::time::Instant::now();
        auth.login("admin", "secret123").await.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(8));
        assert_eq!(auth.brake_delay("admin"), Duration::ZERO);
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
