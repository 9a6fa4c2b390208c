//! [`Cluster`]: a Redis Cluster as one store, routed by this crate rather than by the `redis`
//! crate's cluster client.
//!
//! Why our own routing: the never-repeat guarantee needs to know, before a counter is used,
//! which Redis *process* holds it (see `connection.rs`). The `redis` crate's cluster client
//! follows failovers silently. Here every master gets its own [`NodeConnection`], which checks
//! the node's identity on every connect, and the cluster has one *generation* that grows
//! whenever the slot map changes or any master turns out to be another process than before.
//! A key verified against its durable mark in one generation is verified again (on whichever
//! master then owns it) before it is used in the next, so a promoted replica that lacks the
//! last increments of its dead master has its counters raised to their marks first.
//!
//! A node's identity is its `run_id` *and* its `master_replid`: a replica promoted in a
//! failover keeps its process (and `run_id`) but always starts a new replication ID, so a
//! node that was demoted and promoted again without a restart is still noticed.
//!
//! Commands that touch one key go to the master of the key's hash slot; a `MOVED`, `ASK`,
//! `TRYAGAIN`, `CLUSTERDOWN` or `READONLY` answer or a broken connection marks the slot map
//! stale, and the caller's retry reads it again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use super::connection::Checked;
use super::node::NodeConnection;
use super::slot::key_slot;
use super::topology_url::TopologyUrl;
use crate::error::{Error, Result};

/// A Redis Cluster reached through its seed nodes.
pub(crate) struct Cluster {
    /// The URL (its hosts are the seeds).
    url: TopologyUrl,
    /// The URL without its password, for messages.
    pub(crate) target: String,
    timeout: Duration,
    /// Slot ranges and the address of their master, sorted by start.
    slots: RwLock<Vec<(u16, u16, String)>>,
    /// One connection per node address.
    nodes: Mutex<HashMap<String, Node>>,
    /// Grows on every change of the slot map or of a master's identity.
    generation: AtomicU64,
    /// The slot map must be read again before the next routing.
    stale: AtomicBool,
    /// Serializes slot map reads; remembers when the last one ran.
    refreshing: tokio::sync::Mutex<Option<Instant>>,
}

/// A node's connection and the node generation this cluster last accounted for.
#[derive(Clone)]
struct Node {
    conn: NodeConnection,
    seen: u64,
}

/// How often the slot map may be read while it keeps failing.
const REFRESH_EVERY: Duration = Duration::from_millis(100);

impl Cluster {
    /// Parses `redis+cluster://[user:pw@]h1:p1,h2:p2[/][?ca=..]` (or `rediss+cluster://`) and
    /// reads the slot map from the first seed that answers.
    pub(crate) async fn connect(url: &str, timeout: Duration) -> Result<Cluster> {
        let url = TopologyUrl::parse(url, "cluster", 6379)?;
        if !matches!(url.path.as_str(), "" | "0") {
            return Err(Error::InvalidConfig(format!(
                "Redis cluster URL {}: a cluster has only database 0",
                url.target
            )));
        }
        let cluster = Cluster {
            target: url.target.clone(),
            url,
            timeout,
            slots: RwLock::new(Vec::new()),
            nodes: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(1),
            stale: AtomicBool::new(true),
            refreshing: tokio::sync::Mutex::new(None),
        };
        cluster.refresh().await?;
        Ok(cluster)
    }

    /// The connection of the node at `address` (made when missing, not yet connected).
    async fn node(&self, address: &str) -> Result<NodeConnection> {
        if let Some(node) = self.lock_nodes().get(address) {
            return Ok(node.conn.clone());
        }
        let conn = NodeConnection::node(&self.url.node_url(address, 0), self.timeout)?;
        let mut nodes = self.lock_nodes();
        let node = nodes
            .entry(address.to_owned())
            .or_insert(Node { conn, seen: 0 });
        Ok(node.conn.clone())
    }

    fn lock_nodes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Node>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the slot map again when it is stale (at most every [`REFRESH_EVERY`]); a
    /// different map starts a new generation.
    async fn refresh(&self) -> Result<()> {
        let mut last = self.refreshing.lock().await;
        if !self.stale.load(Ordering::Acquire) {
            return Ok(());
        }
        if let Some(at) = *last {
            let wait = REFRESH_EVERY.saturating_sub(at.elapsed());
            tokio::time::sleep(wait).await;
        }
        *last = Some(Instant::now());
        let mut candidates: Vec<String> = self.masters();
        candidates.extend(self.url.hosts.iter().cloned());
        candidates.dedup();
        let mut failure = String::from("no node answered");
        for address in candidates {
            match self.read_slots(&address).await {
                Ok(map) => {
                    let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
                    if *slots != map {
                        if !slots.is_empty() {
                            tracing::warn!(redis = %self.target, "the Redis Cluster slot map changed: every key is checked against its mark again");
                        }
                        *slots = map;
                        self.generation.fetch_add(1, Ordering::AcqRel);
                    }
                    self.stale.store(false, Ordering::Release);
                    return Ok(());
                }
                Err(e) => failure = format!("{address}: {e}"),
            }
        }
        Err(Error::Connect {
            target: self.target.clone(),
            reason: failure,
        })
    }

    /// `CLUSTER SLOTS` of one node, as sorted `(start, end, master address)`; refused unless
    /// the node says every slot is served.
    async fn read_slots(&self, address: &str) -> Result<Vec<(u16, u16, String)>> {
        let node = self.node(address).await?;
        let mut conn = node.clone();
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut conn)
            .await
            .map_err(|e| node.error(e))?;
        if !info.contains("cluster_state:ok") {
            return Err(Error::backend_msg("redis", "cluster_state is not ok"));
        }
        let ranges: Vec<redis::Value> = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query_async(&mut conn)
            .await
            .map_err(|e| node.error(e))?;
        let mut map = Vec::new();
        for range in ranges {
            let parsed: Option<(u16, u16, String)> = (|| {
                let redis::Value::Array(items) = range else {
                    return None;
                };
                let start: u16 = redis::from_redis_value_ref(items.first()?).ok()?;
                let end: u16 = redis::from_redis_value_ref(items.get(1)?).ok()?;
                let redis::Value::Array(master) = items.get(2)? else {
                    return None;
                };
                let host: String = redis::from_redis_value_ref(master.first()?).ok()?;
                let port: u16 = redis::from_redis_value_ref(master.get(1)?).ok()?;
                let host = if host.is_empty() {
                    address.rsplit_once(':')?.0.to_owned()
                } else {
                    host
                };
                Some((start, end, format!("{host}:{port}")))
            })();
            map.push(parsed.ok_or_else(|| {
                Error::backend_msg("redis", "CLUSTER SLOTS answered in an unknown shape")
            })?);
        }
        map.sort();
        Ok(map)
    }

    /// The addresses of the masters in the slot map.
    pub(crate) fn masters(&self) -> Vec<String> {
        let mut masters: Vec<String> = self
            .slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(_, _, a)| a.clone())
            .collect();
        masters.sort();
        masters.dedup();
        masters
    }

    /// The connections of every master, for `SCAN`.
    pub(crate) async fn master_connections(&self) -> Result<Vec<NodeConnection>> {
        self.refresh().await?;
        let mut out = Vec::new();
        for address in self.masters() {
            out.push(self.node(&address).await?);
        }
        Ok(out)
    }

    /// The address of the master of `key`'s slot.
    fn owner(&self, key: &[u8]) -> Option<String> {
        let slot = key_slot(key);
        let slots = self.slots.read().unwrap_or_else(|p| p.into_inner());
        slots
            .iter()
            .find(|(start, end, _)| (*start..=*end).contains(&slot))
            .map(|(_, _, a)| a.clone())
    }

    /// The connection of the master that owns `key`, checked, with the cluster generation.
    pub(crate) async fn checked_for(&self, key: &[u8]) -> Result<Checked> {
        self.refresh().await?;
        let address = self.owner(key).ok_or_else(|| Error::Connect {
            target: self.target.clone(),
            reason: "no master serves the key's hash slot".into(),
        })?;
        let node = self.node(&address).await?;
        let checked = match node.checked_full().await {
            Ok(checked) => checked,
            Err(e) => {
                self.stale.store(true, Ordering::Release);
                return Err(e);
            }
        };
        {
            let mut nodes = self.lock_nodes();
            if let Some(n) = nodes.get_mut(&address)
                && n.seen != checked.generation
            {
                // A master connected for the first time or found to be another process.
                n.seen = checked.generation;
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
        }
        Ok(Checked {
            conn: checked.conn,
            generation: self.generation.load(Ordering::Acquire),
            run_id: checked.run_id,
        })
    }

    /// The connection for a command about `key` (any master when `None`), for commands whose
    /// callers need no incarnation check (metadata, listing).
    pub(crate) async fn route(&self, key: Option<&[u8]>) -> Result<NodeConnection> {
        self.refresh().await?;
        let address = match key {
            Some(key) => self.owner(key),
            None => self.masters().into_iter().next(),
        };
        let address = address.ok_or_else(|| Error::Connect {
            target: self.target.clone(),
            reason: "no master serves the key's hash slot".into(),
        })?;
        self.node(&address).await
    }

    /// Notes an error of a command sent to a node: a redirection, a down cluster or a broken
    /// connection makes the slot map stale.
    pub(crate) fn note(&self, e: &redis::RedisError) {
        if e.is_cluster_error()
            || matches!(
                e.kind(),
                redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
            )
            || super::node::is_connection_error(e)
        {
            self.stale.store(true, Ordering::Release);
        }
    }

    /// Whether the slot map must be read again.
    pub(crate) fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Acquire)
    }

    /// Drops every node's live connection: each reconnects and checks its identity again.
    pub(crate) fn drop_all(&self) {
        for node in self.lock_nodes().values() {
            node.conn.drop_live();
        }
    }
}
