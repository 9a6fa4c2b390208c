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
    hex_digest(token, &mut [0; 64]).to_owned()
}

/// The SHA-256 of `token` in lower-case hex, written into `out` (no heap: every allocation
/// with a token computes one).
fn hex_digest<'a>(token: &str, out: &'a mut [u8; 64]) -> &'a str {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in Sha256::digest(token.as_bytes()).iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 0xf)];
    }
    std::str::from_utf8(out).expect("hex digits are ASCII")
}

/// Whether a token's system code names `system_code` (case-insensitively, as keys compare).
fn same_system(token_system: &str, system_code: &str) -> bool {
    if token_system.is_ascii() && system_code.is_ascii() {
        token_system.eq_ignore_ascii_case(system_code)
    } else {
        token_system.to_lowercase() == system_code.to_lowercase()
    }
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
        let mut hex = [0; 64];
        let hash = hex_digest(token, &mut hex);
        // The cached answer, compared in place: `Some(None)` for a token that does not exist.
        let cached = self
            .cache
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(hash)
            .filter(|(_, at)| at.elapsed() < CACHE_TTL)
            .map(|(system, _)| system.as_deref().map(|s| same_system(s, system_code)));
        let allowed = match cached {
            Some(allowed) => allowed,
            None => {
                let system = self
                    .meta
                    .get(&format!("{TOKEN_PREFIX}{hash}"))
                    .await?
                    .and_then(|json| serde_json::from_str::<TokenRecord>(&json).ok())
                    .map(|r| r.system_code);
                let allowed = system.as_deref().map(|s| same_system(s, system_code));
                let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= CACHE_MAX {
                    cache.clear();
                }
                cache.insert(hash.to_owned(), (system, Instant::now()));
                allowed
            }
        };
        match allowed {
            None => Err(ApiError::Unauthorized(
                "Invalid or revoked allocation token",
            )),
            Some(true) => Ok(()),
            Some(_) => Err(ApiError::handled(
                403,
                format!("The allocation token is not valid for system_code: {system_code}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_sha256_in_lower_case_hex() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn system_codes_compare_as_keys_do() {
        assert!(same_system("Shop", "sHOP"));
        assert!(same_system("ΣΎΣΤΗΜΑ", "σύστημα"));
        assert!(!same_system("shop", "shops"));
    }
}
