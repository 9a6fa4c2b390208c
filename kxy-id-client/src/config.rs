//! [`GeneratorConfig`]: segment size, prefetching, waiting and retrying; [`RetryBackoff`], the
//! bounds of a retry backoff, shared with the HTTP transport's settings.

use std::time::Duration;

use kxy_id::policy::{Backoff, StepPolicy};

use crate::error::{Error, Result};

/// Settings of an [`IdGenerator`](crate::IdGenerator). Build with [`GeneratorConfig::default`]
/// and the chainable setters.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | [`step`](Self::step) | 10 000 | IDs asked for per segment at first (the old service's default `segment_count`) |
/// | [`adaptive`](Self::adaptive) | on | Leaf's rule: double the step when a segment lasts less than `target_period`, halve it when it lasts `2 × target_period` or more |
/// | [`min_step`](Self::min_step) / [`max_step`](Self::max_step) | `step` / 1 000 000 | bounds of the adaptive step (Leaf's maximum) |
/// | [`target_period`](Self::target_period) | 15 min | how long a segment should last (Leaf's value) |
/// | [`prefetch_at`](Self::prefetch_at) | 0.2 | share of the current segment used before the next one is fetched (Tinyid's 20 %; Leaf uses 10 %) |
/// | [`max_wait`](Self::max_wait) | 2 s | longest a call waits when both segments are used up |
/// | [`retry_backoff`](Self::retry_backoff) | 100 ms .. 2 s | pause between failed background fetches (doubling, with jitter) |
///
/// Prefetching at 20 % gives the fetch the remaining 80 % of a segment's lifetime to
/// complete (12 minutes at the 15-minute target), while holding at most two segments.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    pub(crate) step: i64,
    pub(crate) min_step: Option<i64>,
    pub(crate) max_step: i64,
    pub(crate) adaptive: bool,
    pub(crate) target_period: Duration,
    pub(crate) prefetch_at: f64,
    pub(crate) max_wait: Duration,
    pub(crate) backoff: RetryBackoff,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            step: 10_000,
            min_step: None,
            max_step: 1_000_000,
            adaptive: true,
            target_period: Duration::from_secs(15 * 60),
            prefetch_at: 0.2,
            max_wait: Duration::from_secs(2),
            backoff: RetryBackoff::new(Duration::from_millis(100), Duration::from_secs(2)),
        }
    }
}

impl GeneratorConfig {
    /// The number of IDs asked for per segment at first (and always, without adaptation).
    pub fn step(mut self, step: i64) -> Self {
        self.step = step;
        self
    }

    /// The smallest adaptive step (default: the initial step).
    pub fn min_step(mut self, min: i64) -> Self {
        self.min_step = Some(min);
        self
    }

    /// The largest adaptive step (default 1 000 000). Raised to the initial step if below it.
    pub fn max_step(mut self, max: i64) -> Self {
        self.max_step = max;
        self
    }

    /// Turns the adaptive step on (default) or off.
    pub fn adaptive(mut self, on: bool) -> Self {
        self.adaptive = on;
        self
    }

    /// How long one segment should last under adaptation (default 15 minutes).
    pub fn target_period(mut self, period: Duration) -> Self {
        self.target_period = period;
        self
    }

    /// The share (0..=1) of the current segment used before the next is fetched (default 0.2).
    ///
    /// 0 fetches the next segment as soon as a segment is put in service; 1 only when its last
    /// ID is taken (then callers may wait at every switch).
    pub fn prefetch_at(mut self, share: f64) -> Self {
        self.prefetch_at = share;
        self
    }

    /// The longest [`next_id`](crate::IdGenerator::next_id) waits for a segment when both
    /// buffered segments are used up (default 2 s). When a fetch fails while it waits, it
    /// returns at once; when the source is known to be failing, it does not wait at all.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// The pause after a failed background fetch: it starts at `min` and doubles up to `max`,
    /// each pause drawn at random between half and all of it (default 100 ms .. 2 s).
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = RetryBackoff::new(min, max);
        self
    }

    /// Checks the settings.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.step < 1 {
            return Err(Error::InvalidConfig(format!(
                "step must be at least 1, not {}",
                self.step
            )));
        }
        if let Some(min) = self.min_step
            && (min < 1 || min > self.step)
        {
            return Err(Error::InvalidConfig(format!(
                "min_step must be between 1 and the step {}, not {min}",
                self.step
            )));
        }
        if !(0.0..=1.0).contains(&self.prefetch_at) {
            return Err(Error::InvalidConfig(format!(
                "prefetch_at must be a share between 0 and 1, not {}",
                self.prefetch_at
            )));
        }
        if self.adaptive && self.target_period.is_zero() {
            return Err(Error::InvalidConfig(
                "target_period must be above zero".to_owned(),
            ));
        }
        self.backoff.validate()
    }

    /// The step policy these settings describe (Leaf's rule, or a fixed step).
    pub(crate) fn step_policy(&self) -> StepPolicy {
        if !self.adaptive {
            return StepPolicy::fixed(self.step);
        }
        let min = self.min_step.unwrap_or(self.step);
        let max = self.max_step.max(self.step);
        StepPolicy::leaf(self.step, min, max, self.target_period)
    }
}

/// The bounds set by a `retry_backoff(min, max)` setter: the first pause and the longest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetryBackoff {
    /// The first pause.
    min: Duration,
    /// The longest pause.
    max: Duration,
}

impl RetryBackoff {
    /// The bounds as given (checked by [`validate`](Self::validate)).
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        RetryBackoff { min, max }
    }

    /// Checks `0 < min <= max`.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.min.is_zero() || self.max < self.min {
            return Err(Error::InvalidConfig(format!(
                "retry_backoff needs 0 < min <= max, not {:?} .. {:?}",
                self.min, self.max
            )));
        }
        Ok(())
    }

    /// A fresh backoff within these bounds (doubling, with jitter).
    pub(crate) fn start(&self) -> Backoff {
        Backoff::new(self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        GeneratorConfig::default().validate().unwrap();
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = [
            GeneratorConfig::default().step(0),
            GeneratorConfig::default().step(10).min_step(11),
            GeneratorConfig::default().min_step(0),
            GeneratorConfig::default().prefetch_at(1.5),
            GeneratorConfig::default().prefetch_at(f64::NAN),
            GeneratorConfig::default().target_period(Duration::ZERO),
            GeneratorConfig::default().retry_backoff(Duration::ZERO, Duration::ZERO),
            GeneratorConfig::default()
                .retry_backoff(Duration::from_secs(2), Duration::from_secs(1)),
        ];
        for config in bad {
            assert!(
                matches!(config.validate(), Err(Error::InvalidConfig(_))),
                "{config:?} was accepted"
            );
        }
    }

    #[test]
    fn max_step_below_step_is_raised() {
        let policy = GeneratorConfig::default()
            .step(5000)
            .max_step(10)
            .step_policy();
        assert_eq!(policy.step(), 5000);
    }
}
