//! One key's source: the real database and table a key names (in any case) and its
//! single-column integer primary key, and seeding its counter from `MAX(pk)`; what lazy
//! initialization and approval run.
//!
//! Only ever *raises* counters ([`SegmentAllocator::raise_to`]): a counter ahead of its table
//! (IDs handed out but not inserted yet) is left as it is, so seeding again never hands an ID
//! out twice.

use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::config::DatabaseConfig;
use crate::connector::{Column, DbConnector, TableClass};
use crate::error::{Error, Result};
use crate::key::SegmentKey;

/// Where a key's counter comes from: the real database, table and integer column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource {
    /// The database (real name).
    pub database: String,
    /// The table (real name).
    pub table: String,
    /// The column (real name and type).
    pub column: Column,
}

/// Finds the real database and table a key names (in any case, the exact spelling
/// preferred) and checks that the key's field is the table's single-column integer primary
/// key.
///
/// [`Error::NoSource`] in every other case (no such database or table, a field that is not
/// the primary key, a composite or non-integer key), with one message for all of them:
/// allocation is unauthenticated, and must not tell a caller which tables and columns exist
/// or read `MAX()` of a column that merely holds integers (`salary_cents`).
pub(crate) async fn resolve_key(
    connector: &dyn DbConnector,
    key: &SegmentKey,
) -> Result<KeySource> {
    let missing = || Error::NoSource {
        key: key.to_string(),
    };
    let database = connector
        .find_database(key.db_name())
        .await?
        .ok_or_else(missing)?;
    let table = connector
        .find_table(&database, key.table_name())
        .await?
        .ok_or_else(missing)?;
    let pk = match connector.primary_key(&database, &table).await {
        Ok(pk) => pk,
        Err(Error::NotFound(_)) => return Err(missing()),
        Err(e) => return Err(e),
    };
    match connector.classify(&pk) {
        TableClass::Seedable { column, ty } if column.to_lowercase() == key.field_name() => {
            Ok(KeySource {
                database,
                table,
                column: Column { name: column, ty },
            })
        }
        _ => Err(missing()),
    }
}

/// Lazy initialization of one key (on its first allocation) and approval: finds the key's
/// table and primary key ([`resolve_key`]) and raises the counter to `MAX(pk)` (at least 0).
///
/// Nothing is written when the key is not a table's single-column integer primary key
/// ([`Error::NoSource`]), or when `config` belongs to another system or database (a
/// caller's mistake, [`Error::InvalidConfig`]).
pub(crate) async fn seed_key(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
    key: &SegmentKey,
) -> Result<RaiseOutcome> {
    if config.system_code.to_lowercase() != key.system_code() {
        return Err(Error::InvalidConfig(format!(
            "key {key} does not belong to system {}",
            config.system_code
        )));
    }
    if let Some(db) = config.database()
        && db.to_lowercase() != key.db_name()
    {
        return Err(Error::InvalidConfig(format!(
            "key {key} does not belong to database {db}"
        )));
    }
    let source = resolve_key(connector, key).await?;
    let max = connector
        .max_value(&source.database, &source.table, &source.column.name)
        .await?;
    allocator.raise_to(key, max.max(0)).await
}
