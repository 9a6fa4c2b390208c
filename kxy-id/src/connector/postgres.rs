//! [`PgConnector`]: PostgreSQL business databases.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use tokio::sync::Mutex;

use super::catalog::{keys_by_table, primary_key_of, sorted};
use super::ident::{quote_identifier, validate_identifier};
use super::sqlx_common::{PoolError, connect_pool, read_max, sqlx_error};
use super::{Column, ConnectorOptions, DbConnector, DbServer, PrimaryKey};
use crate::config::{DatabaseConfig, DbType};
use crate::error::{Error, Result};

/// Databases every PostgreSQL server has, which hold no business tables.
pub(crate) const SYSTEM_DATABASES: [&str; 3] = ["postgres", "template0", "template1"];

/// The schema whose tables are read.
pub(crate) const SCHEMA: &str = "public";

/// Reads PostgreSQL: a "database" is a database; the base tables (ordinary and partitioned,
/// not partitions, views or foreign tables) of its schema `public` are listed.
///
/// A PostgreSQL connection is bound to one database, so the connector keeps one small pool
/// per database it has read (idle connections close after a minute). Databases are listed
/// through `db_name` if configured, else through the `postgres` database; only databases the
/// user may connect to are listed.
pub struct PgConnector {
    /// Which server is read, and where it listens.
    server: DbServer,
    /// Login options without a database (with the password; never printed).
    connect: PgConnectOptions,
    /// The database connected to for listing databases.
    maintenance_db: String,
    /// Connections and timeouts.
    options: ConnectorOptions,
    /// One pool per database, created on first use.
    pools: Mutex<HashMap<String, PgPool>>,
}

impl fmt::Debug for PgConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConnector")
            .field("endpoint", &self.target())
            .field("user", &self.connect.get_username())
            .field("maintenance_db", &self.maintenance_db)
            .finish_non_exhaustive()
    }
}

impl PgConnector {
    /// A connector for the configuration; connects on first use.
    pub fn new(config: &DatabaseConfig, options: &ConnectorOptions) -> Result<Self> {
        let server = DbServer::new(DbType::Postgres, config)?;
        // `new_without_pgpass` still reads PG* environment variables (e.g. PGSSLMODE);
        // host, port, user and password are then set from the configuration.
        let connect = PgConnectOptions::new_without_pgpass()
            .host(&server.endpoint.host)
            .port(server.endpoint.port)
            .username(&config.db_user)
            .password(&config.db_password)
            .application_name("kxy-id");
        let maintenance_db = config.database().unwrap_or("postgres").to_owned();
        Ok(PgConnector {
            server,
            connect,
            maintenance_db,
            options: options.clone(),
            pools: Mutex::new(HashMap::new()),
        })
    }

    /// The pool for `database`, connecting if there is none yet.
    async fn pool(&self, database: &str) -> Result<PgPool> {
        validate_identifier(DbType::Postgres, database)?;
        let mut pools = self.pools.lock().await;
        if let Some(pool) = pools.get(database) {
            return Ok(pool.clone());
        }
        let connect = self.connect.clone().database(database);
        let pool = match connect_pool(&self.options, connect).await {
            Ok(pool) => pool,
            Err(PoolError::Failed(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some("3D000") =>
            {
                return Err(Error::NotFound(format!(
                    "database '{database}' does not exist on {}",
                    self.target()
                )));
            }
            Err(e) => return Err(e.into_connect(format!("{}/{database}", self.target()))),
        };
        pools.insert(database.to_owned(), pool.clone());
        Ok(pool)
    }

    fn err(&self, e: sqlx::Error) -> Error {
        sqlx_error("postgres", &self.target(), e)
    }

    /// The names of the key columns of `table`, in key order.
    async fn key_column_names(&self, database: &str, table: &str) -> Result<Vec<String>> {
        sqlx::query_scalar(PRIMARY_KEY_SQL)
            .bind(SCHEMA)
            .bind(table)
            .fetch_all(&self.pool(database).await?)
            .await
            .map_err(|e| self.err(e))
    }
}

const DATABASES_SQL: &str = "SELECT datname::text FROM pg_database \
     WHERE datallowconn AND NOT datistemplate AND has_database_privilege(datname, 'CONNECT') \
     ORDER BY 1";
/// Ordinary (`r`) and partitioned (`p`) tables; partitions are part of their parent.
const TABLES_SQL: &str = "SELECT c.relname::text FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
     ORDER BY 1";
const COLUMNS_SQL: &str = "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
     FROM pg_attribute a \
     JOIN pg_class c ON c.oid = a.attrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') \
     AND a.attnum > 0 AND NOT a.attisdropped \
     ORDER BY a.attnum";
const PRIMARY_KEY_SQL: &str = "SELECT a.attname::text FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
     WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2 \
     ORDER BY array_position(i.indkey::int2[], a.attnum)";

/// The key columns of every base table of a schema with their types, in key order.
const SCHEMA_KEYS_SQL: &str = "SELECT c.relname::text, a.attname::text, \
     format_type(a.atttypid, a.atttypmod) FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indrelid \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey) \
     WHERE i.indisprimary AND n.nspname = $1 AND c.relkind IN ('r', 'p') \
     AND NOT c.relispartition AND NOT a.attisdropped \
     ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)";

/// `SELECT MAX("column")::text FROM "public"."table"`, names validated and quoted.
pub(crate) fn max_sql(table: &str, column: &str) -> Result<String> {
    let (t, c) = (
        quote_identifier(DbType::Postgres, table)?,
        quote_identifier(DbType::Postgres, column)?,
    );
    Ok(format!("SELECT MAX({c})::text FROM \"{SCHEMA}\".{t}"))
}

#[async_trait]
impl DbConnector for PgConnector {
    fn server(&self) -> &DbServer {
        &self.server
    }

    async fn list_databases(&self) -> Result<Vec<String>> {
        let pool = self.pool(&self.maintenance_db).await?;
        let names: Vec<String> = sqlx::query_scalar(DATABASES_SQL)
            .fetch_all(&pool)
            .await
            .map_err(|e| self.err(e))?;
        // Exact names: PostgreSQL tells `Postgres` from `postgres`.
        Ok(sorted(
            names
                .into_iter()
                .filter(|n| !SYSTEM_DATABASES.contains(&n.as_str())),
        ))
    }

    async fn list_tables(&self, database: &str) -> Result<Vec<String>> {
        let names: Vec<String> = sqlx::query_scalar(TABLES_SQL)
            .bind(SCHEMA)
            .fetch_all(&self.pool(database).await?)
            .await
            .map_err(|e| self.err(e))?;
        Ok(sorted(names))
    }

    async fn list_columns(&self, database: &str, table: &str) -> Result<Vec<Column>> {
        validate_identifier(DbType::Postgres, table)?;
        let rows: Vec<(String, String)> = sqlx::query_as(COLUMNS_SQL)
            .bind(SCHEMA)
            .bind(table)
            .fetch_all(&self.pool(database).await?)
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .map(|(name, ty)| Column { name, ty })
            .collect())
    }

    async fn primary_key(&self, database: &str, table: &str) -> Result<PrimaryKey> {
        primary_key_of(self, database, table, Self::key_column_names).await
    }

    async fn primary_keys(&self, database: &str) -> Result<Vec<(String, Result<PrimaryKey>)>> {
        let tables = self.list_tables(database).await?;
        let rows: Vec<(String, String, String)> = sqlx::query_as(SCHEMA_KEYS_SQL)
            .bind(SCHEMA)
            .fetch_all(&self.pool(database).await?)
            .await
            .map_err(|e| self.err(e))?;
        let key_columns = rows
            .into_iter()
            .map(|(table, name, ty)| (table, Column { name, ty }));
        Ok(keys_by_table(tables, key_columns))
    }

    fn parallelism(&self) -> usize {
        self.options.max_connections.max(1) as usize
    }

    async fn max_value(&self, database: &str, table: &str, column: &str) -> Result<i64> {
        let sql = max_sql(table, column)?;
        let pool = self.pool(database).await?;
        let names = [database, table, column];
        read_max(&pool, sql, "postgres", &self.target(), names).await
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
            max_sql("MixedCase", "Id").unwrap(),
            "SELECT MAX(\"Id\")::text FROM \"public\".\"MixedCase\""
        );
        assert!(matches!(
            max_sql("x\"y", "id"),
            Err(Error::InvalidIdentifier { .. })
        ));
        assert!(max_sql("a`b", "id").is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_connector_conforms() {
        // Close every pool so the database can be dropped.
        let close = async |connectors: [PgConnector; 2]| {
            for connector in &connectors {
                for pool in connector.pools.lock().await.values() {
                    pool.close().await;
                }
            }
        };
        let db = TestDatabase::postgres().await;
        let fixture = check::Fixture::postgres();
        check::conforms_on_test_database(db, &fixture, PgConnector::new, close).await;
    }
}
