//! [`MemoryAllocator`]: counters in process memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey, ceiling_for, check_count, check_value};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_allocator_conforms() {
        let allocator = std::sync::Arc::new(MemoryAllocator::new());
        // Two handles on one map play the role of two servers sharing a store.
        conformance::run_all(allocator.clone(), allocator, &conformance::unique_prefix()).await;
    }
}
