//! Initialize: seeding a counter for every integer-keyed table of a configuration's
//! database(s), with a report of what happened table by table.
//!
//! Only ever *raises* counters ([`SegmentAllocator::raise_to`]): a counter that is ahead of a
//! table's `MAX(pk)` (IDs handed out but not inserted yet) is left as it is, so
//! re-initializing never hands an ID out twice.

use serde::{Deserialize, Serialize};

use super::IdService;
use futures_util::StreamExt;

use super::scan::{Scanned, SeedableTable, per_table, scan};
use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::config::DatabaseConfig;
use crate::connector::DbConnector;
use crate::error::{Error, Result};

/// The result of [`IdService::initialize`]: the old service's fields plus the full report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitializeResult {
    /// How many keys now have a counter at least at their table's `MAX(pk)` (`segments.len()`).
    pub initialized_count: usize,
    /// Those keys: the ones set (created or raised), then the ones already ahead.
    pub segments: Vec<String>,
    /// Everything that happened, table by table.
    #[serde(flatten)]
    pub report: InitReport,
}

/// What initialize ([`IdService::initialize`]) did, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// A counter initialize created or raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeededKey {
    /// The segment key.
    pub key: String,
    /// The value stored (the table's `MAX(pk)`, at least 0).
    #[serde(deserialize_with = "crate::wire::deserialize_integer")]
    pub value: i64,
}

/// A counter that was already ahead of its table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AheadKey {
    /// The segment key.
    pub key: String,
    /// The counter's value, left as it was.
    #[serde(deserialize_with = "crate::wire::deserialize_integer")]
    pub current: i64,
    /// The table's `MAX(pk)`.
    #[serde(deserialize_with = "crate::wire::deserialize_integer")]
    pub max_id: i64,
}

/// A table that was not seeded because of its primary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedTable {
    /// The database (real name).
    pub database: String,
    /// The table (real name).
    pub table: String,
    /// Why, in words (e.g. `primary key column id has type varchar(36), not an integer type`).
    pub reason: String,
}

/// A table (or, with an empty `table`, a whole database) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableError {
    /// The database (real name).
    pub database: String,
    /// The table (real name), empty when listing the database's tables failed.
    pub table: String,
    /// The error, in words.
    pub error: String,
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
///
/// The catalog is read in a handful of queries per database; the `MAX` queries run
/// [`DbConnector::parallelism`] at a time, and their counters are raised in batches
/// ([`SegmentAllocator::raise_many`]).
pub(crate) async fn initialize(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
) -> Result<InitReport> {
    let mut report = InitReport::default();
    let mut seedable = Vec::new();
    for scanned in scan(config, connector, &mut report.errors).await? {
        match scanned {
            Scanned::Skipped(s) => report.skipped.push(s),
            Scanned::Seedable(t) => seedable.push(t),
        }
    }
    // The MAX queries run a bounded number at once; whatever has come back is raised as one
    // batch (one transaction on the SQL stores), and the outcomes keep table order.
    let mut maxes = per_table(connector, seedable, |t| async move {
        let max = connector.max_value(&t.database, &t.table, &t.column).await;
        (t, max)
    })
    .ready_chunks(RAISE_BATCH);
    while let Some(chunk) = maxes.next().await {
        let mut tables = Vec::with_capacity(chunk.len());
        for (t, max) in chunk {
            match max {
                Ok(max) => tables.push((t, max.max(0))),
                Err(e @ Error::Connect { .. }) => return Err(e),
                Err(e) => report.errors.push(TableError {
                    database: t.database,
                    table: t.table,
                    error: e.to_string(),
                }),
            }
        }
        let items: Vec<_> = tables
            .iter()
            .map(|(t, max)| (t.key.clone(), *max))
            .collect();
        let outcomes = allocator.raise_many(&items).await;
        for ((t, max_id), outcome) in tables.into_iter().zip(outcomes) {
            record(&mut report, t, max_id, outcome);
        }
    }
    Ok(report)
}

/// The most counters raised in one batch.
const RAISE_BATCH: usize = 500;

/// Adds what the raise of one table's counter did to `report`.
fn record(report: &mut InitReport, t: SeedableTable, max_id: i64, outcome: Result<RaiseOutcome>) {
    match outcome {
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

impl IdService {
    /// Seeds every integer-keyed table of a configuration's database(s); counters only rise.
    pub async fn initialize(&self, guid: &str) -> Result<InitializeResult> {
        let config = self.get_database(guid).await?;
        let connector = self.connector(&config)?;
        let report = initialize(&config, &*connector, &*self.allocator).await?;
        // Everything seeded is no longer "discovered".
        self.prune_discovered(guid).await?;
        let segments = report.seeded_keys();
        Ok(InitializeResult {
            initialized_count: segments.len(),
            segments,
            report,
        })
    }
}
