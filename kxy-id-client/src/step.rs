//! [`StepPolicy`]: how many IDs to ask for next (Leaf's adaptive segment size).

use std::time::Duration;

/// Chooses the size of the next segment from how fast the previous one was used.
///
/// With adaptation on (Meituan Leaf's rule): when the time between two fetches (about the
/// time one segment lasts) is below `target`, the next step doubles; below `2 × target` it
/// stays; otherwise it halves. The step always stays within `min..=max`.
#[derive(Debug, Clone)]
pub(crate) struct StepPolicy {
    /// The step asked for next.
    step: i64,
    /// Smallest step.
    min: i64,
    /// Largest step.
    max: i64,
    /// How long a segment should last; `None` turns adaptation off.
    target: Option<Duration>,
}

impl StepPolicy {
    /// A policy starting at `step`, bounded by `min..=max`; `target: None` keeps the step fixed.
    pub(crate) fn new(step: i64, min: i64, max: i64, target: Option<Duration>) -> Self {
        StepPolicy {
            step: step.clamp(min, max),
            min,
            max,
            target,
        }
    }

    /// The step to ask for now.
    pub(crate) fn step(&self) -> i64 {
        self.step
    }

    /// Adapts the step before a fetch, given the time since the previous fetch started
    /// (`None` for the first fetch). Returns the step to ask for.
    pub(crate) fn before_fetch(&mut self, since_previous: Option<Duration>) -> i64 {
        if let (Some(target), Some(elapsed)) = (self.target, since_previous) {
            if elapsed < target {
                self.step = self.step.saturating_mul(2).min(self.max);
            } else if elapsed >= target.saturating_mul(2) {
                self.step = (self.step / 2).max(self.min);
            }
        }
        self.step
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn fast_use_doubles_up_to_the_maximum() {
        let mut policy = StepPolicy::new(1000, 1000, 5000, Some(15 * MIN));
        assert_eq!(policy.before_fetch(None), 1000);
        assert_eq!(policy.before_fetch(Some(MIN)), 2000);
        assert_eq!(policy.before_fetch(Some(MIN)), 4000);
        assert_eq!(policy.before_fetch(Some(MIN)), 5000);
        assert_eq!(policy.before_fetch(Some(MIN)), 5000);
    }

    #[test]
    fn use_within_twice_the_target_keeps_the_step() {
        let mut policy = StepPolicy::new(4000, 1000, 1_000_000, Some(15 * MIN));
        assert_eq!(policy.before_fetch(Some(15 * MIN)), 4000);
        assert_eq!(policy.before_fetch(Some(29 * MIN)), 4000);
    }

    #[test]
    fn slow_use_halves_down_to_the_minimum() {
        let mut policy = StepPolicy::new(4000, 1000, 1_000_000, Some(15 * MIN));
        assert_eq!(policy.before_fetch(Some(30 * MIN)), 2000);
        assert_eq!(policy.before_fetch(Some(60 * MIN)), 1000);
        assert_eq!(policy.before_fetch(Some(60 * MIN)), 1000);
    }

    #[test]
    fn fixed_step_never_changes() {
        let mut policy = StepPolicy::new(500, 1, i64::MAX, None);
        assert_eq!(policy.before_fetch(Some(Duration::ZERO)), 500);
        assert_eq!(policy.before_fetch(Some(100 * MIN)), 500);
    }

    #[test]
    fn doubling_saturates_instead_of_overflowing() {
        let mut policy = StepPolicy::new(i64::MAX / 2 + 1, 1, i64::MAX, Some(MIN));
        assert_eq!(policy.before_fetch(Some(Duration::ZERO)), i64::MAX);
        assert_eq!(policy.step(), i64::MAX);
    }
}
