//! The SQL stores (SQLite, MySQL, PostgreSQL): counters and metadata in tables.
//!
//! One generic implementation serves all three: [`SqlAllocator`] (`allocator.rs`) keeps the
//! counters in a table with one row per key (the Leaf model: `segment_key`, compared byte for
//! byte, and `max_id`, a signed 64-bit integer), and [`SqlMetaStore`] (`meta.rs`) keeps the
//! metadata in `kxy_id_meta`. What differs between databases is the [`Dialect`]: DDL, the
//! allocating statement, placeholders and how a locking transaction starts. `sqlite.rs`,
//! `mysql.rs` and `postgres.rs` hold only that, plus how each connects.

mod allocator;
mod meta;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
mod retry;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(all(test, feature = "postgres", unix))]
mod tls_tests;

pub use allocator::SqlAllocator;
pub use meta::SqlMetaStore;

use std::sync::Arc;

use sqlx::Database;

use crate::error::{Error, Result};

/// What differs between the SQL databases a store can live in. Implemented for sqlx's
/// `Sqlite`, `MySql` and `Postgres` (and sealed: the generic code relies on each statement
/// below being atomic in its database).
pub trait Dialect: Database + private::Sealed {
    /// `sqlite`, `mysql` or `postgres`, for logs, metrics and errors.
    const BACKEND: &'static str;
    /// How its statements are written where databases differ.
    const SYNTAX: Syntax;
    /// The metadata table's DDL.
    const META_DDL: &'static str;

    /// The most connections a pool opens.
    const MAX_CONNECTIONS: u32;

    /// How to reach the database `url` names, with the settings the durability promise needs.
    fn connect_options(url: &str) -> Result<<Self::Connection as sqlx::Connection>::Options>;
    /// The counter table's DDL (`CREATE TABLE IF NOT EXISTS`).
    fn counters_ddl(table: &str) -> String;
    /// The single atomic statement that adds `?1` to the counter of key `?2` if it is at most
    /// `?3` (the ceiling that keeps it within `i64::MAX`).
    fn allocate_sql(table: &str) -> String;
    /// Rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
    /// The value the allocating statement left, when [`Syntax::returning`] is false.
    fn allocated_value(result: &Self::QueryResult) -> Option<u64> {
        let _ = result;
        None
    }
}

/// How a database writes the statements of the SQL stores, where databases differ.
/// [`Syntax::STANDARD`] is PostgreSQL's and SQLite's core; each dialect states its departures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    /// Bind parameters are `$1, $2, ...` rather than `?`.
    pub dollar_placeholders: bool,
    /// The allocating statement returns the new value as a row (`RETURNING`); when not, it is
    /// read from the statement's result (MySQL's `LAST_INSERT_ID(expr)`).
    pub returning: bool,
    /// Appended to the `SELECT` that locks a metadata row inside a transaction.
    pub lock_row: &'static str,
    /// The statement that starts a read-modify-write transaction (`None`: the driver's `BEGIN`).
    pub begin: Option<&'static str>,
    /// A text in `SELECT VERSION()` naming an engine of this protocol whose single-statement
    /// read-back is unreliable (TiDB's `LAST_INSERT_ID(expr)`): there, an allocation is an
    /// `UPDATE` and a `SELECT` in one transaction instead.
    pub two_step_engine: Option<&'static str>,
}

impl Syntax {
    /// `?` placeholders, `RETURNING`, `SELECT ... FOR UPDATE`, a plain `BEGIN`.
    pub const STANDARD: Syntax = Syntax {
        dollar_placeholders: false,
        returning: true,
        lock_row: " FOR UPDATE",
        begin: None,
        two_step_engine: None,
    };
}

// Which database each alias names, and the seal that keeps the list to these three.
#[cfg(feature = "mysql")]
/// Counters in a MySQL / MariaDB table, one row per key (the Leaf model).
///
/// The table (`kxy_id_segments` by default) is created if missing. An allocation is the single
/// statement `UPDATE ... SET max_id = LAST_INSERT_ID(max_id + n) WHERE ... AND max_id <= MAX - n`:
/// InnoDB locks the row, so concurrent servers never get overlapping segments, and the new
/// value comes back in the same statement's OK packet (no second round trip, no transaction).
pub type MySqlAllocator = SqlAllocator<sqlx::MySql>;
#[cfg(feature = "mysql")]
/// Metadata in the MySQL / MariaDB database of the counters.
pub type MySqlMetaStore = SqlMetaStore<sqlx::MySql>;
#[cfg(feature = "postgres")]
/// Counters in a PostgreSQL table, one row per key (the Leaf model): one
/// `UPDATE ... RETURNING` per allocation; the row lock serializes concurrent servers.
pub type PgAllocator = SqlAllocator<sqlx::Postgres>;
#[cfg(feature = "postgres")]
/// Metadata in the PostgreSQL database of the counters.
pub type PgMetaStore = SqlMetaStore<sqlx::Postgres>;
#[cfg(feature = "sqlite")]
/// Counters in a single SQLite file, the embedded default: no server, durable, shared safely
/// by several processes on one machine.
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
/// depending on the disk); take IDs in large segments, or reserve ahead.
pub type SqliteAllocator = SqlAllocator<sqlx::Sqlite>;
#[cfg(feature = "sqlite")]
/// Metadata in the SQLite file of the counters.
pub type SqliteMetaStore = SqlMetaStore<sqlx::Sqlite>;

mod private {
    /// Only the dialects of this crate.
    pub trait Sealed {}
    #[cfg(feature = "mysql")]
    impl Sealed for sqlx::MySql {}
    #[cfg(feature = "postgres")]
    impl Sealed for sqlx::Postgres {}
    #[cfg(feature = "sqlite")]
    impl Sealed for sqlx::Sqlite {}
}

/// Writes an `impl` block over every dialect with sqlx's bounds spelled out once.
///
/// Rust does not carry a trait's `where` clauses to its users (no implied bounds), so every
/// generic `impl` over an sqlx database repeats what sqlx needs: executors for the pool and a
/// connection, and the value types bound and read. This macro is that list:
/// `sql_impl! { #[attrs] impl<DB> [Trait for Type<DB>] { ... } }` (or `[Type<DB>]` for an
/// inherent impl).
macro_rules! sql_impl {
    ($(#[$attr:meta])* impl<DB> [$($head:tt)*] { $($body:tt)* }) => {
        $(#[$attr])*
        impl<DB> $($head)*
        where
            DB: $crate::store::sql::Dialect,
            DB::Arguments: sqlx::IntoArguments<DB>,
            for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
            for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
            for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Decode<'q, DB> + sqlx::Type<DB>,
            for<'q> Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
            for<'r> String: sqlx::Decode<'r, DB> + sqlx::Type<DB>,
            usize: sqlx::ColumnIndex<DB::Row>,
        {
            $($body)*
        }
    };
}
pub(crate) use sql_impl;

/// Runs a DDL statement; a unique violation means another server created the object at the
/// same moment (PostgreSQL reports the race on its catalog that way), so the object exists.
pub(crate) async fn create_if_missing<DB: Dialect>(pool: &sqlx::Pool<DB>, ddl: &str) -> Result<()>
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
{
    match sqlx::query(sqlx::AssertSqlSafe(ddl.to_owned()))
        .execute(pool)
        .await
    {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(()),
        Err(e) => Err(map_sqlx_error(DB::BACKEND, e)),
    }
}

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

/// Rewrites the `?` placeholders of `sql` for the dialect. Statements here are written by
/// us and contain no `?` inside literals.
pub(crate) fn placeholders<DB: Dialect>(sql: &str) -> Arc<str> {
    match DB::SYNTAX.dollar_placeholders {
        false => sql.into(),
        true => {
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

/// Parses a URL into sqlx's connect options, naming the URL without its password on failure.
#[cfg(any(feature = "mysql", feature = "postgres"))]
pub(crate) fn parse_url<O: std::str::FromStr>(url: &str) -> Result<O>
where
    O::Err: std::fmt::Display,
{
    url.parse().map_err(|e: O::Err| {
        Error::InvalidConfig(format!("{}: {e}", crate::error::redact_url(url)))
    })
}

/// The tests every networked SQL store runs against its live server: the allocator and
/// metadata conformance suites (two pools on one database stand in for two servers), the
/// reserving wrapper over it, and a clear error for an unreachable server.
#[cfg(test)]
macro_rules! networked_store_tests {
    ($allocator:ty, $meta:ty, $create_db:path, $drop_db:ident, $unreachable_url:expr) => {
        use std::sync::Arc;

        use crate::testing::allocator as conformance;

        async fn two_allocators(url: &str) -> ($allocator, $allocator) {
            let timeout = Duration::from_secs(5);
            let a = <$allocator>::connect(url, timeout).await.unwrap();
            let b = <$allocator>::connect(url, timeout).await.unwrap();
            (a, b)
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn allocator_conforms_with_two_pools() {
            let Some(db) = $create_db().await else {
                return;
            };
            let (a, b) = two_allocators(&db.url).await;
            conformance::run_all(
                Arc::new(a.clone()),
                Arc::new(b.clone()),
                &conformance::unique_prefix(),
            )
            .await;
            a.pool().close().await;
            b.pool().close().await;
            db.$drop_db().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn reserving_over_it_conforms() {
            let Some(db) = $create_db().await else {
                return;
            };
            let (a, b) = two_allocators(&db.url).await;
            let opts = crate::ReserveOptions {
                min_block: 5,
                max_block: 40,
                ..Default::default()
            };
            let ra = crate::ReservingAllocator::new(Arc::new(a.clone()), opts.clone());
            let rb = crate::ReservingAllocator::new(Arc::new(b.clone()), opts);
            conformance::run_all_reserving(
                Arc::new(ra),
                Arc::new(rb),
                &conformance::unique_prefix(),
            )
            .await;
            a.pool().close().await;
            b.pool().close().await;
            db.$drop_db().await;
        }

        #[tokio::test]
        async fn meta_store_conforms() {
            let Some(db) = $create_db().await else {
                return;
            };
            let (a, _) = two_allocators(&db.url).await;
            let store = <$meta>::new(a.pool().clone()).await.unwrap();
            crate::testing::meta::meta_store_conforms(&store, "t").await;
            a.pool().close().await;
            db.$drop_db().await;
        }

        #[tokio::test]
        async fn unreachable_server_names_the_host() {
            let err = <$allocator>::connect($unreachable_url, Duration::from_secs(2))
                .await
                .unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, crate::Error::Connect { .. }), "{msg}");
            assert!(msg.contains("127.0.0.1:1") && !msg.contains("pw@"), "{msg}");
        }
    };
}
#[cfg(test)]
pub(crate) use networked_store_tests;

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

    #[cfg(feature = "postgres")]
    #[test]
    fn dollar_placeholders_are_numbered() {
        assert_eq!(
            &*placeholders::<sqlx::Postgres>("UPDATE t SET a = ? WHERE b = ? AND c < ?"),
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
