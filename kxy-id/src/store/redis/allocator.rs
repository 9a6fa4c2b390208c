//! [`RedisAllocator`]: counters in Redis, in the old service's key layout.
//!
//! The scripts are `allocate.lua` and `raise.lua` beside this file.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, Script};

use super::connection::RedisConnection;
use super::guard::LossGuard;
use super::scan::scan_values;

use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey, check_count, check_value};

/// Where counters live: `kxy:id:segment:{system:db:table:field}`, as the old service keeps them.
pub const SEGMENT_KEY_PREFIX: &str = "kxy:id:segment:";

/// Beside each counter with a durable mark: the `run_id` of the Redis process in which the
/// counter was last checked against its mark.
pub(super) const VERIFIED_PREFIX: &str = "kxy:id:verified:";

/// Allocates in one atomic step: a missing key is reported (nil), never created by `INCRBY`;
/// an overflow or a non-integer value makes `INCRBY` fail without changing anything.
/// The new value is read back with `GET` because Lua numbers are doubles and would round
/// values past 2^53.
const ALLOCATE_LUA: &str = concat!(include_str!("compare.lua"), include_str!("allocate.lua"));

/// Raises a counter to at least ARGV[1] in one atomic step. Values are compared as decimal
/// strings (exact for all 64-bit integers), never as Lua numbers.
const RAISE_LUA: &str = concat!(include_str!("compare.lua"), include_str!("raise.lua"));

/// Raises a counter to its durable mark and records the `run_id` of the Redis process in the
/// counter's marker, in one atomic step.
const VERIFY_LUA: &str = concat!(include_str!("compare.lua"), include_str!("verify.lua"));

/// Counters in Redis under `kxy:id:segment:{key}`, the layout of the old Python service, so
/// a server with this allocator takes over the old service's counters without a gap or a repeat.
///
/// Allocation and raising are Lua scripts (atomic on the Redis server), run over a
/// [`RedisConnection`] that reconnects by itself and notices when Redis is another process than
/// before (restarted, restored from a snapshot, failed over).
///
/// # Durability
///
/// Redis acknowledges before its disk does, so on its own it can lose the last increments.
/// With [`with_marks`](Self::with_marks) (a durable SQL store of high-water marks, the server's
/// `--durable-store`), every ID handed out is first covered by a durable mark and a changed
/// Redis restarts each counter from its mark: losing Redis costs a gap, never a repeat. Without
/// marks, a changed Redis, a vanished counter or one that went back makes allocation fail with
/// [`Error::DataLoss`] until [`recover`](Self::recover) raises every counter.
#[derive(Clone)]
pub struct RedisAllocator {
    /// The shared, reconnecting, incarnation-checking connection.
    pub(super) conn: RedisConnection,
    /// The allocation script (sent once, then called by its SHA).
    allocate: Script,
    /// The monotonic raise script.
    raise: Script,
    /// Raises a counter to its durable mark and records the Redis process that did.
    pub(super) verify: Script,
    /// Durable marks or refusal.
    pub(super) guard: Arc<LossGuard>,
}

impl std::fmt::Debug for RedisAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAllocator")
            .field("conn", &self.conn)
            .field("durable_marks", &self.guard.marks().is_some())
            .finish_non_exhaustive()
    }
}

/// What one run of the allocation script found.
enum Allocated {
    /// The counter's new value.
    End(i64),
    /// There is no counter.
    Missing,
    /// The counter (this value) is below one this server saw it take: it went back.
    Behind(i64),
}

/// How often an allocation retries on a fresh connection after the connection broke.
const RECONNECT_ATTEMPTS: usize = 3;

impl RedisAllocator {
    /// Connects to Redis at `url` (`redis://[:password@]host:port/db` or `rediss://` for TLS),
    /// failing after `timeout` when the server cannot be reached. Without durable marks: see
    /// [`with_marks`](Self::with_marks).
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        Ok(Self::with_connection(
            RedisConnection::connect(url, timeout).await?,
        ))
    }

    /// Uses an existing connection.
    pub fn with_connection(conn: RedisConnection) -> Self {
        RedisAllocator {
            conn,
            allocate: Script::new(ALLOCATE_LUA),
            raise: Script::new(RAISE_LUA),
            verify: Script::new(VERIFY_LUA),
            guard: Arc::new(LossGuard::new(None)),
        }
    }

    /// Keeps a durable high-water mark per key in `marks` (a SQL allocator on another table or
    /// database): no ID above a key's mark leaves before the mark is durable, and a Redis that
    /// lost data restarts each counter from its mark.
    pub fn with_marks(mut self, marks: Arc<dyn SegmentAllocator>) -> Self {
        self.guard = Arc::new(LossGuard::new(Some(marks)));
        self
    }

    /// Without marks: refuses allocation until an operator runs [`recover`](Self::recover),
    /// for a caller that knows the Redis lost data before this process started (it held an
    /// admin account that is gone).
    pub fn refuse_until_recovered(self) -> Self {
        self.guard.refuse_until_recovered();
        self
    }

    /// The connection, for callers that keep other data in the same Redis.
    pub fn connection(&self) -> RedisConnection {
        self.conn.clone()
    }

    /// The Redis key of the counter of `key`. On a cluster the key name is a hash tag
    /// (`kxy:id:segment:{...}`), so that the counter and its marker share a hash slot and one
    /// script can touch both.
    pub(super) fn redis_key(&self, key: &SegmentKey) -> String {
        self.tagged(SEGMENT_KEY_PREFIX, key)
    }

    /// The Redis key of the marker beside the counter of `key`.
    pub(super) fn marker_key(&self, key: &SegmentKey) -> String {
        self.tagged(VERIFIED_PREFIX, key)
    }

    fn tagged(&self, prefix: &str, key: &SegmentKey) -> String {
        if self.conn.is_cluster() {
            format!("{prefix}{{{key}}}")
        } else {
            format!("{prefix}{key}")
        }
    }

    pub(super) fn parse(key: &SegmentKey, raw: String) -> Result<i64> {
        raw.parse::<i64>().map_err(|_| Error::CorruptCounter {
            key: key.to_string(),
            value: raw,
        })
    }

    /// Runs the allocation script once.
    async fn allocate_on(
        &self,
        conn: &mut MultiplexedConnection,
        key: &SegmentKey,
        count: i64,
        seen: i64,
    ) -> Result<Allocated> {
        let result: redis::RedisResult<redis::Value> = self
            .allocate
            .key(self.redis_key(key))
            .arg(count)
            .arg(seen)
            .invoke_async(conn)
            .await;
        match result {
            Ok(redis::Value::Nil) => Ok(Allocated::Missing),
            Ok(redis::Value::Array(items)) => {
                let text = |i: usize| -> String {
                    items
                        .get(i)
                        .and_then(|v| redis::from_redis_value_ref(v).ok())
                        .unwrap_or_default()
                };
                let value = text(1);
                if text(0) == "corrupt" {
                    return Err(Error::CorruptCounter {
                        key: key.to_string(),
                        value,
                    });
                }
                Ok(Allocated::Behind(Self::parse(key, value)?))
            }
            Ok(value) => {
                let raw: String =
                    redis::from_redis_value(value).map_err(|e| Error::backend("redis", e))?;
                Ok(Allocated::End(Self::parse(key, raw)?))
            }
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
                    .get(self.redis_key(key))
                    .await
                    .map_err(|e| self.conn.error(e))?;
                Err(Error::CorruptCounter {
                    key: key.to_string(),
                    value: value.unwrap_or_default(),
                })
            }
            Err(e) => Err(self.conn.error(e)),
        }
    }

    /// Runs the raise script once.
    pub(super) async fn raise_on(
        &self,
        conn: &mut MultiplexedConnection,
        key: &SegmentKey,
        value: i64,
    ) -> Result<RaiseOutcome> {
        let (status, raw): (String, String) = self
            .raise
            .key(self.redis_key(key))
            .arg(value)
            .invoke_async(conn)
            .await
            .map_err(|e| self.conn.error(e))?;
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
}

#[async_trait]
impl SegmentAllocator for RedisAllocator {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        check_count(count)?;
        let target = self.conn.target();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut conn = self.ready(key).await?.conn;
            // What this server had seen when it sent the request: a concurrent request may
            // raise it before this answer is read, and must not make an answer given before
            // the counter existed look like a loss.
            let seen = self.guard.seen(key);
            let end = match self.allocate_on(&mut conn, key, count, seen).await {
                Ok(Allocated::End(end)) => end,
                Ok(Allocated::Missing) => {
                    if self.guard.on_missing(key, target, seen)? && attempts < RECONNECT_ATTEMPTS {
                        continue;
                    }
                    return Err(Error::KeyNotFound {
                        key: key.to_string(),
                    });
                }
                Ok(Allocated::Behind(value)) => {
                    self.guard.on_behind(key, value, target)?;
                    if attempts < RECONNECT_ATTEMPTS {
                        continue;
                    }
                    return Err(Error::DataLoss(format!(
                        "the counter of {key} in Redis at {target} keeps going back; refusing to allocate"
                    )));
                }
                // The connection broke: the next round reconnects and checks the incarnation.
                Err(Error::Connect { .. }) if attempts < RECONNECT_ATTEMPTS => continue,
                Err(e) => return Err(e),
            };
            return self.guard.accept(key, Segment::ending_at(end, count)).await;
        }
    }

    async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
        check_value(value)?;
        // The mark first: a value that reached the table (MAX(pk)) must survive Redis.
        let ready = self.ready(key).await?;
        let mut conn = ready.conn.clone();
        let value = value.max(self.floor(&mut conn).await?);
        let Some(marks) = self.guard.marks() else {
            return self.raise_on(&mut conn, key, value).await;
        };
        let mark = marks.raise_to(key, value).await?.value();
        let outcome = self.raise_on(&mut conn, key, value).await?;
        // The counter now exists in this process and is covered by its mark.
        self.raise_to_mark(&mut conn, &ready.run_id, key, None)
            .await?;
        self.guard.verified(key, ready.generation, Some(mark));
        Ok(outcome)
    }

    async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
        check_value(value)?;
        // `ready` restores a counter that only its mark remembers, so `SET NX` below refuses it.
        let ready = self.ready(key).await?;
        let mut conn = ready.conn.clone();
        let value = value.max(self.floor(&mut conn).await?);
        let marks = self.guard.marks();
        if let Some(marks) = marks {
            marks.raise_to(key, value).await?;
        }
        let created: bool = redis::cmd("SET")
            .arg(self.redis_key(key))
            .arg(value)
            .arg("NX")
            .query_async::<Option<String>>(&mut conn)
            .await
            .map_err(|e| self.conn.error(e))?
            .is_some();
        if created {
            if marks.is_some() {
                // The counter now exists in this process and is covered by its mark.
                self.raise_to_mark(&mut conn, &ready.run_id, key, None)
                    .await?;
            }
            Ok(())
        } else {
            Err(Error::AlreadyExists {
                key: key.to_string(),
            })
        }
    }

    async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
        let mut conn = self.ready(key).await?.conn;
        let raw: Option<String> = conn
            .get(self.redis_key(key))
            .await
            .map_err(|e| self.conn.error(e))?;
        raw.map(|raw| Self::parse(key, raw)).transpose()
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
        let cluster = self.conn.is_cluster();
        let full_prefix = match cluster {
            true => format!("{SEGMENT_KEY_PREFIX}{{{prefix}"),
            false => format!("{SEGMENT_KEY_PREFIX}{prefix}"),
        };
        let mut counters = Vec::new();
        for (k, v) in scan_values(&self.conn, &full_prefix).await? {
            let name = &k[SEGMENT_KEY_PREFIX.len()..];
            let name = match cluster {
                true => name
                    .strip_prefix('{')
                    .and_then(|n| n.strip_suffix('}'))
                    .unwrap_or(name),
                false => name,
            };
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
            .del(self.redis_key(key))
            .await
            .map_err(|e| self.conn.error(e))?;
        if let Some(marks) = self.guard.marks() {
            marks.delete(key).await?;
            let _: i64 = conn
                .del(self.marker_key(key))
                .await
                .map_err(|e| self.conn.error(e))?;
        }
        self.guard.forget(key);
        Ok(removed > 0)
    }
}
