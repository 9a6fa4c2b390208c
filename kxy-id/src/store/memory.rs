//! The in-process store: [`MemoryAllocator`] (counters) and [`MemoryMetaStore`] (metadata),
//! atomic within one process and gone when it exits.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey, ceiling_for, check_count, check_value};
use crate::store::meta::{MetaStore, expiry, now_millis};

/// Counters kept in process memory: atomic and monotonic within the process, gone when it exits.
///
/// For tests and for embedding where IDs need not survive a restart.
#[derive(Debug, Default)]
pub struct MemoryAllocator {
    /// Counter values by key; a `BTreeMap` so that `list` comes out sorted.
    counters: Mutex<BTreeMap<String, i64>>,
}

impl MemoryAllocator {
    /// An allocator with no counters.
    pub fn new() -> Self {
        Self::default()
    }

    fn counters(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, i64>> {
        // A panic while the lock is held cannot leave a half-written counter (each
        // critical section is a single read or write), so a poisoned lock is still valid.
        self.counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl SegmentAllocator for MemoryAllocator {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        check_count(count)?;
        let mut counters = self.counters();
        let current = counters
            .get_mut(key.as_str())
            .ok_or_else(|| Error::KeyNotFound {
                key: key.to_string(),
            })?;
        if *current > ceiling_for(count) {
            return Err(Error::Overflow {
                key: key.to_string(),
                current: *current,
                count,
            });
        }
        *current += count;
        Ok(Segment::ending_at(*current, count))
    }

    async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
        check_value(value)?;
        let mut counters = self.counters();
        match counters.get_mut(key.as_str()) {
            None => {
                counters.insert(key.as_str().to_owned(), value);
                Ok(RaiseOutcome::Created { value })
            }
            Some(current) if *current < value => {
                *current = value;
                Ok(RaiseOutcome::Raised { value })
            }
            Some(current) => Ok(RaiseOutcome::AlreadyAhead { current: *current }),
        }
    }

    async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
        check_value(value)?;
        let mut counters = self.counters();
        if counters.contains_key(key.as_str()) {
            return Err(Error::AlreadyExists {
                key: key.to_string(),
            });
        }
        counters.insert(key.as_str().to_owned(), value);
        Ok(())
    }

    async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
        Ok(self.counters().get(key.as_str()).copied())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
        let counters = self.counters();
        Ok(counters
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| Counter {
                key: k.clone(),
                value: *v,
            })
            .collect())
    }

    async fn delete(&self, key: &SegmentKey) -> Result<bool> {
        Ok(self.counters().remove(key.as_str()).is_some())
    }
}

/// Metadata in process memory (tests and embedding).
#[derive(Debug, Default)]
pub struct MemoryMetaStore {
    /// Values with their expiry (milliseconds since the epoch).
    values: Mutex<BTreeMap<String, (String, Option<i64>)>>,
    /// Sets.
    sets: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl MemoryMetaStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn values(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (String, Option<i64>)>> {
        self.values.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sets(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeSet<String>>> {
        self.sets.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn live(entry: &(String, Option<i64>)) -> bool {
    entry.1.is_none_or(|at| at > now_millis())
}

#[async_trait]
impl MetaStore for MemoryMetaStore {
    async fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .values()
            .get(name)
            .filter(|e| live(e))
            .map(|e| e.0.clone()))
    }

    async fn set(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<()> {
        self.values()
            .insert(name.to_owned(), (value.to_owned(), expiry(ttl)));
        Ok(())
    }

    async fn set_if_absent(&self, name: &str, value: &str, ttl: Option<Duration>) -> Result<bool> {
        let mut values = self.values();
        if values.get(name).is_some_and(live) {
            return Ok(false);
        }
        values.insert(name.to_owned(), (value.to_owned(), expiry(ttl)));
        Ok(true)
    }

    async fn delete(&self, name: &str) -> Result<bool> {
        Ok(self.values().remove(name).is_some_and(|e| live(&e)))
    }

    async fn delete_if_equals(&self, name: &str, value: &str) -> Result<bool> {
        let mut values = self.values();
        if values.get(name).is_some_and(|e| live(e) && e.0 == value) {
            values.remove(name);
            return Ok(true);
        }
        Ok(false)
    }

    async fn scan(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .values()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(_, e)| live(e))
            .map(|(k, e)| (k.clone(), e.0.clone()))
            .collect())
    }

    async fn members(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .sets()
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn replace_members(&self, name: &str, members: &[String]) -> Result<()> {
        let mut sets = self.sets();
        if members.is_empty() {
            sets.remove(name);
        } else {
            sets.insert(name.to_owned(), members.iter().cloned().collect());
        }
        Ok(())
    }

    async fn remove_member(&self, name: &str, member: &str) -> Result<bool> {
        let mut sets = self.sets();
        let Some(set) = sets.get_mut(name) else {
            return Ok(false);
        };
        let removed = set.remove(member);
        if set.is_empty() {
            sets.remove(name);
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{allocator as conformance, meta::meta_store_conforms};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_allocator_conforms() {
        let allocator = std::sync::Arc::new(MemoryAllocator::new());
        // Two handles on one map play the role of two servers sharing a store.
        conformance::run_all(allocator.clone(), allocator, &conformance::unique_prefix()).await;
    }

    #[tokio::test]
    async fn memory_meta_store_conforms() {
        meta_store_conforms(&MemoryMetaStore::new(), "t").await;
    }
}
