//! [`MssqlConnector`]: Microsoft SQL Server business databases (tiberius, TDS 7.3+).

use std::fmt;

use async_trait::async_trait;
use tiberius::{AuthMethod, Client, Config, EncryptionLevel, ToSql};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::catalog::{
    CatalogType, column_from_row, keys_by_table, parse_max, primary_key_of, single_column, sorted,
    user_databases,
};
use super::ident::{quote_identifier, validate_identifier};
use super::{Column, ConnectorOptions, DbConnector, DbServer, PrimaryKey};
use crate::config::{DatabaseConfig, DbType};
use crate::error::{Error, Result};

/// Databases every SQL Server has, which hold no business tables.
pub(crate) const SYSTEM_DATABASES: [&str; 4] = ["master", "tempdb", "model", "msdb"];

/// The schema whose tables are read.
pub(crate) const SCHEMA: &str = "dbo";

type Connection = Client<Compat<TcpStream>>;

/// Reads SQL Server: a "database" is a database; the base tables of its schema `dbo` are listed.
///
/// One connection, opened on first use and reopened after a network error, serves every
/// database (statements use three-part names, `[db].[dbo].[table]`). The connection is
/// encrypted with rustls (aws-lc-rs); a server with the self-signed certificate SQL Server
/// generates needs [`ConnectorOptions::trust_server_certificate`]. Catalog names are compared
/// exactly in Rust, whatever the server's collation.
pub struct MssqlConnector {
    /// Which server is read, and where it listens.
    server: DbServer,
    /// Login and TLS settings (with the password; never printed).
    config: Config,
    /// Connections and timeouts.
    options: ConnectorOptions,
    /// The connection, `None` until first use or after it broke.
    client: Mutex<Option<Connection>>,
}

impl fmt::Debug for MssqlConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MssqlConnector")
            .field("endpoint", &self.target())
            .field(
                "trust_server_certificate",
                &self.options.trust_server_certificate,
            )
            .finish_non_exhaustive()
    }
}

impl MssqlConnector {
    /// A connector for the configuration; connects on first use.
    pub fn new(config: &DatabaseConfig, options: &ConnectorOptions) -> Result<Self> {
        let server = DbServer::new(DbType::SqlServer, config)?;
        let mut tds = Config::new();
        tds.host(&server.endpoint.host);
        tds.port(server.endpoint.port);
        tds.authentication(AuthMethod::sql_server(&config.db_user, &config.db_password));
        tds.application_name("kxy-id");
        tds.encryption(EncryptionLevel::Required);
        if options.trust_server_certificate {
            tds.trust_cert();
        }
        if let Some(db) = config.database() {
            tds.database(db);
        }
        Ok(MssqlConnector {
            server,
            config: tds,
            options: options.clone(),
            client: Mutex::new(None),
        })
    }

    fn connect_error(&self, reason: impl fmt::Display) -> Error {
        let mut reason = reason.to_string();
        if reason.contains("certificate") && !self.options.trust_server_certificate {
            reason.push_str(
                " (if the server uses SQL Server's self-signed certificate, set trust_server_certificate)",
            );
        }
        Error::Connect {
            target: self.target(),
            reason,
        }
    }

    async fn connect(&self) -> Result<Connection> {
        let timeout = self.options.connect_timeout;
        let connecting = async {
            let mut config = self.config.clone();
            // Azure SQL may send the client to another host once (routing).
            for _ in 0..2 {
                let tcp = TcpStream::connect(config.get_addr())
                    .await
                    .map_err(|e| self.connect_error(e))?;
                tcp.set_nodelay(true).map_err(|e| self.connect_error(e))?;
                match Client::connect(config.clone(), tcp.compat_write()).await {
                    Ok(client) => return Ok(client),
                    Err(tiberius::error::Error::Routing { host, port }) => {
                        config.host(host);
                        config.port(port);
                    }
                    Err(e) => return Err(self.connect_error(e)),
                }
            }
            Err(self.connect_error("the server redirected the connection more than once"))
        };
        match tokio::time::timeout(timeout, connecting).await {
            Ok(result) => result,
            Err(_) => Err(self.connect_error(format!("no answer within {timeout:?}"))),
        }
    }

    /// Runs a query whose columns are all text and returns its rows.
    async fn text_rows(&self, sql: &str, params: &[&str]) -> Result<Vec<Vec<Option<String>>>> {
        let mut guard = self.client.lock().await;
        if guard.is_none() {
            *guard = Some(self.connect().await?);
        }
        let client = guard.as_mut().expect("connected above");
        let params: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let result = async {
            let stream = client.query(sql, &params).await?;
            let rows = stream.into_first_result().await?;
            rows.iter()
                .map(|row| {
                    (0..row.len())
                        .map(|i| row.try_get::<&str, _>(i).map(|v| v.map(str::to_owned)))
                        .collect::<tiberius::Result<Vec<_>>>()
                })
                .collect::<tiberius::Result<Vec<_>>>()
        }
        .await;
        match result {
            Ok(rows) => Ok(rows),
            Err(e) => {
                let mapped = map_error(&self.target(), e);
                if matches!(mapped, Error::Connect { .. }) {
                    // The connection is broken: open a new one next time.
                    *guard = None;
                }
                Err(mapped)
            }
        }
    }

    /// The names of the key columns of `table`, in key order.
    async fn key_column_names(&self, database: &str, table: &str) -> Result<Vec<String>> {
        let rows = self
            .text_rows(&primary_key_sql(database)?, &[table])
            .await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.first().and_then(|t| t.as_deref()) == Some(table))
            .filter_map(|r| r.get(1).cloned().flatten())
            .collect())
    }
}

/// Maps a tiberius error: network and TLS failures are [`Error::Connect`]; a missing object
/// (208), column (207) or database (911, 4060) is [`Error::NotFound`]; the rest backend errors.
fn map_error(target: &str, e: tiberius::error::Error) -> Error {
    use tiberius::error::Error as E;
    match e {
        E::Io { .. } | E::Tls(_) | E::Routing { .. } => Error::Connect {
            target: target.to_owned(),
            reason: e.to_string(),
        },
        E::Server(token) if matches!(token.code(), 207 | 208 | 911 | 4060) => {
            Error::NotFound(token.message().to_owned())
        }
        e => Error::backend("mssql", e),
    }
}

pub(crate) const DATABASES_SQL: &str = "SELECT CAST(name AS NVARCHAR(128)) FROM sys.databases \
     WHERE state_desc = 'ONLINE' AND HAS_DBACCESS(name) = 1 \
     AND name NOT IN ('master', 'tempdb', 'model', 'msdb')";

/// Base tables of `[database].dbo`.
pub(crate) fn tables_sql(database: &str) -> Result<String> {
    let d = quote_identifier(DbType::SqlServer, database)?;
    Ok(format!(
        "SELECT CAST(TABLE_NAME AS NVARCHAR(128)) FROM {d}.INFORMATION_SCHEMA.TABLES \
         WHERE TABLE_SCHEMA = '{SCHEMA}' AND TABLE_TYPE = 'BASE TABLE'"
    ))
}

/// Columns of one table of `[database].dbo` (`@P1`: the table), every value as text.
pub(crate) fn columns_sql(database: &str) -> Result<String> {
    let d = quote_identifier(DbType::SqlServer, database)?;
    Ok(format!(
        "SELECT CAST(c.TABLE_NAME AS NVARCHAR(128)), CAST(c.COLUMN_NAME AS NVARCHAR(128)), \
         CAST(c.DATA_TYPE AS NVARCHAR(128)), CAST(c.CHARACTER_MAXIMUM_LENGTH AS NVARCHAR(20)), \
         CAST(c.NUMERIC_PRECISION AS NVARCHAR(20)), CAST(c.NUMERIC_SCALE AS NVARCHAR(20)) \
         FROM {d}.INFORMATION_SCHEMA.COLUMNS c \
         JOIN {d}.INFORMATION_SCHEMA.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA \
         AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE' \
         WHERE c.TABLE_SCHEMA = '{SCHEMA}' AND c.TABLE_NAME = @P1 \
         ORDER BY c.ORDINAL_POSITION"
    ))
}

/// Primary key columns of one table of `[database].dbo` (`@P1`: the table), in key order.
pub(crate) fn primary_key_sql(database: &str) -> Result<String> {
    let d = quote_identifier(DbType::SqlServer, database)?;
    Ok(format!(
        "SELECT CAST(k.TABLE_NAME AS NVARCHAR(128)), CAST(k.COLUMN_NAME AS NVARCHAR(128)) \
         FROM {d}.INFORMATION_SCHEMA.TABLE_CONSTRAINTS c \
         JOIN {d}.INFORMATION_SCHEMA.KEY_COLUMN_USAGE k \
         ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME \
         WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' AND c.TABLE_SCHEMA = '{SCHEMA}' \
         AND c.TABLE_NAME = @P1 \
         ORDER BY k.ORDINAL_POSITION"
    ))
}

/// The key columns of every table of `[database].dbo` with their types, in key order within a
/// table: `[table, column, data type, character length, precision, scale]` as text.
pub(crate) fn schema_keys_sql(database: &str) -> Result<String> {
    let d = quote_identifier(DbType::SqlServer, database)?;
    Ok(format!(
        "SELECT CAST(k.TABLE_NAME AS NVARCHAR(128)), CAST(k.COLUMN_NAME AS NVARCHAR(128)), \
         CAST(col.DATA_TYPE AS NVARCHAR(128)), CAST(col.CHARACTER_MAXIMUM_LENGTH AS NVARCHAR(20)), \
         CAST(col.NUMERIC_PRECISION AS NVARCHAR(20)), CAST(col.NUMERIC_SCALE AS NVARCHAR(20)) \
         FROM {d}.INFORMATION_SCHEMA.TABLE_CONSTRAINTS c \
         JOIN {d}.INFORMATION_SCHEMA.KEY_COLUMN_USAGE k \
         ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME \
         JOIN {d}.INFORMATION_SCHEMA.COLUMNS col ON col.TABLE_SCHEMA = k.TABLE_SCHEMA \
         AND col.TABLE_NAME = k.TABLE_NAME AND col.COLUMN_NAME = k.COLUMN_NAME \
         WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' AND c.TABLE_SCHEMA = '{SCHEMA}' \
         ORDER BY k.TABLE_NAME, k.ORDINAL_POSITION"
    ))
}

/// `SELECT CAST(MAX([column]) AS VARCHAR(40)) FROM [database].[dbo].[table]`.
pub(crate) fn max_sql(database: &str, table: &str, column: &str) -> Result<String> {
    let (d, t, c) = (
        quote_identifier(DbType::SqlServer, database)?,
        quote_identifier(DbType::SqlServer, table)?,
        quote_identifier(DbType::SqlServer, column)?,
    );
    Ok(format!(
        "SELECT CAST(MAX({c}) AS VARCHAR(40)) FROM {d}.[{SCHEMA}].{t}"
    ))
}

/// A column type as it is declared: `varchar(36)`, `nvarchar(max)`, `decimal(18,0)`, `int`.
pub(crate) fn type_name(t: &CatalogType<'_>) -> String {
    let lower = t.data_type.to_lowercase();
    match lower.as_str() {
        "char" | "varchar" | "nchar" | "nvarchar" | "binary" | "varbinary" => match t.char_length {
            Some("-1") => format!("{lower}(max)"),
            Some(n) => format!("{lower}({n})"),
            None => lower,
        },
        "decimal" | "numeric" => match (t.precision, t.scale) {
            (Some(p), Some(s)) => format!("{lower}({p},{s})"),
            _ => lower,
        },
        _ => lower,
    }
}

#[async_trait]
impl DbConnector for MssqlConnector {
    fn server(&self) -> &DbServer {
        &self.server
    }

    async fn list_databases(&self) -> Result<Vec<String>> {
        let rows = self.text_rows(DATABASES_SQL, &[]).await?;
        Ok(user_databases(single_column(rows), &SYSTEM_DATABASES))
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<String>> {
        let rows = self.text_rows(&tables_sql(database)?, &[]).await?;
        Ok(sorted(single_column(rows)))
    }

    async fn list_columns(&self, database: &str, table: &str) -> Result<Vec<Column>> {
        validate_identifier(DbType::SqlServer, table)?;
        let rows = self.text_rows(&columns_sql(database)?, &[table]).await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.first().and_then(|t| t.as_deref()) == Some(table))
            .filter_map(|r| column_from_row(r.get(1..)?, type_name))
            .collect())
    }

    async fn primary_key(&self, database: &str, table: &str) -> Result<PrimaryKey> {
        primary_key_of(self, database, table, Self::key_column_names).await
    }

    async fn primary_keys(&self, database: &str) -> Result<Vec<(String, Result<PrimaryKey>)>> {
        let tables = self.list_tables(database).await?;
        let rows = self.text_rows(&schema_keys_sql(database)?, &[]).await?;
        let key_columns = rows.into_iter().filter_map(|r| {
            let table = r.first().cloned().flatten()?;
            Some((table, column_from_row(r.get(1..)?, type_name)?))
        });
        Ok(keys_by_table(tables, key_columns))
    }

    async fn max_value(&self, database: &str, table: &str, column: &str) -> Result<i64> {
        let sql = max_sql(database, table, column)?;
        let rows = self.text_rows(&sql, &[]).await?;
        let text = rows.into_iter().next().and_then(|mut r| r.pop().flatten());
        parse_max("mssql", text.as_deref(), database, table, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::connector as check;
    use crate::testing::{database_config_from_url, unique_name};

    #[test]
    fn statements_quote_names_with_brackets_and_bind_values() {
        assert_eq!(
            max_sql("shop db", "order", "select").unwrap(),
            "SELECT CAST(MAX([select]) AS VARCHAR(40)) FROM [shop db].[dbo].[order]"
        );
        assert_eq!(
            tables_sql("MixedCase").unwrap(),
            "SELECT CAST(TABLE_NAME AS NVARCHAR(128)) FROM [MixedCase].INFORMATION_SCHEMA.TABLES \
             WHERE TABLE_SCHEMA = 'dbo' AND TABLE_TYPE = 'BASE TABLE'"
        );
        let columns = columns_sql("d").unwrap();
        assert!(
            columns.contains("FROM [d].INFORMATION_SCHEMA.COLUMNS c"),
            "{columns}"
        );
        assert!(columns.contains("c.TABLE_NAME = @P1"), "{columns}");
        assert!(columns.contains("TABLE_TYPE = 'BASE TABLE'"), "{columns}");
        let keys = schema_keys_sql("d").unwrap();
        assert!(
            keys.contains("FROM [d].INFORMATION_SCHEMA.TABLE_CONSTRAINTS c")
                && keys.contains("JOIN [d].INFORMATION_SCHEMA.COLUMNS col")
                && keys.contains("CONSTRAINT_TYPE = 'PRIMARY KEY'"),
            "{keys}"
        );
        assert!(
            keys.ends_with("ORDER BY k.TABLE_NAME, k.ORDINAL_POSITION"),
            "{keys}"
        );
        let pk = primary_key_sql("d").unwrap();
        assert!(
            pk.contains("CONSTRAINT_TYPE = 'PRIMARY KEY'") && pk.contains("@P1"),
            "{pk}"
        );
        assert!(pk.ends_with("ORDER BY k.ORDINAL_POSITION"), "{pk}");
        assert!(DATABASES_SQL.contains("HAS_DBACCESS(name) = 1"));
        // Table and column names are never put into catalog statements: they are bound.
        assert!(!columns.contains("order") && !pk.contains("order"));
        for bad in ["a]b", "a]; DROP TABLE x; --", "", "a\0b"] {
            for result in [
                max_sql(bad, "t", "c"),
                max_sql("d", bad, "c"),
                max_sql("d", "t", bad),
                tables_sql(bad),
                columns_sql(bad),
                primary_key_sql(bad),
            ] {
                assert!(
                    matches!(result, Err(Error::InvalidIdentifier { .. })),
                    "{bad:?}: {result:?}"
                );
            }
        }
        // `"` and `` ` `` are plain characters inside brackets.
        assert_eq!(
            max_sql("d", "x\"y", "a`b").unwrap(),
            "SELECT CAST(MAX([a`b]) AS VARCHAR(40)) FROM [d].[dbo].[x\"y]"
        );
    }

    #[test]
    fn declared_types_are_rebuilt() {
        assert_eq!(
            type_name(&CatalogType::new("varchar", Some("36"), None, None)),
            "varchar(36)"
        );
        assert_eq!(
            type_name(&CatalogType::new("nvarchar", Some("-1"), None, None)),
            "nvarchar(max)"
        );
        assert_eq!(
            type_name(&CatalogType::new("decimal", None, Some("18"), Some("0"))),
            "decimal(18,0)"
        );
        assert_eq!(
            type_name(&CatalogType::new("INT", None, Some("10"), Some("0"))),
            "int"
        );
        assert_eq!(
            type_name(&CatalogType::new("uniqueidentifier", None, None, None)),
            "uniqueidentifier"
        );
    }

    /// Test servers use the self-signed certificate SQL Server generates.
    fn trusting() -> ConnectorOptions {
        ConnectorOptions {
            trust_server_certificate: true,
            ..ConnectorOptions::default()
        }
    }

    /// Runs `statements` on the server of `url` (one batch each), in `database` if given.
    async fn execute(url: &str, database: Option<&str>, statements: &[String]) {
        let cfg = database_config_from_url(url, DbType::SqlServer, database);
        let c = MssqlConnector::new(&cfg, &trusting()).unwrap();
        let mut client = c.connect().await.expect("connect to SQL Server");
        for sql in statements {
            let result = match client.simple_query(sql.as_str()).await {
                Ok(stream) => stream.into_results().await.map(|_| ()),
                Err(e) => Err(e),
            };
            result.unwrap_or_else(|e| panic!("{e}\n{sql}"));
        }
    }

    /// Needs `KXY_TEST_MSSQL_URL` (`mssql://sa:password@127.0.0.1:1433`); the user must be
    /// allowed to create databases. The server's certificate is trusted without checking.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mssql_connector_conforms() {
        let Ok(url) = std::env::var("KXY_TEST_MSSQL_URL") else {
            eprintln!("NOTICE: skipping, KXY_TEST_MSSQL_URL is not set");
            return;
        };
        let name = unique_name();
        execute(&url, None, &[format!("CREATE DATABASE [{name}]")]).await;
        let fixture = check::Fixture::mssql();
        execute(&url, Some(&name), &fixture.ddl).await;
        let connectors =
            check::conforms(&url, &name, &fixture, &trusting(), MssqlConnector::new).await;
        drop(connectors);
        execute(
            &url,
            None,
            &[format!(
                "ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [{name}]"
            )],
        )
        .await;
    }
}
