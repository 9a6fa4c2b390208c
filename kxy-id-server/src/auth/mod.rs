//! The admin account: bcrypt passwords (a legacy DES value accepted once), JWT tokens, the
//! refusal of well-known or short JWT secrets, and the login brake (`brake`) and hashing
//! bound (`hash_gate`) in front of every password check.
//!
//! This file holds the account itself (setup, login, the settings); `jwt` signs and checks
//! tokens and refuses weak secrets; `des` reads (and, for tests, writes) the old service's
//! DES-encrypted password. Their public items are re-exported here, where callers find them.

mod des;
mod jwt;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use kxy_id::MetaStore;
use kxy_id::store::names;

use crate::brake::LoginBrake;
use crate::error::ApiError;
use crate::hash_gate::HashGate;
use crate::redact;

pub use des::{des_decrypt_hex, des_encrypt_hex};
pub use jwt::{MIN_JWT_SECRET_BYTES, check_jwt_secret};

/// The longest password bcrypt reads; longer ones are refused rather than silently cut.
pub const MAX_PASSWORD_BYTES: usize = 72;

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
        f.debug_struct("AuthSettings")
            .field("jwt_secret", &redact::secret(&self.jwt_secret))
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("jwt_expiry", &self.jwt_expiry)
            .field("des_key", &redact::REDACTED)
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
}

#[cfg(test)]
mod tests;
