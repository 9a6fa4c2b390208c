//! Discovery: the scanner's pass records the integer-keyed tables that have no counter yet,
//! without writing counters; an operator approves them one by one.
//!
//! Discovered tables are kept per configuration as members of a set in the metadata store
//! (the old service's `kxy:id:discovered_tables:{guid}`); entries whose counter exists by now
//! are pruned whenever the set is read.

use serde::{Deserialize, Serialize};

use super::IdService;
use super::initialize::TableError;
use futures_util::StreamExt;

use super::scan::{Scanned, per_table, scan};
use super::seed::seed_key;
use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::config::DatabaseConfig;
use crate::connector::DbConnector;
use crate::error::{Error, Result};
use crate::key::SegmentKey;
use crate::store::meta::names;

/// A seedable table without a counter yet, found by the scanner ([`IdService::scan_once`])
/// for an operator to approve.
///
/// Serialized as the old service's `kxy:id:discovered_tables:{guid}` members.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DiscoveredTable {
    /// The database (real name).
    pub database: String,
    /// The table (real name).
    pub table: String,
    /// The primary key column (real name).
    pub primary_key: String,
    /// The table's `MAX(pk)` when it was scanned (at least 0).
    #[serde(deserialize_with = "crate::wire::deserialize_integer")]
    pub max_id: i64,
}

/// Counts of what the scanner did in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Configurations scanned successfully.
    pub scanned: usize,
    /// Configurations whose database failed.
    pub failed: usize,
    /// Tables recorded as discovered in all.
    pub discovered: usize,
}

/// Up to this many stale discovered entries are removed one by one; more are pruned by
/// rewriting the set once.
const PRUNE_ONE_BY_ONE: usize = 16;

/// The metadata set of a configuration's discovered tables.
pub(super) fn discovered_name(guid: &str) -> String {
    format!("{}{guid}", names::DISCOVERED_PREFIX)
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
    let seedable: Vec<_> = scan(config, connector, &mut errors)
        .await?
        .into_iter()
        .filter_map(|s| match s {
            Scanned::Seedable(t) => Some(t),
            Scanned::Skipped(_) => None,
        })
        .collect();
    // Only tables without a counter are read, a bounded number at once.
    let mut found = per_table(connector, seedable, |t| async move {
        // The outer `Result` is the counter store's (fatal), the inner one the table's.
        let max = match allocator.get(&t.key).await {
            Ok(Some(_)) => Ok(None),
            Ok(None) => Ok(Some(
                connector.max_value(&t.database, &t.table, &t.column).await,
            )),
            Err(e) => Err(e),
        };
        (t, max)
    });
    while let Some((t, max)) = found.next().await {
        match max? {
            None => {}
            Some(Ok(max)) => discovered.push(DiscoveredTable {
                database: t.database,
                table: t.table,
                primary_key: t.column,
                max_id: max.max(0),
            }),
            Some(Err(e @ Error::Connect { .. })) => return Err(e),
            Some(Err(e)) => errors.push(TableError {
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

impl IdService {
    /// The tables the scanner found with an integer key and no counter yet.
    pub async fn discovered_tables(&self, guid: &str) -> Result<Vec<DiscoveredTable>> {
        self.get_database(guid).await?;
        self.prune_discovered(guid).await
    }

    /// Reads the discovered set, drops entries whose counter exists now, returns the rest.
    pub(super) async fn prune_discovered(&self, guid: &str) -> Result<Vec<DiscoveredTable>> {
        let config = self.get_database(guid).await?;
        let name = discovered_name(guid);
        let mut out = Vec::new();
        let mut kept = Vec::new();
        let mut stale = Vec::new();
        for member in self.meta.members(&name).await? {
            let Ok(table) = serde_json::from_str::<DiscoveredTable>(&member) else {
                kept.push(member);
                continue;
            };
            let key = SegmentKey::new(
                &config.system_code,
                &table.database,
                &table.table,
                &table.primary_key,
            );
            match key {
                Ok(key) if self.allocator.get(&key).await?.is_some() => stale.push(member),
                _ => {
                    kept.push(member);
                    out.push(table);
                }
            }
        }
        // A few stale entries are removed one by one; many (after an initialize, every table)
        // in one write instead of one per entry. A scanner pass replacing the set meanwhile
        // may then be overwritten: the set is advisory and the next pass writes it again.
        if stale.len() <= PRUNE_ONE_BY_ONE {
            for member in &stale {
                self.meta.remove_member(&name, member).await?;
            }
        } else {
            self.meta.replace_members(&name, &kept).await?;
        }
        out.sort_by(|a, b| (&a.database, &a.table).cmp(&(&b.database, &b.table)));
        Ok(out)
    }

    /// Approves one discovered table: seeds its counter from `MAX(pk)` now (never lowering).
    pub async fn approve_discovered(
        &self,
        guid: &str,
        database: &str,
        table: &str,
    ) -> Result<RaiseOutcome> {
        let config = self.get_database(guid).await?;
        let found = self
            .prune_discovered(guid)
            .await?
            .into_iter()
            .find(|t| {
                t.database.eq_ignore_ascii_case(database) && t.table.eq_ignore_ascii_case(table)
            })
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "Table {database}.{table} is not among the discovered tables"
                ))
            })?;
        let key = SegmentKey::new(
            &config.system_code,
            &found.database,
            &found.table,
            &found.primary_key,
        )?;
        let connector = self.connector(&config)?;
        let mut scoped = config.clone();
        scoped.db_name = Some(found.database.clone());
        let outcome = seed_key(&scoped, &*connector, &*self.allocator, &key).await?;
        self.prune_discovered(guid).await?;
        Ok(outcome)
    }

    /// One scanner pass: for every configuration, record its integer-keyed tables without a
    /// counter as discovered. Never writes counters; a database that fails is logged and skipped.
    pub async fn scan_once(&self) -> Result<ScanSummary> {
        let mut summary = ScanSummary::default();
        for config in self.list_databases().await? {
            let connector = match self.connector(&config) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(guid = %config.guid, error = %e, "scanner: no connector");
                    summary.failed += 1;
                    continue;
                }
            };
            match discover(&config, &*connector, &*self.allocator).await {
                Ok(tables) => {
                    let members: Vec<String> = tables
                        .iter()
                        .map(|t| serde_json::to_string(t).expect("a discovered table serializes"))
                        .collect();
                    self.meta
                        .replace_members(&discovered_name(&config.guid), &members)
                        .await?;
                    summary.scanned += 1;
                    summary.discovered += tables.len();
                }
                Err(e) => {
                    tracing::warn!(guid = %config.guid, system = %config.system_code, error = %e, "scanner: database failed");
                    summary.failed += 1;
                }
            }
        }
        Ok(summary)
    }
}
