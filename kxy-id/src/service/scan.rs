//! Walking a configuration's business tables: which databases a scan covers, and for every
//! table whether it can seed a counter (a single integer key column) or why not.
//!
//! Read-only; [`initialize`](super::initialize) and [`discovery`](super::discovery) decide
//! what to do with what it finds.

use std::future::Future;

use futures_util::{Stream, StreamExt};

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

/// Walks every table of the scanned databases, reading each database's keys in a handful of
/// catalog queries ([`DbConnector::primary_keys`]). A failure to reach the server is returned
/// at once; a failure on one database or table goes to `errors` and the scan goes on.
pub(crate) async fn scan(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    errors: &mut Vec<TableError>,
) -> Result<Vec<Scanned>> {
    let mut found = Vec::new();
    for database in databases_to_scan(config, connector).await? {
        let tables = match connector.primary_keys(&database).await {
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
        for (table, key) in tables {
            let classified = match key {
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

/// Runs `each` on every seedable table, at most [`DbConnector::parallelism`] at once (so never
/// more connections to the business database than its connector may open), and yields the
/// results in the tables' order.
pub(crate) fn per_table<'a, F, Fut>(
    connector: &dyn DbConnector,
    tables: Vec<SeedableTable>,
    each: F,
) -> impl Stream<Item = Fut::Output> + 'a
where
    F: FnMut(SeedableTable) -> Fut + 'a,
    Fut: Future + 'a,
{
    futures_util::stream::iter(tables)
        .map(each)
        .buffered(connector.parallelism().max(1))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use futures_util::StreamExt;

    use super::*;
    use crate::config::DbType;
    use crate::connector::{Column, DbServer, PrimaryKey};

    /// A connector allowing 3 queries at once that records how many `MAX` queries overlap.
    #[derive(Debug)]
    struct Overlap {
        server: DbServer,
        running: AtomicUsize,
        peak: AtomicUsize,
    }

    #[async_trait]
    impl DbConnector for Overlap {
        fn server(&self) -> &DbServer {
            &self.server
        }
        async fn list_databases(&self) -> Result<Vec<String>> {
            Ok(vec!["d".into()])
        }
        async fn list_tables(&self, _: &str) -> Result<Vec<String>> {
            Ok(Vec::new())
        }
        async fn list_columns(&self, _: &str, _: &str) -> Result<Vec<Column>> {
            Ok(Vec::new())
        }
        async fn primary_key(&self, _: &str, _: &str) -> Result<PrimaryKey> {
            Ok(PrimaryKey::default())
        }
        fn parallelism(&self) -> usize {
            3
        }
        async fn max_value(&self, _: &str, table: &str, _: &str) -> Result<i64> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            Ok(table.len() as i64)
        }
    }

    #[tokio::test]
    async fn max_queries_overlap_up_to_the_parallelism_and_keep_table_order() {
        let config = crate::testing::connector::config(DbType::MySql, "127.0.0.1", "u", "", None);
        let connector = Overlap {
            server: DbServer::new(DbType::MySql, &config).unwrap(),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        };
        let tables: Vec<SeedableTable> = (1..=20)
            .map(|i| SeedableTable {
                database: "d".into(),
                table: "t".repeat(i),
                column: "id".into(),
                key: SegmentKey::new("s", "d", &"t".repeat(i), "id").unwrap(),
            })
            .collect();
        let c = &connector;
        let maxes: Vec<i64> = per_table(c, tables, |t| async move {
            c.max_value(&t.database, &t.table, &t.column).await.unwrap()
        })
        .collect()
        .await;
        assert_eq!(maxes, (1..=20).collect::<Vec<i64>>());
        assert_eq!(connector.peak.load(Ordering::SeqCst), 3);
    }
}
