//! [`MetaStore`]: where a server keeps everything that is not a counter.
//!
//! Database configurations, the admin account, discovered tables, failure markers,
//! initialization locks and a generated JWT secret live in the same store as the counters.
//! Names are the old service's Redis keys (`kxy:id:db_config:{guid}`, `kxy:id:system:init`, ...;
//! see [`names`]), so the Redis metadata store reads and writes exactly what the old service did.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::error::Result;

/// The names (Redis keys in the old layout) of everything a server keeps besides counters.
pub mod names {
    /// `kxy:id:db_config:` + guid → JSON `DatabaseConfig`.
    pub const DB_CONFIG_PREFIX: &str = "kxy:id:db_config:";
    /// `kxy:id:discovered_tables:` + guid → set of JSON `DiscoveredTable`.
    pub const DISCOVERED_PREFIX: &str = "kxy:id:discovered_tables:";
    /// `kxy:id:failure:` + segment key → `"1"`, expiring after 60 s.
    pub const FAILURE_PREFIX: &str = "kxy:id:failure:";
    /// `kxy:id:lock:segment:` + segment key → lock token (expiring).
    pub const LOCK_PREFIX: &str = "kxy:id:lock:segment:";
    /// `"1"` once an admin exists.
    pub const SYSTEM_INIT: &str = "kxy:id:system:init";
    /// The admin's user name.
    pub const SYSTEM_USERNAME: &str = "kxy:id:system:username";
    /// The admin's password hash (bcrypt; a legacy DES hex value from the old service).
    pub const SYSTEM_PASSWORD: &str = "kxy:id:system:password";
    /// A JWT secret generated when none is configured.
    pub const JWT_SECRET: &str = "kxy:id:system:jwt_secret";
}

/// A small key-value store with expiry and sets, enough for a server's metadata.
///
/// Every method is atomic on its own; [`set_if_absent`](Self::set_if_absent) and
/// [`delete_if_equals`](Self::delete_if_equals) make locks that work across processes.
/// An expired value behaves exactly like an absent one.
#[async_trait]
pub trait MetaStore: Send + Sync + std::fmt::Debug {
    /// Reads a value.
    async fn get(&self, name: &str) -> Result<Option<String>>;
    /// Writes a value, replacing any, expiring after `ttl` if given.
    async fn set(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<()>;
    /// Writes a value only if there is none (or it expired); `true` if written.
    async fn set_if_absent(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<bool>;
    /// Deletes a value; `true` if it existed.
    async fn delete(&self, name: &str) -> Result<bool>;
    /// Deletes a value only if it equals `value` (releasing a lock one holds); `true` if deleted.
    async fn delete_if_equals(&self, name: &str, value: &str) -> Result<bool>;
    /// Every (name, value) whose name starts with `prefix`, sorted by name.
    async fn scan(&self, prefix: &str) -> Result<Vec<(String, String)>>;
    /// The members of a set (empty if absent), sorted.
    async fn members(&self, name: &str) -> Result<Vec<String>>;
    /// Replaces a set's members (deleting it when `members` is empty).
    async fn replace_members(&self, name: &str, members: &[String]) -> Result<()>;
    /// Removes one member of a set; `true` if it was there.
    async fn remove_member(&self, name: &str, member: &str) -> Result<bool>;
}

// Only the memory and SQL stores use it; a build may leave them out.
#[allow(dead_code)]
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

// Only the memory and SQL stores use it; a build may leave them out.
#[allow(dead_code)]
pub(crate) fn expiry(ttl: Option<Duration>) -> Option<i64> {
    ttl.map(|t| now_millis().saturating_add(t.as_millis().min(i64::MAX as u128) as i64))
}
