//! [`IdGenerator`]: a double-buffered, prefetching generator for one key.

use std::sync::Arc;
use std::time::Duration;

use kxy_id::{Segment, SegmentKey};
use tokio::runtime::Handle;

use crate::background::Background;
use crate::block::IdBlock;
use crate::buffer::Claim;
use crate::config::GeneratorConfig;
use crate::error::{Error, Result};
use crate::refill::Refill;
use crate::shared::{AsyncWait, Shared, Wait};
use crate::source::SegmentSource;

/// The largest block [`IdGenerator::next_ids`] hands out in one call.
pub const MAX_BLOCK: usize = u32::MAX as usize;

/// Hands out the IDs of one key (system, database, table, field) from two buffered segments.
///
/// # Guarantees
///
/// * **Unique.** No ID is handed out twice, by this generator or by any other generator,
///   process or server that takes segments of the same key from the same store: every ID comes
///   from a segment the store handed out once.
/// * **Increasing.** The IDs one thread gets from one generator strictly increase (across
///   threads every ID is unique, and a segment is served only if it lies above the previous one).
///   IDs are not dense: segments of other clients and unused rests of segments (after a restart
///   or a lost race) leave gaps.
/// * **Non-blocking in the steady state.** [`next_id`](Self::next_id) is one atomic
///   read-modify-write, a few plain loads and a bounds check: no lock, no allocation, no system
///   call, no logging. The next segment is fetched in the background once
///   [`prefetch_at`](GeneratorConfig::prefetch_at) of the current one is used, and the switch to
///   it takes a mutex for a few stores but never waits for I/O while the next segment is ready.
/// * **Bounded waits.** When both segments are used up (the source is down or too slow), a call
///   waits at most [`max_wait`](GeneratorConfig::max_wait), returns at once when a fetch fails
///   while it waits, and does not wait at all while the source is known to be failing: it
///   returns [`Error::Unavailable`]. Fetching goes on in the background (with backoff) and the
///   generator recovers by itself. It never panics and never overflows `i64`.
///
/// Background work runs on a runtime thread owned by the generator (so plain synchronous code
/// needs no runtime), or on a caller's runtime ([`IdGeneratorBuilder::runtime`]). It stops when
/// the generator is dropped.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use kxy_id::{MemoryAllocator, SegmentAllocator, SegmentKey};
/// use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGenerator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(MemoryAllocator::new());
/// let key = SegmentKey::new("shop", "orders", "t_order", "id")?;
/// // A counter must exist (seeded from MAX(id) of the table); here it starts at 0.
/// tokio::runtime::Runtime::new()?.block_on(store.raise_to(&key, 0))?;
///
/// let ids = IdGenerator::new(
///     Arc::new(AllocatorSource::new(store)),
///     key,
///     GeneratorConfig::default(),
/// )?;
/// let a = ids.next_id()?;
/// let b = ids.next_id()?;
/// assert!(b > a);
/// # Ok(())
/// # }
/// ```
pub struct IdGenerator {
    /// State shared with the background refill task.
    shared: Arc<Shared>,
    /// Stops the refill task when the generator is dropped (declared before `_background`, so
    /// it is dropped first).
    _refill: Refill,
    /// Keeps the runtime that runs the refill task alive.
    _background: Arc<Background>,
}

impl std::fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdGenerator")
            .field("key", &self.shared.key)
            .field("source", &self.shared.source)
            .finish_non_exhaustive()
    }
}

/// Builds an [`IdGenerator`]; see [`IdGenerator::builder`].
#[derive(Debug)]
pub struct IdGeneratorBuilder {
    /// The key the generator serves.
    key: SegmentKey,
    /// Where segments come from.
    source: Arc<dyn SegmentSource>,
    /// Settings.
    config: GeneratorConfig,
    /// Where the refill task runs: `None` for a runtime thread of the generator's own.
    background: Option<Arc<Background>>,
}

impl IdGeneratorBuilder {
    /// The settings (default: [`GeneratorConfig::default`]).
    pub fn config(mut self, config: GeneratorConfig) -> Self {
        self.config = config;
        self
    }

    /// Runs the background refill task on a caller's tokio runtime instead of a thread of the
    /// generator's own.
    ///
    /// With a current-thread runtime, call [`next_id_async`](IdGenerator::next_id_async) (not
    /// [`next_id`](IdGenerator::next_id)) from inside it: a blocking call that must wait for a
    /// segment would hold up the very thread the fetch needs, and fail after `max_wait`.
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.background = Some(Background::on(handle));
        self
    }

    /// Shares a background runtime (used by the factory).
    pub(crate) fn background(mut self, background: Arc<Background>) -> Self {
        self.background = Some(background);
        self
    }

    /// Checks the settings, starts the background fetch and returns the generator.
    ///
    /// The first segment is fetched at once in the background; the first
    /// [`next_id`](IdGenerator::next_id) waits for it (up to `max_wait`).
    pub fn build(self) -> Result<IdGenerator> {
        self.config.validate()?;
        let background = match self.background {
            Some(background) => background,
            None => Background::start("kxy-id-prefetch")?,
        };
        // The first segment is wanted at once.
        let shared = Shared::new(self.key, self.source, self.config);
        Ok(IdGenerator {
            _refill: Refill::spawn(background.handle(), shared.clone()),
            shared,
            _background: background,
        })
    }
}

impl IdGenerator {
    /// A generator for `key` with segments from `source`, fetching on a thread of its own.
    pub fn new(
        source: Arc<dyn SegmentSource>,
        key: SegmentKey,
        config: GeneratorConfig,
    ) -> Result<IdGenerator> {
        Self::builder(source, key).config(config).build()
    }

    /// A builder, for a caller's runtime or other settings.
    pub fn builder(source: Arc<dyn SegmentSource>, key: SegmentKey) -> IdGeneratorBuilder {
        IdGeneratorBuilder {
            key,
            source,
            config: GeneratorConfig::default(),
            background: None,
        }
    }

    /// The key this generator serves.
    pub fn key(&self) -> &SegmentKey {
        &self.shared.key
    }

    /// The next ID.
    ///
    /// Callable from any thread, with or without a tokio runtime. In the steady state it does
    /// not block; only when both buffered segments are used up does it wait (at most
    /// [`max_wait`](GeneratorConfig::max_wait)) for the background fetch. In async code prefer
    /// [`next_id_async`](Self::next_id_async), which awaits instead of blocking in that case.
    ///
    /// Errors: [`Error::Unavailable`] when no segment can be had (see the type's guarantees),
    /// [`Error::Shutdown`] when the background runtime has stopped.
    #[inline]
    pub fn next_id(&self) -> Result<i64> {
        match self.shared.claim(1) {
            Claim::Ids { first, .. } => Ok(first),
            claim => self.next_id_slow(claim),
        }
    }

    // Kept out of line so that `next_id` stays small enough to inline.
    #[cold]
    #[inline(never)]
    fn next_id_slow(&self, claim: Claim) -> Result<i64> {
        let (first, _) = self.shared.claim_blocking(1, claim, &mut Wait::new())?;
        Ok(first)
    }

    /// A handle serving this generator's IDs from per-thread leases (opt-in; see
    /// [`LocalIds`](crate::LocalIds) for what it guarantees and what it gives up).
    pub fn local(&self) -> crate::LocalIds<'_> {
        crate::LocalIds::new(self)
    }

    /// Up to `n` (>= 1) consecutive IDs in one claim (`first`, `count >= 1`), waiting like
    /// [`next_id`](Self::next_id) when the segments are used up.
    pub(crate) fn lease(&self, n: u64) -> Result<(i64, u64)> {
        let claim = self.shared.claim(n);
        self.shared.claim_blocking(n, claim, &mut Wait::new())
    }

    /// The next ID, awaiting (instead of blocking the thread) when both segments are used up.
    ///
    /// Needs a tokio runtime with the time driver when it has to wait.
    pub async fn next_id_async(&self) -> Result<i64> {
        let (first, _) = self.shared.claim_async(1, &mut AsyncWait::new()).await?;
        Ok(first)
    }

    /// The next `n` IDs (at most [`MAX_BLOCK`]), in increasing order, as ranges.
    ///
    /// A block is cut from the current segment in one atomic step and may span several segments
    /// (then it waits for them like [`next_id`](Self::next_id)). On an error the IDs already cut
    /// for the block are not handed out (they become a gap).
    pub fn next_ids(&self, n: usize) -> Result<IdBlock> {
        let mut need = block_size(n)?;
        let mut block = IdBlock::default();
        let mut wait = Wait::new();
        while need > 0 {
            let claim = self.shared.claim(need);
            let (first, count) = self.shared.claim_blocking(need, claim, &mut wait)?;
            block.push(first, count);
            need -= count;
        }
        Ok(block)
    }

    /// The next `n` IDs, awaiting when segments run out; see [`next_ids`](Self::next_ids).
    pub async fn next_ids_async(&self, n: usize) -> Result<IdBlock> {
        let mut need = block_size(n)?;
        let mut block = IdBlock::default();
        let mut wait = AsyncWait::new();
        while need > 0 {
            let (first, count) = self.shared.claim_async(need, &mut wait).await?;
            block.push(first, count);
            need -= count;
        }
        Ok(block)
    }

    /// A snapshot of the generator's state, for metrics and health checks.
    pub fn snapshot(&self) -> Snapshot {
        let (start, len, used) = self.shared.current.view();
        let st = self.shared.lock();
        let segment = (len > 0).then(|| Segment {
            start,
            end: start + (len - 1) as i64,
        });
        Snapshot {
            key: self.shared.key.to_string(),
            last_id: (used > 0).then(|| start + (used - 1) as i64),
            segment,
            remaining: len - used,
            next_segment: st.next,
            step: st.step,
            fetching: st.fetching,
            fetches: st.fetches,
            fetch_failures: st.failures,
            segments_out_of_order: st.out_of_order,
            consecutive_failures: st.consecutive_failures,
            last_fetch_latency: st.last_latency,
            last_error: st.last_error.as_ref().map(|e| e.to_string()),
            waits: st.waits,
        }
    }
}

/// The state of a generator at one moment ([`IdGenerator::snapshot`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The segment key (`system:db:table:field`).
    pub key: String,
    /// The last ID handed out from the current segment (an upper bound while calls run
    /// concurrently), `None` before the first.
    pub last_id: Option<i64>,
    /// The segment being served, `None` before the first arrived.
    pub segment: Option<Segment>,
    /// IDs left in the current segment.
    pub remaining: u64,
    /// The buffered next segment, `None` while it is not (yet) fetched.
    pub next_segment: Option<Segment>,
    /// The number of IDs asked for in the latest fetch (or the first, before any).
    pub step: i64,
    /// Whether a fetch is running now.
    pub fetching: bool,
    /// Successful fetches so far.
    pub fetches: u64,
    /// Failed fetches so far.
    pub fetch_failures: u64,
    /// Segments refused because they did not lie above the previous one: the server's counter
    /// went back (its store lost data). IDs are never handed out from them; alert on this.
    pub segments_out_of_order: u64,
    /// Failed fetches since the last success (0 when the source is healthy).
    pub consecutive_failures: u32,
    /// How long the latest fetch took (successful or not).
    pub last_fetch_latency: Option<Duration>,
    /// The error of the latest failed fetch, kept after recovery.
    pub last_error: Option<String>,
    /// Calls that found both segments used up and had to wait (or fail).
    pub waits: u64,
}

impl Snapshot {
    /// Whether the next segment is buffered (a switch will not wait).
    pub fn next_ready(&self) -> bool {
        self.next_segment.is_some()
    }
}

/// Checks the size of a block.
fn block_size(n: usize) -> Result<u64> {
    if n > MAX_BLOCK {
        return Err(Error::BlockTooLarge {
            requested: n,
            max: MAX_BLOCK,
        });
    }
    Ok(n as u64)
}
