//! [`PgAllocator`]: counters in a PostgreSQL table.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool, Postgres};

use super::{
    DEFAULT_TABLE, Placeholders, SqlCounters, check_table_name, map_sqlx_error, placeholders,
};
use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result, redact_url};
use crate::key::{Segment, SegmentKey};

/// Counters in a PostgreSQL table, one row per key (the Leaf model).
///
/// The table (`kxy_id_segments` by default) is created if missing. An allocation is the single
/// statement `UPDATE ... SET max_id = max_id + n WHERE ... AND max_id <= MAX - n RETURNING max_id`:
/// the row lock serializes concurrent servers and the new value comes back from the same statement.
#[derive(Debug, Clone)]
pub struct PgAllocator {
    /// The counter table and its shared statements.
    counters: SqlCounters<Postgres>,
    /// The allocating `UPDATE ... RETURNING`.
    allocate_sql: Arc<str>,
}

impl PgAllocator {
    /// Connects to `url` (`postgres://user:password@host:5432/database`), giving up after
    /// `timeout`, and creates the counter table if missing.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(timeout)
            .connect(url)
            .await
            .map_err(|e| Error::Connect {
                target: redact_url(url),
                reason: e.to_string(),
            })?;
        Self::with_pool(pool, DEFAULT_TABLE).await
    }

    /// Uses an existing pool and counter table name (created if missing).
    pub async fn with_pool(pool: PgPool, table: &str) -> Result<Self> {
        check_table_name(table)?;
        // COLLATE "C": keys compare byte for byte, whatever the database's locale.
        let create = format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                segment_key VARCHAR({}) COLLATE \"C\" NOT NULL PRIMARY KEY,
                max_id BIGINT NOT NULL CHECK (max_id >= 0)
            )",
            crate::key::MAX_KEY_CHARS
        );
        // Two servers starting at once may both try to create the table; the loser's
        // unique violation on the catalog means the table exists.
        match sqlx::query(AssertSqlSafe(create)).execute(&pool).await {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
            Err(e) => return Err(map_sqlx_error("postgres", e)),
        }
        Ok(PgAllocator {
            allocate_sql: placeholders(
                &format!(
                    "UPDATE {table} SET max_id = max_id + ? WHERE segment_key = ? AND max_id <= ? RETURNING max_id"
                ),
                Placeholders::Dollar,
            ),
            counters: SqlCounters::new(pool, "postgres", table, Placeholders::Dollar, |r| {
                r.rows_affected()
            }),
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.counters.pool
    }
}

#[async_trait]
impl SegmentAllocator for PgAllocator {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        self.counters
            .allocate_returning(&self.allocate_sql, key, count)
            .await
    }

    async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
        self.counters.raise_to(key, value).await
    }

    async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
        self.counters.create(key, value).await
    }

    async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
        self.counters.get(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
        self.counters.list(prefix).await
    }

    async fn delete(&self, key: &SegmentKey) -> Result<bool> {
        self.counters.delete(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::testing::allocator as conformance;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_allocator_conforms_with_two_pools() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        let a = Arc::new(
            PgAllocator::connect(&db.url, Duration::from_secs(5))
                .await
                .unwrap(),
        );
        let b = Arc::new(
            PgAllocator::connect(&db.url, Duration::from_secs(5))
                .await
                .unwrap(),
        );
        conformance::run_all(a.clone(), b.clone(), &conformance::unique_prefix()).await;
        a.pool().close().await;
        b.pool().close().await;
        db.drop_postgres().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reserving_over_postgres_conforms() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        let a = PgAllocator::connect(&db.url, Duration::from_secs(5))
            .await
            .unwrap();
        let b = PgAllocator::connect(&db.url, Duration::from_secs(5))
            .await
            .unwrap();
        let opts = crate::ReserveOptions {
            min_block: 5,
            max_block: 40,
            ..Default::default()
        };
        let ra = Arc::new(crate::ReservingAllocator::new(
            Arc::new(a.clone()),
            opts.clone(),
        ));
        let rb = Arc::new(crate::ReservingAllocator::new(Arc::new(b.clone()), opts));
        conformance::run_all_reserving(ra, rb, &conformance::unique_prefix()).await;
        a.pool().close().await;
        b.pool().close().await;
        db.drop_postgres().await;
    }

    #[tokio::test]
    async fn unreachable_server_names_the_host() {
        let err = PgAllocator::connect("postgres://u:pw@127.0.0.1:1/x", Duration::from_secs(2))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Connect { .. }), "{msg}");
        assert!(msg.contains("127.0.0.1:1") && !msg.contains("pw@"), "{msg}");
    }

    #[tokio::test]
    async fn postgres_meta_store_conforms() {
        let Some(db) = TestDatabase::postgres().await else {
            return;
        };
        let alloc = PgAllocator::connect(&db.url, Duration::from_secs(5))
            .await
            .unwrap();
        let store = super::super::PgMetaStore::new(alloc.pool().clone())
            .await
            .unwrap();
        crate::testing::meta::meta_store_conforms(&store, "t").await;
        alloc.pool().close().await;
        db.drop_postgres().await;
    }
}
