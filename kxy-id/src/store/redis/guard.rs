//! [`LossGuard`]: what keeps a Redis store from handing out an ID twice when Redis loses data.
//!
//! Redis acknowledges an `INCRBY` before it is on disk (with `appendfsync everysec` up to a
//! second is lost in a crash; with snapshots only, minutes; a promoted replica lacks what had
//! not replicated; a Redis without persistence restarts empty). Counters then come back lower
//! than IDs already handed out. Two defences, chosen by configuration:
//!
//! - **A durable high-water mark** (TiDB's auto-ID design): for every key a value `H` kept in a
//!   durable SQL store, raised in large steps *before* any ID above it is handed out, so all IDs
//!   ever handed out are `<= H`. Whenever the Redis incarnation changes (see
//!   [`RedisConnection`](super::connection::RedisConnection)), each key is raised to its `H`
//!   before its next allocation: a gap of at most one step, never a repeat.
//! - **Without a mark, refusal**: a changed incarnation, a counter that vanished, or a counter
//!   below an ID this server handed out makes allocation fail with [`Error::DataLoss`] until an
//!   operator raises the counters (`kxy-id-server recover`), which marks the incarnation as
//!   recovered in Redis itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::allocator::SegmentAllocator;
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey};
use crate::policy::StepRule;

/// The Redis key in which `recover` records the `run_id` it recovered.
pub(crate) const RECOVERED_KEY: &str = "kxy:id:system:recovered";
/// The Redis key holding the floor below which no counter may be created after a recovery.
pub(crate) const FLOOR_KEY: &str = "kxy:id:system:floor";

/// What one server knows about one key.
#[derive(Debug, Default, Clone, Copy)]
struct KeyState {
    /// The Redis generation in which the counter was last checked against its mark.
    verified: u64,
    /// The counter vanished or went back in this generation: check it against its mark
    /// without trusting the marker left in Redis.
    distrust: bool,
    /// A lower bound of the durable mark `H` (it only grows).
    mark: i64,
    /// The largest value this server saw the counter take.
    seen: i64,
    /// How far ahead the next mark raise goes.
    step: i64,
    /// When the mark was last raised.
    marked_at: Option<Instant>,
}

/// The loss defences of one Redis allocator.
#[derive(Debug)]
pub(crate) struct LossGuard {
    /// Durable marks, one counter per key (`None`: refuse instead).
    marks: Option<Arc<dyn SegmentAllocator>>,
    /// How far ahead of the allocations a mark is raised.
    rule: StepRule,
    /// Per-key state; only keys that exist get an entry.
    keys: Mutex<HashMap<String, KeyState>>,
    /// Without marks: the newest Redis generation allocations are accepted on.
    accepted: AtomicU64,
}

impl LossGuard {
    /// A guard with durable `marks`, or refusing without them.
    pub(crate) fn new(marks: Option<Arc<dyn SegmentAllocator>>) -> Self {
        LossGuard {
            marks,
            // One durable write per at least 10,000 IDs; the step doubles while marks are
            // used up within a second, so a busy key writes about once a second at most.
            rule: StepRule::new(
                10_000,
                1_000_000_000,
                Duration::from_secs(1),
                Duration::from_secs(60),
            ),
            keys: Mutex::new(HashMap::new()),
            accepted: AtomicU64::new(1),
        }
    }

    /// The durable mark store, if any.
    pub(crate) fn marks(&self) -> Option<&Arc<dyn SegmentAllocator>> {
        self.marks.as_ref()
    }

    fn state(&self, key: &SegmentKey) -> Option<KeyState> {
        self.lock().get(key.as_str()).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, KeyState>> {
        // Each critical section is a single read or write of a `Copy` value.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, key: &SegmentKey, f: impl FnOnce(&mut KeyState)) {
        f(self.lock().entry(key.as_str().to_owned()).or_default());
    }

    /// Whether `key` must be checked against its mark before it is used in `generation`:
    /// `None` when not, `Some(distrust)` when it must (`distrust`: ignore Redis's marker).
    pub(crate) fn needs_verify(&self, key: &SegmentKey, generation: u64) -> Option<bool> {
        self.marks.as_ref()?;
        match self.state(key) {
            Some(s) if s.verified == generation && !s.distrust => None,
            Some(s) => Some(s.distrust),
            None => Some(false),
        }
    }

    /// Records that `key` was checked in `generation` against the mark `mark` (if it has one).
    pub(crate) fn verified(&self, key: &SegmentKey, generation: u64, mark: Option<i64>) {
        if let Some(mark) = mark {
            self.update(key, |s| {
                s.verified = generation;
                s.distrust = false;
                s.mark = s.mark.max(mark);
            });
        } else if let Some(mut s) = self.state(key) {
            s.verified = generation;
            s.distrust = false;
            self.lock().insert(key.as_str().to_owned(), s);
        }
    }

    /// Without marks: accepts no Redis process until an operator recovers one (the caller
    /// knows the store lost data before this process started).
    pub(crate) fn refuse_until_recovered(&self) {
        self.accepted.store(0, Ordering::Release);
    }

    /// Without marks: whether allocations on `generation` are refused (until recovered).
    pub(crate) fn is_refusing(&self, generation: u64) -> bool {
        self.marks.is_none() && generation > self.accepted.load(Ordering::Acquire)
    }

    /// Without marks: refuses a Redis generation newer than the accepted one.
    /// `recovered` reads whether an operator recovered the current incarnation.
    pub(crate) fn check_generation(
        &self,
        generation: u64,
        target: &str,
        recovered: bool,
    ) -> Result<()> {
        if self.marks.is_some() || generation <= self.accepted.load(Ordering::Acquire) {
            return Ok(());
        }
        if recovered {
            self.accepted.fetch_max(generation, Ordering::AcqRel);
            return Ok(());
        }
        Err(Error::DataLoss(format!(
            "Redis at {target} is another process than before (restarted or failed over), and \
             without a durable store its counters may have gone back; allocations are refused so \
             that no ID is handed out twice. Configure --durable-store, or run \
             `kxy-id-server recover --store URL --margin N` with N above the largest ID handed \
             out to raise every counter and resume."
        )))
    }

    /// Called when the counter of `key` is missing: `Ok(true)` to verify again and retry
    /// (marks), `Ok(false)` when the key never existed here, [`Error::DataLoss`] when it did and
    /// nothing durable can restore it.
    ///
    /// `seen_when_sent` is what [`seen`](Self::seen) returned when the request was sent. A
    /// request sent before this server saw the counter (0) may have been answered "missing"
    /// before the counter was created, while a concurrent request already used it: that is
    /// no loss.
    pub(crate) fn on_missing(
        &self,
        key: &SegmentKey,
        target: &str,
        seen_when_sent: i64,
    ) -> Result<bool> {
        let Some(state) = self.state(key) else {
            return Ok(false);
        };
        if self.marks.is_some() {
            self.update(key, |s| s.distrust = true);
            return Ok(true);
        }
        if seen_when_sent == 0 {
            return Ok(false);
        }
        Err(Error::DataLoss(format!(
            "the counter of {key} vanished from Redis at {target} after this server handed out \
             IDs up to {}; allocations are refused so that no ID is handed out twice. Run \
             `kxy-id-server recover --store URL --margin N`, or configure --durable-store.",
            state.seen
        )))
    }

    /// The largest value this server saw the counter of `key` take (0 if none): the
    /// allocation script refuses a counter below it.
    pub(crate) fn seen(&self, key: &SegmentKey) -> i64 {
        self.state(key).map_or(0, |s| s.seen)
    }

    /// Called when the counter of `key` is at `value`, below what this server saw: with marks,
    /// `Ok` to verify again and retry; without, [`Error::DataLoss`].
    pub(crate) fn on_behind(&self, key: &SegmentKey, value: i64, target: &str) -> Result<()> {
        let seen = self.seen(key);
        tracing::error!(%key, redis = target, seen, value, "a Redis counter went back below a value this server saw");
        if self.marks.is_some() {
            self.update(key, |s| s.distrust = true);
            return Ok(());
        }
        Err(Error::DataLoss(format!(
            "the counter of {key} in Redis at {target} went back to {value} although this server \
             saw it at {seen}; allocations are refused so that no ID is handed out twice. Run \
             `kxy-id-server recover --store URL --margin N`, or configure --durable-store."
        )))
    }

    /// Accepts a segment Redis handed out: raises the durable mark first when the segment
    /// reaches past it, then records what this server saw.
    pub(crate) async fn accept(&self, key: &SegmentKey, segment: Segment) -> Result<Segment> {
        let state = self.state(key).unwrap_or_default();
        if let Some(marks) = &self.marks
            && segment.end > state.mark
        {
            let lasted = state.marked_at.map(|t| t.elapsed());
            let step = self.rule.next(state.step.max(self.rule.min()), lasted);
            let len = i64::try_from(segment.len()).unwrap_or(i64::MAX);
            let mark = marks
                .raise_to(key, segment.end.saturating_add(step.max(len)))
                .await?
                .value();
            self.update(key, |s| {
                s.mark = s.mark.max(mark);
                s.step = step;
                s.marked_at = Some(Instant::now());
            });
        }
        self.update(key, |s| s.seen = s.seen.max(segment.end));
        Ok(segment)
    }

    /// Forgets a deleted key.
    pub(crate) fn forget(&self, key: &SegmentKey) {
        self.lock().remove(key.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_answer_to_a_request_sent_before_the_counter_was_seen_is_no_loss() {
        let guard = LossGuard::new(None);
        let key = SegmentKey::new("s", "d", "t", "id").unwrap();
        // Never seen: missing means "no counter".
        assert!(!guard.on_missing(&key, "redis", 0).unwrap());
        // A concurrent request used the counter (seen 7) before an older request's "missing"
        // answer was read: that answer predates the counter.
        let sent_before = guard.seen(&key);
        guard
            .accept(&key, Segment { start: 1, end: 7 })
            .await
            .unwrap();
        assert!(!guard.on_missing(&key, "redis", sent_before).unwrap());
        // A request sent after the counter was seen and answered "missing": the counter vanished.
        let sent_after = guard.seen(&key);
        assert_eq!(sent_after, 7);
        assert!(matches!(
            guard.on_missing(&key, "redis", sent_after),
            Err(Error::DataLoss(_))
        ));
    }
}
