//! [`Shared`]: what a generator and its refill task share, and the slow path: claiming with
//! waits, the switch to the buffered segment, and bounded waiting when both are used up.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use kxy_id::{Segment, SegmentKey};
use tokio::sync::Notify;

use crate::buffer::{Claim, CurrentSegment};
use crate::config::GeneratorConfig;
use crate::error::{Error, Result};
use crate::source::SegmentSource;

/// What the generator and its refill task share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The segment being served: the lock-free hot path.
    pub(crate) current: CurrentSegment,
    /// The key served.
    pub(crate) key: SegmentKey,
    /// Where segments come from.
    pub(crate) source: Arc<dyn SegmentSource>,
    /// Settings.
    pub(crate) config: GeneratorConfig,
    /// Everything off the hot path.
    pub(crate) state: Mutex<SlowState>,
    /// Wakes blocked callers when a segment is published, a fetch fails or the generator closes.
    pub(crate) segment_event: Condvar,
    /// The same for awaiting callers.
    pub(crate) async_event: Notify,
    /// Wakes the refill task when the next segment is wanted.
    pub(crate) wake_fetcher: Notify,
}

/// The slow-path state, under [`Shared::state`].
#[derive(Debug)]
pub(crate) struct SlowState {
    /// The fetched segment waiting to be served after the current one.
    pub(crate) next: Option<Segment>,
    /// The end of the latest accepted segment; every new segment must start above it.
    pub(crate) high_water: Option<i64>,
    /// Whether a fetch is running.
    pub(crate) fetching: bool,
    /// Successful fetches.
    pub(crate) fetches: u64,
    /// Failed fetches.
    pub(crate) failures: u64,
    /// Segments refused because they did not lie above the previous one (the server's
    /// counter went back): a sign that the store lost data.
    pub(crate) out_of_order: u64,
    /// Failed fetches since the last success.
    pub(crate) consecutive_failures: u32,
    /// The latest fetch error.
    pub(crate) last_error: Option<Arc<Error>>,
    /// How long the latest fetch took.
    pub(crate) last_latency: Option<Duration>,
    /// The step of the latest fetch.
    pub(crate) step: i64,
    /// Calls that had to wait for a segment.
    pub(crate) waits: u64,
    /// Set when the refill task has stopped: nothing will arrive any more.
    pub(crate) closed: bool,
}

/// What one blocking call remembers across its waits (one deadline and one count per call,
/// however many segments the call spans).
#[derive(Debug)]
pub(crate) struct Wait {
    /// When the call started waiting, set on the first wait.
    since: Option<Instant>,
    /// Failed fetches when the call started waiting.
    failures_at_start: u64,
}

impl Wait {
    pub(crate) fn new() -> Self {
        Wait {
            since: None,
            failures_at_start: 0,
        }
    }
}

/// What one awaiting call remembers across its waits.
#[derive(Debug)]
pub(crate) struct AsyncWait {
    /// When the call started waiting (tokio's clock, so paused time works).
    since: Option<tokio::time::Instant>,
    /// Failed fetches when the call started waiting.
    failures_at_start: u64,
}

impl AsyncWait {
    pub(crate) fn new() -> Self {
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
    /// The state of a new generator: no segment yet, the first one wanted at once.
    pub(crate) fn new(
        key: SegmentKey,
        source: Arc<dyn SegmentSource>,
        config: GeneratorConfig,
    ) -> Arc<Shared> {
        let step = config.step_policy().step();
        let shared = Arc::new(Shared {
            current: CurrentSegment::empty(),
            key,
            source,
            config,
            state: Mutex::new(SlowState {
                next: None,
                high_water: None,
                fetching: false,
                fetches: 0,
                failures: 0,
                out_of_order: 0,
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
        shared.current.request_prefetch();
        shared
    }

    /// The slow-path state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, SlowState> {
        // No critical section can panic half-way, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One attempt to claim up to `n` IDs; asks for the next segment when the claim passes
    /// the prefetch point.
    #[inline]
    pub(crate) fn claim(&self, n: u64) -> Claim {
        let claim = self.current.claim(n);
        if let Claim::Ids {
            past_prefetch_point: true,
            ..
        } = claim
        {
            self.want_next();
        }
        claim
    }

    /// Claims up to `n` IDs (`first`, `count`), blocking while both segments are used up;
    /// `claim` is the attempt the caller has already made.
    pub(crate) fn claim_blocking(
        &self,
        n: u64,
        mut claim: Claim,
        wait: &mut Wait,
    ) -> Result<(i64, u64)> {
        let mut retries = 0u32;
        loop {
            match claim {
                Claim::Ids { first, count, .. } => return Ok((first, count)),
                Claim::Retry => backoff_spin(&mut retries),
                Claim::Exhausted { seq } => self.wait_blocking(seq, wait)?,
            }
            claim = self.claim(n);
        }
    }

    /// Claims up to `n` IDs (`first`, `count`), awaiting while both segments are used up.
    pub(crate) async fn claim_async(&self, n: u64, wait: &mut AsyncWait) -> Result<(i64, u64)> {
        let mut retries = 0u32;
        loop {
            match self.claim(n) {
                Claim::Ids { first, count, .. } => return Ok((first, count)),
                Claim::Retry => {
                    // A publication takes a handful of stores: spin, and let other tasks run
                    // now and then.
                    retries += 1;
                    if retries.is_multiple_of(64) {
                        tokio::task::yield_now().await;
                    } else {
                        std::hint::spin_loop();
                    }
                }
                Claim::Exhausted { seq } => self.wait_async(seq, wait).await?,
            }
        }
    }

    /// Asks the refill task for the next segment (once per segment).
    #[inline]
    fn want_next(&self) {
        if self.current.request_prefetch() {
            self.wake_fetcher.notify_one();
        }
    }

    /// Wakes every waiting caller.
    pub(crate) fn wake_waiters(&self) {
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
