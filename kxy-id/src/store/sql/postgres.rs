//! PostgreSQL. What differs from the other SQL stores: the DDL (`COLLATE "C"` keys), `$n`
//! placeholders, `RETURNING`, and `SELECT ... FOR UPDATE` to lock a metadata row.

use sqlx::Postgres;

use super::{Dialect, SqlAllocator, SqlMetaStore};
use crate::error::Result;

/// Counters in a PostgreSQL table, one row per key (the Leaf model).
///
/// The table (`kxy_id_segments` by default) is created if missing. An allocation is the single
/// statement `UPDATE ... SET max_id = max_id + n WHERE ... AND max_id <= MAX - n RETURNING max_id`:
/// the row lock serializes concurrent servers and the new value comes back from the same statement.
pub type PgAllocator = SqlAllocator<Postgres>;

/// Metadata in the PostgreSQL database of the counters.
pub type PgMetaStore = SqlMetaStore<Postgres>;

impl super::private::Sealed for Postgres {}

impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    const DOLLAR_PLACEHOLDERS: bool = true;
    const ALLOCATE_RETURNS_ROW: bool = true;
    const LOCK_ROW: &'static str = " FOR UPDATE";
    const BEGIN: Option<&'static str> = None;
    const META_DDL: &'static str = "CREATE TABLE IF NOT EXISTS kxy_id_meta (
        name VARCHAR(600) COLLATE \"C\" NOT NULL PRIMARY KEY, value TEXT NOT NULL, expires_at BIGINT)";

    const MAX_CONNECTIONS: u32 = 16;

    fn connect_options(url: &str) -> Result<<Self::Connection as sqlx::Connection>::Options> {
        super::parse_url::<sqlx::postgres::PgConnectOptions>(url)
    }

    fn counters_ddl(table: &str) -> String {
        // COLLATE "C": keys compare byte for byte, whatever the database's locale.
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                segment_key VARCHAR({}) COLLATE \"C\" NOT NULL PRIMARY KEY,
                max_id BIGINT NOT NULL CHECK (max_id >= 0)
            )",
            crate::key::MAX_KEY_CHARS
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use std::time::Duration;

    super::super::networked_store_tests!(
        PgAllocator,
        PgMetaStore,
        TestDatabase::postgres,
        drop_postgres,
        "postgres://u:pw@127.0.0.1:1/x"
    );
}
