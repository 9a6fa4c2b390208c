//! [`MetaStore`]: where a server keeps everything that is not a counter.
//!
//! Database configurations, the admin account, discovered tables, failure markers,
//! initialization locks and a generated JWT secret live in the same store as the counters.
//! Names are the old service's Redis keys (`kxy:id:db_config:{guid}`, `kxy:id:system:init`, ...;
//! see [`names`]), so a [`RedisMetaStore`] reads and writes exactly what the old service did.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
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

pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub(crate) fn expiry(ttl: Option<Duration>) -> Option<i64> {
    ttl.map(|t| now_millis().saturating_add(t.as_millis().min(i64::MAX as u128) as i64))
}

/// Metadata in process memory (tests and embedding).
#[derive(Debug, Default)]
pub struct MemoryMetaStore {
    /// Values with their expiry (milliseconds since the epoch).
    values: Mutex<BTreeMap<String, (String, Option<i64>)>>,
    /// Sets.
    sets: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl MemoryMetaStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn values(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (String, Option<i64>)>> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sets(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeSet<String>>> {
        self.sets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn live(entry: &(String, Option<i64>)) -> bool {
    entry.1.is_none_or(|at| at > now_millis())
}

#[async_trait]
impl MetaStore for MemoryMetaStore {
    async fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .values()
            .get(name)
            .filter(|e| live(e))
            .map(|e| e.0.clone()))
    }

    async fn set(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        self.values()
            .insert(name.to_owned(), (value.to_owned(), expiry(ttl)));
        Ok(())
    }

    async fn set_if_absent(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<bool> {
        let mut values = self.values();
        if values.get(name).is_some_and(live) {
            return Ok(false);
        }
        values.insert(name.to_owned(), (value.to_owned(), expiry(ttl)));
        Ok(true)
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        Ok(self.values().remove(name).is_some_and(|e| live(&e)))
    }

    async fn delete_if_equals(&self, name: &str, value: &str) -> Result<bool> {
        let mut values = self.values();
        if values.get(name).is_some_and(|e| live(e) && e.0 == value) {
            values.remove(name);
            return Ok(true);
        }
        Ok(false)
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .values()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, e)| live(e))
            .map(|(k, e)| (k.clone(), e.0.clone()))
            .collect())
    }

    async fn members(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .sets()
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn replace_members(&self, name: &str, members: &[String]) -> Result<()> {
        let mut sets = self.sets();
        if members.is_empty() {
            sets.remove(name);
        } else {
            sets.insert(name.to_owned(), members.iter().cloned().collect());
        }
        Ok(())
    }

    async fn remove_member(&self, name: &str, member: &str) -> Result<bool> {
        let mut sets = self.sets();
        let Some(set) = sets.get_mut(name) else {
            return Ok(false);
        };
        let removed = set.remove(member);
        if set.is_empty() {
            sets.remove(name);
        }
        Ok(removed)
    }
}

#[cfg(feature = "mysql")]
pub use crate::sql_meta::MySqlMetaStore;
#[cfg(feature = "postgres")]
pub use crate::sql_meta::PgMetaStore;
#[cfg(any(feature = "sqlite", feature = "mysql", feature = "postgres"))]
pub use crate::sql_meta::SqlMetaStore;
#[cfg(feature = "sqlite")]
pub use crate::sql_meta::SqliteMetaStore;

#[cfg(feature = "redis")]
pub use self::redis_store::RedisMetaStore;

#[cfg(feature = "redis")]
mod redis_store {
    use super::*;
    use ::redis::AsyncCommands;
    use ::redis::aio::ConnectionManager;

    /// Metadata in Redis, in the old service's key layout (values are strings, discovered
    /// tables are Redis sets of JSON).
    #[derive(Clone)]
    pub struct RedisMetaStore {
        /// The shared connection (usually [`RedisAllocator::connection`](crate::RedisAllocator::connection)).
        conn: ConnectionManager,
    }

    impl std::fmt::Debug for RedisMetaStore {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RedisMetaStore").finish_non_exhaustive()
        }
    }

    fn err(e: ::redis::RedisError) -> crate::Error {
        crate::Error::backend("redis", e)
    }

    impl RedisMetaStore {
        /// Uses an existing connection.
        pub fn new(conn: ConnectionManager) -> Self {
            RedisMetaStore { conn }
        }
    }

    #[async_trait]
    impl MetaStore for RedisMetaStore {
        async fn get(&self, name: &str) -> Result<Option<String>> {
            self.conn.clone().get(name).await.map_err(err)
        }

        async fn set(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
            let mut cmd = ::redis::cmd("SET");
            cmd.arg(name).arg(value);
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
            }
            cmd.query_async::<()>(&mut self.conn.clone())
                .await
                .map_err(err)
        }

        async fn set_if_absent(
            &self,
            name: &str,
            value: &str,
            ttl: Option<Duration>,
        ) -> Result<bool> {
            let mut cmd = ::redis::cmd("SET");
            cmd.arg(name).arg(value).arg("NX");
            if let Some(ttl) = ttl {
                cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
            }
            let reply: Option<String> =
                cmd.query_async(&mut self.conn.clone()).await.map_err(err)?;
            Ok(reply.is_some())
        }

        async fn delete(&self, name: &str) -> Result<bool> {
            let n: i64 = self.conn.clone().del(name).await.map_err(err)?;
            Ok(n > 0)
        }

        async fn delete_if_equals(&self, name: &str, value: &str) -> Result<bool> {
            let script = ::redis::Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end",
            );
            let n: i64 = script
                .key(name)
                .arg(value)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(err)?;
            Ok(n > 0)
        }

        async fn scan(&self, prefix: &str) -> Result<Vec<(String, String)>> {
            crate::redis::scan_values(&mut self.conn.clone(), prefix)
                .await
                .map_err(err)
        }

        async fn members(&self, name: &str) -> Result<Vec<String>> {
            let mut members: Vec<String> = self.conn.clone().smembers(name).await.map_err(err)?;
            members.sort();
            Ok(members)
        }

        async fn replace_members(&self, name: &str, members: &[String]) -> Result<()> {
            let mut pipe = ::redis::pipe();
            pipe.atomic().del(name).ignore();
            if !members.is_empty() {
                pipe.sadd(name, members).ignore();
            }
            pipe.query_async::<()>(&mut self.conn.clone())
                .await
                .map_err(err)
        }

        async fn remove_member(&self, name: &str, member: &str) -> Result<bool> {
            let n: i64 = self.conn.clone().srem(name, member).await.map_err(err)?;
            Ok(n > 0)
        }
    }
}

/// Checks every [`MetaStore`] passes, over names under `prefix`.
#[cfg(any(test, feature = "test-util"))]
pub async fn meta_store_conforms(store: &dyn MetaStore, prefix: &str) {
    let a = format!("{prefix}:a");
    assert_eq!(store.get(&a).await.unwrap(), None);
    store.set(&a, "1", None).await.unwrap();
    assert_eq!(store.get(&a).await.unwrap().as_deref(), Some("1"));
    assert!(!store.set_if_absent(&a, "2", None).await.unwrap());
    assert_eq!(store.get(&a).await.unwrap().as_deref(), Some("1"));
    assert!(!store.delete_if_equals(&a, "2").await.unwrap());
    assert!(store.delete_if_equals(&a, "1").await.unwrap());
    assert!(!store.delete(&a).await.unwrap());

    // Expiry: a value past its TTL is absent and can be taken over.
    let lock = format!("{prefix}:lock");
    assert!(
        store
            .set_if_absent(&lock, "t1", Some(Duration::from_millis(150)))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_if_absent(&lock, "t2", Some(Duration::from_secs(10)))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.get(&lock).await.unwrap(), None);
    assert!(
        store
            .set_if_absent(&lock, "t2", Some(Duration::from_secs(10)))
            .await
            .unwrap()
    );
    assert!(!store.delete_if_equals(&lock, "t1").await.unwrap());
    assert!(store.delete_if_equals(&lock, "t2").await.unwrap());

    // Only one of many concurrent takers gets a lock.
    let race = format!("{prefix}:race");
    let mut won = 0;
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let token = format!("t{i}");
            let race = race.clone();
            async move {
                store
                    .set_if_absent(&race, &token, Some(Duration::from_secs(10)))
                    .await
                    .unwrap()
            }
        })
        .collect();
    for got in futures_util::future::join_all(attempts).await {
        won += got as usize;
    }
    assert_eq!(won, 1);
    store.delete(&race).await.unwrap();

    // Scan by prefix, literally.
    let scan = format!("{prefix}:scan*:");
    store.set(&format!("{scan}b"), "B", None).await.unwrap();
    store.set(&format!("{scan}a"), "A", None).await.unwrap();
    store
        .set(&format!("{prefix}:scanx:c"), "C", None)
        .await
        .unwrap();
    let got = store.scan(&scan).await.unwrap();
    assert_eq!(
        got,
        vec![
            (format!("{scan}a"), "A".into()),
            (format!("{scan}b"), "B".into())
        ]
    );
    for (n, _) in store.scan(&format!("{prefix}:")).await.unwrap() {
        store.delete(&n).await.unwrap();
    }
    assert!(store.scan(&format!("{prefix}:")).await.unwrap().is_empty());

    // Sets.
    let set = format!("{prefix}:set");
    assert!(store.members(&set).await.unwrap().is_empty());
    store
        .replace_members(&set, &["y".into(), "x".into()])
        .await
        .unwrap();
    assert_eq!(
        store.members(&set).await.unwrap(),
        vec!["x".to_string(), "y".to_string()]
    );
    assert!(store.remove_member(&set, "x").await.unwrap());
    assert!(!store.remove_member(&set, "x").await.unwrap());
    assert_eq!(store.members(&set).await.unwrap(), vec!["y".to_string()]);
    store.replace_members(&set, &[]).await.unwrap();
    assert!(store.members(&set).await.unwrap().is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_meta_store_conforms() {
        meta_store_conforms(&MemoryMetaStore::new(), "t").await;
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_meta_store_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let alloc = crate::SqliteAllocator::open(dir.path().join("m.db"))
            .await
            .unwrap();
        let store = SqliteMetaStore::new(alloc.pool().clone()).await.unwrap();
        meta_store_conforms(&store, "t").await;
    }

    #[cfg(feature = "mysql")]
    #[tokio::test]
    async fn mysql_meta_store_conforms() {
        let Some(db) = crate::testing::TestDatabase::mysql().await else {
            return;
        };
        let alloc = crate::MySqlAllocator::connect(&db.url, Duration::from_secs(5))
            .await
            .unwrap();
        let store = MySqlMetaStore::new(alloc.pool().clone()).await.unwrap();
        meta_store_conforms(&store, "t").await;
        alloc.pool().close().await;
        db.drop_mysql().await;
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres_meta_store_conforms() {
        let Some(db) = crate::testing::TestDatabase::postgres().await else {
            return;
        };
        let alloc = crate::PgAllocator::connect(&db.url, Duration::from_secs(5))
            .await
            .unwrap();
        let store = PgMetaStore::new(alloc.pool().clone()).await.unwrap();
        meta_store_conforms(&store, "t").await;
        alloc.pool().close().await;
        db.drop_postgres().await;
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis_meta_store_conforms() {
        let Some(url) = crate::testing::redis_url().await else {
            return;
        };
        let alloc = crate::RedisAllocator::connect(&url, Duration::from_secs(5))
            .await
            .unwrap();
        let store = RedisMetaStore::new(alloc.connection());
        meta_store_conforms(&store, &crate::conformance::unique_prefix()).await;
    }
}
