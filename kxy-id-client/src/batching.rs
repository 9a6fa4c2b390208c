//! [`BatchingSource`]: the refills of many generators that fall due together, sent as one
//! [`fetch_many`](SegmentSource::fetch_many) (one round trip to the server's batch endpoint).
//!
//! A factory's generators refill on their own schedules, but a service that starts, or that
//! serves a burst touching many tables, makes them fall due at once: one request per key would
//! cost one round trip each. Here a fetch that arrives while another call is in flight waits;
//! when the call returns, everything that waited goes out as one batch. A fetch that finds
//! nothing in flight goes out at once, on its own (the single endpoint), so a lone refill
//! waits for nobody.
//!
//! Calls run in a task of their own, so a fetch whose caller goes away never strands the ones
//! queued behind it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use kxy_id::wire::MAX_BATCH_ITEMS;
use kxy_id::{Segment, SegmentKey};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::source::SegmentSource;

/// How long fetches go out one by one after a whole batch failed (a server without the batch
/// endpoint, such as the old service): one failed batch a minute at most.
const AFTER_FAILED_BATCH: Duration = Duration::from_secs(60);

/// Groups the fetches that fall due together into one `fetch_many` of the inner source (see
/// the module documentation). [`IdGeneratorFactory`](crate::IdGeneratorFactory) puts one in
/// front of a source that [batches](SegmentSource::batches).
#[derive(Debug)]
pub struct BatchingSource {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    inner: Arc<dyn SegmentSource>,
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: Vec<Waiter>,
    /// A task is sending the queue.
    sending: bool,
    /// Until when fetches go out one by one.
    single_until: Option<Instant>,
}

#[derive(Debug)]
struct Waiter {
    key: SegmentKey,
    count: i64,
    reply: oneshot::Sender<Result<Segment>>,
}

impl BatchingSource {
    /// Groups the fetches made through `inner`.
    pub fn new(inner: Arc<dyn SegmentSource>) -> Self {
        BatchingSource {
            shared: Arc::new(Shared {
                inner,
                queue: Mutex::new(Queue::default()),
            }),
        }
    }
}

impl Shared {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends the queue until it is empty.
    async fn send(self: Arc<Self>) {
        let mut sending = Sending {
            shared: &self,
            done: false,
        };
        loop {
            let (group, single) = {
                let mut queue = self.queue();
                if queue.waiting.is_empty() {
                    queue.sending = false;
                    sending.done = true;
                    return;
                }
                let n = queue.waiting.len().min(MAX_BATCH_ITEMS);
                let single = queue.single_until.is_some_and(|t| Instant::now() < t);
                (queue.waiting.drain(..n).collect::<Vec<_>>(), single)
            };
            if group.len() == 1 || single {
                self.one_by_one(group).await;
                continue;
            }
            let requests: Vec<(SegmentKey, i64)> =
                group.iter().map(|w| (w.key.clone(), w.count)).collect();
            match self.inner.fetch_many(&requests).await {
                Ok(results) if results.len() == group.len() => {
                    for (w, result) in group.into_iter().zip(results) {
                        let _ = w.reply.send(result);
                    }
                }
                // The whole batch failed (or was answered wrongly): each key on its own, and
                // no batches for a while.
                answered => {
                    if let Err(e) = &answered {
                        tracing::debug!(error = %e, "a batch of refills failed; fetching one by one");
                    }
                    self.queue().single_until = Some(Instant::now() + AFTER_FAILED_BATCH);
                    self.one_by_one(group).await;
                }
            }
        }
    }

    /// Each waiter's fetch on its own, all at once.
    async fn one_by_one(&self, group: Vec<Waiter>) {
        let mut fetches = tokio::task::JoinSet::new();
        for w in group {
            let inner = self.inner.clone();
            fetches.spawn(async move {
                let result = inner.fetch(&w.key, w.count).await;
                let _ = w.reply.send(result);
            });
        }
        while fetches.join_next().await.is_some() {}
    }
}

/// Lets the next fetch start a sender when this one ended early (a panic, a shutdown); the
/// waiters it held are dropped and their callers get an error.
struct Sending<'a> {
    shared: &'a Shared,
    done: bool,
}

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut queue = self.shared.queue();
            queue.waiting.clear();
            queue.sending = false;
        }
    }
}

#[async_trait]
impl SegmentSource for BatchingSource {
    async fn fetch(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut queue = self.shared.queue();
            queue.waiting.push(Waiter {
                key: key.clone(),
                count,
                reply,
            });
            !std::mem::replace(&mut queue.sending, true)
        };
        if start {
            tokio::spawn(self.shared.clone().send());
        }
        answer.await.unwrap_or_else(|_| {
            Err(Error::Unavailable {
                key: key.to_string(),
                reason: "the call fetching this segment ended without an answer".into(),
                waited: Duration::ZERO,
                last_error: None,
            })
        })
    }

    async fn fetch_many(&self, requests: &[(SegmentKey, i64)]) -> Result<Vec<Result<Segment>>> {
        self.shared.inner.fetch_many(requests).await
    }

    fn batches(&self) -> bool {
        true
    }
}

#[cfg(test)]
#[path = "batching_tests.rs"]
mod tests;
