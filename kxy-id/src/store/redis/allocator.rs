//! [`RedisAllocator`]: counters in Redis, in the old service's key layout.
//!
//! The scripts are `allocate.lua` and `raise.lua` beside this file.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};

use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey, check_count, check_value};

/// Where counters live: `kxy:id:segment:{system:db:table:field}`, as the old service keeps them.
pub const SEGMENT_KEY_PREFIX: &str = "kxy:id:segment:";

/// Allocates in one atomic step: a missing key is reported (nil), never created by `INCRBY`;
/// an overflow or a non-integer value makes `INCRBY` fail without changing anything.
/// The new value is read back with `GET` because Lua numbers are doubles and would round
/// values past 2^53.
const ALLOCATE_LUA: &str = include_str!("allocate.lua");

/// Raises a counter to at least ARGV[1] in one atomic step. Values are compared as decimal
/// strings (exact for all 64-bit integers), never as Lua numbers.
const RAISE_LUA: &str = include_str!("raise.lua");

/// Counters in Redis under `kxy:id:segment:{key}`, the layout of the old Python service, so
/// a server with this allocator takes over the old service's counters without a gap or a repeat.
///
/// Allocation and raising are Lua scripts (atomic on the Redis server); the connection is a
/// [`ConnectionManager`] that reconnects by itself. Durability is Redis's: with
/// `appendonly yes` and `appendfsync always` a returned segment survives a crash of Redis;
/// with snapshots only, a crash can lose the last increments and repeat IDs.
#[derive(Clone)]
pub struct RedisAllocator {
    /// The shared, reconnecting connection.
    conn: ConnectionManager,
    /// The allocation script (sent once, then called by its SHA).
    allocate: Script,
    /// The monotonic raise script.
    raise: Script,
    /// The URL without its password, for messages.
    target: String,
}

impl std::fmt::Debug for RedisAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAllocator")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl RedisAllocator {
    /// Connects to Redis at `url` (`redis://[:password@]host:port/db` or `rediss://` for TLS),
    /// failing after `timeout` when the server cannot be reached.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let target = crate::error::redact_url(url);
        let client = redis::Client::open(url)
            .map_err(|e| Error::InvalidConfig(format!("Redis URL {target}: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| Error::Connect {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self::with_connection(conn, target))
    }

    /// Uses an existing connection manager.
    pub fn with_connection(conn: ConnectionManager, target: String) -> Self {
        RedisAllocator {
            conn,
            allocate: Script::new(ALLOCATE_LUA),
            raise: Script::new(RAISE_LUA),
            target,
        }
    }

    /// The connection, for callers that keep other data in the same Redis.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    fn err(&self, e: redis::RedisError) -> Error {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
        {
            Error::Connect {
                target: self.target.clone(),
                reason: e.to_string(),
            }
        } else {
            Error::backend("redis", e)
        }
    }

    fn redis_key(key: &SegmentKey) -> String {
        format!("{SEGMENT_KEY_PREFIX}{key}")
    }

    fn parse(key: &SegmentKey, raw: String) -> Result<i64> {
        raw.parse::<i64>().map_err(|_| Error::CorruptCounter {
            key: key.to_string(),
            value: raw,
        })
    }
}

/// Every key starting with `prefix` (matched literally) and its string value, sorted by key.
/// Keys deleted between `SCAN` and `MGET` are left out.
pub(crate) async fn scan_values(
    conn: &mut ConnectionManager,
    prefix: &str,
) -> redis::RedisResult<Vec<(String, String)>> {
    let pattern = format!("{}*", glob_escape(prefix));
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    keys.sort();
    keys.dedup();
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query_async(conn).await?;
        out.extend(
            chunk
                .iter()
                .cloned()
                .zip(values)
                .filter_map(|(k, v)| v.map(|v| (k, v))),
        );
    }
    Ok(out)
}

/// Escapes Redis glob characters so that `prefix` matches literally in `SCAN MATCH`.
fn glob_escape(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 4);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[async_trait]
impl SegmentAllocator for RedisAllocator {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        check_count(count)?;
        let mut conn = self.conn.clone();
        let result: redis::RedisResult<Option<String>> = self
            .allocate
            .key(Self::redis_key(key))
            .arg(count)
            .invoke_async(&mut conn)
            .await;
        match result {
            Ok(Some(raw)) => Ok(Segment::ending_at(Self::parse(key, raw)?, count)),
            Ok(None) => Err(Error::KeyNotFound {
                key: key.to_string(),
            }),
            Err(e) if e.to_string().contains("overflow") => {
                let current = self.get(key).await?.unwrap_or_default();
                Err(Error::Overflow {
                    key: key.to_string(),
                    current,
                    count,
                })
            }
            Err(e) if e.to_string().contains("not an integer") => {
                let value: Option<String> = conn
                    .get(Self::redis_key(key))
                    .await
                    .map_err(|e| self.err(e))?;
                Err(Error::CorruptCounter {
                    key: key.to_string(),
                    value: value.unwrap_or_default(),
                })
            }
            Err(e) => Err(self.err(e)),
        }
    }

    async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
        check_value(value)?;
        let mut conn = self.conn.clone();
        let (status, raw): (String, String) = self
            .raise
            .key(Self::redis_key(key))
            .arg(value)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.err(e))?;
        match status.as_str() {
            "created" => Ok(RaiseOutcome::Created { value }),
            "raised" => Ok(RaiseOutcome::Raised { value }),
            "ahead" => Ok(RaiseOutcome::AlreadyAhead {
                current: Self::parse(key, raw)?,
            }),
            _ => Err(Error::CorruptCounter {
                key: key.to_string(),
                value: raw,
            }),
        }
    }

    async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
        check_value(value)?;
        let mut conn = self.conn.clone();
        let created: bool = redis::cmd("SET")
            .arg(Self::redis_key(key))
            .arg(value)
            .arg("NX")
            .query_async::<Option<String>>(&mut conn)
            .await
            .map_err(|e| self.err(e))?
            .is_some();
        if created {
            Ok(())
        } else {
            Err(Error::AlreadyExists {
                key: key.to_string(),
            })
        }
    }

    async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
        let mut conn = self.conn.clone();
        let raw: Option<String> = conn
            .get(Self::redis_key(key))
            .await
            .map_err(|e| self.err(e))?;
        raw.map(|raw| Self::parse(key, raw)).transpose()
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
        let mut conn = self.conn.clone();
        let full_prefix = format!("{SEGMENT_KEY_PREFIX}{prefix}");
        let mut counters = Vec::new();
        for (k, v) in scan_values(&mut conn, &full_prefix)
            .await
            .map_err(|e| self.err(e))?
        {
            let name = &k[SEGMENT_KEY_PREFIX.len()..];
            match v.parse::<i64>() {
                Ok(value) => counters.push(Counter {
                    key: name.to_owned(),
                    value,
                }),
                Err(_) => tracing::warn!(
                    key = name,
                    "skipping a counter that does not hold an integer"
                ),
            }
        }
        Ok(counters)
    }

    async fn delete(&self, key: &SegmentKey) -> Result<bool> {
        let mut conn = self.conn.clone();
        let removed: i64 = conn
            .del(Self::redis_key(key))
            .await
            .map_err(|e| self.err(e))?;
        Ok(removed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_characters_are_escaped() {
        assert_eq!(glob_escape("a*b?c[d]e\\f"), "a\\*b\\?c\\[d\\]e\\\\f");
    }
}

#[cfg(test)]
mod service_tests {
    use std::sync::Arc;

    use super::*;
    use crate::testing::allocator as conformance;

    async fn allocator() -> Option<RedisAllocator> {
        let url = crate::testing::redis_url().await?;
        Some(
            RedisAllocator::connect(&url, Duration::from_secs(5))
                .await
                .unwrap(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_allocator_conforms_with_two_connections() {
        let Some(a) = allocator().await else { return };
        let Some(b) = allocator().await else { return };
        conformance::run_all(Arc::new(a), Arc::new(b), &conformance::unique_prefix()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reserving_over_redis_conforms() {
        let Some(a) = allocator().await else { return };
        let Some(b) = allocator().await else { return };
        let opts = crate::ReserveOptions {
            min_block: 5,
            max_block: 40,
            ..Default::default()
        };
        let a = Arc::new(crate::ReservingAllocator::new(Arc::new(a), opts.clone()));
        let b = Arc::new(crate::ReservingAllocator::new(Arc::new(b), opts));
        conformance::run_all_reserving(a, b, &conformance::unique_prefix()).await;
    }

    #[tokio::test]
    async fn counters_use_the_old_service_layout() {
        let Some(a) = allocator().await else { return };
        let system = conformance::unique_prefix();
        let key = SegmentKey::new(&system, "Shop", "Orders", "ID").unwrap();
        // The old service wrote plain integers with INCRBY / SET.
        let mut conn = a.connection();
        let raw_key = format!("kxy:id:segment:{system}:shop:orders:id");
        let _: () = conn.set(&raw_key, "9007199254740993").await.unwrap();
        assert_eq!(
            a.allocate(&key, 10).await.unwrap(),
            Segment {
                start: 9007199254740994,
                end: 9007199254741003
            }
        );
        let raw: String = conn.get(&raw_key).await.unwrap();
        assert_eq!(raw, "9007199254741003");
        conformance::cleanup(&a, &system).await;
    }

    #[tokio::test]
    async fn a_corrupt_counter_is_reported_and_left_alone() {
        let Some(a) = allocator().await else { return };
        let system = conformance::unique_prefix();
        let key = SegmentKey::new(&system, "db", "tp_keycloak_account", "id").unwrap();
        let mut conn = a.connection();
        let raw_key = format!("kxy:id:segment:{key}");
        let uuid = "0b7e8c1a-2f7d-4c55-9a55-6b1e7b0b9d11";
        let _: () = conn.set(&raw_key, uuid).await.unwrap();
        assert!(
            matches!(a.allocate(&key, 1).await, Err(Error::CorruptCounter { ref value, .. }) if value == uuid)
        );
        assert!(matches!(
            a.raise_to(&key, 5).await,
            Err(Error::CorruptCounter { .. })
        ));
        assert!(matches!(
            a.get(&key).await,
            Err(Error::CorruptCounter { .. })
        ));
        let raw: String = conn.get(&raw_key).await.unwrap();
        assert_eq!(raw, uuid);
        // Listing skips it rather than failing.
        assert!(a.list(&format!("{system}:")).await.unwrap().is_empty());
        let _: () = conn.del(&raw_key).await.unwrap();
    }

    #[tokio::test]
    async fn unreachable_redis_is_a_connect_error() {
        let err = RedisAllocator::connect("redis://:secret@127.0.0.1:1/", Duration::from_secs(1))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Connect { .. }), "{msg}");
        assert!(
            msg.contains("127.0.0.1:1") && !msg.contains("secret"),
            "{msg}"
        );
    }
}
