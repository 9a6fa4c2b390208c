//! [`RedisCluster`]: a real Redis Cluster of the test's own (3 masters, 3 replicas) on free
//! loopback ports, made with `redis-cli --cluster create`, stopped on drop (also when the test
//! panics).

use std::process::Command;
use std::time::Duration;

use super::redis_server::{AOF_ALWAYS, RedisServer, free_port, loopback_hosts, wait_until};

/// A running cluster; every node is a [`RedisServer`].
#[derive(Debug)]
pub struct RedisCluster {
    /// The nodes; `redis-cli --cluster create` makes the first three masters.
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts 6 nodes (AOF with `appendfsync always`, a 5 s node timeout) and joins them into 3 masters with one replica each. `None`
    /// after a notice (a failure when services are required) when it cannot run here.
    pub fn start() -> Option<RedisCluster> {
        Self::start_with_node_timeout(Duration::from_secs(5))
    }

    /// [`start`](Self::start) with a node timeout of `timeout` instead of 5 s: how long a
    /// master may not answer before its replica takes over (short for failover tests; long
    /// enough elsewhere that a busy machine does not fail a node over by accident).
    pub fn start_with_node_timeout(timeout: Duration) -> Option<RedisCluster> {
        let node_timeout = timeout.as_millis().to_string();
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let bus = free_port().to_string();
            let mut options = AOF_ALWAYS.to_vec();
            options.extend([
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus,
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                &node_timeout,
                // Replicas sync at once (the default waits 5 s for more replicas to join).
                "--repl-diskless-sync-delay",
                "0",
            ]);
            let node = RedisServer::start(&options)?;
            nodes.push(node);
        }
        let cluster = RedisCluster { nodes };
        if let Err(e) = cluster.create() {
            super::unreachable("redis cluster", "redis-cli --cluster create", e);
            return None;
        }
        Some(cluster)
    }

    fn create(&self) -> std::io::Result<()> {
        let hosts = loopback_hosts(self.nodes.iter().map(|n| n.port()));
        let addresses: Vec<&str> = hosts.split(',').collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other(format!(
                "redis-cli --cluster create: {}",
                String::from_utf8_lossy(&out.stdout)
            )));
        }
        self.wait_ok(Duration::from_secs(20))?;
        self.wait_replicas(Duration::from_secs(20))
    }

    /// Waits until every live node says `cluster_state:ok`.
    pub fn wait_ok(&self, timeout: Duration) -> std::io::Result<()> {
        wait_until(timeout, "cluster_state:ok on every node", || {
            self.nodes
                .iter()
                .filter(|n| n.is_running())
                .all(|n| n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
        })
    }

    /// `redis+cluster://` with every node as a seed.
    pub fn url(&self) -> String {
        let hosts = loopback_hosts(self.nodes.iter().map(|n| n.port()));
        format!("redis+cluster://{hosts}")
    }

    /// Waits until every live replica's link to its master is up.
    pub fn wait_replicas(&self, timeout: Duration) -> std::io::Result<()> {
        wait_until(timeout, "every replica in sync", || {
            self.nodes.iter().filter(|n| n.is_running()).all(|n| {
                let role = n.cli(&["ROLE"]);
                let mut lines = role.lines();
                match lines.next() {
                    Some("slave") => lines.nth(2) == Some("connected"),
                    _ => true,
                }
            })
        })
    }

    /// Waits until 3 live nodes are masters (after a master was killed: until its replica
    /// took over) and the cluster is ok again.
    pub fn wait_failover(&self, timeout: Duration) -> std::io::Result<()> {
        wait_until(timeout, "a replica taking over", || {
            self.masters().len() == 3
        })?;
        self.wait_ok(timeout)
    }

    /// The live master that holds the Redis key `key` now.
    pub fn master_of(&self, key: &str) -> Option<usize> {
        let slot = self
            .nodes
            .iter()
            .find(|n| n.is_running())?
            .cli(&["CLUSTER", "KEYSLOT", key]);
        self.masters().into_iter().find(|&m| {
            self.nodes[m]
                .cli(&["CLUSTER", "COUNTKEYSINSLOT", slot.trim()])
                .trim()
                != "0"
        })
    }

    /// The nodes that are masters now.
    pub fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i].is_running()
                    && self.nodes[i].cli(&["ROLE"]).lines().next() == Some("master")
            })
            .collect()
    }
}
