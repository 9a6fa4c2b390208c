//! [`Sentinel`]: finding the current master of a Sentinel-managed Redis
//! (`redis+sentinel://s1:26379,s2:26379/mymaster/db`).
//!
//! Every (re)connect asks the sentinels, in turn, for the master's address
//! (`SENTINEL get-master-addr-by-name`) and then checks that the node there really is a master
//! (`INFO`'s `role`): a sentinel can answer with a stale address for a moment during a
//! failover. The data node's identity is its `run_id` and replication ID (see `node.rs`), so a
//! failover is a new incarnation, checked like a restart before any key is used again.
//! Sentinels are reached without a password or TLS; the URL's password and TLS options are
//! for the data nodes.

use std::time::Duration;

use super::topology_url::TopologyUrl;
use crate::error::{Error, Result};

/// The sentinels of one master.
#[derive(Debug, Clone)]
pub(crate) struct Sentinel {
    url: TopologyUrl,
    /// The master's name in the sentinels' configuration.
    master: String,
    /// The database number on the master.
    db: i64,
}

impl Sentinel {
    /// Parses `redis+sentinel://[:pw@]s1:26379,s2:26379/master[/db][?tls options]`.
    pub(crate) fn parse(url: &str) -> Result<Sentinel> {
        let url = TopologyUrl::parse(url, "sentinel", 26379)?;
        let mut path = url.path.split('/');
        let master = path.next().unwrap_or_default().to_owned();
        let db = match path.next() {
            None | Some("") => 0,
            Some(db) => db.parse().map_err(|_| {
                Error::InvalidConfig(format!(
                    "Redis sentinel URL {}: bad database {db}",
                    url.target
                ))
            })?,
        };
        if master.is_empty() || path.next().is_some() {
            return Err(Error::InvalidConfig(format!(
                "Redis sentinel URL {}: name the master and optionally the database: /mymaster/0",
                url.target
            )));
        }
        Ok(Sentinel { url, master, db })
    }

    /// The URL without its password.
    pub(crate) fn target(&self) -> &str {
        &self.url.target
    }

    /// The database number on the master.
    pub(crate) fn db(&self) -> i64 {
        self.db
    }

    /// The URL of the current master, from the first sentinel that knows it.
    pub(crate) async fn master_url(&self, timeout: Duration) -> Result<String> {
        let mut failure = String::from("no sentinel answered");
        for address in &self.url.hosts {
            match self.ask(address, timeout).await {
                Ok(Some(master)) => return Ok(self.url.node_url(&master, self.db)),
                Ok(None) => failure = format!("{address} knows no master {}", self.master),
                Err(e) => failure = format!("{address}: {e}"),
            }
        }
        Err(Error::Connect {
            target: self.url.target.clone(),
            reason: failure,
        })
    }

    async fn ask(&self, address: &str, timeout: Duration) -> redis::RedisResult<Option<String>> {
        let client = redis::Client::open(format!("redis://{address}/"))?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let mut conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(&self.master)
            .query_async(&mut conn)
            .await?;
        Ok(addr.map(|(host, port)| format!("{host}:{port}")))
    }
}
