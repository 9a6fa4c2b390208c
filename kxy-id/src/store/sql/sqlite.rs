//! [`SqliteAllocator`]: counters in one SQLite file, the embedded default.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool};

use super::{
    DEFAULT_TABLE, Placeholders, SqlCounters, check_table_name, map_sqlx_error, placeholders,
};
use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::Result;
use crate::key::{Segment, SegmentKey};

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Counters in a single SQLite file: no server, durable, shared safely by several
/// processes on one machine.
///
/// # Durability
///
/// The file runs in WAL journal mode with `synchronous = FULL`: every allocation is a
/// committed transaction whose WAL frame is fsync'ed before the segment is returned, so a
/// segment that was handed out survives `kill -9` and power loss and is never handed out
/// again. Writers from several processes are serialized by SQLite's file lock (waiting up
/// to 30 s); each allocation is one `UPDATE ... RETURNING` statement.
///
/// The price is one fsync per allocation (a few hundred to a few thousand per second,
/// depending on the disk); take IDs in large segments.
#[derive(Debug, Clone)]
pub struct SqliteAllocator {
    /// The counter table and its shared statements.
    counters: SqlCounters<Sqlite>,
    /// `UPDATE ... RETURNING` that hands out a segment.
    allocate_sql: Arc<str>,
}

impl SqliteAllocator {
    /// Opens (creating if needed) the SQLite file at `path` and its counter table.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| map_sqlx_error("sqlite", e))?;
        Self::with_pool(pool, DEFAULT_TABLE).await
    }

    /// Uses an existing pool and counter table name (created if missing).
    ///
    /// The pool should use WAL and `synchronous = FULL` (as [`open`](Self::open) does) for
    /// the durability guarantee.
    pub async fn with_pool(pool: SqlitePool, table: &str) -> Result<Self> {
        check_table_name(table)?;
        sqlx::query(AssertSqlSafe(format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                segment_key TEXT NOT NULL PRIMARY KEY,
                max_id INTEGER NOT NULL CHECK (max_id >= 0)
            ) WITHOUT ROWID"
        )))
        .execute(&pool)
        .await
        .map_err(|e| map_sqlx_error("sqlite", e))?;
        Ok(SqliteAllocator {
            allocate_sql: placeholders(
                &format!(
                    "UPDATE {table} SET max_id = max_id + ? WHERE segment_key = ? AND max_id <= ? RETURNING max_id"
                ),
                Placeholders::Question,
            ),
            counters: SqlCounters::new(pool, "sqlite", table, Placeholders::Question, |r| {
                r.rows_affected()
            }),
        })
    }

    /// The connection pool, for callers that keep other data in the same file.
    pub fn pool(&self) -> &SqlitePool {
        &self.counters.pool
    }
}

#[async_trait]
impl SegmentAllocator for SqliteAllocator {
    fn backend(&self) -> &'static str {
        "sqlite"
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
    use crate::testing::allocator as conformance;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_allocator_conforms_with_two_pools_on_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counters.db");
        // Two pools on one file stand in for two processes.
        let a = Arc::new(SqliteAllocator::open(&path).await.unwrap());
        let b = Arc::new(SqliteAllocator::open(&path).await.unwrap());
        conformance::run_all(a, b, &conformance::unique_prefix()).await;
    }

    #[tokio::test]
    async fn counters_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("counters.db");
        let key = SegmentKey::new("s", "d", "t", "id").unwrap();
        {
            let a = SqliteAllocator::open(&path).await.unwrap();
            a.create(&key, 0).await.unwrap();
            assert_eq!(a.allocate(&key, 100).await.unwrap().end, 100);
            a.pool().close().await;
        }
        let b = SqliteAllocator::open(&path).await.unwrap();
        assert_eq!(
            b.allocate(&key, 1).await.unwrap(),
            Segment {
                start: 101,
                end: 101
            }
        );
    }

    #[tokio::test]
    async fn unsafe_table_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = SqliteAllocator::open(dir.path().join("x.db"))
            .await
            .unwrap();
        let err = SqliteAllocator::with_pool(a.pool().clone(), "t; DROP TABLE kxy_id_segments")
            .await
            .unwrap_err();
        assert!(matches!(err, crate::Error::InvalidIdentifier { .. }));
    }

    #[tokio::test]
    async fn sqlite_meta_store_conforms() {
        let dir = tempfile::tempdir().unwrap();
        let alloc = SqliteAllocator::open(dir.path().join("m.db"))
            .await
            .unwrap();
        let store = super::super::SqliteMetaStore::new(alloc.pool().clone())
            .await
            .unwrap();
        crate::testing::meta::meta_store_conforms(&store, "t").await;
    }
}
