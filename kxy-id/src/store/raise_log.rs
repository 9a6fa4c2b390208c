//! [`RaiseLog`]: how a raise made through one server reaches the reserved blocks of every other.
//!
//! A [`ReservingAllocator`](super::ReservingAllocator) hands out IDs from a block it reserved
//! earlier. When a counter is raised (initialize, approval, lazy initialization) through
//! another server, IDs at or below the raised value may still sit in this server's block, and
//! the table may already hold them. Every raise is therefore appended to a short log in the
//! store: a sequence number from a counter of the store itself (atomic on every backend) and
//! an entry `{key, value}` in the metadata store, kept for [`RETENTION`]. Each server reads the
//! log at most once per [`POLL`] before it hands out IDs and drops the blocks at or below a
//! logged value: a raise reaches every server within `POLL` of returning.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::allocator::SegmentAllocator;
use crate::error::Result;
use crate::key::SegmentKey;
use crate::store::meta::MetaStore;

/// The longest a raise takes to reach another server's blocks.
pub(crate) const POLL: Duration = Duration::from_secs(1);

/// How long log entries are kept; a server that read the log longer ago drops all its blocks.
const RETENTION: Duration = Duration::from_secs(300);

/// The most entries read in one poll; past that a server drops all its blocks instead.
const MAX_ENTRIES: i64 = 1000;

/// The metadata name of log entry `seq`.
fn entry_name(seq: i64) -> String {
    format!("kxy:id:raise:{seq}")
}

/// The counter that numbers the log's entries.
pub(crate) fn sequence_key() -> SegmentKey {
    SegmentKey::new("kxy-id-internal", "system", "raise-log", "seq").expect("a valid key")
}

/// What a poll found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Raised {
    /// Nothing new (or it is not time to look yet).
    Nothing,
    /// These keys were raised to these values.
    Keys(Vec<(String, i64)>),
    /// Too much or too old to read: drop every block.
    Everything,
}

/// The log of raises in one store.
#[derive(Debug)]
pub(crate) struct RaiseLog {
    /// Where the sequence counter lives.
    counters: Arc<dyn SegmentAllocator>,
    /// Where the entries live.
    meta: Arc<dyn MetaStore>,
    /// When the log was last read and the last sequence number applied (`None`: never).
    read: tokio::sync::Mutex<(Option<Instant>, i64)>,
}

impl RaiseLog {
    pub(crate) fn new(counters: Arc<dyn SegmentAllocator>, meta: Arc<dyn MetaStore>) -> Self {
        RaiseLog {
            counters,
            meta,
            read: tokio::sync::Mutex::new((None, 0)),
        }
    }

    /// Appends a raise of `key` to `value`.
    pub(crate) async fn record(&self, key: &SegmentKey, value: i64) -> Result<()> {
        self.append(serde_json::json!({"key": key.as_str(), "value": value}))
            .await
    }

    /// Appends the raises of several keys as one entry (`{"raises": [[key, value], ...]}`):
    /// one sequence number and one write however many keys initialize seeded at once. A
    /// server that reads only single entries takes it as unreadable and drops every block,
    /// which is safe.
    pub(crate) async fn record_many(&self, raises: &[(&SegmentKey, i64)]) -> Result<()> {
        match raises {
            [] => Ok(()),
            [(key, value)] => self.record(key, *value).await,
            _ => {
                let pairs: Vec<(&str, i64)> =
                    raises.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                self.append(serde_json::json!({ "raises": pairs })).await
            }
        }
    }

    /// Writes `entry` under the next sequence number.
    async fn append(&self, entry: serde_json::Value) -> Result<()> {
        let seq_key = sequence_key();
        if self.counters.get(&seq_key).await?.is_none() {
            self.counters.raise_to(&seq_key, 0).await?;
        }
        let seq = self.counters.allocate(&seq_key, 1).await?.end;
        self.meta
            .set(&entry_name(seq), &entry.to_string(), Some(RETENTION))
            .await
    }

    /// Whether [`poll`](Self::poll) would read the log now (or cannot tell without waiting).
    pub(crate) fn due(&self) -> bool {
        match self.read.try_lock() {
            Ok(read) => read.0.is_none_or(|t| t.elapsed() >= POLL),
            Err(_) => true,
        }
    }

    /// The raises logged since the last poll, when [`POLL`] has passed since it.
    pub(crate) async fn poll(&self) -> Result<Raised> {
        let mut read = self.read.lock().await;
        let (last_read, applied) = *read;
        if last_read.is_some_and(|t| t.elapsed() < POLL) {
            return Ok(Raised::Nothing);
        }
        let now = Instant::now();
        let newest = self.counters.get(&sequence_key()).await?.unwrap_or(0);
        let result = match last_read {
            // A server that never read the log has no blocks yet: start from here.
            None => Raised::Nothing,
            Some(_) if newest <= applied => Raised::Nothing,
            Some(t) if newest - applied > MAX_ENTRIES || t.elapsed() >= RETENTION / 2 => {
                Raised::Everything
            }
            Some(_) => {
                let mut keys = Vec::new();
                for seq in applied + 1..=newest {
                    // An entry not yet written (its writer is between the two steps) or gone:
                    // drop everything rather than miss a raise.
                    let Some(text) = self.meta.get(&entry_name(seq)).await? else {
                        *read = (Some(now), newest);
                        return Ok(Raised::Everything);
                    };
                    if !read_entry(&text, &mut keys) {
                        *read = (Some(now), newest);
                        return Ok(Raised::Everything);
                    }
                }
                Raised::Keys(keys)
            }
        };
        *read = (Some(now), newest);
        Ok(result)
    }
}

/// Adds the raises of one log entry (one key, or many) to `keys`; `false` when the entry
/// cannot be read.
fn read_entry(text: &str, keys: &mut Vec<(String, i64)>) -> bool {
    let entry: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    if let Some(raises) = entry["raises"].as_array() {
        for pair in raises {
            match (pair[0].as_str(), pair[1].as_i64()) {
                (Some(k), Some(v)) => keys.push((k.to_owned(), v)),
                _ => return false,
            }
        }
        return true;
    }
    match (entry["key"].as_str(), entry["value"].as_i64()) {
        (Some(k), Some(v)) => {
            keys.push((k.to_owned(), v));
            true
        }
        _ => false,
    }
}
