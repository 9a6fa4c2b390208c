//! MySQL / MariaDB. What differs from the other SQL stores: the DDL (`utf8mb4_bin` keys,
//! InnoDB), `LAST_INSERT_ID(expr)` to read the allocated value from the same statement, and
//! `SELECT ... FOR UPDATE` to lock a metadata row. On TiDB (found in `SELECT VERSION()`),
//! whose `LAST_INSERT_ID(expr)` is documented to skip values, an allocation is an `UPDATE`
//! and a `SELECT` of the row in one transaction instead.

use sqlx::MySql;

use super::{Dialect, Syntax};
use crate::error::Result;

impl Dialect for MySql {
    const BACKEND: &'static str = "mysql";
    const SYNTAX: Syntax = Syntax {
        returning: false,
        two_step_engine: Some("TiDB"),
        ..Syntax::STANDARD
    };
    const META_DDL: &'static str = "CREATE TABLE IF NOT EXISTS kxy_id_meta (
        name VARCHAR(600) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
        value LONGTEXT NOT NULL, expires_at BIGINT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";

    const MAX_CONNECTIONS: u32 = 16;

    fn connect_options(url: &str) -> Result<<Self::Connection as sqlx::Connection>::Options> {
        super::parse_url::<sqlx::mysql::MySqlConnectOptions>(url)
    }

    fn counters_ddl(table: &str) -> String {
        // utf8mb4_bin compares keys by code point (byte order of UTF-8), so keys differing
        // in any character are different rows.
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                segment_key VARCHAR({}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
                max_id BIGINT NOT NULL,
                updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
                PRIMARY KEY (segment_key)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            crate::key::MAX_KEY_CHARS
        )
    }

    fn allocate_sql(table: &str) -> String {
        format!(
            "UPDATE {table} SET max_id = LAST_INSERT_ID(max_id + ?) WHERE segment_key = ? AND max_id <= ?"
        )
    }

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }

    fn allocated_value(result: &Self::QueryResult) -> Option<u64> {
        Some(result.last_insert_id())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::sql::{MySqlAllocator, MySqlMetaStore};
    use crate::testing::TestDatabase;
    use std::time::Duration;

    super::super::networked_store_tests!(
        MySqlAllocator,
        MySqlMetaStore,
        TestDatabase::mysql,
        drop_mysql,
        "mysql://root:pw@127.0.0.1:1/x"
    );
}
