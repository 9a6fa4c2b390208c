//! [`DatabaseConfig`]: a business database whose tables seed counters.
//!
//! The JSON form is the old service's (`kxy:id:db_config:{guid}` in Redis), field for field,
//! so configurations it stored (with a plain-text `db_password`) read back unchanged.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The kind of a business database.
///
/// Serialized as the old service wrote it: `mysql`, `postgresql`, `sqlserver`, `oracle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DbType {
    /// MySQL or MariaDB.
    #[serde(rename = "mysql")]
    MySql,
    /// PostgreSQL.
    #[serde(rename = "postgresql")]
    Postgres,
    /// Microsoft SQL Server.
    #[serde(rename = "sqlserver")]
    SqlServer,
    /// Oracle Database.
    #[serde(rename = "oracle")]
    Oracle,
}

impl DbType {
    /// Every database type, in the order of the API documentation.
    pub const ALL: [DbType; 4] = [
        DbType::MySql,
        DbType::Postgres,
        DbType::SqlServer,
        DbType::Oracle,
    ];

    /// The name used in JSON and in the API (`mysql`, `postgresql`, `sqlserver`, `oracle`).
    pub fn as_str(self) -> &'static str {
        match self {
            DbType::MySql => "mysql",
            DbType::Postgres => "postgresql",
            DbType::SqlServer => "sqlserver",
            DbType::Oracle => "oracle",
        }
    }

    /// The port used when `db_address` names none: 3306, 5432, 1433 or 1521.
    pub fn default_port(self) -> u16 {
        match self {
            DbType::MySql => 3306,
            DbType::Postgres => 5432,
            DbType::SqlServer => 1433,
            DbType::Oracle => 1521,
        }
    }

    /// The cargo feature of `kxy-id` that compiles this database's connector in.
    pub fn cargo_feature(self) -> &'static str {
        match self {
            DbType::MySql => "mysql",
            DbType::Postgres => "postgres",
            DbType::SqlServer => "mssql",
            DbType::Oracle => "oracle",
        }
    }
}

impl fmt::Display for DbType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DbType {
    type Err = Error;

    /// Parses the API name (`mysql`, `postgresql`, `sqlserver`, `oracle`), ignoring case.
    fn from_str(s: &str) -> Result<Self> {
        DbType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "unknown database type {s:?}: expected one of mysql, postgresql, sqlserver, oracle"
                ))
            })
    }
}

/// A host and port to connect to, parsed from `db_address`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// A host name, an IPv4 address or an IPv6 address (without brackets).
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

impl Endpoint {
    /// Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address; a missing
    /// port is `default_port`.
    ///
    /// Errors with [`Error::InvalidConfig`] for an empty host, a port that is not a number
    /// from 1 to 65535, unbalanced brackets or white space inside the address.
    pub fn parse(address: &str, default_port: u16) -> Result<Endpoint> {
        let bad = |why: &str| {
            Error::InvalidConfig(format!(
                "invalid db_address {address:?}: {why} (expected host or host:port, e.g. db.example.com:3306 or [::1]:5432)"
            ))
        };
        let address = address.trim();
        if address.is_empty() {
            return Err(bad("it is empty"));
        }
        if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it contains white space or control characters"));
        }
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(|| bad("missing `]`"))?;
            if host.parse::<Ipv6Addr>().is_err() {
                return Err(bad("the part in brackets is not an IPv6 address"));
            }
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("unexpected text after `]`"))?,
                ),
            };
            (host, port)
        } else if address.matches(':').count() > 1 {
            // More than one colon and no brackets: only a bare IPv6 address makes sense.
            if address.parse::<Ipv6Addr>().is_err() {
                return Err(bad("write an IPv6 address with a port as [address]:port"));
            }
            (address, None)
        } else {
            match address.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (address, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if host.contains(['/', '@', '?', '#', '[', ']']) {
            return Err(bad("the host contains `/`, `@`, `?`, `#` or brackets"));
        }
        let port = match port {
            None => default_port,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };
        Ok(Endpoint {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Endpoint {
    /// `host:port`, with brackets around an IPv6 address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A configured business database (`kxy:id:db_config:{guid}`).
///
/// The JSON field names are the old service's. `Debug` never prints the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseConfig {
    /// The configuration's id, a UUID v4.
    pub guid: String,
    /// The system the database belongs to; the first part of every segment key.
    pub system_code: String,
    /// Which kind of database this is.
    pub db_type: DbType,
    /// `host` or `host:port` (`[v6]:port` for IPv6); see [`DatabaseConfig::endpoint`].
    pub db_address: String,
    /// The user to log in as.
    pub db_user: String,
    /// The user's password (plain text in memory; the server encrypts it at rest).
    pub db_password: String,
    /// The one database to scan, or `None` for every non-system database the user can see.
    /// For Oracle, the service name to connect to (required).
    #[serde(default)]
    pub db_name: Option<String>,
}

impl DatabaseConfig {
    /// The host and port to connect to (`db_address`, with the type's default port).
    pub fn endpoint(&self) -> Result<Endpoint> {
        Endpoint::parse(&self.db_address, self.db_type.default_port())
    }

    /// The configured database name, `None` when absent or blank.
    pub fn database(&self) -> Option<&str> {
        self.db_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("guid", &self.guid)
            .field("system_code", &self.system_code)
            .field("db_type", &self.db_type)
            .field("db_address", &self.db_address)
            .field("db_user", &self.db_user)
            .field(
                "db_password",
                &if self.db_password.is_empty() {
                    ""
                } else {
                    "***"
                },
            )
            .field("db_name", &self.db_name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(address: &str, default: u16) -> Result<(String, u16)> {
        Endpoint::parse(address, default).map(|e| (e.host, e.port))
    }

    #[test]
    fn addresses_with_and_without_ports() {
        assert_eq!(ep("db.local", 3306).unwrap(), ("db.local".into(), 3306));
        assert_eq!(
            ep("db.local:3307", 3306).unwrap(),
            ("db.local".into(), 3307)
        );
        assert_eq!(
            ep(" 10.0.0.5:5433 ", 5432).unwrap(),
            ("10.0.0.5".into(), 5433)
        );
        assert_eq!(ep("[::1]:5432", 1).unwrap(), ("::1".into(), 5432));
        assert_eq!(ep("[::1]", 1433).unwrap(), ("::1".into(), 1433));
        assert_eq!(ep("fe80::1", 1521).unwrap(), ("fe80::1".into(), 1521));
    }

    #[test]
    fn bad_addresses_are_invalid_config() {
        for bad in [
            "",
            "  ",
            ":3306",
            "host:",
            "host:0",
            "host:65536",
            "host:-1",
            "host:+80",
            "host:abc",
            "host:33 06",
            "a:b:c",
            "[::1",
            "[::1]5432",
            "[nothost]:1",
            "[]:1",
            "user@host:1",
            "host/db:1",
        ] {
            match Endpoint::parse(bad, 3306) {
                Err(Error::InvalidConfig(msg)) => assert!(msg.contains("db_address"), "{msg}"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn endpoints_display_with_brackets_for_ipv6() {
        assert_eq!(Endpoint::parse("h", 1433).unwrap().to_string(), "h:1433");
        assert_eq!(
            Endpoint::parse("[::1]:5432", 1).unwrap().to_string(),
            "[::1]:5432"
        );
    }

    #[test]
    fn db_types_serialize_as_the_old_service_wrote_them() {
        for (t, name, port) in [
            (DbType::MySql, "mysql", 3306),
            (DbType::Postgres, "postgresql", 5432),
            (DbType::SqlServer, "sqlserver", 1433),
            (DbType::Oracle, "oracle", 1521),
        ] {
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<DbType>(&format!("\"{name}\"")).unwrap(),
                t
            );
            assert_eq!(name.to_uppercase().parse::<DbType>().unwrap(), t);
            assert_eq!(t.default_port(), port);
        }
        assert!(serde_json::from_str::<DbType>("\"mongodb\"").is_err());
        assert!(matches!(
            "mongodb".parse::<DbType>(),
            Err(Error::InvalidConfig(_))
        ));
    }

    #[test]
    fn old_service_json_deserializes() {
        let old = r#"{"guid":"6f1c2a52-3d1e-4d7c-9d1e-2b0f3f9d8a11","system_code":"crm",
            "db_type":"mysql","db_address":"10.1.2.3:3306","db_user":"root",
            "db_password":"plain-secret","db_name":"crm_prod"}"#;
        let c: DatabaseConfig = serde_json::from_str(old).unwrap();
        assert_eq!(c.db_type, DbType::MySql);
        assert_eq!(c.db_password, "plain-secret");
        assert_eq!(c.database(), Some("crm_prod"));
        assert_eq!(c.endpoint().unwrap().to_string(), "10.1.2.3:3306");

        let null_name = old.replace(r#""crm_prod""#, "null");
        let c: DatabaseConfig = serde_json::from_str(&null_name).unwrap();
        assert_eq!(c.db_name, None);
        let absent = old.replace(r#","db_name":"crm_prod""#, "");
        let c: DatabaseConfig = serde_json::from_str(&absent).unwrap();
        assert_eq!(c.db_name, None);

        let json = serde_json::to_value(&c).unwrap();
        let mut fields: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "db_address",
                "db_name",
                "db_password",
                "db_type",
                "db_user",
                "guid",
                "system_code"
            ]
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let c = DatabaseConfig {
            guid: "g".into(),
            system_code: "s".into(),
            db_type: DbType::Postgres,
            db_address: "h".into(),
            db_user: "u".into(),
            db_password: "hunter2-secret".into(),
            db_name: Some("  ".into()),
        };
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        assert_eq!(c.database(), None);
    }
}
