//! Policies shared by the server and the client, each defined once:
//!
//! - [`StepPolicy`]: how many IDs to take next (Meituan Leaf's adaptive step), used by the
//!   server's [`ReservingAllocator`](crate::ReservingAllocator) to size its blocks and by the
//!   client's prefetch to size its segments.
//! - [`Backoff`]: how long to pause between failed attempts (doubling, bounded, with jitter),
//!   used wherever a caller retries a store or a server.

use std::time::Duration;

/// Chooses the size of the next segment from how long the previous one lasted.
///
/// Leaf's rule: a segment used up faster than `grow_below` doubles the next step; one that
/// lasted `shrink_from` or longer halves it; anything between keeps it. The step always stays
/// within `min..=max`, and doubling saturates instead of overflowing.
#[derive(Debug, Clone)]
pub struct StepPolicy {
    /// The step asked for next.
    step: i64,
    /// Smallest step.
    min: i64,
    /// Largest step.
    max: i64,
    /// `(grow_below, shrink_from)`; `None` keeps the step fixed.
    thresholds: Option<(Duration, Duration)>,
}

impl StepPolicy {
    /// A policy starting at `step` (clamped into `min..=max`) that doubles below `grow_below`
    /// and halves from `shrink_from` on.
    pub fn new(step: i64, min: i64, max: i64, grow_below: Duration, shrink_from: Duration) -> Self {
        let min = min.max(1);
        let max = max.max(min);
        StepPolicy {
            step: step.clamp(min, max),
            min,
            max,
            thresholds: Some((grow_below, shrink_from)),
        }
    }

    /// Leaf's form: a segment should last `target`; doubling below it, halving from `2 × target`.
    pub fn leaf(step: i64, min: i64, max: i64, target: Duration) -> Self {
        Self::new(step, min, max, target, target.saturating_mul(2))
    }

    /// A step that never changes.
    pub fn fixed(step: i64) -> Self {
        let step = step.max(1);
        StepPolicy {
            step,
            min: step,
            max: step,
            thresholds: None,
        }
    }

    /// The step to ask for now.
    pub fn step(&self) -> i64 {
        self.step
    }

    /// Adapts the step to how long the previous segment lasted (`None` when there was none
    /// yet) and returns the step to ask for next.
    pub fn adapt(&mut self, lasted: Option<Duration>) -> i64 {
        if let (Some((grow_below, shrink_from)), Some(lasted)) = (self.thresholds, lasted) {
            if lasted < grow_below {
                self.step = self.step.saturating_mul(2).min(self.max);
            } else if lasted >= shrink_from {
                self.step = (self.step / 2).max(self.min);
            }
        }
        self.step
    }
}

/// Pauses between failed attempts: the first is `min`, each next one doubles up to `max`,
/// and every pause is drawn between half and all of its value so that many callers do not
/// retry in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The pause before jitter that comes next.
    next: Duration,
    /// The first pause.
    min: Duration,
    /// The longest pause.
    max: Duration,
}

impl Backoff {
    /// A backoff from `min` to `max` (`max` below `min` is taken as `min`).
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            next: min,
            min,
            max: max.max(min),
        }
    }

    /// The pause to take now (jittered); the one after it doubles.
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        jitter(pause)
    }

    /// The longest pause (jittered), for failures that retrying soon will not fix.
    pub fn slowest(&self) -> Duration {
        jitter(self.max)
    }

    /// Starts again at `min` (after a success).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// A pause drawn uniformly between half and all of `pause`.
pub fn jitter(pause: Duration) -> Duration {
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
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn fast_use_doubles_up_to_the_maximum() {
        let mut policy = StepPolicy::leaf(1000, 1000, 5000, 15 * MIN);
        assert_eq!(policy.adapt(None), 1000);
        assert_eq!(policy.adapt(Some(MIN)), 2000);
        assert_eq!(policy.adapt(Some(MIN)), 4000);
        assert_eq!(policy.adapt(Some(MIN)), 5000);
        assert_eq!(policy.adapt(Some(MIN)), 5000);
    }

    #[test]
    fn use_within_twice_the_target_keeps_the_step() {
        let mut policy = StepPolicy::leaf(4000, 1000, 1_000_000, 15 * MIN);
        assert_eq!(policy.adapt(Some(15 * MIN)), 4000);
        assert_eq!(policy.adapt(Some(29 * MIN)), 4000);
    }

    #[test]
    fn slow_use_halves_down_to_the_minimum() {
        let mut policy = StepPolicy::leaf(4000, 1000, 1_000_000, 15 * MIN);
        assert_eq!(policy.adapt(Some(30 * MIN)), 2000);
        assert_eq!(policy.adapt(Some(60 * MIN)), 1000);
        assert_eq!(policy.adapt(Some(60 * MIN)), 1000);
    }

    #[test]
    fn separate_thresholds_are_honoured() {
        let mut policy = StepPolicy::new(
            100,
            100,
            1000,
            Duration::from_secs(2),
            Duration::from_secs(60),
        );
        assert_eq!(policy.adapt(Some(Duration::from_secs(1))), 200);
        assert_eq!(policy.adapt(Some(Duration::from_secs(30))), 200);
        assert_eq!(policy.adapt(Some(Duration::from_secs(60))), 100);
    }

    #[test]
    fn fixed_step_never_changes() {
        let mut policy = StepPolicy::fixed(500);
        assert_eq!(policy.adapt(Some(Duration::ZERO)), 500);
        assert_eq!(policy.adapt(Some(100 * MIN)), 500);
    }

    #[test]
    fn doubling_saturates_instead_of_overflowing() {
        let mut policy = StepPolicy::leaf(i64::MAX / 2 + 1, 1, i64::MAX, MIN);
        assert_eq!(policy.adapt(Some(Duration::ZERO)), i64::MAX);
        assert_eq!(policy.step(), i64::MAX);
    }

    #[test]
    fn backoff_doubles_to_its_bound_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let bounds = [100, 200, 350, 350];
        for ms in bounds {
            let p = b.next_pause();
            let full = Duration::from_millis(ms);
            assert!(p >= full / 2 && p <= full, "{p:?} for {full:?}");
        }
        b.reset();
        assert!(b.next_pause() <= Duration::from_millis(100));
        assert!(b.slowest() <= Duration::from_millis(350));
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
