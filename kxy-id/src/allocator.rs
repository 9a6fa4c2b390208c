//! The [`SegmentAllocator`] trait: what every counter store guarantees.

use async_trait::async_trait;

use crate::error::Result;
use crate::key::{Segment, SegmentKey};

/// What [`SegmentAllocator::raise_to`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaiseOutcome {
    /// There was no counter; it was created with the value.
    Created {
        /// The value stored.
        value: i64,
    },
    /// The counter was below the value and now holds it.
    Raised {
        /// The value stored.
        value: i64,
    },
    /// The counter already held the value or more and was left as it was.
    AlreadyAhead {
        /// The counter's value when it was read (at least the value asked for).
        current: i64,
    },
}

impl RaiseOutcome {
    /// The counter's value after the call (a lower bound: other callers may have moved it on).
    pub fn value(&self) -> i64 {
        match *self {
            RaiseOutcome::Created { value } | RaiseOutcome::Raised { value } => value,
            RaiseOutcome::AlreadyAhead { current } => current,
        }
    }

    /// `true` when the call wrote the counter.
    pub fn changed(&self) -> bool {
        !matches!(self, RaiseOutcome::AlreadyAhead { .. })
    }
}

/// One counter as listed by [`SegmentAllocator::list`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counter {
    /// The segment key, `system:db:table:field`.
    pub key: String,
    /// The largest ID handed out so far (or the table's `MAX(pk)` after initialization).
    #[serde(deserialize_with = "crate::wire::deserialize_integer")]
    pub value: i64,
}

/// A store of counters that hands out ranges of IDs (segments).
///
/// A counter holds the largest ID handed out so far for its key. Every implementation
/// guarantees, for any number of threads, processes and machines that share its
/// backing store:
///
/// * **No overlap.** [`allocate`](Self::allocate) is atomic: the ranges returned for one
///   key never share an ID, and a range is never returned twice.
/// * **Monotonic.** No operation except an explicit [`delete`](Self::delete) ever lowers a
///   counter: [`raise_to`](Self::raise_to) takes the larger of the current and the new value
///   in one atomic step, and [`create`](Self::create) only writes a counter that is absent.
/// * **Bad input changes nothing.** A count below 1, a value below 0, an allocation that
///   would pass `i64::MAX` and an invalid key are refused before anything is written.
/// * **Durable answers** (for durable backends): once a segment has been returned, a
///   restart of the store does not hand any of its IDs out again.
///
/// Allocating for a key without a counter is [`Error::KeyNotFound`](crate::Error::KeyNotFound):
/// seeding a counter from a business table is the caller's decision, never a side
/// effect of allocation.
///
/// # Example: an SQLite file
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use kxy_id::{Error, SegmentAllocator, SegmentKey, SqliteAllocator};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = SqliteAllocator::open(dir.path().join("ids.db")).await?;
/// let key = SegmentKey::new("shop", "orders", "t_order", "id")?;
/// // No counter yet: allocation refuses rather than guess where IDs start.
/// assert!(matches!(store.allocate(&key, 10).await, Err(Error::KeyNotFound { .. })));
/// store.raise_to(&key, 1_000).await?; // MAX(id) of the table
/// let segment = store.allocate(&key, 10).await?;
/// assert_eq!((segment.start, segment.end), (1_001, 1_010));
/// store.raise_to(&key, 5).await?; // never lowers
/// assert_eq!(store.get(&key).await?, Some(1_010));
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait SegmentAllocator: Send + Sync + std::fmt::Debug {
    /// A short name of the backend (`memory`, `sqlite`, `redis`, `mysql`, `postgres`), for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Hands out the next `count` IDs of `key`: the counter moves from `c` to `c + count`
    /// and the segment `[c + 1, c + count]` is returned.
    ///
    /// Errors: [`InvalidCount`](crate::Error::InvalidCount) for `count < 1`,
    /// [`KeyNotFound`](crate::Error::KeyNotFound) when the key has no counter,
    /// [`Overflow`](crate::Error::Overflow) when `c + count` would pass `i64::MAX`
    /// (the counter is left at `c`).
    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment>;

    /// Hands out the next `count` IDs of `key` without waiting, when this allocator can: a
    /// [`ReservingAllocator`](crate::ReservingAllocator) with enough IDs left in the key's
    /// reserved block. `None` means "call [`allocate`](Self::allocate)" (the default). A
    /// segment returned here is one `allocate` could have returned, with the same guarantees;
    /// it exists so that the common case costs no boxed future.
    fn allocate_now(&self, key: &SegmentKey, count: i64) -> Option<Result<Segment>> {
        let _ = (key, count);
        None
    }

    /// Makes the counter of `key` at least `value`, creating it if absent, in one atomic step.
    ///
    /// Never lowers a counter, also while allocations run concurrently.
    async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome>;

    /// Raises several counters, each as [`raise_to`](Self::raise_to) would: one outcome per
    /// item, in order, with `raise_to`'s guarantees for every item.
    ///
    /// Stores that can group the writes override it (the SQL stores write a batch in one
    /// transaction, so seeding thousands of tables costs a few commits, not thousands).
    async fn raise_many(&self, items: &[(SegmentKey, i64)]) -> Vec<Result<RaiseOutcome>> {
        let mut outcomes = Vec::with_capacity(items.len());
        for (key, value) in items {
            outcomes.push(self.raise_to(key, *value).await);
        }
        outcomes
    }

    /// Creates the counter of `key` with `value` if it does not exist;
    /// [`AlreadyExists`](crate::Error::AlreadyExists) otherwise (the counter is left as it was).
    async fn create(&self, key: &SegmentKey, value: i64) -> Result<()>;

    /// Reads the counter of `key`, `None` when it does not exist.
    async fn get(&self, key: &SegmentKey) -> Result<Option<i64>>;

    /// Lists the counters whose key starts with `prefix` (all with `""`), sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<Counter>>;

    /// Deletes the counter of `key`; `true` if it existed.
    ///
    /// This is the one operation that forgets a counter. A counter that is deleted and later
    /// seeded again from `MAX(pk)` can repeat IDs that were handed out but never inserted,
    /// so only call it when the caller explicitly asks to purge.
    async fn delete(&self, key: &SegmentKey) -> Result<bool>;
}
