//! Allocation tokens: random bearer tokens an admin creates per system code, kept only as
//! SHA-256 hashes in the metadata store, revocable. Required on allocation only when the
//! server runs with `--require-allocation-tokens`; otherwise never looked at.
//!
//! A checked token is remembered for a few seconds, so allocation does not read the store
//! on every request; a revocation takes effect at once on the server that revoked it and
//! within [`CACHE_TTL`] on the others sharing the store.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kxy_id::MetaStore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::request::bearer_token;

/// Where tokens live: `kxy:id:alloc_token:{sha256 hex}` → JSON [`TokenRecord`].
pub(crate) const TOKEN_PREFIX: &str = "kxy:id:alloc_token:";

/// How long a checked token is trusted without reading the store.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// Entries the cache keeps at most.
const CACHE_MAX: usize = 10_000;

/// A token as stored and listed (the API's answer too): never the token itself.
pub use kxy_id::wire::admin::TokenRecord;

/// Creates, lists, revokes and checks allocation tokens.
#[derive(Debug)]
pub struct AllocationTokens {
    /// Whether allocation requires a token.
    required: bool,
    /// Where tokens live.
    meta: Arc<dyn MetaStore>,
    /// The system code of recently checked hashes (`None`: no such token), and when.
    cache: RwLock<HashMap<String, (Option<String>, Instant)>>,
}

fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl AllocationTokens {
    /// Tokens over `meta`; allocation needs one when `required`.
    pub fn new(meta: Arc<dyn MetaStore>, required: bool) -> Self {
        AllocationTokens {
            required,
            meta,
            cache: RwLock::default(),
        }
    }

    /// Whether allocation requires a token.
    pub fn required(&self) -> bool {
        self.required
    }

    /// A new token for `system_code`: the record and the token, shown this once.
    pub async fn create(&self, system_code: &str) -> Result<(TokenRecord, String), ApiError> {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut bytes);
        let token = format!(
            "kxy_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let hash = sha256_hex(&token);
        let record = TokenRecord {
            id: hash[..16].to_owned(),
            system_code: system_code.to_owned(),
            created_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        let json = serde_json::to_string(&record).expect("a token record serializes");
        self.meta
            .set(&format!("{TOKEN_PREFIX}{hash}"), &json, None)
            .await?;
        Ok((record, token))
    }

    /// Every token's record, oldest first.
    pub(crate) async fn list(&self) -> Result<Vec<TokenRecord>, ApiError> {
        let mut out: Vec<TokenRecord> = self
            .meta
            .scan(TOKEN_PREFIX)
            .await?
            .into_iter()
            .filter_map(|(_, json)| serde_json::from_str(&json).ok())
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    /// Revokes the token with `id`; `false` when there is none.
    pub(crate) async fn revoke(&self, id: &str) -> Result<bool, ApiError> {
        let mut found = false;
        for (name, json) in self.meta.scan(TOKEN_PREFIX).await? {
            let record: Option<TokenRecord> = serde_json::from_str(&json).ok();
            if record.is_some_and(|r| r.id == id) {
                found |= self.meta.delete(&name).await?;
            }
        }
        self.cache
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(found)
    }

    /// Lets an allocation for `system_code` (as the caller wrote it) through: always when
    /// tokens are not required, else only with a token of that system code.
    pub(crate) async fn check(
        &self,
        authorization: Option<&str>,
        system_code: &str,
    ) -> Result<(), ApiError> {
        if !self.required {
            return Ok(());
        }
        let header = authorization.ok_or(ApiError::Unauthorized(
            "Authorization header missing: this server requires an allocation token",
        ))?;
        let token = bearer_token(header)?;
        let hash = sha256_hex(token);
        let cached = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(system, _)| system.clone());
        let system = match cached {
            Some(system) => system,
            None => {
                let system = self
                    .meta
                    .get(&format!("{TOKEN_PREFIX}{hash}"))
                    .await?
                    .and_then(|json| serde_json::from_str::<TokenRecord>(&json).ok())
                    .map(|r| r.system_code);
                let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
                cache.insert(hash, (system.clone(), Instant::now()));
                system
            }
        };
        match system {
            None => Err(ApiError::Unauthorized(
                "Invalid or revoked allocation token",
            )),
            Some(s) if s.to_lowercase() == system_code.to_lowercase() => Ok(()),
            Some(_) => Err(ApiError::handled(
                403,
                format!("The allocation token is not valid for system_code: {system_code}"),
            )),
        }
    }
}
