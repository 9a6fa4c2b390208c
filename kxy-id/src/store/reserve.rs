//! [`ReservingAllocator`]: serves allocations from blocks reserved ahead in the store (Leaf's
//! approach), so a durable store is written once per block instead of once per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey, check_count};
use crate::policy::StepRule;
use crate::store::meta::MetaStore;
use crate::store::raise_log::{RaiseLog, Raised};

/// How a [`ReservingAllocator`] sizes its blocks.
#[derive(Debug, Clone)]
pub struct ReserveOptions {
    /// The smallest block reserved, in IDs (a block is never smaller than the request).
    pub min_block: i64,
    /// The largest block reserved, in IDs.
    pub max_block: i64,
    /// A block used up faster than this doubles the next one.
    pub fast: Duration,
    /// A block that lasts this long or longer halves the next one.
    pub slow: Duration,
}

impl Default for ReserveOptions {
    fn default() -> Self {
        ReserveOptions {
            min_block: 100_000,
            max_block: 100_000_000,
            fast: Duration::from_secs(2),
            slow: Duration::from_secs(60),
        }
    }
}

/// The reserved, not yet handed out IDs of one key.
#[derive(Debug)]
struct Block {
    /// The next ID to hand out.
    next: i64,
    /// The last reserved ID (`next > end` when the block is used up).
    end: i64,
    /// The size of the next reservation.
    size: i64,
    /// When the current block was reserved, in nanoseconds after the allocator's epoch (8
    /// bytes instead of an `Instant`'s 16: a server keeps one block per key, millions of them).
    since: u64,
}

impl Block {
    /// The IDs left. `end - next + 1` cannot overflow in `i128`: next <= end + 1 and both are
    /// in 0..=i64::MAX + 1.
    fn left(&self) -> i64 {
        (self.end as i128 - self.next as i128 + 1).max(0) as i64
    }

    /// Hands out the next `count` IDs (at most [`left`](Self::left)).
    fn take(&mut self, count: i64) -> Segment {
        let start = self.next;
        let end = start + (count - 1);
        self.next = end.saturating_add(1);
        if end == i64::MAX {
            // Nothing can follow; make the block empty without overflowing.
            self.end = i64::MAX - 1;
            self.next = i64::MAX;
        }
        Segment { start, end }
    }
}

/// Wraps a store and reserves IDs ahead in blocks, handing requests out of memory.
///
/// Guarantees stay those of [`SegmentAllocator`]: a block is itself an atomic allocation in
/// the store, so servers sharing the store never hand out the same ID. What changes:
///
/// * A crash or restart loses the rest of the current blocks: **gaps, never repeats.**
/// * The store's counter is the end of the reserved block, ahead of the last ID handed out
///   (`get` and `list` show it).
/// * [`raise_to`](SegmentAllocator::raise_to) and [`delete`](SegmentAllocator::delete) through this
///   allocator drop the key's block, so IDs at or below a raised value are not handed out
///   afterwards. With [`with_raise_log`](Self::with_raise_log), every raise is logged in the
///   store and a raise made through *another* server reaches this one's blocks within one
///   second (the server reads the log at most once a second, before it hands out IDs).
/// * Block sizes adapt per key like Leaf's: a block used up within `fast` doubles the next,
///   one lasting `slow` or longer halves it (the step rule of [`crate::policy`]), between `min_block` and `max_block`.
#[derive(Debug)]
pub struct ReservingAllocator {
    /// The store blocks are reserved from.
    inner: Arc<dyn SegmentAllocator>,
    /// Block sizing: Leaf's step rule built from the [`ReserveOptions`].
    rule: StepRule,
    /// Blocks per key, each behind its own lock so keys do not wait on each other.
    blocks: Mutex<HashMap<Box<str>, Arc<tokio::sync::Mutex<Block>>>>,
    /// What the blocks' times count from.
    epoch: Instant,
    /// Raises made through every server sharing the store.
    raises: Option<RaiseLog>,
}

impl ReservingAllocator {
    /// Reserves from `inner` as `options` say.
    pub fn new(inner: Arc<dyn SegmentAllocator>, options: ReserveOptions) -> Self {
        ReservingAllocator {
            inner,
            rule: StepRule::new(
                options.min_block,
                options.max_block,
                options.fast,
                options.slow,
            ),
            blocks: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
            raises: None,
        }
    }

    /// Logs every raise in the store (its counters and `meta`) and follows the raises other
    /// servers log: a raise through any server reaches this one's blocks within one second.
    pub fn with_raise_log(mut self, meta: Arc<dyn MetaStore>) -> Self {
        self.raises = Some(RaiseLog::new(self.inner.clone(), meta));
        self
    }

    /// Nanoseconds since the epoch (a block's `since`).
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Empties the block of `key` if it still holds IDs at or below `value`.
    async fn drop_at_or_below(&self, key: &str, value: i64) {
        let block = self
            .blocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned();
        if let Some(block) = block {
            let mut b = block.lock().await;
            if b.next <= value {
                b.next = 1;
                b.end = 0;
            }
        }
    }

    /// Applies the raises other servers logged since the last look (at most once a second).
    async fn follow_raises(&self) -> Result<()> {
        let Some(log) = &self.raises else {
            return Ok(());
        };
        match log.poll().await? {
            Raised::Nothing => {}
            Raised::Keys(keys) => {
                for (key, value) in keys {
                    self.drop_at_or_below(&key, value).await;
                }
            }
            Raised::Everything => {
                let blocks: Vec<_> = self
                    .blocks
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .cloned()
                    .collect();
                for block in blocks {
                    let mut b = block.lock().await;
                    b.next = 1;
                    b.end = 0;
                }
            }
        }
        Ok(())
    }

    /// The block of `key`, created empty if `create`; `None` when absent and not created.
    fn block(&self, key: &SegmentKey, create: bool) -> Option<Arc<tokio::sync::Mutex<Block>>> {
        let mut blocks = self.blocks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = blocks.get(key.as_str()) {
            return Some(b.clone());
        }
        if !create {
            return None;
        }
        let block = Arc::new(tokio::sync::Mutex::new(Block {
            next: 1,
            end: 0,
            size: self.rule.min(),
            since: self.now(),
        }));
        blocks.insert(key.as_str().into(), block.clone());
        Some(block)
    }

    async fn forget(&self, key: &SegmentKey) {
        if let Some(block) = self.block(key, false) {
            let mut b = block.lock().await;
            b.next = 1;
            b.end = 0;
        }
    }
}

#[async_trait]
impl SegmentAllocator for ReservingAllocator {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        check_count(count)?;
        self.follow_raises().await?;
        // A key gets a block only once the store has a counter for it: requests for unknown
        // keys (the allocate endpoint needs no login) must not grow this map.
        let block = match self.block(key, false) {
            Some(block) => block,
            None => {
                if self.inner.get(key).await?.is_none() {
                    return Err(Error::KeyNotFound {
                        key: key.to_string(),
                    });
                }
                self.block(key, true).expect("created on request")
            }
        };
        let mut b = block.lock().await;
        if b.left() < count {
            // Resize from how long the block lasted, then reserve a new one.
            let lasted =
                (b.end > 0).then(|| Duration::from_nanos(self.now().saturating_sub(b.since)));
            b.size = self.rule.next(b.size, lasted);
            let want = b.size.max(count);
            let segment = match self.inner.allocate(key, want).await {
                Ok(s) => s,
                // Near the end of the range: take exactly what was asked (or report the overflow).
                Err(Error::Overflow { .. }) if want > count => {
                    self.inner.allocate(key, count).await?
                }
                Err(e) => return Err(e),
            };
            b.next = segment.start;
            b.end = segment.end;
            b.since = self.now();
        }
        Ok(b.take(count))
    }

    fn allocate_now(&self, key: &SegmentKey, count: i64) -> Option<Result<Segment>> {
        if count < 1 || self.raises.as_ref().is_some_and(RaiseLog::due) {
            return None;
        }
        let block = self
            .blocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key.as_str())?
            .clone();
        let mut b = block.try_lock().ok()?;
        (b.left() >= count).then(|| Ok(b.take(count)))
    }

    async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
        let outcome = self.inner.raise_to(key, value).await?;
        // Even when the store was ahead, blocks (here and elsewhere) may hold IDs at or below it.
        if let Some(log) = &self.raises {
            log.record(key, value).await?;
        }
        self.drop_at_or_below(key.as_str(), value).await;
        Ok(outcome)
    }

    async fn raise_many(&self, items: &[(SegmentKey, i64)]) -> Vec<Result<RaiseOutcome>> {
        let mut outcomes = self.inner.raise_many(items).await;
        let raised: Vec<(&SegmentKey, i64)> = items
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.is_ok())
            .map(|((key, value), _)| (key, *value))
            .collect();
        if let Some(log) = &self.raises
            && let Err(e) = log.record_many(&raised).await
        {
            // As `raise_to`: a raise other servers were not told about is an error.
            let reason = e.to_string();
            for outcome in outcomes.iter_mut().filter(|o| o.is_ok()) {
                *outcome = Err(Error::backend_msg(self.inner.backend(), &reason));
            }
        }
        for (key, value) in raised {
            self.drop_at_or_below(key.as_str(), value).await;
        }
        outcomes
    }

    async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
        self.inner.create(key, value).await
    }

    async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
        self.inner.get(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
        let internal = crate::store::raise_log::sequence_key();
        let mut counters = self.inner.list(prefix).await?;
        counters.retain(|c| c.key != internal.as_str());
        Ok(counters)
    }

    async fn delete(&self, key: &SegmentKey) -> Result<bool> {
        let deleted = self.inner.delete(key).await?;
        self.forget(key).await;
        self.blocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key.as_str());
        Ok(deleted)
    }
}

#[cfg(test)]
#[path = "reserve_tests.rs"]
mod tests;
