//! The SQL stores (SQLite, MySQL, PostgreSQL): counters and metadata in tables.
//!
//! This file holds what the SQL allocators (SQLite, MySQL, PostgreSQL) share: the counter table and the
//! statements that read, create, raise, list and delete rows in it.
//!
//! The table has one row per key (the Leaf model):
//! `segment_key` (the primary key, compared byte for byte) and `max_id` (a signed 64-bit
//! integer). Allocation is backend specific (it needs the new value back from the same
//! atomic statement) and lives in each backend's module.

mod meta;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "mysql")]
pub use meta::MySqlMetaStore;
#[cfg(feature = "postgres")]
pub use meta::PgMetaStore;
pub use meta::SqlMetaStore;
#[cfg(feature = "sqlite")]
pub use meta::SqliteMetaStore;
#[cfg(feature = "mysql")]
pub use mysql::MySqlAllocator;
#[cfg(feature = "postgres")]
pub use postgres::PgAllocator;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteAllocator;

use std::sync::Arc;

use sqlx::{
    AssertSqlSafe, ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Type,
};

use crate::allocator::{Counter, RaiseOutcome};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey, ceiling_for, check_count, check_value};

/// The default name of the counter table.
pub(crate) const DEFAULT_TABLE: &str = "kxy_id_segments";

/// Checks a counter table name: ASCII letters, digits and `_`, not starting with a digit,
/// at most 64 characters. Such a name needs no quoting in any of the three dialects.
pub(crate) fn check_table_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidIdentifier {
            name: name.to_owned(),
            reason: "a counter table name may only hold ASCII letters, digits and `_` and must not start with a digit".into(),
        })
    }
}

/// How a dialect writes bind parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Placeholders {
    /// `?` (SQLite, MySQL).
    Question,
    /// `$1`, `$2`, ... (PostgreSQL).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Dollar,
}

/// Rewrites the `?` placeholders of `sql` for the dialect. Statements here are written by
/// us and contain no `?` inside literals.
pub(crate) fn placeholders(sql: &str, style: Placeholders) -> Arc<str> {
    match style {
        Placeholders::Question => sql.into(),
        Placeholders::Dollar => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(c);
                }
            }
            out.into()
        }
    }
}

/// The statements over the counter table, in one dialect.
#[derive(Debug, Clone)]
struct Statements {
    raise: Arc<str>,
    insert: Arc<str>,
    get: Arc<str>,
    list: Arc<str>,
    delete: Arc<str>,
}

impl Statements {
    fn new(table: &str, style: Placeholders) -> Self {
        let p = |sql: String| placeholders(&sql, style);
        Statements {
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

/// A counter table in one SQL database, with the operations all SQL backends share.
#[derive(Debug)]
pub(crate) struct SqlCounters<DB: Database> {
    /// The connection pool.
    pub(crate) pool: Pool<DB>,
    /// `sqlite`, `mysql` or `postgres`.
    backend: &'static str,
    /// Prepared statement texts.
    sql: Statements,
    /// Reads the number of rows a statement changed (the drivers' result types share no trait).
    rows_affected: fn(&DB::QueryResult) -> u64,
}

impl<DB: Database> Clone for SqlCounters<DB> {
    fn clone(&self) -> Self {
        SqlCounters {
            pool: self.pool.clone(),
            backend: self.backend,
            sql: self.sql.clone(),
            rows_affected: self.rows_affected,
        }
    }
}

impl<DB> SqlCounters<DB>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    pub(crate) fn new(
        pool: Pool<DB>,
        backend: &'static str,
        table: &str,
        style: Placeholders,
        rows_affected: fn(&DB::QueryResult) -> u64,
    ) -> Self {
        SqlCounters {
            pool,
            backend,
            sql: Statements::new(table, style),
            rows_affected,
        }
    }

    pub(crate) fn err(&self, e: sqlx::Error) -> Error {
        map_sqlx_error(self.backend, e)
    }

    /// Allocation for dialects whose `UPDATE` can return the new value (`RETURNING`).
    pub(crate) async fn allocate_returning(
        &self,
        sql: &Arc<str>,
        key: &SegmentKey,
        count: i64,
    ) -> Result<Segment> {
        check_count(count)?;
        loop {
            let new: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql.clone()))
                .bind(count)
                .bind(key.as_str())
                .bind(ceiling_for(count))
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.err(e))?;
            match new {
                Some(end) => return Ok(Segment::ending_at(end, count)),
                None => self.explain_refused_allocation(key, count).await?,
            }
        }
    }

    /// Called when the allocating `UPDATE` matched no row: says why, or returns `Ok` when the
    /// counter appeared in the meantime and the update should be tried again.
    pub(crate) async fn explain_refused_allocation(
        &self,
        key: &SegmentKey,
        count: i64,
    ) -> Result<()> {
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

    pub(crate) async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
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

    async fn raise_existing(&self, key: &SegmentKey, value: i64) -> Result<bool> {
        let result = sqlx::query(AssertSqlSafe(self.sql.raise.clone()))
            .bind(value)
            .bind(key.as_str())
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok((self.rows_affected)(&result) > 0)
    }

    pub(crate) async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
        check_value(value)?;
        sqlx::query(AssertSqlSafe(self.sql.insert.clone()))
            .bind(key.as_str())
            .bind(value)
            .execute(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(db) if db.is_unique_violation() => Error::AlreadyExists {
                    key: key.to_string(),
                },
                e => self.err(e),
            })?;
        Ok(())
    }

    pub(crate) async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
        sqlx::query_scalar(AssertSqlSafe(self.sql.get.clone()))
            .bind(key.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))
    }

    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
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

    pub(crate) async fn delete(&self, key: &SegmentKey) -> Result<bool> {
        let result = sqlx::query(AssertSqlSafe(self.sql.delete.clone()))
            .bind(key.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        Ok((self.rows_affected)(&result) > 0)
    }
}

/// Maps an sqlx error onto the crate's error: connection failures name what could not be
/// reached, everything else is a backend error.
pub(crate) fn map_sqlx_error(backend: &'static str, e: sqlx::Error) -> Error {
    match e {
        sqlx::Error::PoolTimedOut => Error::Connect {
            target: backend.to_owned(),
            reason: "timed out waiting for a connection (is the server reachable?)".into(),
        },
        sqlx::Error::Io(io) => Error::Connect {
            target: backend.to_owned(),
            reason: io.to_string(),
        },
        sqlx::Error::Tls(tls) => Error::Connect {
            target: backend.to_owned(),
            reason: format!("TLS: {tls}"),
        },
        e => Error::backend(backend, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_placeholders_are_numbered() {
        assert_eq!(
            &*placeholders(
                "UPDATE t SET a = ? WHERE b = ? AND c < ?",
                Placeholders::Dollar
            ),
            "UPDATE t SET a = $1 WHERE b = $2 AND c < $3"
        );
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        assert!(check_table_name("kxy_id_segments").is_ok());
        assert!(check_table_name("Seg2").is_ok());
        for bad in [
            "",
            "1abc",
            "a-b",
            "a b",
            "t; drop table x",
            "t`",
            "\"t\"",
            &"x".repeat(65),
        ] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }
}
