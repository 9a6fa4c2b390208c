//! SQLite: the embedded default. What differs from the other SQL stores: the DDL, `RETURNING`,
//! `BEGIN IMMEDIATE`, and opening a file with WAL and `synchronous = FULL`.

use std::path::Path;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use super::{Dialect, SqlAllocator, Syntax};
use crate::error::Result;

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

impl Dialect for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const SYNTAX: Syntax = Syntax {
        lock_row: "",
        // Take the write lock at the start, so two read-modify-writes never deadlock on upgrade.
        begin: Some("BEGIN IMMEDIATE"),
        ..Syntax::STANDARD
    };
    const META_DDL: &'static str = "CREATE TABLE IF NOT EXISTS kxy_id_meta (
        name TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER) WITHOUT ROWID";

    // Writers from several processes queue on the file lock; a few connections suffice.
    const MAX_CONNECTIONS: u32 = 4;

    fn connect_options(url: &str) -> Result<<Self::Connection as sqlx::Connection>::Options> {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Ok(SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT))
    }

    fn counters_ddl(table: &str) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                segment_key TEXT NOT NULL PRIMARY KEY,
                max_id INTEGER NOT NULL CHECK (max_id >= 0)
            ) WITHOUT ROWID"
        )
    }

    fn allocate_sql(table: &str) -> String {
        format!(
            "UPDATE {table} SET max_id = max_id + ? WHERE segment_key = ? AND max_id <= ? RETURNING max_id"
        )
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqlAllocator<Sqlite> {
    /// Opens (creating if needed) the SQLite file at `path` and its counter table.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::connect(
            &format!("sqlite://{}", path.as_ref().display()),
            BUSY_TIMEOUT,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::SegmentAllocator;
    use crate::key::{Segment, SegmentKey};
    use crate::store::sql::{SqliteAllocator, SqliteMetaStore};
    use crate::testing::allocator as conformance;
    use std::sync::Arc;

    /// An allocator on a new file in a new directory (removed when the guard drops).
    async fn in_a_fresh_file() -> (tempfile::TempDir, SqliteAllocator) {
        let dir = tempfile::tempdir().unwrap();
        let a = SqliteAllocator::open(dir.path().join("kxy.db"))
            .await
            .unwrap();
        (dir, a)
    }

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
    async fn unsafe_table_names_are_refused_and_the_meta_store_conforms() {
        let (_dir, a) = in_a_fresh_file().await;
        let err = SqliteAllocator::with_pool(a.pool().clone(), "t; DROP TABLE kxy_id_segments")
            .await
            .unwrap_err();
        assert!(matches!(err, crate::Error::InvalidIdentifier { .. }));
        let store = SqliteMetaStore::new(a.pool().clone()).await.unwrap();
        crate::testing::meta::meta_store_conforms(&store, "t").await;
    }

    #[tokio::test]
    async fn expired_rows_are_deleted_not_only_hidden() {
        let (_dir, a) = in_a_fresh_file().await;
        let store = SqliteMetaStore::new(a.pool().clone()).await.unwrap();
        use crate::store::MetaStore;
        for i in 0..100 {
            let ttl = Some(std::time::Duration::from_millis(1));
            store
                .set(&format!("kxy:id:failure:{i}"), "1", ttl)
                .await
                .unwrap();
        }
        store.set("kept", "1", None).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let rows = || async {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM kxy_id_meta")
                .fetch_one(a.pool())
                .await
                .unwrap()
        };
        assert_eq!(rows().await, 101);
        assert_eq!(store.purge_expired().await.unwrap(), 100);
        assert_eq!(rows().await, 1);
    }
}
