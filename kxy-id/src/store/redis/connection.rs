//! [`RedisConnection`]: the store's connection to Redis, one node (`redis://`, `rediss://`)
//! or a Redis Cluster (`redis+cluster://`, `rediss+cluster://`), reconnecting by itself and
//! knowing which Redis *incarnation* holds each key.
//!
//! One node: `node.rs` (the `run_id` check on every connect). A cluster: `cluster.rs` (one
//! checked connection per master and a cluster-wide generation).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, Value};

use super::cluster::Cluster;
use super::node::{NodeConnection, as_redis_error};
use crate::error::{Error, Result};

/// Which Redis process a connection reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incarnation {
    /// The server's `run_id`.
    pub run_id: String,
    /// 1 for the first process this connection saw, one more for every different `run_id` after it.
    pub generation: u64,
}

/// A connection checked against the incarnation it reaches.
#[derive(Clone)]
pub(crate) struct Checked {
    /// The live connection.
    pub(crate) conn: MultiplexedConnection,
    /// Grows whenever the Redis behind a key may have changed (see [`Incarnation`]).
    pub(crate) generation: u64,
    /// The identity of the Redis process, written into counters' markers.
    pub(crate) run_id: String,
}

/// A reconnecting connection that checks the Redis incarnation on every (re)connect.
///
/// Clones share the connection. It implements [`ConnectionLike`], so every `redis` command and
/// script runs on it (on a cluster: on the master of the command's first key).
#[derive(Clone)]
pub struct RedisConnection {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Single(NodeConnection),
    Cluster(Arc<Cluster>),
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("target", &self.target())
            .field("incarnation", &self.incarnation())
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// Connects to `url`, failing after `timeout` when Redis cannot be reached:
    ///
    /// - `redis://[:password@]host:port/db`, `rediss://...` for TLS with the options
    ///   `?ca=PATH&cert=PATH&key=PATH`;
    /// - `redis+cluster://[:password@]host1:port,host2:port` (seed nodes of a Redis Cluster),
    ///   `rediss+cluster://...` with the same TLS options;
    /// - `redis+sentinel://[:password@]s1:26379,s2:26379/mymaster/db` (the sentinels of a
    ///   master, followed across failovers), `rediss+sentinel://...` for a TLS master.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let kind = if is_cluster_url(url) {
            Kind::Cluster(Arc::new(Cluster::connect(url, timeout).await?))
        } else if is_sentinel_url(url) {
            Kind::Single(NodeConnection::sentinel(url, timeout).await?)
        } else {
            Kind::Single(NodeConnection::connect(url, timeout).await?)
        };
        Ok(RedisConnection { kind })
    }

    /// The URL without its password.
    pub fn target(&self) -> &str {
        match &self.kind {
            Kind::Single(node) => node.target(),
            Kind::Cluster(cluster) => &cluster.target,
        }
    }

    /// The incarnation seen last (one node; `None` for a cluster, whose masters each have one).
    pub fn incarnation(&self) -> Option<Incarnation> {
        match &self.kind {
            Kind::Single(node) => node.incarnation(),
            Kind::Cluster(_) => None,
        }
    }

    /// Whether this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.kind, Kind::Cluster(_))
    }

    /// The single node, for operations a cluster does not support (`recover`).
    pub(crate) fn single(&self) -> Result<&NodeConnection> {
        match &self.kind {
            Kind::Single(node) => Ok(node),
            Kind::Cluster(cluster) => Err(Error::InvalidConfig(format!(
                "{} is a Redis Cluster: this operation needs a single Redis",
                cluster.target
            ))),
        }
    }

    /// The live connection to the Redis that holds `key` (a Redis key), checked.
    pub(crate) async fn checked_for(&self, key: &str) -> Result<Checked> {
        match &self.kind {
            Kind::Single(node) => node.checked_full().await,
            Kind::Cluster(cluster) => cluster.checked_for(key.as_bytes()).await,
        }
    }

    /// The connections `SCAN` must visit: the node, or every master of a cluster.
    pub(crate) async fn scan_targets(&self) -> Result<Vec<NodeConnection>> {
        match &self.kind {
            Kind::Single(node) => Ok(vec![node.clone()]),
            Kind::Cluster(cluster) => cluster.master_connections().await,
        }
    }

    /// Maps a `redis` error, dropping live connections the error says are broken (the next
    /// call reconnects and checks the incarnation again). On a cluster a redirection or a down
    /// cluster is a [`Error::Connect`] too: the caller's retry reads the slot map again.
    pub(crate) fn error(&self, e: redis::RedisError) -> Error {
        match &self.kind {
            Kind::Single(node) => node.error(e),
            Kind::Cluster(cluster) => {
                cluster.note(&e);
                if super::node::is_connection_error(&e) {
                    // Which node broke is unknown here; reconnecting the others costs little
                    // (the same identity keeps the generation).
                    cluster.drop_all();
                }
                if super::node::is_connection_error(&e) || cluster.is_stale() {
                    Error::Connect {
                        target: cluster.target.clone(),
                        reason: e.to_string(),
                    }
                } else {
                    Error::backend("redis", e)
                }
            }
        }
    }
}

/// Whether `url` names a Sentinel-managed Redis.
fn is_sentinel_url(url: &str) -> bool {
    url.split_once("://").is_some_and(|(s, _)| {
        let s = s.to_ascii_lowercase();
        s == "redis+sentinel" || s == "rediss+sentinel"
    })
}

/// Whether `url` names a Redis Cluster.
pub(crate) fn is_cluster_url(url: &str) -> bool {
    url.split_once("://").is_some_and(|(s, _)| {
        let s = s.to_ascii_lowercase();
        s == "redis+cluster" || s == "rediss+cluster"
    })
}

/// The key a command is about, for routing on a cluster (`None`: any master).
fn command_key(cmd: &Cmd) -> Option<Vec<u8>> {
    let args: Vec<&[u8]> = cmd
        .args_iter()
        .filter_map(|a| match a {
            redis::Arg::Simple(b) => Some(b),
            _ => None,
        })
        .collect();
    let name = args.first()?.to_ascii_uppercase();
    match name.as_slice() {
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" => {
            let keys: usize = std::str::from_utf8(args.get(2)?).ok()?.parse().ok()?;
            (keys > 0).then(|| args.get(3).map(|k| k.to_vec()))?
        }
        b"INFO" | b"CONFIG" | b"PING" | b"SCAN" | b"SCRIPT" | b"CLUSTER" | b"ROLE" | b"DBSIZE"
        | b"MULTI" | b"EXEC" => None,
        _ => args.get(1).map(|k| k.to_vec()),
    }
}

/// How often a command on a cluster is tried while the slot map settles.
const ROUTE_ATTEMPTS: usize = 3;

/// The nodes a cluster command goes to: the master of its key, or every master (`SCRIPT`).
async fn targets(
    cluster: &Cluster,
    key: Option<&[u8]>,
    all_masters: bool,
) -> redis::RedisResult<Vec<NodeConnection>> {
    let targets = if all_masters {
        cluster.master_connections().await
    } else {
        cluster.route(key).await.map(|node| vec![node])
    };
    targets.map_err(as_redis_error)
}

/// Whether a cluster command that ended in `result` should be tried again: the slot map went
/// stale (a redirection, a failover) and attempts are left. Waits a little first.
async fn retry<T>(cluster: &Cluster, result: &redis::RedisResult<T>, attempt: usize) -> bool {
    let Err(e) = result else { return false };
    cluster.note(e);
    if attempt >= ROUTE_ATTEMPTS || !cluster.is_stale() {
        return false;
    }
    tokio::time::sleep(Duration::from_millis(100 * attempt as u64)).await;
    true
}

async fn cluster_command(cluster: &Cluster, cmd: &Cmd) -> redis::RedisResult<Value> {
    let all = cmd
        .args_iter()
        .next()
        .is_some_and(|a| matches!(a, redis::Arg::Simple(b) if b.eq_ignore_ascii_case(b"SCRIPT")));
    let key = command_key(cmd);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut result = Err(as_redis_error(Error::backend_msg("redis", "no master")));
        for mut node in targets(cluster, key.as_deref(), all).await? {
            result = node.req_packed_command(cmd).await;
            if result.is_err() {
                break;
            }
        }
        if !retry(cluster, &result, attempt).await {
            return result;
        }
    }
}

async fn cluster_pipeline(
    cluster: &Cluster,
    pipeline: &Pipeline,
    offset: usize,
    count: usize,
) -> redis::RedisResult<Vec<Value>> {
    // A pipeline here is about one key.
    let key = pipeline.cmd_iter().find_map(command_key);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut node = targets(cluster, key.as_deref(), false).await?.remove(0);
        let result = node.req_packed_commands(pipeline, offset, count).await;
        if !retry(cluster, &result, attempt).await {
            return result;
        }
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            match &mut self.kind {
                Kind::Single(node) => node.req_packed_command(cmd).await,
                Kind::Cluster(cluster) => cluster_command(cluster, cmd).await,
            }
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipe: &'a Pipeline,
        skip: usize,
        take: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            match &mut self.kind {
                Kind::Single(node) => node.req_packed_commands(pipe, skip, take).await,
                Kind::Cluster(cluster) => cluster_pipeline(cluster, pipe, skip, take).await,
            }
        })
    }

    fn get_db(&self) -> i64 {
        match &self.kind {
            Kind::Single(node) => node.get_db(),
            Kind::Cluster(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_routed_by_their_key() {
        let mut set = redis::cmd("SET");
        set.arg("k1").arg("v");
        assert_eq!(command_key(&set), Some(b"k1".to_vec()));
        let mut eval = redis::cmd("EVALSHA");
        eval.arg("abc").arg(2).arg("k2").arg("k3").arg("x");
        assert_eq!(command_key(&eval), Some(b"k2".to_vec()));
        let mut info = redis::cmd("INFO");
        info.arg("server");
        assert_eq!(command_key(&info), None);
        assert!(is_cluster_url("REDISS+cluster://a:1,b:2"));
        assert!(!is_cluster_url("redis://a:1"));
    }
}
