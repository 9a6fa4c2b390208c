//! What keeps unknown keys cheap: the tables of each configured database, read once per TTL,
//! so that allocations for tables that do not exist are answered from memory (one catalog
//! read per database per TTL, whatever the number of distinct unknown keys), and a bound on
//! how many lazy initializations per database may reach the business database each second.
//!
//! Nothing here is written to the metadata store: a flood of random table names leaves no
//! rows behind.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The tables of one database as last read, and the lookups admitted in the current second.
#[derive(Debug)]
struct Entry {
    /// When `tables` was read; `None` before the first read.
    read_at: Option<Instant>,
    /// The lower-cased table names (`None`: the database itself does not exist).
    tables: Option<Vec<String>>,
    /// Start of the current one-second window of admitted lookups.
    window: Instant,
    /// Lookups admitted in that window.
    admitted: u32,
}

/// Table lists and lookup budgets per (configuration guid, database name).
#[derive(Debug)]
pub(crate) struct UnknownKeys {
    /// By `guid:database` (lower case).
    entries: Mutex<HashMap<String, Entry>>,
    /// How long a table list is trusted.
    ttl: Duration,
    /// Lookups of the business database per database and second.
    per_second: u32,
}

/// What the cache knows of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// The table list is fresh and has the table: go and look at its key.
    Exists,
    /// The table list is fresh and lacks the table (or the database).
    Missing,
    /// The list is stale or was never read.
    Stale,
}

/// The most entries kept; past it, stale entries are dropped first.
const MAX_ENTRIES: usize = 10_000;

impl UnknownKeys {
    /// Lists trusted for `ttl`; at most `per_second` business-database lookups per database.
    pub(crate) fn new(ttl: Duration, per_second: u32) -> Self {
        UnknownKeys {
            entries: Mutex::new(HashMap::new()),
            ttl,
            per_second: per_second.max(1),
        }
    }

    fn id(guid: &str, database: &str) -> String {
        format!("{guid}:{database}")
    }

    /// The entry of `database`, created (never read, no lookup admitted in a window starting
    /// `now`) when there is none: `admit` and `store` each may be first to see a database.
    fn entry<'a>(
        entries: &'a mut HashMap<String, Entry>,
        guid: &str,
        database: &str,
        now: Instant,
    ) -> &'a mut Entry {
        entries
            .entry(Self::id(guid, database))
            .or_insert_with(|| Entry {
                read_at: None,
                tables: None,
                window: now,
                admitted: 0,
            })
    }

    /// What the last fresh table list says of `table` (lower case).
    pub(crate) fn lookup(&self, guid: &str, database: &str, table: &str) -> Known {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(&Self::id(guid, database)) {
            Some(Entry {
                read_at: Some(at),
                tables,
                ..
            }) if at.elapsed() < self.ttl => match tables {
                Some(t) if t.iter().any(|name| name == table) => Known::Exists,
                _ => Known::Missing,
            },
            _ => Known::Stale,
        }
    }

    /// Takes one lookup of the business database from the budget of `database`; `false` when
    /// this second's budget is spent.
    pub(crate) fn admit(&self, guid: &str, database: &str) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            entries.retain(|_, e| e.read_at.is_some_and(|at| at.elapsed() < ttl));
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let now = Instant::now();
        let entry = Self::entry(&mut entries, guid, database, now);
        if now.duration_since(entry.window) >= Duration::from_secs(1) {
            entry.window = now;
            entry.admitted = 0;
        }
        if entry.admitted >= self.per_second {
            return false;
        }
        entry.admitted += 1;
        true
    }

    /// Records the tables of `database` as just read (`None`: no such database).
    pub(crate) fn store(&self, guid: &str, database: &str, tables: Option<Vec<String>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let entry = Self::entry(&mut entries, guid, database, now);
        entry.read_at = Some(now);
        entry.tables = tables.map(|t| t.into_iter().map(|n| n.to_lowercase()).collect());
    }

    /// Forgets every list of a configuration (it changed or was deleted).
    pub(crate) fn forget(&self, guid: &str) {
        let prefix = format!("{guid}:");
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|id, _| !id.starts_with(&prefix));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_answer_until_stale_and_lookups_are_budgeted() {
        let cache = UnknownKeys::new(Duration::from_secs(60), 2);
        assert_eq!(cache.lookup("g", "d", "t"), Known::Stale);
        assert!(cache.admit("g", "d"));
        cache.store("g", "d", Some(vec!["T_Order".into()]));
        assert_eq!(cache.lookup("g", "d", "t_order"), Known::Exists);
        assert_eq!(cache.lookup("g", "d", "nope"), Known::Missing);
        assert!(cache.admit("g", "d"));
        assert!(!cache.admit("g", "d"), "two per second");
        assert!(cache.admit("g", "other"), "per database");
        cache.forget("g");
        assert_eq!(cache.lookup("g", "d", "t_order"), Known::Stale);
    }
}
