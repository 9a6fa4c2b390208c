//! Walking a configuration's business tables: which databases a scan covers, and for every
//! table whether it can seed a counter (a single integer key column) or why not.
//!
//! Read-only; [`initialize`](super::initialize) and [`discovery`](super::discovery) decide
//! what to do with what it finds.

use super::initialize::{SkippedTable, TableError};
use crate::config::DatabaseConfig;
use crate::connector::{DbConnector, TableClass};
use crate::error::{Error, Result};
use crate::key::SegmentKey;

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
pub(crate) struct SeedableTable {
    /// The database (real name).
    pub(crate) database: String,
    /// The table (real name).
    pub(crate) table: String,
    /// The key column (real name).
    pub(crate) column: String,
    /// The key its counter has.
    pub(crate) key: SegmentKey,
}

/// What one table of a scan turned out to be.
pub(crate) enum Scanned {
    /// It can seed a counter.
    Seedable(SeedableTable),
    /// It cannot, and why.
    Skipped(SkippedTable),
}

/// Walks every table of the scanned databases. A failure to reach the server is returned at
/// once; a failure on one database or table goes to `errors` and the scan goes on.
pub(crate) async fn scan(
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
