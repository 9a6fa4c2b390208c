//! [`RedisSentinel`]: a Sentinel-managed Redis of the test's own: a master, one replica and
//! three `redis-server --sentinel` processes on free loopback ports, stopped on drop (also when
//! the test panics).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::redis_server::{AOF_ALWAYS, RedisServer, free_port, loopback_hosts, wait_until};

/// The master's name in the sentinels' configuration.
pub const MASTER_NAME: &str = "kxymaster";

/// A running setup: `nodes[0]` starts as master, `nodes[1]` as its replica.
#[derive(Debug)]
pub struct RedisSentinel {
    /// The data nodes.
    pub nodes: Vec<RedisServer>,
    sentinels: Vec<(Child, u16)>,
    dir: tempfile::TempDir,
}

impl RedisSentinel {
    /// Starts the master (AOF, `appendfsync always`), the replica and three sentinels that
    /// declare a master down after 1 s. `None` after a notice (a failure when services are
    /// required) when it cannot run here.
    pub fn start() -> Option<RedisSentinel> {
        let master = RedisServer::start(AOF_ALWAYS)?;
        let port = master.port().to_string();
        let mut replica_options = AOF_ALWAYS.to_vec();
        replica_options.extend(["--replicaof", "127.0.0.1", &port]);
        let replica = RedisServer::start(&replica_options)?;
        let mut setup = RedisSentinel {
            nodes: vec![master, replica],
            sentinels: Vec::new(),
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        if let Err(e) = setup.spawn_sentinels() {
            super::unreachable("redis sentinel", "redis-server --sentinel", e);
            return None;
        }
        Some(setup)
    }

    fn spawn_sentinels(&mut self) -> std::io::Result<()> {
        let master_port = self.nodes[0].port();
        for i in 0..3 {
            let port = free_port();
            let conf = self.dir.path().join(format!("sentinel-{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 5000\n",
                    dir = self.dir.path().display()
                ),
            )?;
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            self.sentinels.push((child, port));
        }
        // Ready when every sentinel knows the master and its replica.
        let replica = self.nodes[1].port().to_string();
        wait_until(
            Duration::from_secs(20),
            "sentinels finding the replica",
            || {
                self.sentinels.iter().all(|(_, port)| {
                    sentinel_cli(*port, &["SENTINEL", "REPLICAS", MASTER_NAME]).contains(&replica)
                }) && self.nodes[1].cli(&["ROLE"]).contains("connected")
            },
        )
    }

    /// `redis+sentinel://` naming the three sentinels, database 0.
    pub fn url(&self) -> String {
        let hosts = loopback_hosts(self.sentinels.iter().map(|(_, port)| *port));
        format!("redis+sentinel://{hosts}/{MASTER_NAME}/0")
    }

    /// The port of the master the first live sentinel names.
    pub fn master_port(&self) -> Option<u16> {
        let (_, port) = self.sentinels.first()?;
        let answer = sentinel_cli(*port, &["SENTINEL", "get-master-addr-by-name", MASTER_NAME]);
        answer.lines().nth(1)?.trim().parse().ok()
    }

    /// Waits until the sentinels name a master other than `old_port` and it is a master.
    pub fn wait_failover(&self, old_port: u16, timeout: Duration) -> std::io::Result<u16> {
        let mut new = None;
        wait_until(timeout, "a sentinel failover", || {
            new = self.master_port().filter(|&p| p != old_port).filter(|&p| {
                self.nodes
                    .iter()
                    .any(|n| n.port() == p && n.cli(&["ROLE"]).lines().next() == Some("master"))
            });
            new.is_some()
        })?;
        Ok(new.unwrap_or_default())
    }
}

fn sentinel_cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        for (child, _) in &mut self.sentinels {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
