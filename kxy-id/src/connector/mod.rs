//! [`DbConnector`]: reads a business database's catalog and `MAX(id)`s to seed counters.
//!
//! One implementation per database, each behind its cargo feature:
//!
//! | database | type | feature | driver |
//! |---|---|---|---|
//! | MySQL / MariaDB | `MySqlConnector` | `mysql` | sqlx |
//! | PostgreSQL | `PgConnector` | `postgres` | sqlx |
//! | SQL Server | `MssqlConnector` | `mssql` | tiberius (TDS 7.3+, rustls) |
//! | Oracle | `OracleConnector` | `oracle` | `oracle` (Oracle Instant Client at run time) |
//!
//! What a "database" is differs per dialect:
//!
//! - MySQL: a schema; every base table of it.
//! - PostgreSQL: a database; the base tables of its schema `public`.
//! - SQL Server: a database; the base tables of its schema `dbo`.
//! - Oracle: the configured service (`db_name`); the tables of the connecting user's schema.
//!
//! Connectors connect lazily (on first use), keep their connections for later calls, and
//! report an unreachable server as [`Error::Connect`] naming `host:port` and the cause,
//! never the password.
//!
//! Per-dialect helpers (quoting, catalog rows, `MAX` text) are private to this module.

// A build without any connector has the trait but nothing that quotes names or reads a
// catalog; those helpers stay compiled (and tested) all the same.
#![cfg_attr(
    not(any(
        feature = "mysql",
        feature = "postgres",
        feature = "mssql",
        feature = "oracle"
    )),
    allow(dead_code)
)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::{DatabaseConfig, DbType};
use crate::error::{Error, Result};

mod catalog;
mod classify;
mod ident;
mod server;
#[cfg(any(feature = "mysql", feature = "postgres"))]
mod sqlx_common;

#[cfg(feature = "mssql")]
mod mssql;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "oracle")]
mod oracle;
#[cfg(feature = "postgres")]
mod postgres;

pub use classify::{Column, PrimaryKey, SkipReason, TableClass};
pub use server::DbServer;

pub(crate) use classify::classify;
#[cfg(any(test, feature = "test-util"))]
pub(crate) use classify::is_integer_type;
#[cfg(any(feature = "oracle", test, feature = "test-util"))]
#[cfg(any(test, feature = "test-util"))]
pub(crate) use ident::closing_quote;
pub(crate) use ident::{pick_name, validate_identifier};

#[cfg(feature = "mssql")]
pub use mssql::MssqlConnector;
#[cfg(feature = "mysql")]
pub use mysql::MySqlConnector;
#[cfg(feature = "oracle")]
pub use oracle::OracleConnector;
#[cfg(feature = "postgres")]
pub use postgres::PgConnector;

/// How connectors connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorOptions {
    /// How long to wait for a connection (TCP, TLS and login) before giving up. Default 5 s.
    pub connect_timeout: Duration,
    /// The most connections a connector opens to one business database at once (the `MAX`
    /// queries of initialize and the scanner run this many at a time). Default 4.
    pub max_connections: u32,
    /// SQL Server only: accept the server's TLS certificate without checking it (servers often
    /// use the self-signed certificate SQL Server generates). Default `false`.
    pub trust_server_certificate: bool,
}

impl Default for ConnectorOptions {
    fn default() -> Self {
        ConnectorOptions {
            connect_timeout: Duration::from_secs(5),
            max_connections: 4,
            trust_server_certificate: false,
        }
    }
}

/// Reads a business database: which databases and tables it has, their primary keys and
/// column types, and the largest value of a column.
///
/// Names passed in are real names, matched exactly (as the database spells them); the
/// `find_*` methods turn a name in any case (segment keys are lower-cased) into the real one.
/// Every name is checked before use and refused with [`Error::InvalidIdentifier`] if it could
/// break the dialect's quoting (empty, longer than 128 characters, holding a control character
/// or the dialect's closing quote); values are always bound as parameters.
#[async_trait]
pub trait DbConnector: Send + Sync + std::fmt::Debug {
    /// The server this connector reads: which kind of database it is and where it listens.
    fn server(&self) -> &DbServer;

    /// Which kind of database this connector reads.
    fn db_type(&self) -> DbType {
        self.server().db_type
    }

    /// `host:port` of the server, for messages.
    fn target(&self) -> String {
        self.server().endpoint.to_string()
    }

    /// The databases a scan covers, sorted: every database the user can see, without the
    /// system ones (`information_schema`, `mysql`, `performance_schema`, `sys`; `postgres`,
    /// `template0`, `template1`; `master`, `tempdb`, `model`, `msdb`). Oracle: the configured
    /// service only.
    async fn list_databases(&self) -> Result<Vec<String>>;

    /// The base tables of `database` (no views), sorted.
    async fn list_tables(&self, database: &str) -> Result<Vec<String>>;

    /// The columns of a table with their declared types, in table order (empty when the
    /// table does not exist).
    async fn list_columns(&self, database: &str, table: &str) -> Result<Vec<Column>>;

    /// The primary key of a table (no columns when it has none);
    /// [`Error::NotFound`] when the table does not exist.
    async fn primary_key(&self, database: &str, table: &str) -> Result<PrimaryKey>;

    /// The primary key of every base table of `database` (no columns for a table without
    /// one), sorted by table: what [`list_tables`] and [`primary_key`] give table by table,
    /// read in a handful of catalog queries whatever the number of tables. A table whose key
    /// could not be read has its error instead.
    ///
    /// The default asks table by table; every connector of this crate overrides it.
    ///
    /// [`list_tables`]: DbConnector::list_tables
    /// [`primary_key`]: DbConnector::primary_key
    async fn primary_keys(&self, database: &str) -> Result<Vec<(String, Result<PrimaryKey>)>> {
        let mut out = Vec::new();
        for table in self.list_tables(database).await? {
            let key = self.primary_key(database, &table).await;
            out.push((table, key));
        }
        Ok(out)
    }

    /// How many `MAX` queries may run at once ([`ConnectorOptions::max_connections`] for the
    /// connectors with a pool, 1 for those with one connection).
    fn parallelism(&self) -> usize {
        1
    }

    /// `MAX(column)` of a table, 0 for an empty table (or only NULLs).
    ///
    /// [`Error::OutOfRange`] when the value does not fit an `i64` (a `BIGINT UNSIGNED` past
    /// 2^63 − 1, an Oracle `NUMBER(38)`, ...).
    async fn max_value(&self, database: &str, table: &str, column: &str) -> Result<i64>;

    /// The declared type of a column, `None` when the table or the column does not exist.
    /// Names are matched exactly.
    async fn column_type(
        &self,
        database: &str,
        table: &str,
        column: &str,
    ) -> Result<Option<String>> {
        validate_identifier(self.db_type(), column)?;
        let columns = self.list_columns(database, table).await?;
        Ok(columns.into_iter().find(|c| c.name == column).map(|c| c.ty))
    }

    /// The real name of a database named `name` in any case: the exact spelling if there is
    /// one, else the one name equal to it ignoring case; `None` when there is none, or several
    /// and none exact (the choice would be a guess).
    async fn find_database(&self, name: &str) -> Result<Option<String>> {
        validate_identifier(self.db_type(), name)?;
        let all = self.list_databases().await?;
        Ok(pick_name(all.iter().map(String::as_str), name).map(str::to_owned))
    }

    /// The real name of a table named `name` in any case (chosen as by [`find_database`]).
    ///
    /// [`find_database`]: DbConnector::find_database
    async fn find_table(&self, database: &str, name: &str) -> Result<Option<String>> {
        validate_identifier(self.db_type(), name)?;
        let all = self.list_tables(database).await?;
        Ok(pick_name(all.iter().map(String::as_str), name).map(str::to_owned))
    }

    /// The real column named `name` in any case (chosen as by [`find_database`]), with its
    /// type.
    ///
    /// [`find_database`]: DbConnector::find_database
    async fn find_column(&self, database: &str, table: &str, name: &str) -> Result<Option<Column>> {
        validate_identifier(self.db_type(), name)?;
        let all = self.list_columns(database, table).await?;
        let real = pick_name(all.iter().map(|c| c.name.as_str()), name).map(str::to_owned);
        Ok(real.and_then(|real| all.into_iter().find(|c| c.name == real)))
    }

    /// Whether a table with this primary key can seed a counter: a single column of one of the
    /// dialect's integer types.
    fn classify(&self, key: &PrimaryKey) -> TableClass {
        classify(self.db_type(), key)
    }
}

/// The connector for a configuration. Does not connect: connectors connect on first use.
///
/// [`Error::InvalidConfig`] for a bad `db_address` (or an Oracle configuration without a
/// service name); [`Error::Unsupported`] when the database's cargo feature is not compiled in.
#[allow(unused_variables)]
pub fn connector_for(
    config: &DatabaseConfig,
    options: &ConnectorOptions,
) -> Result<Arc<dyn DbConnector>> {
    config.endpoint()?;
    match config.db_type {
        #[cfg(feature = "mysql")]
        DbType::MySql => Ok(Arc::new(MySqlConnector::new(config, options)?)),
        #[cfg(feature = "postgres")]
        DbType::Postgres => Ok(Arc::new(PgConnector::new(config, options)?)),
        #[cfg(feature = "mssql")]
        DbType::SqlServer => Ok(Arc::new(MssqlConnector::new(config, options)?)),
        #[cfg(feature = "oracle")]
        DbType::Oracle => Ok(Arc::new(OracleConnector::new(config, options)?)),
        #[allow(unreachable_patterns)]
        other => Err(unsupported(other)),
    }
}

/// The error for a database whose connector is not compiled in.
#[allow(dead_code)]
fn unsupported(db_type: DbType) -> Error {
    Error::Unsupported(format!(
        "{db_type} databases are not supported by this build: enable the cargo feature `{}` of kxy-id",
        db_type.cargo_feature()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(db_type: DbType, address: &str) -> DatabaseConfig {
        DatabaseConfig {
            guid: "g".into(),
            system_code: "s".into(),
            db_type,
            db_address: address.into(),
            db_user: "u".into(),
            db_password: "secret-pw".into(),
            db_name: Some("svc".into()),
        }
    }

    #[test]
    fn connector_for_checks_the_address_first() {
        for t in DbType::ALL {
            assert!(matches!(
                connector_for(&config(t, "host:99999"), &ConnectorOptions::default()),
                Err(Error::InvalidConfig(_))
            ));
        }
    }

    /// Whether the connector for `t` is compiled into this build.
    fn compiled(t: DbType) -> bool {
        match t {
            DbType::MySql => cfg!(feature = "mysql"),
            DbType::Postgres => cfg!(feature = "postgres"),
            DbType::SqlServer => cfg!(feature = "mssql"),
            DbType::Oracle => cfg!(feature = "oracle"),
        }
    }

    #[test]
    fn each_type_is_built_or_names_its_feature() {
        for t in DbType::ALL {
            let compiled = compiled(t);
            match connector_for(&config(t, "127.0.0.1"), &ConnectorOptions::default()) {
                Ok(c) => {
                    assert!(compiled, "{t}");
                    assert_eq!(c.db_type(), t);
                    assert_eq!(c.target(), format!("127.0.0.1:{}", t.default_port()));
                    assert!(!format!("{c:?}").contains("secret-pw"));
                }
                Err(Error::Unsupported(msg)) => {
                    assert!(!compiled, "{t}: {msg}");
                    assert!(msg.contains(t.cargo_feature()), "{msg}");
                }
                Err(e) => panic!("{t}: {e}"),
            }
        }
        assert_eq!(
            unsupported(DbType::SqlServer).to_string(),
            "sqlserver databases are not supported by this build: enable the cargo feature `mssql` of kxy-id"
        );
    }

    /// Every compiled connector that connects over TCP itself reports a server that does not
    /// answer as a connect error naming the server, never the password. (Oracle's driver may
    /// lack its client library instead; its own test covers both.)
    #[tokio::test]
    async fn unreachable_server_names_the_host_and_hides_the_password() {
        for t in [DbType::MySql, DbType::Postgres, DbType::SqlServer] {
            if compiled(t) {
                crate::testing::connector::silent_server_is_a_connect_error(t).await;
            }
        }
    }
}
