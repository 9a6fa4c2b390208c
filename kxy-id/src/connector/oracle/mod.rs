//! [`OracleConnector`]: Oracle business databases (the `oracle` crate over ODPI-C).
//!
//! The driver loads Oracle Instant Client (`libclntsh`) when it first connects; without it
//! every call fails with [`Error::Unsupported`] explaining how to install it. The driver is
//! synchronous, so every call runs on tokio's blocking thread pool.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use oracle::Connection;

use super::catalog::{
    column_from_row, keys_by_table, parse_max, primary_key_of, single_column, sorted,
};
use super::ident::validate_identifier;
use super::{Column, ConnectorOptions, DbConnector, DbServer, PrimaryKey};
use crate::config::{DatabaseConfig, DbType, Endpoint};
use crate::error::{Error, Result};

mod error;
mod sql;

use error::{connect_error, map_error};
use sql::{
    COLUMNS_SQL, PRIMARY_KEY_SQL, SCHEMA_KEYS_SQL, TABLES_SQL, max_sql, text_rows, type_name,
};

/// Login data, moved into blocking tasks.
#[derive(Clone)]
struct Login {
    user: String,
    password: String,
    /// Easy Connect Plus string: `//host:port/service?connect_timeout=5`.
    connect_string: String,
}

/// Reads Oracle: the one "database" is the configured service (`db_name`, required); its
/// tables are the base tables of the connecting user's schema (`USER_TABLES`).
///
/// One connection, opened on first use (with Easy Connect Plus `connect_timeout`, which needs
/// Instant Client 19c or later) and reopened after it breaks. Unquoted Oracle names are stored
/// in upper case; the `find_*` lookups find `TP_ACCOUNT` from `tp_account`.
pub struct OracleConnector {
    /// Which server is read, and where it listens.
    server: DbServer,
    /// The service name (`db_name`).
    service: String,
    /// How to log in (with the password; never printed).
    login: Login,
    /// The connection, `None` until first use or after it broke.
    connection: Arc<Mutex<Option<Connection>>>,
}

impl fmt::Debug for OracleConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OracleConnector")
            .field("endpoint", &self.target())
            .field("service", &self.service)
            .field("user", &self.login.user)
            .finish_non_exhaustive()
    }
}

/// `//host:port/service?connect_timeout=N&transport_connect_timeout=N` (seconds, at least 1).
pub(crate) fn connect_string(endpoint: &Endpoint, service: &str, timeout_secs: u64) -> String {
    let secs = timeout_secs.max(1);
    format!("//{endpoint}/{service}?connect_timeout={secs}&transport_connect_timeout={secs}")
}

impl OracleConnector {
    /// A connector for the configuration; connects on first use.
    ///
    /// [`Error::InvalidConfig`] when `db_name` (the service name) is missing or not a plain
    /// service name.
    pub fn new(config: &DatabaseConfig, options: &ConnectorOptions) -> Result<Self> {
        let server = DbServer::new(DbType::Oracle, config)?;
        let service = config.database().ok_or_else(|| {
            Error::InvalidConfig(
                "an Oracle configuration needs db_name: the service name to connect to (e.g. ORCLPDB1)"
                    .into(),
            )
        })?;
        if !service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '$' | '#'))
        {
            return Err(Error::InvalidConfig(format!(
                "invalid Oracle service name {service:?}: letters, digits, `_`, `.`, `-`, `$` and `#` only"
            )));
        }
        Ok(OracleConnector {
            login: Login {
                user: config.db_user.clone(),
                password: config.db_password.clone(),
                connect_string: connect_string(
                    &server.endpoint,
                    service,
                    options.connect_timeout.as_secs_f64().ceil() as u64,
                ),
            },
            server,
            service: service.to_owned(),
            connection: Arc::new(Mutex::new(None)),
        })
    }

    /// Runs `f` on the connection (connecting first if needed) in a blocking task.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> oracle::Result<T> + Send + 'static,
    {
        let state = self.connection.clone();
        let login = self.login.clone();
        let target = self.target();
        tokio::task::spawn_blocking(move || {
            let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
            if guard.is_none() {
                let conn = Connection::connect(&login.user, &login.password, &login.connect_string)
                    .map_err(|e| connect_error(&target, &e.to_string()))?;
                *guard = Some(conn);
            }
            let conn = guard.as_ref().expect("connected above");
            f(conn).map_err(|e| {
                let mapped = map_error(&target, &e.to_string());
                if matches!(mapped, Error::Connect { .. }) {
                    *guard = None;
                }
                mapped
            })
        })
        .await
        .map_err(|e| Error::backend_msg("oracle", format!("the blocking task failed: {e}")))?
    }

    /// The names of the key columns of `table`, in key order (`_database`, already checked by
    /// the caller, is the configured service).
    async fn key_column_names(&self, _database: &str, table: &str) -> Result<Vec<String>> {
        let params = vec![table.to_owned()];
        let rows = self
            .run(move |conn| text_rows(conn, PRIMARY_KEY_SQL, &params, 1))
            .await?;
        Ok(single_column(rows).collect())
    }

    /// Checks that `database` is the configured service (in any case).
    fn check_database(&self, database: &str) -> Result<()> {
        validate_identifier(DbType::Oracle, database)?;
        if database.eq_ignore_ascii_case(&self.service) {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "database '{database}' is not the configured Oracle service '{}'",
                self.service
            )))
        }
    }
}

#[async_trait]
impl DbConnector for OracleConnector {
    fn server(&self) -> &DbServer {
        &self.server
    }

    /// The configured service only.
    async fn list_databases(&self) -> Result<Vec<String>> {
        // Connect, so that an unreachable server or a missing client library shows here.
        self.run(|conn| conn.ping()).await?;
        Ok(vec![self.service.clone()])
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<String>> {
        self.check_database(database)?;
        let rows = self.run(|conn| text_rows(conn, TABLES_SQL, &[], 1)).await?;
        Ok(sorted(single_column(rows)))
    }

    async fn list_columns(&self, database: &str, table: &str) -> Result<Vec<Column>> {
        self.check_database(database)?;
        validate_identifier(DbType::Oracle, table)?;
        let params = vec![table.to_owned()];
        let rows = self
            .run(move |conn| text_rows(conn, COLUMNS_SQL, &params, 5))
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| column_from_row(r, type_name))
            .collect())
    }

    async fn primary_key(&self, database: &str, table: &str) -> Result<PrimaryKey> {
        primary_key_of(self, database, table, Self::key_column_names).await
    }

    async fn primary_keys(&self, database: &str) -> Result<Vec<(String, Result<PrimaryKey>)>> {
        let tables = self.list_tables(database).await?;
        let rows = self
            .run(|conn| text_rows(conn, SCHEMA_KEYS_SQL, &[], 6))
            .await?;
        let key_columns = rows.into_iter().filter_map(|r| {
            let table = r.first().cloned().flatten()?;
            Some((table, column_from_row(r.get(1..)?, type_name)?))
        });
        Ok(keys_by_table(tables, key_columns))
    }

    async fn max_value(&self, database: &str, table: &str, column: &str) -> Result<i64> {
        self.check_database(database)?;
        let sql = max_sql(table, column)?;
        let text = self
            .run(move |conn| conn.query_row_as::<Option<String>>(&sql, &[]))
            .await?;
        parse_max("oracle", text.as_deref(), database, table, column)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::connector as check;
    use crate::testing::database_config_from_url;

    #[test]
    fn connect_strings_use_easy_connect_with_a_timeout() {
        let e = Endpoint::parse("db.local", 1521).unwrap();
        assert_eq!(
            connect_string(&e, "ORCLPDB1", 5),
            "//db.local:1521/ORCLPDB1?connect_timeout=5&transport_connect_timeout=5"
        );
        let e = Endpoint::parse("[::1]:1522", 1521).unwrap();
        assert!(connect_string(&e, "FREE", 0).starts_with("//[::1]:1522/FREE?connect_timeout=1"));
    }

    #[test]
    fn configuration_needs_a_plain_service_name() {
        let mut config = check::config(DbType::Oracle, "h", "u", "p", None);
        assert!(matches!(
            OracleConnector::new(&config, &ConnectorOptions::default()),
            Err(Error::InvalidConfig(_))
        ));
        config.db_name = Some("svc?x=1".into());
        assert!(matches!(
            OracleConnector::new(&config, &ConnectorOptions::default()),
            Err(Error::InvalidConfig(_))
        ));
        config.db_name = Some("ORCLPDB1.example.com".into());
        assert!(OracleConnector::new(&config, &ConnectorOptions::default()).is_ok());
    }

    #[tokio::test]
    async fn a_database_other_than_the_service_is_not_found() {
        let config = check::config(DbType::Oracle, "127.0.0.1:1", "u", "pw-secret", Some("SVC"));
        let c = OracleConnector::new(&config, &ConnectorOptions::default()).unwrap();
        assert!(matches!(
            c.list_tables("other").await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            c.max_value("svc", "x\"y", "id").await,
            Err(Error::InvalidIdentifier { .. })
        ));
    }

    /// Without Instant Client the error says what is missing and how to install it; with it,
    /// an unreachable listener is a connect error naming the host.
    #[tokio::test]
    async fn no_server_or_no_client_library_is_explained() {
        let config = check::config(DbType::Oracle, "127.0.0.1:1", "u", "pw-secret", Some("SVC"));
        let options = ConnectorOptions {
            connect_timeout: Duration::from_secs(2),
            ..ConnectorOptions::default()
        };
        let c = OracleConnector::new(&config, &options).unwrap();
        for result in [
            c.list_databases().await.map(|_| ()),
            c.list_tables("SVC").await.map(|_| ()),
            c.max_value("svc", "T", "ID").await.map(|_| ()),
        ] {
            let err = result.expect_err("no server listens there");
            let msg = err.to_string();
            assert!(!msg.contains("pw-secret"), "{msg}");
            match err {
                Error::Unsupported(_) => {
                    assert!(msg.contains("Oracle Instant Client is missing"), "{msg}");
                    assert!(
                        msg.contains("LD_LIBRARY_PATH") && msg.contains("Basic"),
                        "{msg}"
                    );
                    assert!(msg.contains("DPI-1047"), "{msg}");
                }
                Error::Connect { .. } => assert!(msg.contains("127.0.0.1:1"), "{msg}"),
                other => panic!("{other:?}"),
            }
        }
    }

    /// Runs statements as the test user; with `ignore_errors` failures are skipped (drops).
    async fn execute(url: &str, statements: Vec<String>, ignore_errors: bool) {
        let config = database_config_from_url(url, DbType::Oracle, Some(&service_of(url)));
        let c = OracleConnector::new(&config, &ConnectorOptions::default()).unwrap();
        c.run(move |conn| {
            for sql in &statements {
                match conn.execute(sql, &[]) {
                    Ok(_) => {}
                    Err(_) if ignore_errors => {}
                    Err(e) => panic!("{e}\n{sql}"),
                }
            }
            conn.commit()
        })
        .await
        .expect("run statements");
    }

    fn service_of(url: &str) -> String {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        rest.split_once('/')
            .map(|(_, s)| s.split('?').next().unwrap_or_default().to_owned())
            .unwrap_or_default()
    }

    /// Needs `KXY_TEST_ORACLE_URL` (`oracle://user:password@127.0.0.1:1521/FREEPDB1`), a user
    /// that may create tables and views in its own schema (best a dedicated one), and Oracle
    /// Instant Client. Creates and drops tables named `KXYT_*`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oracle_connector_conforms() {
        let Ok(url) = std::env::var("KXY_TEST_ORACLE_URL") else {
            eprintln!("NOTICE: skipping, KXY_TEST_ORACLE_URL is not set");
            return;
        };
        let fixture = check::Fixture::oracle();
        execute(&url, fixture.oracle_drop(), true).await;
        let ddl: Vec<String> = fixture
            .ddl
            .iter()
            .filter(|s| s.as_str() != "COMMIT")
            .cloned()
            .collect();
        execute(&url, ddl, false).await;
        let config = database_config_from_url(&url, DbType::Oracle, Some(&service_of(&url)));
        let connector = OracleConnector::new(&config, &ConnectorOptions::default()).unwrap();
        let (allocators, _dir) = check::allocators_for_tests().await;
        check::run_all(&config, &connector, &fixture, &allocators).await;
        execute(&url, fixture.oracle_drop(), true).await;
    }
}
