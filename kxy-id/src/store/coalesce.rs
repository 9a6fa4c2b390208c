//! [`CoalescingAllocator`]: concurrent allocations of one key served by one store call, as
//! databases group the commits that wait for one fsync.
//!
//! Without reservation every allocation is a round trip to the store (an `INCRBY`, an
//! `UPDATE`), and the store serializes the calls of one key anyway. Here the requests for a key
//! that arrive while a call for it is in flight wait; when the call returns, one call of their
//! summed counts serves all of them, and the range it returns is cut into their segments in
//! arrival order. The store still sees one atomic allocation per call, so segments never
//! overlap and a counter never goes backwards; what changes is that a burst of `n` requests
//! costs two round trips instead of `n`.
//!
//! Calls run in a task of their own, so a request whose caller goes away (a closed
//! connection) never strands the requests queued behind it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey, check_count};

/// The most requests one store call serves.
const MAX_GROUP: usize = 1024;

/// Serves concurrent allocations of one key with one call of the inner store (see the module
/// documentation); every other operation goes straight to the inner store.
///
/// [`store::open`](crate::store::open) puts it in front of Redis and SQL stores that do not
/// reserve ([`OpenOptions::coalesce`](crate::store::OpenOptions::coalesce)).
#[derive(Debug)]
pub struct CoalescingAllocator {
    shared: Arc<Shared>,
}

/// How much coalescing saves: the allocations served and the store calls they cost (their
/// ratio is the average group). Counters only grow.
#[derive(Debug, Default)]
pub struct CoalesceStats {
    requests: AtomicU64,
    calls: AtomicU64,
}

impl CoalesceStats {
    /// Allocations served (successful or not).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Allocation calls made to the inner store for them.
    pub fn store_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Shared {
    inner: Arc<dyn SegmentAllocator>,
    stats: Arc<CoalesceStats>,
    /// The requests waiting per key; a key is present while a task serves it.
    queues: Mutex<HashMap<String, Vec<Waiter>>>,
}

/// One request waiting for its segment.
#[derive(Debug)]
struct Waiter {
    count: i64,
    reply: oneshot::Sender<Result<Segment>>,
}

impl CoalescingAllocator {
    /// Coalesces the allocations made through `inner`.
    pub fn new(inner: Arc<dyn SegmentAllocator>) -> Self {
        CoalescingAllocator {
            shared: Arc::new(Shared {
                inner,
                stats: Arc::default(),
                queues: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The allocations served so far and the store calls they cost.
    pub fn stats(&self) -> Arc<CoalesceStats> {
        self.shared.stats.clone()
    }
}

impl Shared {
    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Waiter>>> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves `key` until nobody waits for it.
    async fn serve(self: Arc<Self>, key: SegmentKey) {
        // A panic in the store (or the runtime shutting down) drops the waiters, whose callers
        // get an error, and frees the key for the next request.
        let mut serving = Serving {
            shared: &self,
            key: &key,
            done: false,
        };
        loop {
            let group = {
                let mut queues = self.queues();
                let waiting = queues.get_mut(key.as_str()).expect("present while served");
                if waiting.is_empty() {
                    queues.remove(key.as_str());
                    serving.done = true;
                    return;
                }
                take_group(waiting)
            };
            self.allocate_group(&key, group).await;
        }
    }

    /// One call of the inner store, counted.
    async fn call(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.allocate(key, count).await
    }

    /// One store call for the whole group; each waiter gets its part of the range.
    async fn allocate_group(&self, key: &SegmentKey, mut group: Vec<Waiter>) {
        self.stats
            .requests
            .fetch_add(group.len() as u64, Ordering::Relaxed);
        if group.len() == 1 {
            let w = group.pop().expect("one waiter");
            let _ = w.reply.send(self.call(key, w.count).await);
            return;
        }
        let total = group.iter().map(|w| w.count).sum();
        match self.call(key, total).await {
            Ok(segment) => {
                let mut next = segment.start;
                for w in group {
                    let end = next + (w.count - 1);
                    // A waiter that went away leaves a gap, never a repeat.
                    let _ = w.reply.send(Ok(Segment { start: next, end }));
                    next = end.saturating_add(1);
                }
            }
            // Near i64::MAX the sum may not fit while some of the counts do: each on its own.
            Err(Error::Overflow { .. }) => {
                for w in group {
                    let _ = w.reply.send(self.call(key, w.count).await);
                }
            }
            Err(e) => {
                for w in group {
                    let _ = w.reply.send(Err(share(&e)));
                }
            }
        }
    }
}

/// Frees a key whose serving task ended without emptying its queue (a panic, a shutdown).
struct Serving<'a> {
    shared: &'a Shared,
    key: &'a SegmentKey,
    done: bool,
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.queues().remove(self.key.as_str());
        }
    }
}

/// Takes the waiters one call serves from the front of the queue: at most [`MAX_GROUP`],
/// with a sum of counts that fits in an `i64`.
fn take_group(waiting: &mut Vec<Waiter>) -> Vec<Waiter> {
    let mut total: i64 = 0;
    let mut n = 0;
    for w in waiting.iter().take(MAX_GROUP) {
        match total.checked_add(w.count) {
            Some(t) => {
                total = t;
                n += 1;
            }
            None => break,
        }
    }
    waiting.drain(..n.max(1)).collect()
}

/// The same error for every waiter of a group (errors are not `Clone`: a backend's source is
/// kept as its message).
fn share(e: &Error) -> Error {
    match e {
        Error::InvalidKey { reason } => Error::InvalidKey {
            reason: reason.clone(),
        },
        Error::InvalidCount { count } => Error::InvalidCount { count: *count },
        Error::InvalidValue { value } => Error::InvalidValue { value: *value },
        Error::KeyNotFound { key } => Error::KeyNotFound { key: key.clone() },
        Error::AlreadyExists { key } => Error::AlreadyExists { key: key.clone() },
        Error::Overflow {
            key,
            current,
            count,
        } => Error::Overflow {
            key: key.clone(),
            current: *current,
            count: *count,
        },
        Error::CorruptCounter { key, value } => Error::CorruptCounter {
            key: key.clone(),
            value: value.clone(),
        },
        Error::NotNumeric { table, column, ty } => Error::NotNumeric {
            table: table.clone(),
            column: column.clone(),
            ty: ty.clone(),
        },
        Error::InvalidIdentifier { name, reason } => Error::InvalidIdentifier {
            name: name.clone(),
            reason: reason.clone(),
        },
        Error::PasswordRequired => Error::PasswordRequired,
        Error::InvalidConfig(m) => Error::InvalidConfig(m.clone()),
        Error::OutOfRange(m) => Error::OutOfRange(m.clone()),
        Error::NotFound(m) => Error::NotFound(m.clone()),
        Error::NoConfig {
            system_code,
            db_name,
        } => Error::NoConfig {
            system_code: system_code.clone(),
            db_name: db_name.clone(),
        },
        Error::NoSource { key } => Error::NoSource { key: key.clone() },
        Error::Busy(m) => Error::Busy(m.clone()),
        Error::DataLoss(m) => Error::DataLoss(m.clone()),
        Error::Unsupported(m) => Error::Unsupported(m.clone()),
        Error::Connect { target, reason } => Error::Connect {
            target: target.clone(),
            reason: reason.clone(),
        },
        Error::Backend { backend, source } => Error::backend_msg(backend, source),
    }
}

#[async_trait]
impl SegmentAllocator for CoalescingAllocator {
    fn backend(&self) -> &'static str {
        self.shared.inner.backend()
    }

    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        check_count(count)?;
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queues = self.shared.queues();
            match queues.get_mut(key.as_str()) {
                Some(waiting) => {
                    waiting.push(Waiter { count, reply });
                    false
                }
                None => {
                    queues.insert(key.as_str().to_owned(), vec![Waiter { count, reply }]);
                    true
                }
            }
        };
        if start {
            tokio::spawn(self.shared.clone().serve(key.clone()));
        }
        answer.await.unwrap_or_else(|_| {
            Err(Error::backend_msg(
                self.backend(),
                "the store call serving this allocation ended without an answer",
            ))
        })
    }

    async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
        self.shared.inner.raise_to(key, value).await
    }

    async fn raise_many(&self, items: &[(SegmentKey, i64)]) -> Vec<Result<RaiseOutcome>> {
        self.shared.inner.raise_many(items).await
    }

    async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
        self.shared.inner.create(key, value).await
    }

    async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
        self.shared.inner.get(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
        self.shared.inner.list(prefix).await
    }

    async fn delete(&self, key: &SegmentKey) -> Result<bool> {
        self.shared.inner.delete(key).await
    }
}

#[cfg(test)]
#[path = "coalesce_tests.rs"]
mod tests;
