//! The refill task: keeps the next segment of a generator buffered while it is wanted, adapts
//! the step, retries with backoff, and checks every segment before it is served.

use std::sync::Arc;
use std::time::Duration;

use kxy_id::{Segment, SegmentKey};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::shared::Shared;

/// The running refill task of one generator; dropping it stops the task (the generator's drop
/// guard).
#[derive(Debug)]
pub(crate) struct Refill {
    /// The task.
    task: JoinHandle<()>,
}

impl Refill {
    /// Starts the refill task for `shared` on `runtime`.
    pub(crate) fn spawn(runtime: &Handle, shared: Arc<Shared>) -> Refill {
        Refill {
            task: runtime.spawn(run(shared)),
        }
    }
}

impl Drop for Refill {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Marks the generator closed when the refill task ends, however it ends (aborted by
/// [`Refill`]'s drop, or dropped with its runtime), so that waiting callers stop waiting.
struct ClosedOnDrop(Arc<Shared>);

impl Drop for ClosedOnDrop {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.wake_waiters();
    }
}

/// The refill task: keeps the next segment buffered while it is wanted.
async fn run(shared: Arc<Shared>) {
    let _closed = ClosedOnDrop(shared.clone());
    let mut policy = shared.config.step_policy();
    // When the previous successful fetch started, for the adaptive step.
    let mut previous_start: Option<tokio::time::Instant> = None;
    // The step of a fetch that is being retried (kept so retries do not adapt again).
    let mut pending_step: Option<i64> = None;
    let mut backoff = shared.config.backoff.start();
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
        let step = *pending_step
            .get_or_insert_with(|| policy.adapt(previous_start.map(|previous| started - previous)));
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
                backoff.reset();
            }
            Some(retryable) => {
                // Every failure moves the backoff on; an error that will repeat (a missing
                // key, ...) is retried at the slowest pace.
                let pause = backoff.next_pause();
                let pause = if retryable { pause } else { backoff.slowest() };
                tokio::time::sleep(pause).await;
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
            if matches!(error, Error::SegmentOutOfOrder { .. }) {
                st.out_of_order += 1;
            }
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
}
