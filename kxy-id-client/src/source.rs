//! [`SegmentSource`]: where a generator gets its segments, and the embedded [`AllocatorSource`].

use std::sync::Arc;

use async_trait::async_trait;
use kxy_id::{Segment, SegmentAllocator, SegmentKey};

use crate::error::{Error, Result};

/// Hands out segments of IDs for a key: the transport between a generator and a counter store.
///
/// Implementations guarantee what the store guarantees: a segment returned for a key shares
/// no ID with any other segment returned for that key, by this or any other source sharing the
/// store, and later segments lie above earlier ones. The generator checks the second property
/// and refuses a segment that is not above the previous one.
///
/// Two implementations ship with the crate: [`AllocatorSource`] (in process, over any
/// [`SegmentAllocator`]) and [`HttpSource`](crate::HttpSource) (feature `http`, a kxy-id server).
#[async_trait]
pub trait SegmentSource: Send + Sync + std::fmt::Debug {
    /// Takes the next `count` IDs of `key` (`count >= 1`). A source may return a different
    /// number of IDs than asked for; the generator serves whatever segment it gets.
    async fn fetch(&self, key: &SegmentKey, count: i64) -> Result<Segment>;

    /// Takes IDs of several keys at once: one result per `(key, count)`, in order, each as
    /// [`fetch`](Self::fetch) would answer it (a failed key does not fail the others). An
    /// `Err` of the whole call means no key got a segment this call reports.
    ///
    /// The default fetches one key after the other; [`HttpSource`](crate::HttpSource) asks the
    /// server's batch endpoint, one round trip for up to 1,000 keys.
    async fn fetch_many(&self, requests: &[(SegmentKey, i64)]) -> Result<Vec<Result<Segment>>> {
        let mut out = Vec::with_capacity(requests.len());
        for (key, count) in requests {
            out.push(self.fetch(key, *count).await);
        }
        Ok(out)
    }

    /// Whether [`fetch_many`](Self::fetch_many) costs about what one [`fetch`](Self::fetch)
    /// does (one round trip for many keys), so that callers should group their fetches. The
    /// default, `false`, fits a source whose `fetch_many` fetches one key after the other.
    fn batches(&self) -> bool {
        false
    }
}

#[async_trait]
impl<S: SegmentSource + ?Sized> SegmentSource for Arc<S> {
    async fn fetch(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        (**self).fetch(key, count).await
    }

    async fn fetch_many(&self, requests: &[(SegmentKey, i64)]) -> Result<Vec<Result<Segment>>> {
        (**self).fetch_many(requests).await
    }

    fn batches(&self) -> bool {
        (**self).batches()
    }
}

/// Embedded mode: segments straight from a [`SegmentAllocator`] in this process (an SQLite file,
/// Redis, ...), with no kxy-id server in between.
///
/// A key without a counter is an error ([`Error::CounterMissing`]) by default: a counter for a
/// business table must start at the table's `MAX(id)`, which only the caller knows (seed it with
/// [`SegmentAllocator::raise_to`]). For sequences that are not a table's key,
/// [`create_missing`](Self::create_missing) lets the source create missing counters at 0.
///
/// A store whose connections are driven by tasks of the tokio runtime it was opened on (the
/// Redis allocator's connection manager, for example) only works while that runtime lives: open
/// it on a runtime that outlives the generator, and consider running the generator's fetches on
/// that runtime too ([`IdGeneratorBuilder::runtime`](crate::IdGeneratorBuilder::runtime)).
#[derive(Debug, Clone)]
pub struct AllocatorSource {
    /// The counter store.
    allocator: Arc<dyn SegmentAllocator>,
    /// Whether a missing counter is created at 0 (`raise_to(key, 0)`) instead of reported.
    create_missing: bool,
}

impl AllocatorSource {
    /// A source over `allocator` that reports missing counters.
    pub fn new(allocator: Arc<dyn SegmentAllocator>) -> Self {
        AllocatorSource {
            allocator,
            create_missing: false,
        }
    }

    /// Creates a missing counter at 0 before allocating from it (`true`), or reports
    /// [`Error::CounterMissing`] (`false`, the default).
    ///
    /// Only enable this for keys that are not the primary key of an existing table: a counter
    /// created at 0 for a table that already holds rows hands out IDs the table already has.
    pub fn create_missing(mut self, create: bool) -> Self {
        self.create_missing = create;
        self
    }

    /// The counter store.
    pub fn allocator(&self) -> &Arc<dyn SegmentAllocator> {
        &self.allocator
    }
}

#[async_trait]
impl SegmentSource for AllocatorSource {
    async fn fetch(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        match self.allocator.allocate(key, count).await {
            Ok(segment) => Ok(segment),
            Err(kxy_id::Error::KeyNotFound { .. }) if self.create_missing => {
                // `raise_to` never lowers a counter, so a concurrent creator or allocator is safe.
                self.allocator.raise_to(key, 0).await?;
                Ok(self.allocator.allocate(key, count).await?)
            }
            Err(kxy_id::Error::KeyNotFound { .. }) => Err(Error::CounterMissing {
                key: key.to_string(),
            }),
            Err(e) => Err(Error::Store(e)),
        }
    }
}
