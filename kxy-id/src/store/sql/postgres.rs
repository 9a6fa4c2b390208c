//! PostgreSQL. What differs from the other SQL stores: the DDL (`COLLATE "C"` keys), `$n`
//! placeholders, `RETURNING`, and `SELECT ... FOR UPDATE` to lock a metadata row.

use sqlx::Postgres;

use super::{Dialect, Syntax};
use crate::error::Result;

impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    const SYNTAX: Syntax = Syntax {
        dollar_placeholders: true,
        ..Syntax::STANDARD
    };
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
    use crate::store::sql::{PgAllocator, PgMetaStore};
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
