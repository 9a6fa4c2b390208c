//! [`SqlMetaStore`]: server metadata in a table of the SQL store (SQLite, MySQL, PostgreSQL).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Database, Pool};

use super::Dialect;

use super::retry::on_conflict;
use super::{create_if_missing, map_sqlx_error, placeholders, sql_impl};
use crate::error::{Error, Result};
use crate::store::meta::{MetaStore, expiry, now_millis};

/// The statements of one dialect over table `kxy_id_meta (name, value, expires_at)`.
#[derive(Debug, Clone)]
struct MetaSql {
    get: Arc<str>,
    update: Arc<str>,
    insert: Arc<str>,
    delete_expired: Arc<str>,
    purge_expired: Arc<str>,
    delete: Arc<str>,
    delete_row: Arc<str>,
    delete_if_equals: Arc<str>,
    scan: Arc<str>,
    lock_row: Arc<str>,
}

impl MetaSql {
    fn new<DB: Dialect>() -> Self {
        let p = |s: &str| placeholders::<DB>(s);
        let for_update = DB::SYNTAX.lock_row;
        const LIVE: &str = "(expires_at IS NULL OR expires_at > ?)";
        MetaSql {
            get: p(&format!(
                "SELECT value FROM kxy_id_meta WHERE name = ? AND {LIVE}"
            )),
            update: p("UPDATE kxy_id_meta SET value = ?, expires_at = ? WHERE name = ?"),
            insert: p("INSERT INTO kxy_id_meta (name, value, expires_at) VALUES (?, ?, ?)"),
            delete_expired: p(
                "DELETE FROM kxy_id_meta WHERE name = ? AND expires_at IS NOT NULL AND expires_at <= ?",
            ),
            purge_expired: p(
                "DELETE FROM kxy_id_meta WHERE expires_at IS NOT NULL AND expires_at <= ?",
            ),
            delete: p(&format!(
                "DELETE FROM kxy_id_meta WHERE name = ? AND {LIVE}"
            )),
            delete_row: p("DELETE FROM kxy_id_meta WHERE name = ?"),
            delete_if_equals: p(&format!(
                "DELETE FROM kxy_id_meta WHERE name = ? AND value = ? AND {LIVE}"
            )),
            scan: p(&format!(
                "SELECT name, value FROM kxy_id_meta WHERE SUBSTR(name, 1, ?) = ? AND {LIVE} ORDER BY name"
            )),
            lock_row: p(&format!(
                "SELECT value FROM kxy_id_meta WHERE name = ?{for_update}"
            )),
        }
    }
}

/// Metadata in the table `kxy_id_meta` of the SQL database that holds the counters.
///
/// Values with an expiry behave as absent once expired; sets are JSON arrays, changed inside
/// a transaction that locks the row. Use it as [`SqliteMetaStore`](crate::store::SqliteMetaStore),
/// [`MySqlMetaStore`](crate::store::MySqlMetaStore) or [`PgMetaStore`](crate::store::PgMetaStore).
pub struct SqlMetaStore<DB: Dialect> {
    /// The pool shared with the counter allocator.
    pool: Pool<DB>,
    /// Statement texts.
    sql: MetaSql,
    /// When expired rows were last deleted (milliseconds since the epoch).
    purged_at: std::sync::atomic::AtomicI64,
}

/// How often expired rows (locks, failure markers) are deleted: reads treat them as absent,
/// this only keeps the table from growing.
const PURGE_EVERY_MS: i64 = 60_000;

impl<DB: Dialect> std::fmt::Debug for SqlMetaStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlMetaStore")
            .field("backend", &DB::BACKEND)
            .finish_non_exhaustive()
    }
}

sql_impl! {
    impl<DB> [SqlMetaStore<DB>] {
        /// Uses `pool` (typically the allocator's, e.g. [`SqliteAllocator::pool`](crate::SqliteAllocator::pool)),
        /// creating the table if missing.
        pub async fn new(pool: Pool<DB>) -> Result<Self> {
            create_if_missing(&pool, DB::META_DDL).await?;
            Ok(SqlMetaStore {
                purged_at: std::sync::atomic::AtomicI64::new(0),
                pool,
                sql: MetaSql::new::<DB>(),
            })
        }

        fn err(&self, e: sqlx::Error) -> Error {
            map_sqlx_error(DB::BACKEND, e)
        }

        /// Deletes every expired row, at most once a minute per store (the first caller
        /// after the minute does it; the others go on).
        async fn purge_now_and_then(&self) -> Result<()> {
            use std::sync::atomic::Ordering;
            let now = now_millis();
            let last = self.purged_at.load(Ordering::Relaxed);
            if now - last < PURGE_EVERY_MS
                || self
                    .purged_at
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
            {
                return Ok(());
            }
            self.purge_expired().await.map(|_| ())
        }

        /// Deletes every expired row; how many.
        pub(crate) async fn purge_expired(&self) -> Result<u64> {
            self.exec(&self.sql.purge_expired, &[Bind::Int(now_millis())])
                .await
        }

        /// `sql` with `binds` bound in order.
        fn query<'q>(
            sql: &Arc<str>,
            binds: &[Bind<'q>],
        ) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments> {
            let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
            for b in binds {
                q = match *b {
                    Bind::Str(s) => q.bind(s),
                    Bind::Int(i) => q.bind(i),
                    Bind::OptInt(i) => q.bind(i),
                };
            }
            q
        }

        /// Runs one statement (again, after a lost race).
        async fn exec(&self, sql: &Arc<str>, binds: &[Bind<'_>]) -> Result<u64> {
            on_conflict(|| async {
                let done = Self::query(sql, binds)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| self.err(e))?;
                Ok(DB::rows_affected(&done))
            })
            .await
        }

        async fn insert(&self, name: &str, value: &str, expires: Option<i64>) -> Result<bool> {
            match self
                .exec(
                    &self.sql.insert,
                    &[Bind::Str(name), Bind::Str(value), Bind::OptInt(expires)],
                )
                .await
            {
                Ok(_) => Ok(true),
                Err(Error::Backend { source, .. })
                    if source
                        .downcast_ref::<sqlx::Error>()
                        .and_then(|e| e.as_database_error())
                        .is_some_and(|d| d.is_unique_violation()) =>
                {
                    Ok(false)
                }
                Err(e) => Err(e),
            }
        }

        /// Changes a set stored as a JSON array, inside a transaction that locks its row (the
        /// whole transaction runs again after a lost race).
        async fn change_set(
            &self,
            name: &str,
            change: impl Fn(&mut Vec<String>) -> bool,
        ) -> Result<bool> {
            on_conflict(|| self.change_set_once(name, &change)).await
        }

        async fn change_set_once(
            &self,
            name: &str,
            change: &impl Fn(&mut Vec<String>) -> bool,
        ) -> Result<bool> {
            let mut tx = match DB::SYNTAX.begin {
                Some(stmt) => self.pool.begin_with(stmt).await,
                None => self.pool.begin().await,
            }
            .map_err(|e| self.err(e))?;
            let json: Option<String> = sqlx::query_scalar(AssertSqlSafe(self.sql.lock_row.clone()))
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
            let mut members = match &json {
                Some(j) => parse_set::<DB>(name, j)?,
                None => Vec::new(),
            };
            if !change(&mut members) {
                tx.rollback().await.map_err(|e| self.err(e))?;
                return Ok(false);
            }
            members.sort();
            members.dedup();
            let text = serde_json::to_string(&members).expect("strings serialize");
            let (sql, binds): (&Arc<str>, Vec<Bind<'_>>) = match (json.is_some(), members.is_empty()) {
                (true, true) => (&self.sql.delete_row, vec![Bind::Str(name)]),
                (true, false) => (
                    &self.sql.update,
                    vec![Bind::Str(&text), Bind::OptInt(None), Bind::Str(name)],
                ),
                (false, true) => {
                    tx.rollback().await.map_err(|e| self.err(e))?;
                    return Ok(true);
                }
                (false, false) => (
                    &self.sql.insert,
                    vec![Bind::Str(name), Bind::Str(&text), Bind::OptInt(None)],
                ),
            };
            Self::query(sql, &binds)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
            tx.commit().await.map_err(|e| self.err(e))?;
            Ok(true)
        }
    }
}

/// Reads a set stored as a JSON array of strings.
fn parse_set<DB: Dialect>(name: &str, json: &str) -> Result<Vec<String>> {
    serde_json::from_str(json).map_err(|e| {
        Error::backend_msg(DB::BACKEND, format!("set {name} is not a JSON array: {e}"))
    })
}

/// A bind parameter.
#[derive(Debug, Clone, Copy)]
enum Bind<'a> {
    Str(&'a str),
    Int(i64),
    OptInt(Option<i64>),
}

sql_impl! {
    #[async_trait]
    impl<DB> [MetaStore for SqlMetaStore<DB>] {
        async fn get(&self, name: &str) -> Result<Option<String>> {
            sqlx::query_scalar(AssertSqlSafe(self.sql.get.clone()))
                .bind(name)
                .bind(now_millis())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.err(e))
        }

        async fn set(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
            if ttl.is_some() {
                self.purge_now_and_then().await?;
            }
            let expires = expiry(ttl);
            // Update, else insert; a concurrent insert by another writer means the row exists,
            // so update once more (last writer wins, as with Redis SET).
            let update = [Bind::Str(value), Bind::OptInt(expires), Bind::Str(name)];
            if self.exec(&self.sql.update, &update).await? > 0 {
                return Ok(());
            }
            if !self.insert(name, value, expires).await? {
                self.exec(&self.sql.update, &update).await?;
            }
            Ok(())
        }

        async fn set_if_absent(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<bool> {
            self.purge_now_and_then().await?;
            // An expired value is absent: remove it (only if still expired), then insert; the
            // primary key lets exactly one concurrent caller win.
            self.exec(
                &self.sql.delete_expired,
                &[Bind::Str(name), Bind::Int(now_millis())],
            )
            .await?;
            self.insert(name, value, expiry(ttl)).await
        }

        async fn delete(&self, name: &str) -> Result<bool> {
            Ok(self
                .exec(
                    &self.sql.delete,
                    &[Bind::Str(name), Bind::Int(now_millis())],
                )
                .await?
                > 0)
        }

        async fn delete_if_equals(&self, name: &str, value: &str) -> Result<bool> {
            let binds = [Bind::Str(name), Bind::Str(value), Bind::Int(now_millis())];
            Ok(self.exec(&self.sql.delete_if_equals, &binds).await? > 0)
        }

        async fn scan(&self, prefix: &str) -> Result<Vec<(String, String)>> {
            let chars = i32::try_from(prefix.chars().count()).map_err(|_| Error::InvalidKey {
                reason: "prefix too long".into(),
            })?;
            let mut rows: Vec<(String, String)> = sqlx::query_as(AssertSqlSafe(self.sql.scan.clone()))
                .bind(chars)
                .bind(prefix)
                .bind(now_millis())
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            rows.sort();
            Ok(rows)
        }

        async fn members(&self, name: &str) -> Result<Vec<String>> {
            let Some(json) = self.get(name).await? else {
                return Ok(Vec::new());
            };
            let mut members = parse_set::<DB>(name, &json)?;
            members.sort();
            members.dedup();
            Ok(members)
        }

        async fn replace_members(&self, name: &str, members: &[String]) -> Result<()> {
            let fresh = members.to_vec();
            self.change_set(name, |m| {
                m.clone_from(&fresh);
                true
            })
            .await?;
            Ok(())
        }

        async fn remove_member(&self, name: &str, member: &str) -> Result<bool> {
            self.change_set(name, |m| {
                let before = m.len();
                m.retain(|x| x != member);
                m.len() != before
            })
            .await
        }
    }
}
