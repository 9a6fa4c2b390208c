//! [`MySqlConnector`]: MySQL and MariaDB business databases.

use std::fmt;

use async_trait::async_trait;
use sqlx::MySqlPool;
use sqlx::mysql::MySqlConnectOptions;
use tokio::sync::OnceCell;

use super::catalog::{keys_by_table, primary_key_of, sorted, user_databases};
use super::ident::{quote_identifier, validate_identifier};
use super::sqlx_common::{connect_pool, read_max, sqlx_error};
use super::{Column, ConnectorOptions, DbConnector, DbServer, PrimaryKey};
use crate::config::{DatabaseConfig, DbType};
use crate::error::{Error, Result};

/// Schemas every MySQL / MariaDB server has, which hold no business tables.
pub(crate) const SYSTEM_DATABASES: [&str; 4] =
    ["information_schema", "mysql", "performance_schema", "sys"];

/// Reads MySQL / MariaDB: a "database" is a schema; every base table of it is listed.
///
/// One pool of up to [`ConnectorOptions::max_connections`] connections, opened on first use,
/// serves every schema (statements name the schema). Catalog lookups compare names exactly
/// (in Rust, whatever the `information_schema` collation), so tables differing only in case
/// (`lower_case_table_names = 0`) are told apart.
pub struct MySqlConnector {
    /// Which server is read, and where it listens.
    server: DbServer,
    /// Login options (with the password; never printed).
    connect: MySqlConnectOptions,
    /// Connections and timeouts.
    options: ConnectorOptions,
    /// The pool, created by the first call that needs it.
    pool: OnceCell<MySqlPool>,
}

impl fmt::Debug for MySqlConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySqlConnector")
            .field("endpoint", &self.target())
            .field("user", &self.connect.get_username())
            .field("connected", &self.pool.initialized())
            .finish_non_exhaustive()
    }
}

impl MySqlConnector {
    /// A connector for the configuration; connects on first use.
    pub fn new(config: &DatabaseConfig, options: &ConnectorOptions) -> Result<Self> {
        let server = DbServer::new(DbType::MySql, config)?;
        let mut connect = MySqlConnectOptions::new()
            .host(&server.endpoint.host)
            .port(server.endpoint.port)
            .username(&config.db_user)
            .charset("utf8mb4");
        if !config.db_password.is_empty() {
            connect = connect.password(&config.db_password);
        }
        Ok(MySqlConnector {
            server,
            connect,
            options: options.clone(),
            pool: OnceCell::new(),
        })
    }

    async fn pool(&self) -> Result<&MySqlPool> {
        self.pool
            .get_or_try_init(|| async {
                connect_pool(&self.options, self.connect.clone())
                    .await
                    .map_err(|e| e.into_connect(self.target()))
            })
            .await
    }

    fn err(&self, e: sqlx::Error) -> Error {
        sqlx_error("mysql", &self.target(), e)
    }

    /// Rows of text columns for a statement with text parameters.
    async fn text_rows<const N: usize>(
        &self,
        sql: &'static str,
        params: &[&str],
    ) -> Result<Vec<[Option<String>; N]>> {
        use sqlx::Row;
        let mut query = sqlx::query(sql);
        for p in params {
            query = query.bind(*p);
        }
        let rows = query
            .fetch_all(self.pool().await?)
            .await
            .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|row| {
                let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = row.try_get(i).map_err(|e| self.err(e))?;
                }
                Ok(out)
            })
            .collect()
    }

    /// The names of the key columns of `table`, in key order.
    async fn key_column_names(&self, database: &str, table: &str) -> Result<Vec<String>> {
        let rows = self
            .text_rows::<3>(PRIMARY_KEY_SQL, &[database, table])
            .await?;
        Ok(rows
            .into_iter()
            .filter(|[s, t, _]| same(s, database) && same(t, table))
            .filter_map(|[_, _, name]| name)
            .collect())
    }
}

/// `SELECT ... FROM information_schema`: every name is cast to text so that MySQL 8 and
/// MariaDB return the same type, and compared exactly in Rust afterwards.
const DATABASES_SQL: &str = "SELECT CAST(SCHEMA_NAME AS CHAR) FROM information_schema.SCHEMATA";
const TABLES_SQL: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR) \
     FROM information_schema.TABLES \
     WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')";
const COLUMNS_SQL: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), \
     CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR) \
     FROM information_schema.COLUMNS c \
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
     AND EXISTS (SELECT 1 FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = c.TABLE_SCHEMA \
     AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')) \
     ORDER BY ORDINAL_POSITION";
const PRIMARY_KEY_SQL: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), \
     CAST(COLUMN_NAME AS CHAR) \
     FROM information_schema.STATISTICS \
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' \
     ORDER BY SEQ_IN_INDEX";

/// The key columns of every table of a schema, in key order within a table. Joined in Rust
/// with [`SCHEMA_KEY_TYPES_SQL`]: MariaDB runs a join of two `information_schema` views many
/// times slower than the two queries.
const SCHEMA_KEYS_SQL: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), \
     CAST(COLUMN_NAME AS CHAR) FROM information_schema.STATISTICS \
     WHERE TABLE_SCHEMA = ? AND INDEX_NAME = 'PRIMARY' \
     ORDER BY TABLE_NAME, SEQ_IN_INDEX";
/// The types of the columns of a schema that may be key columns (`COLUMN_KEY = 'PRI'` marks
/// every primary key column, and the columns of a unique key standing in for a missing one).
const SCHEMA_KEY_TYPES_SQL: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), \
     CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR) FROM information_schema.COLUMNS \
     WHERE TABLE_SCHEMA = ? AND COLUMN_KEY = 'PRI'";

/// `SELECT CAST(MAX(`column`) AS CHAR) FROM `database`.`table``, names validated and quoted.
pub(crate) fn max_sql(database: &str, table: &str, column: &str) -> Result<String> {
    let (d, t, c) = (
        quote_identifier(DbType::MySql, database)?,
        quote_identifier(DbType::MySql, table)?,
        quote_identifier(DbType::MySql, column)?,
    );
    Ok(format!("SELECT CAST(MAX({c}) AS CHAR) FROM {d}.{t}"))
}

fn same(a: &Option<String>, b: &str) -> bool {
    a.as_deref() == Some(b)
}

#[async_trait]
impl DbConnector for MySqlConnector {
    fn server(&self) -> &DbServer {
        &self.server
    }

    async fn list_databases(&self) -> Result<Vec<String>> {
        let rows = self.text_rows::<1>(DATABASES_SQL, &[]).await?;
        Ok(user_databases(
            rows.into_iter().filter_map(|[name]| name),
            &SYSTEM_DATABASES,
        ))
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<String>> {
        validate_identifier(DbType::MySql, database)?;
        let rows = self.text_rows::<2>(TABLES_SQL, &[database]).await?;
        Ok(sorted(
            rows.into_iter()
                .filter(|[schema, _]| same(schema, database))
                .filter_map(|[_, table]| table),
        ))
    }

    async fn list_columns(&self, database: &str, table: &str) -> Result<Vec<Column>> {
        validate_identifier(DbType::MySql, database)?;
        validate_identifier(DbType::MySql, table)?;
        let rows = self.text_rows::<4>(COLUMNS_SQL, &[database, table]).await?;
        Ok(rows
            .into_iter()
            .filter(|[s, t, _, _]| same(s, database) && same(t, table))
            .filter_map(|[_, _, name, ty]| {
                Some(Column {
                    name: name?,
                    ty: ty?,
                })
            })
            .collect())
    }

    async fn primary_key(&self, database: &str, table: &str) -> Result<PrimaryKey> {
        primary_key_of(self, database, table, Self::key_column_names).await
    }

    async fn primary_keys(&self, database: &str) -> Result<Vec<(String, Result<PrimaryKey>)>> {
        let tables = self.list_tables(database).await?;
        let names = self.text_rows::<3>(SCHEMA_KEYS_SQL, &[database]).await?;
        let types = self
            .text_rows::<4>(SCHEMA_KEY_TYPES_SQL, &[database])
            .await?;
        // Names are compared exactly: the catalog's collation may ignore case.
        let types: std::collections::HashMap<(String, String), String> = types
            .into_iter()
            .filter(|[s, ..]| same(s, database))
            .filter_map(|[_, t, c, ty]| Some(((t?, c?), ty?)))
            .collect();
        let key_columns = names
            .into_iter()
            .filter(|[s, _, _]| same(s, database))
            .filter_map(|[_, t, c]| {
                let (t, name) = (t?, c?);
                let ty = types.get(&(t.clone(), name.clone()))?.clone();
                Some((t, Column { name, ty }))
            });
        Ok(keys_by_table(tables, key_columns))
    }

    fn parallelism(&self) -> usize {
        self.options.max_connections.max(1) as usize
    }

    async fn max_value(&self, database: &str, table: &str, column: &str) -> Result<i64> {
        let sql = max_sql(database, table, column)?;
        let names = [database, table, column];
        read_max(self.pool().await?, sql, "mysql", &self.target(), names).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::testing::connector as check;

    #[test]
    fn max_statement_quotes_every_name() {
        assert_eq!(
            max_sql("shop-db", "order", "select").unwrap(),
            "SELECT CAST(MAX(`select`) AS CHAR) FROM `shop-db`.`order`"
        );
        assert!(matches!(
            max_sql("d", "a`; DROP TABLE x; --", "id"),
            Err(Error::InvalidIdentifier { .. })
        ));
        assert!(max_sql("d", "x\"y", "id").is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql_connector_conforms() {
        let db = TestDatabase::mysql().await;
        let fixture = check::Fixture::mysql();
        // MySQL drops a database while idle sessions on it remain: dropping the connectors is enough.
        let close = async |connectors| drop(connectors);
        check::conforms_on_test_database(db, &fixture, MySqlConnector::new, close).await;
    }
}
