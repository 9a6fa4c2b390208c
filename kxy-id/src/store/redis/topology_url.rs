//! URLs that name several Redis nodes: `redis+cluster://[:pw@]h1:p1,h2:p2[?tls options]` and
//! `redis+sentinel://[:pw@]s1:26379,s2:26379/master/db[?tls options]` (`rediss+...` for TLS).

use crate::error::{Error, Result};

/// The parts of a several-node URL.
#[derive(Debug, Clone)]
pub(crate) struct TopologyUrl {
    /// `redis` or `rediss`: how the data nodes are reached.
    pub(crate) scheme: &'static str,
    /// `user:password@` or empty.
    userinfo: String,
    /// The addresses (`host:port`).
    pub(crate) hosts: Vec<String>,
    /// The path after the hosts, without its leading `/`.
    pub(crate) path: String,
    /// `?...` or empty (TLS options, passed to every data node).
    query: String,
    /// The URL without its password, for messages.
    pub(crate) target: String,
}

impl TopologyUrl {
    /// Parses `url` whose scheme is `redis+{kind}` or `rediss+{kind}`; hosts without a port get
    /// `default_port`.
    pub(crate) fn parse(url: &str, kind: &str, default_port: u16) -> Result<TopologyUrl> {
        let target = crate::error::redact_url(url);
        let bad = |why: &str| Error::InvalidConfig(format!("Redis {kind} URL {target}: {why}"));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let scheme = match scheme.to_ascii_lowercase() {
            s if s == format!("redis+{kind}") => "redis",
            s if s == format!("rediss+{kind}") => "rediss",
            _ => return Err(bad(&format!("use redis+{kind}:// or rediss+{kind}://"))),
        };
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (userinfo, hosts) = match authority.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), authority),
        };
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let hosts: Vec<String> = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| match h.contains(':') {
                true => h.to_owned(),
                false => format!("{h}:{default_port}"),
            })
            .collect();
        if hosts.is_empty() {
            return Err(bad("name at least one node (host:port)"));
        }
        let parsed = TopologyUrl {
            scheme,
            userinfo,
            hosts,
            path: path.trim_start_matches('/').to_owned(),
            query: match query.is_empty() {
                true => String::new(),
                false => format!("?{query}"),
            },
            target,
        };
        // Catches a bad TLS option before any network work.
        super::tls::tls_options(&parsed.node_url(&parsed.hosts[0], 0))?;
        Ok(parsed)
    }

    /// The single-node URL of the data node at `address`, database `db`.
    pub(crate) fn node_url(&self, address: &str, db: i64) -> String {
        let (scheme, userinfo, query) = (self.scheme, &self.userinfo, &self.query);
        format!("{scheme}://{userinfo}{address}/{db}{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_path_and_options_are_split() {
        let u = TopologyUrl::parse(
            "rediss+sentinel://:pw@s1,s2:26380/mymaster/2",
            "sentinel",
            26379,
        )
        .unwrap();
        assert_eq!(u.hosts, ["s1:26379", "s2:26380"]);
        assert_eq!(u.path, "mymaster/2");
        assert_eq!(
            u.node_url("10.0.0.1:6379", 2),
            "rediss://:pw@10.0.0.1:6379/2"
        );
        assert_eq!(u.target, "rediss+sentinel://:***@s1,s2:26380/mymaster/2");
        let err = TopologyUrl::parse("redis+cluster://a:1", "sentinel", 1).unwrap_err();
        assert!(err.to_string().contains("use redis+sentinel://"), "{err}");
        assert!(TopologyUrl::parse("redis+cluster://", "cluster", 1).is_err());
    }
}
