//! [`MySqlAllocator`]: counters in a MySQL or MariaDB table.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::MySqlPoolOptions;
use sqlx::{AssertSqlSafe, MySql, MySqlPool};

use super::{DEFAULT_TABLE, Placeholders, SqlCounters, check_table_name, map_sqlx_error};
use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result, redact_url};
use crate::key::{Segment, SegmentKey, ceiling_for, check_count};

/// Counters in a MySQL / MariaDB table, one row per key (the Leaf model).
///
/// The table (`kxy_id_segments` by default) is created if missing. An allocation is the single
/// statement `UPDATE ... SET max_id = LAST_INSERT_ID(max_id + n) WHERE ... AND max_id <= MAX - n`:
/// InnoDB locks the row, so concurrent servers never get overlapping segments, and the new
/// value comes back in the same statement's OK packet (no second round trip, no transaction).
#[derive(Debug, Clone)]
pub struct MySqlAllocator {
    /// The counter table and its shared statements.
    counters: SqlCounters<MySql>,
    /// The allocating `UPDATE`.
    allocate_sql: Arc<str>,
}

impl MySqlAllocator {
    /// Connects to `url` (`mysql://user:password@host:3306/database`), giving up after
    /// `timeout`, and creates the counter table if missing.
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let pool = MySqlPoolOptions::new()
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
    pub async fn with_pool(pool: MySqlPool, table: &str) -> Result<Self> {
        check_table_name(table)?;
        // utf8mb4_bin compares keys by code point (byte order of UTF-8), so keys differing
        // in any character are different rows.
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                segment_key VARCHAR({}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
                max_id BIGINT NOT NULL,
                updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
                PRIMARY KEY (segment_key)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            crate::key::MAX_KEY_CHARS
        )))
        .execute(&pool)
        .await
        .map_err(|e| map_sqlx_error("mysql", e))?;
        Ok(MySqlAllocator {
            allocate_sql: format!(
                "UPDATE {table} SET max_id = LAST_INSERT_ID(max_id + ?) WHERE segment_key = ? AND max_id <= ?"
            )
            .into(),
            counters: SqlCounters::new(pool, "mysql", table, Placeholders::Question, |r| r.rows_affected()),
        })
    }

    /// The connection pool.
    pub fn pool(&self) -> &MySqlPool {
        &self.counters.pool
    }
}

#[async_trait]
impl SegmentAllocator for MySqlAllocator {
    fn backend(&self) -> &'static str {
        "mysql"
    }

    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        check_count(count)?;
        loop {
            let result = sqlx::query(AssertSqlSafe(self.allocate_sql.clone()))
                .bind(count)
                .bind(key.as_str())
                .bind(ceiling_for(count))
                .execute(self.pool())
                .await
                .map_err(|e| self.counters.err(e))?;
            if result.rows_affected() == 1 {
                let end = i64::try_from(result.last_insert_id())
                    .map_err(|_| Error::backend_msg("mysql", "LAST_INSERT_ID() past i64::MAX"))?;
                return Ok(Segment::ending_at(end, count));
            }
            self.counters.explain_refused_allocation(key, count).await?;
        }
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
    async fn mysql_allocator_conforms_with_two_pools() {
        let Some(db) = TestDatabase::mysql().await else {
            return;
        };
        let a = Arc::new(
            MySqlAllocator::connect(&db.url, Duration::from_secs(5))
                .await
                .unwrap(),
        );
        let b = Arc::new(
            MySqlAllocator::connect(&db.url, Duration::from_secs(5))
                .await
                .unwrap(),
        );
        conformance::run_all(a.clone(), b.clone(), &conformance::unique_prefix()).await;
        a.pool().close().await;
        b.pool().close().await;
        db.drop_mysql().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reserving_over_mysql_conforms() {
        let Some(db) = TestDatabase::mysql().await else {
            return;
        };
        let a = MySqlAllocator::connect(&db.url, Duration::from_secs(5))
            .await
            .unwrap();
        let b = MySqlAllocator::connect(&db.url, Duration::from_secs(5))
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
        db.drop_mysql().await;
    }

    #[tokio::test]
    async fn unreachable_server_names_the_host() {
        let err = MySqlAllocator::connect("mysql://root:pw@127.0.0.1:1/x", Duration::from_secs(2))
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Connect { .. }), "{msg}");
        assert!(msg.contains("127.0.0.1:1") && !msg.contains("pw@"), "{msg}");
    }

    #[tokio::test]
    async fn mysql_meta_store_conforms() {
        let Some(db) = TestDatabase::mysql().await else {
            return;
        };
        let alloc = MySqlAllocator::connect(&db.url, Duration::from_secs(5))
            .await
            .unwrap();
        let store = super::super::MySqlMetaStore::new(alloc.pool().clone())
            .await
            .unwrap();
        crate::testing::meta::meta_store_conforms(&store, "t").await;
        alloc.pool().close().await;
        db.drop_mysql().await;
    }
}
