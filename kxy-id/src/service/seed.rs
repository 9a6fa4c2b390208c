//! One key's source: the real database, table and integer column a key names (in any
//! case), and seeding its counter from `MAX(column)`; what lazy initialization and approval
//! run.
//!
//! Only ever *raises* counters ([`SegmentAllocator::raise_to`]): a counter ahead of its table
//! (IDs handed out but not inserted yet) is left as it is, so seeding again never hands an ID
//! out twice.

use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::config::DatabaseConfig;
use crate::connector::{Column, DbConnector, is_integer_type};
use crate::error::{Error, Result};
use crate::key::SegmentKey;

/// The message of [`Error::NotFound`] when the table or field of a key does not exist
/// (the old service's wording).
pub(crate) fn missing_table_or_field_message(key: &SegmentKey) -> String {
    format!(
        "Table '{}' or field '{}' does not exist in database '{}'. Please check your database schema.",
        key.table_name(),
        key.field_name(),
        key.db_name()
    )
}

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

/// Finds the real database, table and column a key names (in any case, the exact spelling
/// preferred) and checks that the column is an integer column.
///
/// [`Error::NotFound`] (with the old service's message) when any of them does not exist;
/// [`Error::NotNumeric`] when the column is not of an integer type. The column need not be
/// the primary key.
pub(crate) async fn resolve_key(
    connector: &dyn DbConnector,
    key: &SegmentKey,
) -> Result<KeySource> {
    let missing = || Error::NotFound(missing_table_or_field_message(key));
    let database = connector
        .find_database(key.db_name())
        .await?
        .ok_or_else(missing)?;
    let table = connector
        .find_table(&database, key.table_name())
        .await?
        .ok_or_else(missing)?;
    let column = connector
        .find_column(&database, &table, key.field_name())
        .await?
        .ok_or_else(missing)?;
    if !is_integer_type(connector.db_type(), &column.ty) {
        return Err(Error::NotNumeric {
            table,
            column: column.name,
            ty: column.ty,
        });
    }
    Ok(KeySource {
        database,
        table,
        column,
    })
}

/// Lazy initialization of one key (on its first allocation): finds the key's table and column
/// ([`resolve_key`]) and raises the counter to `MAX(column)` (at least 0).
///
/// Nothing is written when the table or column does not exist ([`Error::NotFound`]) or the
/// column is not an integer column ([`Error::NotNumeric`]), or when `config` belongs to
/// another system or database (a caller's mistake, [`Error::InvalidConfig`]).
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
