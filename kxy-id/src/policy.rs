//! Policies shared by the server and the client, each defined once:
//!
//! - [`StepRule`] and [`StepPolicy`]: how many IDs to take next (Meituan Leaf's adaptive step), used by the
//!   server's [`ReservingAllocator`](crate::ReservingAllocator) to size its blocks and by the
//!   client's prefetch to size its segments.
//! - [`Backoff`]: how long to pause between failed attempts (doubling, bounded, with jitter),
//!   used wherever a caller retries a store or a server.

use std::time::Duration;

/// Leaf's rule for the next step, without state: a segment used up faster than `grow_below`
/// doubles the step; one that lasted `shrink_from` or longer halves it; anything between keeps
/// it. The step always stays within `min..=max`, and doubling saturates instead of overflowing.
///
/// Shared by many keys (the server keeps one rule and one `i64` step per key); [`StepPolicy`]
/// pairs it with the current step for a single stream.
#[derive(Debug, Clone, Copy)]
pub struct StepRule {
    /// Smallest step.
    min: i64,
    /// Largest step.
    max: i64,
    /// `(grow_below, shrink_from)`; `None` keeps the step fixed.
    thresholds: Option<(Duration, Duration)>,
}

impl StepRule {
    /// A rule within `min..=max` (at least 1) that doubles below `grow_below` and halves from
    /// `shrink_from` on.
    pub fn new(min: i64, max: i64, grow_below: Duration, shrink_from: Duration) -> Self {
        let min = min.max(1);
        StepRule {
            min,
            max: max.max(min),
            thresholds: Some((grow_below, shrink_from)),
        }
    }

    /// A rule that keeps every step as it is (clamped to at least 1).
    pub fn fixed() -> Self {
        StepRule {
            min: 1,
            max: i64::MAX,
            thresholds: None,
        }
    }

    /// The smallest step.
    pub fn min(&self) -> i64 {
        self.min
    }

    /// `step` clamped into the rule's bounds.
    pub fn clamp(&self, step: i64) -> i64 {
        step.clamp(self.min, self.max)
    }

    /// The step after one that lasted `lasted` (`None`: there was none yet, keep it).
    pub fn next(&self, step: i64, lasted: Option<Duration>) -> i64 {
        let step = self.clamp(step);
        match (self.thresholds, lasted) {
            (Some((grow_below, _)), Some(lasted)) if lasted < grow_below => {
                step.saturating_mul(2).min(self.max)
            }
            (Some((_, shrink_from)), Some(lasted)) if lasted >= shrink_from => {
                (step / 2).max(self.min)
            }
            _ => step,
        }
    }
}

/// A [`StepRule`] with the step it reached: how many IDs one stream asks for next.
#[derive(Debug, Clone)]
pub struct StepPolicy {
    /// The rule.
    rule: StepRule,
    /// The step asked for next.
    step: i64,
}

impl StepPolicy {
    /// A policy starting at `step` (clamped into `min..=max`) that doubles below `grow_below`
    /// and halves from `shrink_from` on.
    pub fn new(step: i64, min: i64, max: i64, grow_below: Duration, shrink_from: Duration) -> Self {
        let rule = StepRule::new(min, max, grow_below, shrink_from);
        StepPolicy {
            step: rule.clamp(step),
            rule,
        }
    }

    /// Leaf's form: a segment should last `target`; doubling below it, halving from `2 × target`.
    pub fn leaf(step: i64, min: i64, max: i64, target: Duration) -> Self {
        Self::new(step, min, max, target, target.saturating_mul(2))
    }

    /// A step that never changes.
    pub fn fixed(step: i64) -> Self {
        let rule = StepRule::fixed();
        StepPolicy {
            step: rule.clamp(step),
            rule,
        }
    }

    /// The step to ask for now.
    pub fn step(&self) -> i64 {
        self.step
    }

    /// Adapts the step to how long the previous segment lasted (`None` when there was none
    /// yet) and returns the step to ask for next.
    pub fn adapt(&mut self, lasted: Option<Duration>) -> i64 {
        self.step = self.rule.next(self.step, lasted);
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
