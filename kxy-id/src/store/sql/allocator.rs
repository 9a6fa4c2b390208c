//! [`SqlAllocator`]: counters in a table of a SQL database, one generic implementation for
//! every [`Dialect`].

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::{AssertSqlSafe, Pool};

use super::retry::on_conflict;
use super::{Dialect, check_table_name, create_if_missing, map_sqlx_error, placeholders, sql_impl};
use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey, ceiling_for, check_count, check_value};

/// The statements over the counter table, in one dialect.
#[derive(Debug, Clone)]
struct Statements {
    allocate: Arc<str>,
    /// The allocating `UPDATE` without reading the value back (the two-step form).
    add: Arc<str>,
    raise: Arc<str>,
    insert: Arc<str>,
    get: Arc<str>,
    list: Arc<str>,
    delete: Arc<str>,
}

impl Statements {
    fn new<DB: Dialect>(table: &str) -> Self {
        let p = |sql: String| placeholders::<DB>(&sql);
        Statements {
            allocate: p(DB::allocate_sql(table)),
            add: p(format!(
                "UPDATE {table} SET max_id = max_id + ? WHERE segment_key = ? AND max_id <= ?"
            )),
            raise: p(format!(
                "UPDATE {table} SET max_id = ? WHERE segment_key = ? AND max_id < ?"
            )),
            insert: p(format!(
                "INSERT INTO {table} (segment_key, max_id) VALUES (?, ?)"
            )),
            get: p(format!("SELECT max_id FROM {table} WHERE segment_key = ?")),
            list: p(format!(
                "SELECT segment_key, max_id FROM {table} WHERE SUBSTR(segment_key, 1, ?) = ? ORDER BY segment_key"
            )),
            delete: p(format!("DELETE FROM {table} WHERE segment_key = ?")),
        }
    }
}

/// Counters in a SQL table, one row per key (the Leaf model). Use it as
/// [`SqliteAllocator`](crate::SqliteAllocator), [`MySqlAllocator`](crate::MySqlAllocator) or
/// [`PgAllocator`](crate::PgAllocator).
///
/// An allocation is one atomic statement of the [`Dialect`]: an `UPDATE` that adds the count
/// if the counter stays within `i64::MAX`, returning the new value (`RETURNING` on SQLite and
/// PostgreSQL, `LAST_INSERT_ID(expr)` on MySQL). The database locks the row, so concurrent
/// servers never get overlapping segments, and the answer comes only after the commit.
///
/// On engines that report a lost race instead of waiting (serialization failures of
/// CockroachDB, YugabyteDB, TiDB, or PostgreSQL at `SERIALIZABLE`), the rolled-back statement
/// runs again, with a jittered pause, for up to 10 s.
#[derive(Debug)]
pub struct SqlAllocator<DB: Dialect> {
    /// The connection pool (shared with the metadata store of the same database).
    pool: Pool<DB>,
    /// Statement texts.
    sql: Statements,
    /// Allocate with an `UPDATE` and a `SELECT` in one transaction (see
    /// [`Syntax::two_step_engine`](super::Syntax::two_step_engine)).
    two_step: bool,
}

impl<DB: Dialect> Clone for SqlAllocator<DB> {
    fn clone(&self) -> Self {
        SqlAllocator {
            pool: self.pool.clone(),
            sql: self.sql.clone(),
            two_step: self.two_step,
        }
    }
}

impl<DB: Dialect> SqlAllocator<DB> {
    /// The connection pool, for callers that keep other data in the same database.
    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

sql_impl! {
    impl<DB> [SqlAllocator<DB>] {
        /// Connects to `url` (`sqlite://PATH`, `mysql://user:password@host:3306/database`,
        /// `postgres://user:password@host:5432/database`), giving up after `timeout`, and creates
        /// the counter table if missing.
        pub async fn connect(url: &str, timeout: std::time::Duration) -> Result<Self> {
            let pool = sqlx::pool::PoolOptions::<DB>::new()
                .max_connections(DB::MAX_CONNECTIONS)
                .acquire_timeout(timeout)
                .connect_with(DB::connect_options(url)?)
                .await
                .map_err(|e| Error::Connect {
                    target: crate::error::redact_url(url),
                    reason: e.to_string(),
                })?;
            Self::with_pool(pool, super::DEFAULT_TABLE).await
        }

        /// Uses an existing pool and counter table name (created if missing).
        pub async fn with_pool(pool: Pool<DB>, table: &str) -> Result<Self> {
            check_table_name(table)?;
            create_if_missing(&pool, &DB::counters_ddl(table)).await?;
            let two_step = match DB::SYNTAX.two_step_engine {
                Some(engine) => sqlx::query_scalar::<_, String>("SELECT VERSION()")
                    .fetch_one(&pool)
                    .await
                    .map_err(|e| map_sqlx_error(DB::BACKEND, e))?
                    .contains(engine),
                None => false,
            };
            Ok(SqlAllocator {
                pool,
                sql: Statements::new::<DB>(table),
                two_step,
            })
        }

        /// Allocates in two steps whatever the engine (tests run the TiDB path on MariaDB).
        #[cfg(test)]
        pub(crate) fn in_two_steps(mut self) -> Self {
            self.two_step = true;
            self
        }

        fn err(&self, e: sqlx::Error) -> Error {
            map_sqlx_error(DB::BACKEND, e)
        }

        /// Runs the allocating statement: the counter's new value, or `None` when no row matched
        /// (no counter, or one too close to `i64::MAX`). Runs again after a lost race.
        async fn try_allocate(&self, key: &SegmentKey, count: i64) -> Result<Option<i64>> {
            if self.two_step {
                on_conflict(|| self.allocate_in_two_steps(key, count)).await
            } else {
                on_conflict(|| self.allocate_in_one_statement(key, count)).await
            }
        }

        /// One statement that adds and reads back (`RETURNING` or `LAST_INSERT_ID(expr)`).
        async fn allocate_in_one_statement(&self, key: &SegmentKey, count: i64) -> Result<Option<i64>> {
            let query = || {
                sqlx::query(AssertSqlSafe(self.sql.allocate.clone()))
                    .bind(count)
                    .bind(key.as_str())
                    .bind(ceiling_for(count))
            };
            if DB::SYNTAX.returning {
                let row = query()
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.err(e))?;
                return row
                    .map(|row| sqlx::Row::try_get::<i64, usize>(&row, 0))
                    .transpose()
                    .map_err(|e| self.err(e));
            }
            let result = query().execute(&self.pool).await.map_err(|e| self.err(e))?;
            if DB::rows_affected(&result) != 1 {
                return Ok(None);
            }
            let value = DB::allocated_value(&result)
                .ok_or_else(|| Error::backend_msg(DB::BACKEND, "the allocation returned no value"))?;
            i64::try_from(value)
                .map(Some)
                .map_err(|_| Error::backend_msg(DB::BACKEND, "the allocated value is past i64::MAX"))
        }

        /// An `UPDATE` and a `SELECT` of the same row in one transaction: the update's row lock
        /// holds until the commit, so the value read is the one this update left.
        async fn allocate_in_two_steps(&self, key: &SegmentKey, count: i64) -> Result<Option<i64>> {
            let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
            let done = sqlx::query(AssertSqlSafe(self.sql.add.clone()))
                .bind(count)
                .bind(key.as_str())
                .bind(ceiling_for(count))
                .execute(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
            if DB::rows_affected(&done) != 1 {
                tx.rollback().await.map_err(|e| self.err(e))?;
                return Ok(None);
            }
            let value: i64 = sqlx::query_scalar(AssertSqlSafe(self.sql.get.clone()))
                .bind(key.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| self.err(e))?;
            tx.commit().await.map_err(|e| self.err(e))?;
            Ok(Some(value))
        }

        /// Called when the allocating statement matched no row: says why, or returns `Ok` when
        /// the counter appeared in the meantime and the statement should be tried again.
        async fn explain_refused_allocation(&self, key: &SegmentKey, count: i64) -> Result<()> {
            match self.get(key).await? {
                None => Err(Error::KeyNotFound {
                    key: key.to_string(),
                }),
                Some(current) if current > ceiling_for(count) => Err(Error::Overflow {
                    key: key.to_string(),
                    current,
                    count,
                }),
                // Created between the update and the read: try again.
                Some(_) => Ok(()),
            }
        }

        /// Raises every item in one transaction: per item a conditional `UPDATE`, else a read,
        /// else an `INSERT`. Any surprise (a row another caller inserted meanwhile, a lost race)
        /// is an `Err` and the whole transaction rolls back; the caller then raises one by one.
        async fn raise_in_one_transaction(&self, items: &[(SegmentKey, i64)]) -> Result<Vec<RaiseOutcome>> {
            let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
            let mut outcomes = Vec::with_capacity(items.len());
            for (key, value) in items {
                let raised = sqlx::query(AssertSqlSafe(self.sql.raise.clone()))
                    .bind(*value)
                    .bind(key.as_str())
                    .bind(*value)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.err(e))?;
                if DB::rows_affected(&raised) > 0 {
                    outcomes.push(RaiseOutcome::Raised { value: *value });
                    continue;
                }
                let current: Option<i64> = sqlx::query_scalar(AssertSqlSafe(self.sql.get.clone()))
                    .bind(key.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| self.err(e))?;
                match current {
                    Some(current) if current >= *value => {
                        outcomes.push(RaiseOutcome::AlreadyAhead { current });
                    }
                    // Inserted by another caller after the UPDATE looked (READ COMMITTED).
                    Some(_) => return Err(Error::backend_msg(DB::BACKEND, "a counter appeared during the batch")),
                    None => {
                        sqlx::query(AssertSqlSafe(self.sql.insert.clone()))
                            .bind(key.as_str())
                            .bind(*value)
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| self.err(e))?;
                        outcomes.push(RaiseOutcome::Created { value: *value });
                    }
                }
            }
            tx.commit().await.map_err(|e| self.err(e))?;
            Ok(outcomes)
        }

        /// Raises an existing row in one conditional `UPDATE`; `true` if it changed.
        async fn raise_existing(&self, key: &SegmentKey, value: i64) -> Result<bool> {
            on_conflict(|| async {
                let result = sqlx::query(AssertSqlSafe(self.sql.raise.clone()))
                    .bind(value)
                    .bind(key.as_str())
                    .bind(value)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| self.err(e))?;
                Ok(DB::rows_affected(&result) > 0)
            })
            .await
        }
    }
}

sql_impl! {
    #[async_trait]
    impl<DB> [SegmentAllocator for SqlAllocator<DB>] {
        fn backend(&self) -> &'static str {
            DB::BACKEND
        }

        async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
            check_count(count)?;
            loop {
                if let Some(end) = self.try_allocate(key, count).await? {
                    return Ok(Segment::ending_at(end, count));
                }
                self.explain_refused_allocation(key, count).await?;
            }
        }

        async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
            check_value(value)?;
            // 1. Raise an existing row in one conditional UPDATE (atomic: the row is locked and
            //    the condition re-checked by the database).
            // 2. No row changed: either the counter is already ahead or it does not exist, so
            //    try to create it; a unique violation means another caller created it first.
            // 3. The row exists now: raise again and, if that changes nothing, read the value,
            //    which can only have grown since.
            if self.raise_existing(key, value).await? {
                return Ok(RaiseOutcome::Raised { value });
            }
            match self.create(key, value).await {
                Ok(()) => return Ok(RaiseOutcome::Created { value }),
                Err(Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(e),
            }
            if self.raise_existing(key, value).await? {
                return Ok(RaiseOutcome::Raised { value });
            }
            match self.get(key).await? {
                Some(current) => Ok(RaiseOutcome::AlreadyAhead { current }),
                // Only an explicit purge deletes rows; treat one racing with us as absent.
                None => Box::pin(self.raise_to(key, value)).await,
            }
        }

        async fn raise_many(&self, items: &[(SegmentKey, i64)]) -> Vec<Result<RaiseOutcome>> {
            if items.len() > 1 && items.iter().all(|(_, v)| check_value(*v).is_ok()) {
                match self.raise_in_one_transaction(items).await {
                    Ok(outcomes) => return outcomes.into_iter().map(Ok).collect(),
                    Err(e) => tracing::debug!(error = %e, "a batch of raises rolled back; raising one by one"),
                }
            }
            let mut outcomes = Vec::with_capacity(items.len());
            for (key, value) in items {
                outcomes.push(self.raise_to(key, *value).await);
            }
            outcomes
        }

        async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
            check_value(value)?;
            on_conflict(|| async {
                sqlx::query(AssertSqlSafe(self.sql.insert.clone()))
                    .bind(key.as_str())
                    .bind(value)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| match e {
                        sqlx::Error::Database(db) if db.is_unique_violation() => {
                            Error::AlreadyExists {
                                key: key.to_string(),
                            }
                        }
                        e => self.err(e),
                    })
            })
            .await?;
            Ok(())
        }

        async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
            sqlx::query_scalar(AssertSqlSafe(self.sql.get.clone()))
                .bind(key.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.err(e))
        }

        async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
            let chars = i32::try_from(prefix.chars().count()).map_err(|_| Error::InvalidKey {
                reason: "prefix too long".into(),
            })?;
            let rows: Vec<(String, i64)> = sqlx::query_as(AssertSqlSafe(self.sql.list.clone()))
                .bind(chars)
                .bind(prefix)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            let mut counters: Vec<Counter> = rows
                .into_iter()
                .map(|(key, value)| Counter { key, value })
                .collect();
            // The database's collation decides its order; the contract is byte order.
            counters.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(counters)
        }

        async fn delete(&self, key: &SegmentKey) -> Result<bool> {
            let result = sqlx::query(AssertSqlSafe(self.sql.delete.clone()))
                .bind(key.as_str())
                .execute(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            Ok(DB::rows_affected(&result) > 0)
        }
    }
}
