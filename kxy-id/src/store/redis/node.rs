//! [`NodeConnection`]: one multiplexed connection to one Redis node that reconnects by itself and
//! knows which Redis *incarnation* it talks to.
//!
//! Why not the `redis` crate's `ConnectionManager`: it reconnects silently, so a caller cannot
//! tell that the Redis behind the new connection is another process (restarted empty, restored
//! from an older snapshot, or a promoted replica that lacks the last writes). Counters there can
//! be lower than IDs already handed out. Here every new connection first asks the server for its
//! `run_id` (`INFO server`): Redis draws a new random `run_id` every time a process starts, and a
//! promoted replica is another process with its own, so a changed `run_id` is exactly "the data
//! may have gone back in time". A restart or failover always breaks the TCP connection, so no
//! command can reach a new incarnation over a connection that was checked against the old one:
//! the pair (connection, generation) that [`NodeConnection::checked`] returns is consistent.
//! A network blip that reconnects to the same process keeps the `run_id` and costs nothing.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::connection::{Checked, Incarnation};
use super::sentinel::Sentinel;
use crate::error::{Error, Result};

/// A reconnecting connection that checks the Redis incarnation on every (re)connect.
///
/// Clones share the connection. It implements [`ConnectionLike`], so every `redis` command and
/// script runs on it; [`checked`](Self::checked) is for callers that must know the incarnation
/// a command runs against.
#[derive(Clone)]
pub(crate) struct NodeConnection {
    inner: Arc<Inner>,
}

struct Inner {
    /// How to connect.
    source: Source,
    /// The connect timeout (also for asking sentinels).
    timeout: Duration,
    /// The URL without its password, for messages.
    target: String,
    /// Connect and response timeouts.
    config: AsyncConnectionConfig,
    /// The live connection with the generation and identity it was checked against; `None`
    /// after a failure.
    live: RwLock<Option<Checked>>,
    /// The identity includes the node's replication ID (cluster nodes, see `cluster.rs`).
    replication_id: bool,
    /// Serializes reconnects, so a broken connection is replaced once, not by every caller.
    connecting: tokio::sync::Mutex<()>,
    /// When the last reconnect failed and why: callers that queued behind it fail at once
    /// instead of each waiting out its own timeout while Redis is unreachable.
    failed: Mutex<Option<(std::time::Instant, String)>>,
    /// The incarnation seen last (`None` before the first connection).
    incarnation: Mutex<Option<Incarnation>>,
    /// The database number of the URL.
    db: i64,
}

/// Where the node is.
enum Source {
    /// At the URL's address.
    Fixed(redis::Client),
    /// Wherever the sentinels say the master is, asked again on every connect.
    Sentinel(Sentinel),
}

impl std::fmt::Debug for NodeConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConnection")
            .field("target", &self.inner.target)
            .field("incarnation", &self.incarnation())
            .finish_non_exhaustive()
    }
}

impl NodeConnection {
    /// Connects to `url` (`redis://[:password@]host:port/db`, `rediss://` for TLS with the
    /// options `?ca=PATH&cert=PATH&key=PATH`), failing after `timeout` when the server cannot
    /// be reached.
    pub(crate) async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let conn = Self::new(url, timeout, false)?;
        conn.checked().await?;
        Ok(conn)
    }

    /// A connection to a cluster node, made on first use; its identity is the node's `run_id`
    /// and replication ID (a promoted replica always starts a new one).
    pub(crate) fn node(url: &str, timeout: Duration) -> Result<Self> {
        Self::new(url, timeout, true)
    }

    /// The master of a Sentinel-managed Redis (`redis+sentinel://...`), followed across
    /// failovers; its identity is the node's `run_id` and replication ID.
    pub(crate) async fn sentinel(url: &str, timeout: Duration) -> Result<Self> {
        let sentinel = Sentinel::parse(url)?;
        let (target, db) = (sentinel.target().to_owned(), sentinel.db());
        let conn = Self::with_source(Source::Sentinel(sentinel), target, db, timeout, true);
        conn.checked().await?;
        Ok(conn)
    }

    fn new(url: &str, timeout: Duration, replication_id: bool) -> Result<Self> {
        let target = crate::error::redact_url(url);
        let client = super::tls::client(url)?;
        let db = client.get_connection_info().redis_settings().db();
        let source = Source::Fixed(client);
        Ok(Self::with_source(
            source,
            target,
            db,
            timeout,
            replication_id,
        ))
    }

    fn with_source(
        source: Source,
        target: String,
        db: i64,
        timeout: Duration,
        replication_id: bool,
    ) -> Self {
        NodeConnection {
            inner: Arc::new(Inner {
                source,
                timeout,
                target,
                config: AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout)),
                live: RwLock::new(None),
                connecting: tokio::sync::Mutex::new(()),
                failed: Mutex::new(None),
                incarnation: Mutex::new(None),
                db,
                replication_id,
            }),
        }
    }

    /// The URL without its password.
    pub(crate) fn target(&self) -> &str {
        &self.inner.target
    }

    /// The incarnation seen last.
    pub(crate) fn incarnation(&self) -> Option<Incarnation> {
        self.inner
            .incarnation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The live connection and the generation of the Redis process it reaches, connecting
    /// (and checking the `run_id`) first when there is none.
    pub(crate) async fn checked(&self) -> Result<(MultiplexedConnection, u64)> {
        let c = self.checked_full().await?;
        Ok((c.conn, c.generation))
    }

    /// [`checked`](Self::checked) with the identity the generation stands for.
    pub(crate) async fn checked_full(&self) -> Result<Checked> {
        if let Some(live) = self.live() {
            return Ok(live);
        }
        let queued = std::time::Instant::now();
        let _one_at_a_time = self.inner.connecting.lock().await;
        if let Some(live) = self.live() {
            return Ok(live);
        }
        if let Some((at, reason)) = self.recent_failure()
            && at >= queued
        {
            return Err(Error::Connect {
                target: self.inner.target.clone(),
                reason,
            });
        }
        let (conn, info) = match self.connect_and_ask().await {
            Ok(ok) => ok,
            Err(e) => {
                let reason = super::tls::explain(e.to_string());
                *self.inner.failed.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((std::time::Instant::now(), reason.clone()));
                return Err(match self.error(e) {
                    Error::Connect { target, .. } => Error::Connect { target, reason },
                    other => other,
                });
            }
        };
        let mut run_id = info_field(&info, "run_id")
            .ok_or_else(|| Error::backend_msg("redis", "INFO server has no run_id"))?
            .to_owned();
        if self.inner.replication_id {
            let replid = info_field(&info, "master_replid")
                .ok_or_else(|| Error::backend_msg("redis", "INFO has no master_replid"))?;
            run_id = format!("{run_id}:{replid}");
        }
        let generation = {
            let mut seen = self
                .inner
                .incarnation
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let generation = match seen.as_ref() {
                None => 1,
                Some(old) if old.run_id == run_id => old.generation,
                Some(old) => {
                    tracing::warn!(
                        redis = %self.inner.target,
                        old_run_id = %old.run_id,
                        new_run_id = %run_id,
                        "Redis is another process than before (restart or failover): its counters may have gone back"
                    );
                    old.generation + 1
                }
            };
            *seen = Some(Incarnation {
                run_id: run_id.clone(),
                generation,
            });
            generation
        };
        let checked = Checked {
            conn,
            generation,
            run_id,
        };
        *self.inner.live.write().unwrap_or_else(|p| p.into_inner()) = Some(checked.clone());
        Ok(checked)
    }

    /// Opens a connection and reads `INFO server` on it.
    async fn connect_and_ask(&self) -> redis::RedisResult<(MultiplexedConnection, String)> {
        let client = match &self.inner.source {
            Source::Fixed(client) => client.clone(),
            Source::Sentinel(sentinel) => {
                let url = sentinel.master_url(self.inner.timeout).await;
                super::tls::client(&url.map_err(as_redis_error)?).map_err(as_redis_error)?
            }
        };
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&self.inner.config)
            .await?;
        // Cluster nodes also need the replication section (the default sections hold both).
        let mut info = redis::cmd("INFO");
        if !self.inner.replication_id {
            info.arg("server");
        }
        let info: String = info.query_async(&mut conn).await?;
        if matches!(self.inner.source, Source::Sentinel(_))
            && info_field(&info, "role") != Some("master")
        {
            // A sentinel can name the old master for a moment during a failover.
            return Err(as_redis_error(Error::backend_msg(
                "redis",
                "the node the sentinels named is not a master (a failover is under way)",
            )));
        }
        Ok((conn, info))
    }

    /// The last failed reconnect, if any.
    fn recent_failure(&self) -> Option<(std::time::Instant, String)> {
        self.inner
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn live(&self) -> Option<Checked> {
        self.inner
            .live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Maps a `redis` error, dropping the live connection when the error says it is broken
    /// (the next call reconnects and checks the incarnation again).
    pub(crate) fn error(&self, e: redis::RedisError) -> Error {
        if is_connection_error(&e) {
            *self.inner.live.write().unwrap_or_else(|p| p.into_inner()) = None;
            Error::Connect {
                target: self.inner.target.clone(),
                reason: e.to_string(),
            }
        } else {
            Error::backend("redis", e)
        }
    }

    /// Forgets the live connection (the next call reconnects and checks the identity).
    pub(crate) fn drop_live(&self) {
        *self.inner.live.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Forgets the live connection after a `redis` error that says it is broken.
    fn note(&self, e: &redis::RedisError) {
        if is_connection_error(e) {
            *self.inner.live.write().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

/// Errors after which the connection cannot be trusted to reach the same process.
pub(crate) fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
        // A master turned replica (a failover while it lived): reconnect, which with
        // Sentinel finds the new master.
        || matches!(
            e.kind(),
            redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
        )
}

/// The value of `field` in an `INFO` answer (`field:value` lines).
pub(crate) fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == field).then(|| value.trim())
    })
}

/// A failure to reach Redis, as a `redis` error (for the [`ConnectionLike`] methods).
pub(crate) fn as_redis_error(e: Error) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        e.to_string(),
    ))
}

impl ConnectionLike for NodeConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut conn = self.checked_full().await.map_err(as_redis_error)?.conn;
            let result = conn.req_packed_command(cmd).await;
            if let Err(e) = &result {
                self.note(e);
            }
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut conn = self.checked_full().await.map_err(as_redis_error)?.conn;
            let result: RedisResult<Vec<Value>> =
                conn.req_packed_commands(pipeline, offset, count).await;
            if let Err(e) = &result {
                self.note(e);
            }
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.inner.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_are_read_by_name() {
        let info = "# Server\r\nredis_version:7.0.15\r\nrun_id:abc123\r\nrun_id_x:no\r\n";
        assert_eq!(info_field(info, "run_id"), Some("abc123"));
        assert_eq!(info_field(info, "redis_version"), Some("7.0.15"));
        assert_eq!(info_field(info, "missing"), None);
    }
}
