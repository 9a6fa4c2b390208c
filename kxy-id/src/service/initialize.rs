//! Seeding counters from business tables: initialize, lazy init of one key, discovery.
//!
//! Every function here only ever *raises* counters ([`SegmentAllocator::raise_to`]): a
//! counter that is ahead of a table's `MAX(pk)` (IDs handed out but not inserted yet) is left
//! as it is, so re-initializing never hands an ID out twice.

use serde::Serialize;

use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::config::DatabaseConfig;
use crate::connector::{Column, DbConnector, TableClass, is_integer_type};
use crate::error::{Error, Result};
use crate::key::SegmentKey;

/// What [`initialize`] did, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InitReport {
    /// Counters created or raised to the table's `MAX(pk)`.
    pub set: Vec<SeededKey>,
    /// Counters left alone because they were already at or past `MAX(pk)`.
    pub already_ahead: Vec<AheadKey>,
    /// Tables that cannot seed a counter, and why.
    pub skipped: Vec<SkippedTable>,
    /// Tables that failed (the others were still processed).
    pub errors: Vec<TableError>,
}

impl InitReport {
    /// Every key that has a counter at least at its table's `MAX(pk)` now (`set`, then
    /// `already_ahead`).
    pub fn seeded_keys(&self) -> Vec<String> {
        self.set
            .iter()
            .map(|s| s.key.clone())
            .chain(self.already_ahead.iter().map(|a| a.key.clone()))
            .collect()
    }
}

/// A counter [`initialize`] created or raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeededKey {
    /// The segment key.
    pub key: String,
    /// The value stored (the table's `MAX(pk)`, at least 0).
    pub value: i64,
}

/// A counter that was already ahead of its table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AheadKey {
    /// The segment key.
    pub key: String,
    /// The counter's value, left as it was.
    pub current: i64,
    /// The table's `MAX(pk)`.
    pub max_id: i64,
}

/// A table that was not seeded because of its primary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedTable {
    /// The database (real name).
    pub database: String,
    /// The table (real name).
    pub table: String,
    /// Why, in words (e.g. `primary key column id has type varchar(36), not an integer type`).
    pub reason: String,
}

/// A table (or, with an empty `table`, a whole database) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableError {
    /// The database (real name).
    pub database: String,
    /// The table (real name), empty when listing the database's tables failed.
    pub table: String,
    /// The error, in words.
    pub error: String,
}

/// A seedable table without a counter yet, found by [`discover`] (for an operator to approve).
///
/// Serialized as the old service's `kxy:id:discovered_tables:{guid}` members.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct DiscoveredTable {
    /// The database (real name).
    pub database: String,
    /// The table (real name).
    pub table: String,
    /// The primary key column (real name).
    pub primary_key: String,
    /// The table's `MAX(pk)` when it was scanned (at least 0).
    pub max_id: i64,
}

/// The databases a scan covers: the configured `db_name` (looked up in any case), or every
/// non-system database the connector lists.
pub(crate) async fn databases_to_scan(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
) -> Result<Vec<String>> {
    match config.database() {
        Some(name) => match connector.find_database(name).await? {
            Some(real) => Ok(vec![real]),
            None => Err(Error::NotFound(format!(
                "database '{name}' does not exist on {} (or the user {} cannot see it)",
                connector.target(),
                config.db_user
            ))),
        },
        None => connector.list_databases().await,
    }
}

/// One seedable table: where it is, its key column and the segment key it feeds.
struct SeedableTable {
    database: String,
    table: String,
    column: String,
    key: SegmentKey,
}

/// What one table of a scan turned out to be.
enum Scanned {
    Seedable(SeedableTable),
    Skipped(SkippedTable),
}

/// Walks every table of the scanned databases. A failure to reach the server is returned at
/// once; a failure on one database or table goes to `errors` and the scan goes on.
async fn scan(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    errors: &mut Vec<TableError>,
) -> Result<Vec<Scanned>> {
    let mut found = Vec::new();
    for database in databases_to_scan(config, connector).await? {
        let tables = match connector.list_tables(&database).await {
            Ok(t) => t,
            Err(e @ Error::Connect { .. }) => return Err(e),
            Err(e) => {
                errors.push(TableError {
                    database: database.clone(),
                    table: String::new(),
                    error: e.to_string(),
                });
                continue;
            }
        };
        for table in tables {
            let classified = match connector.primary_key(&database, &table).await {
                Ok(pk) => connector.classify(&pk),
                Err(e @ Error::Connect { .. }) => return Err(e),
                Err(e) => {
                    errors.push(TableError {
                        database: database.clone(),
                        table,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            match classified {
                TableClass::Seedable { column, .. } => {
                    match SegmentKey::new(&config.system_code, &database, &table, &column) {
                        Ok(key) => found.push(Scanned::Seedable(SeedableTable {
                            database: database.clone(),
                            table,
                            column,
                            key,
                        })),
                        Err(e) => errors.push(TableError {
                            database: database.clone(),
                            table,
                            error: e.to_string(),
                        }),
                    }
                }
                TableClass::Skipped(reason) => found.push(Scanned::Skipped(SkippedTable {
                    database: database.clone(),
                    table,
                    reason: reason.to_string(),
                })),
            }
        }
    }
    Ok(found)
}

/// Seeds a counter for every table of the configured database(s) whose primary key is a
/// single integer column: `key = system_code:database:table:pk`, raised to `MAX(pk)` (0 for
/// an empty table, and never below 0). Counters are never lowered.
///
/// Tables without a primary key, with a composite key or with a non-integer key (e.g. a
/// `VARCHAR(36)` UUID) are reported in `skipped` and nothing is written for them. A table
/// that fails (a `MAX` past `i64::MAX`, a permission error, ...) goes to `errors` and the
/// others are still seeded. An unreachable server, or a configured `db_name` that does not
/// exist, is an `Err`.
pub(crate) async fn initialize(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
) -> Result<InitReport> {
    let mut report = InitReport::default();
    for scanned in scan(config, connector, &mut report.errors).await? {
        let t = match scanned {
            Scanned::Skipped(s) => {
                report.skipped.push(s);
                continue;
            }
            Scanned::Seedable(t) => t,
        };
        let max = match connector.max_value(&t.database, &t.table, &t.column).await {
            Ok(max) => max,
            Err(e @ Error::Connect { .. }) => return Err(e),
            Err(e) => {
                report.errors.push(TableError {
                    database: t.database,
                    table: t.table,
                    error: e.to_string(),
                });
                continue;
            }
        };
        let max_id = max.max(0);
        match allocator.raise_to(&t.key, max_id).await {
            Ok(RaiseOutcome::Created { value } | RaiseOutcome::Raised { value }) => {
                tracing::info!(key = %t.key, value, "counter seeded from the table");
                report.set.push(SeededKey {
                    key: t.key.to_string(),
                    value,
                });
            }
            Ok(RaiseOutcome::AlreadyAhead { current }) => report.already_ahead.push(AheadKey {
                key: t.key.to_string(),
                current,
                max_id,
            }),
            Err(e) => report.errors.push(TableError {
                database: t.database,
                table: t.table,
                error: e.to_string(),
            }),
        }
    }
    Ok(report)
}

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

/// Seedable tables whose key has no counter yet, with their `MAX(pk)`. Never writes.
///
/// Tables that fail are logged and left out; an unreachable server is an `Err`.
pub(crate) async fn discover(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
) -> Result<Vec<DiscoveredTable>> {
    let mut errors = Vec::new();
    let mut discovered = Vec::new();
    for scanned in scan(config, connector, &mut errors).await? {
        let Scanned::Seedable(t) = scanned else {
            continue;
        };
        if allocator.get(&t.key).await?.is_some() {
            continue;
        }
        match connector.max_value(&t.database, &t.table, &t.column).await {
            Ok(max) => discovered.push(DiscoveredTable {
                database: t.database,
                table: t.table,
                primary_key: t.column,
                max_id: max.max(0),
            }),
            Err(e @ Error::Connect { .. }) => return Err(e),
            Err(e) => errors.push(TableError {
                database: t.database,
                table: t.table,
                error: e.to_string(),
            }),
        }
    }
    for e in errors {
        tracing::warn!(
            database = %e.database,
            table = %e.table,
            error = %e.error,
            "table left out of discovery"
        );
    }
    Ok(discovered)
}
