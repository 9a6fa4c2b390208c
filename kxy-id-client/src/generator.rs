//! [`IdGenerator`]: a double-buffered, prefetching generator for one key.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kxy_id::{Segment, SegmentKey};
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::background::Background;
use crate::block::IdBlock;
use crate::buffer::{Claim, CurrentSegment};
use crate::config::GeneratorConfig;
use crate::error::{Error, Result};
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
    /// State shared with the background fetch task.
    shared: Arc<Shared>,
    /// Stops the fetch task when the generator is dropped (declared before `background`, so it
    /// is dropped first).
    _fetcher: FetcherGuard,
    /// Keeps the runtime that runs the fetch task alive.
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
    /// Where the fetch task runs: `None` for a runtime thread of the generator's own.
    background: Option<Arc<Background>>,
}

impl IdGeneratorBuilder {
    /// The settings (default: [`GeneratorConfig::default`]).
    pub fn config(mut self, config: GeneratorConfig) -> Self {
        self.config = config;
        self
    }

    /// Runs the background fetch task on a caller's tokio runtime instead of a thread of the
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
        let step = self.config.step_policy().step();
        let shared = Arc::new(Shared {
            current: CurrentSegment::empty(),
            key: self.key,
            source: self.source,
            config: self.config,
            state: Mutex::new(SlowState {
                next: None,
                high_water: None,
                fetching: false,
                fetches: 0,
                failures: 0,
                consecutive_failures: 0,
                last_error: None,
                last_latency: None,
                step,
                waits: 0,
                closed: false,
            }),
            segment_event: Condvar::new(),
            async_event: Notify::new(),
            wake_fetcher: Notify::new(),
        });
        // The first segment is wanted at once.
        shared.current.request_prefetch();
        let task = background.handle().spawn(run_fetcher(shared.clone()));
        Ok(IdGenerator {
            shared,
            _fetcher: FetcherGuard { task },
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
        match self.shared.current.claim(1) {
            Claim::Ids {
                first,
                past_prefetch_point,
                ..
            } => {
                if past_prefetch_point {
                    self.shared.want_next();
                }
                Ok(first)
            }
            claim => self.next_id_slow(claim),
        }
    }

    #[cold]
    #[inline(never)]
    fn next_id_slow(&self, mut claim: Claim) -> Result<i64> {
        let mut wait = Wait::new();
        let mut retries = 0u32;
        loop {
            match claim {
                Claim::Ids {
                    first,
                    past_prefetch_point,
                    ..
                } => {
                    if past_prefetch_point {
                        self.shared.want_next();
                    }
                    return Ok(first);
                }
                Claim::Retry => backoff_spin(&mut retries),
                Claim::Exhausted { seq } => self.shared.wait_blocking(seq, &mut wait)?,
            }
            claim = self.shared.current.claim(1);
        }
    }

    /// The next ID, awaiting (instead of blocking the thread) when both segments are used up.
    ///
    /// Needs a tokio runtime with the time driver when it has to wait.
    pub async fn next_id_async(&self) -> Result<i64> {
        let mut wait = AsyncWait::new();
        let mut retries = 0u32;
        loop {
            match self.shared.current.claim(1) {
                Claim::Ids {
                    first,
                    past_prefetch_point,
                    ..
                } => {
                    if past_prefetch_point {
                        self.shared.want_next();
                    }
                    return Ok(first);
                }
                Claim::Retry => {
                    retries += 1;
                    if retries.is_multiple_of(64) {
                        tokio::task::yield_now().await;
                    } else {
                        std::hint::spin_loop();
                    }
                }
                Claim::Exhausted { seq } => self.shared.wait_async(seq, &mut wait).await?,
            }
        }
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
        let mut retries = 0u32;
        while need > 0 {
            match self.shared.current.claim(need) {
                Claim::Ids {
                    first,
                    count,
                    past_prefetch_point,
                } => {
                    if past_prefetch_point {
                        self.shared.want_next();
                    }
                    block.push(first, count);
                    need -= count;
                }
                Claim::Retry => backoff_spin(&mut retries),
                Claim::Exhausted { seq } => self.shared.wait_blocking(seq, &mut wait)?,
            }
        }
        Ok(block)
    }

    /// The next `n` IDs, awaiting when segments run out; see [`next_ids`](Self::next_ids).
    pub async fn next_ids_async(&self, n: usize) -> Result<IdBlock> {
        let mut need = block_size(n)?;
        let mut block = IdBlock::default();
        let mut wait = AsyncWait::new();
        while need > 0 {
            match self.shared.current.claim(need) {
                Claim::Ids {
                    first,
                    count,
                    past_prefetch_point,
                } => {
                    if past_prefetch_point {
                        self.shared.want_next();
                    }
                    block.push(first, count);
                    need -= count;
                }
                Claim::Retry => tokio::task::yield_now().await,
                Claim::Exhausted { seq } => self.shared.wait_async(seq, &mut wait).await?,
            }
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

/// What the generator and its fetch task share.
#[derive(Debug)]
struct Shared {
    /// The segment being served: the lock-free hot path.
    current: CurrentSegment,
    /// The key served.
    key: SegmentKey,
    /// Where segments come from.
    source: Arc<dyn SegmentSource>,
    /// Settings.
    config: GeneratorConfig,
    /// Everything off the hot path.
    state: Mutex<SlowState>,
    /// Wakes blocked callers when a segment is published, a fetch fails or the generator closes.
    segment_event: Condvar,
    /// The same for awaiting callers.
    async_event: Notify,
    /// Wakes the fetch task when the next segment is wanted.
    wake_fetcher: Notify,
}

/// The slow-path state, under [`Shared::state`].
#[derive(Debug)]
struct SlowState {
    /// The fetched segment waiting to be served after the current one.
    next: Option<Segment>,
    /// The end of the latest accepted segment; every new segment must start above it.
    high_water: Option<i64>,
    /// Whether a fetch is running.
    fetching: bool,
    /// Successful fetches.
    fetches: u64,
    /// Failed fetches.
    failures: u64,
    /// Failed fetches since the last success.
    consecutive_failures: u32,
    /// The latest fetch error.
    last_error: Option<Arc<Error>>,
    /// How long the latest fetch took.
    last_latency: Option<Duration>,
    /// The step of the latest fetch.
    step: i64,
    /// Calls that had to wait for a segment.
    waits: u64,
    /// Set when the fetch task has stopped: nothing will arrive any more.
    closed: bool,
}

/// What one blocking call remembers across its waits.
struct Wait {
    /// When the call started waiting, set on the first wait.
    since: Option<Instant>,
    /// Failed fetches when the call started waiting.
    failures_at_start: u64,
}

impl Wait {
    fn new() -> Self {
        Wait {
            since: None,
            failures_at_start: 0,
        }
    }
}

/// What one awaiting call remembers across its waits.
struct AsyncWait {
    /// When the call started waiting (tokio's clock, so paused time works).
    since: Option<tokio::time::Instant>,
    /// Failed fetches when the call started waiting.
    failures_at_start: u64,
}

impl AsyncWait {
    fn new() -> Self {
        AsyncWait {
            since: None,
            failures_at_start: 0,
        }
    }
}

/// What a waiting call should do after looking at the state.
enum Verdict {
    /// Claim again: a new segment is being served.
    Claim,
    /// Nothing yet: keep waiting.
    Wait,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SlowState> {
        // No critical section can panic half-way, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks the fetch task for the next segment (once per segment).
    #[inline]
    fn want_next(&self) {
        if self.current.request_prefetch() {
            self.wake_fetcher.notify_one();
        }
    }

    /// Wakes every waiting caller.
    fn wake_waiters(&self) {
        self.segment_event.notify_all();
        self.async_event.notify_waiters();
    }

    /// Decides for a caller that found publication `seq` exhausted, under the lock.
    fn decide(
        &self,
        st: &mut SlowState,
        seq: u64,
        failures_at_start: u64,
        first_look: bool,
        waited: Duration,
    ) -> Result<Verdict> {
        if self.current.seq() != seq {
            return Ok(Verdict::Claim);
        }
        if let Some(next) = st.next.take() {
            // The switch: the next segment is ready, so it never waits.
            self.current.publish(next, self.config.prefetch_at);
            self.wake_waiters();
            return Ok(Verdict::Claim);
        }
        if st.closed {
            return Err(Error::Shutdown {
                key: self.key.to_string(),
            });
        }
        if first_look {
            st.waits += 1;
        }
        self.want_next();
        if st.failures > failures_at_start || (st.consecutive_failures > 0 && !st.fetching) {
            return Err(Error::Unavailable {
                key: self.key.to_string(),
                reason: format!(
                    "both segments are used up and fetching the next one failed \
                     ({} failure(s) in a row; retrying in the background)",
                    st.consecutive_failures
                ),
                waited,
                last_error: st.last_error.clone(),
            });
        }
        Ok(Verdict::Wait)
    }

    fn timed_out(&self, waited: Duration) -> Error {
        Error::Unavailable {
            key: self.key.to_string(),
            reason: format!(
                "both segments are used up and no new segment arrived within {:?}",
                self.config.max_wait
            ),
            waited,
            last_error: None,
        }
    }

    /// Blocks until publication `seq` is replaced, a fetch fails or `max_wait` passes.
    fn wait_blocking(&self, seq: u64, wait: &mut Wait) -> Result<()> {
        let mut st = self.lock();
        let first_look = wait.since.is_none();
        let since = *wait.since.get_or_insert_with(|| {
            wait.failures_at_start = st.failures;
            Instant::now()
        });
        let deadline = since + self.config.max_wait;
        let mut first = first_look;
        loop {
            let waited = since.elapsed();
            match self.decide(&mut st, seq, wait.failures_at_start, first, waited)? {
                Verdict::Claim => return Ok(()),
                Verdict::Wait => {}
            }
            first = false;
            let now = Instant::now();
            if now >= deadline {
                return Err(self.timed_out(waited));
            }
            st = self
                .segment_event
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Awaits until publication `seq` is replaced, a fetch fails or `max_wait` passes.
    async fn wait_async(&self, seq: u64, wait: &mut AsyncWait) -> Result<()> {
        let first_look = wait.since.is_none();
        let since = match wait.since {
            Some(since) => since,
            None => {
                wait.failures_at_start = self.lock().failures;
                *wait.since.insert(tokio::time::Instant::now())
            }
        };
        let deadline = since + self.config.max_wait;
        let mut first = first_look;
        loop {
            let notified = self.async_event.notified();
            tokio::pin!(notified);
            // Registered before looking at the state, so no wake-up is lost.
            notified.as_mut().enable();
            {
                let mut st = self.lock();
                match self.decide(&mut st, seq, wait.failures_at_start, first, since.elapsed())? {
                    Verdict::Claim => return Ok(()),
                    Verdict::Wait => {}
                }
            }
            first = false;
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(self.timed_out(since.elapsed()));
            }
        }
    }
}

/// Spins briefly while a new segment is being published (a handful of stores), then yields.
fn backoff_spin(retries: &mut u32) {
    *retries += 1;
    if retries.is_multiple_of(64) {
        std::thread::yield_now();
    } else {
        std::hint::spin_loop();
    }
}

fn block_size(n: usize) -> Result<u64> {
    if n > MAX_BLOCK {
        return Err(Error::BlockTooLarge {
            requested: n,
            max: MAX_BLOCK,
        });
    }
    Ok(n as u64)
}

/// Stops the fetch task when dropped (the generator's drop guard).
#[derive(Debug)]
struct FetcherGuard {
    /// The fetch task.
    task: JoinHandle<()>,
}

impl Drop for FetcherGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Marks the generator closed when the fetch task ends, however it ends (aborted by the drop
/// guard, or dropped with its runtime), so that waiting callers stop waiting.
struct ClosedOnDrop(Arc<Shared>);

impl Drop for ClosedOnDrop {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.wake_waiters();
    }
}

/// The fetch task: keeps the next segment buffered while it is wanted.
async fn run_fetcher(shared: Arc<Shared>) {
    let _closed = ClosedOnDrop(shared.clone());
    let mut policy = shared.config.step_policy();
    // When the previous successful fetch started, for the adaptive step.
    let mut previous_start: Option<tokio::time::Instant> = None;
    // The step of a fetch that is being retried (kept so retries do not adapt again).
    let mut pending_step: Option<i64> = None;
    let mut backoff = shared.config.backoff_min;
    loop {
        // Wait until the next segment is wanted and not yet buffered. `notify_one` keeps a
        // permit when the task is not waiting, so a request between the check and the await
        // is not lost.
        loop {
            {
                let st = shared.lock();
                if st.closed {
                    return;
                }
                if st.next.is_none() && shared.current.prefetch_requested() {
                    break;
                }
            }
            shared.wake_fetcher.notified().await;
        }

        let started = tokio::time::Instant::now();
        let step = *pending_step.get_or_insert_with(|| {
            policy.before_fetch(previous_start.map(|previous| started - previous))
        });
        {
            let mut st = shared.lock();
            st.fetching = true;
            st.step = step;
        }
        let result = shared.source.fetch(&shared.key, step).await;
        let latency = started.elapsed();

        // `Some(retryable)` when the fetch failed.
        let failed = record_fetch(&shared, result, latency);
        shared.wake_waiters();
        match failed {
            None => {
                previous_start = Some(started);
                pending_step = None;
                backoff = shared.config.backoff_min;
            }
            Some(retryable) => {
                // An error that will repeat (a missing key, ...) is retried at the slowest pace.
                let pause = if retryable {
                    backoff
                } else {
                    shared.config.backoff_max
                };
                tokio::time::sleep(jitter(pause)).await;
                backoff = backoff.saturating_mul(2).min(shared.config.backoff_max);
            }
        }
    }
}

/// Records the outcome of a fetch: buffers (or serves) the segment, or keeps the error.
/// Returns `None` on success, `Some(retryable)` on failure.
fn record_fetch(shared: &Shared, result: Result<Segment>, latency: Duration) -> Option<bool> {
    let mut st = shared.lock();
    st.fetching = false;
    st.last_latency = Some(latency);
    match result.and_then(|segment| check_segment(&shared.key, segment, st.high_water)) {
        Ok(segment) => {
            st.fetches += 1;
            st.consecutive_failures = 0;
            st.high_water = Some(segment.end);
            if st.next.is_none() && shared.current.is_exhausted() {
                // Callers are (or will be) waiting: serve it at once.
                shared.current.publish(segment, shared.config.prefetch_at);
            } else {
                st.next = Some(segment);
            }
            None
        }
        Err(error) => {
            st.failures += 1;
            st.consecutive_failures = st.consecutive_failures.saturating_add(1);
            let retryable = error.is_retryable();
            tracing::warn!(
                key = %shared.key,
                consecutive_failures = st.consecutive_failures,
                retryable,
                error = %error,
                "fetching a segment failed"
            );
            st.last_error = Some(Arc::new(error));
            Some(retryable)
        }
    }
}

/// Refuses segments that are empty, start below 1 or do not lie above the previous one.
fn check_segment(key: &SegmentKey, segment: Segment, high_water: Option<i64>) -> Result<Segment> {
    if segment.is_empty() || segment.start < 1 {
        return Err(Error::InvalidSegment {
            key: key.to_string(),
            start: segment.start,
            end: segment.end,
        });
    }
    if let Some(previous_end) = high_water
        && segment.start <= previous_end
    {
        return Err(Error::SegmentOutOfOrder {
            key: key.to_string(),
            start: segment.start,
            end: segment.end,
            previous_end,
        });
    }
    Ok(segment)
}

/// A pause drawn uniformly between half and all of `pause` (so clients do not retry in step).
pub(crate) fn jitter(pause: Duration) -> Duration {
    let half = pause / 2;
    let nanos = half.as_nanos().min(u64::MAX as u128) as u64;
    if nanos == 0 {
        return pause;
    }
    half + Duration::from_nanos(random_u64() % (nanos + 1))
}

/// A random number from the standard library's randomly keyed hasher (no extra dependency).
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SegmentKey {
        SegmentKey::new("s", "d", "t", "f").unwrap()
    }

    #[test]
    fn segments_must_lie_above_the_previous_one() {
        let segment = Segment { start: 11, end: 20 };
        assert!(check_segment(&key(), segment, None).is_ok());
        assert!(check_segment(&key(), segment, Some(10)).is_ok());
        assert!(matches!(
            check_segment(&key(), segment, Some(11)),
            Err(Error::SegmentOutOfOrder {
                previous_end: 11,
                ..
            })
        ));
        assert!(check_segment(&key(), Segment { start: 0, end: 5 }, None).is_err());
        assert!(check_segment(&key(), Segment { start: 5, end: 4 }, None).is_err());
    }

    #[test]
    fn jitter_stays_between_half_and_all() {
        let pause = Duration::from_millis(100);
        for _ in 0..1000 {
            let j = jitter(pause);
            assert!(j >= pause / 2 && j <= pause, "{j:?}");
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }
}
