//! Password hashing (bcrypt) is deliberately slow: unbounded, a flood of logins would take
//! every core from allocation. The gate runs at most a few hashes at once (half the cores,
//! at least one), lets a short queue wait briefly, and refuses the rest with 429.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// How long a queued hash waits for its turn.
const WAIT: Duration = Duration::from_secs(2);

/// Bounds concurrent password hashes.
#[derive(Debug)]
pub(crate) struct HashGate {
    /// One permit per hash allowed to run.
    permits: Arc<Semaphore>,
    /// Hashes running or waiting.
    inside: AtomicUsize,
    /// Hashes allowed running or waiting.
    capacity: usize,
}

impl HashGate {
    /// `running` hashes at once (0: half the cores, at least one) and a queue of twice that.
    pub(crate) fn new(running: usize) -> Self {
        let running = if running == 0 {
            std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
        } else {
            running
        };
        HashGate {
            permits: Arc::new(Semaphore::new(running)),
            inside: AtomicUsize::new(0),
            capacity: running * 3,
        }
    }

    /// Runs `work` (a hash or a verification) on the blocking pool when there is room.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let busy = || ApiError::TooManyRequests {
            msg: "The server is busy checking passwords; please retry shortly.".into(),
            retry_after: 1,
        };
        if self.inside.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.inside.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let permit = tokio::time::timeout(WAIT, self.permits.clone().acquire_owned()).await;
        let result = match permit {
            Ok(Ok(permit)) => tokio::task::spawn_blocking(move || {
                let _permit = permit;
                work()
            })
            .await
            .map_err(|e| ApiError::Internal(e.to_string())),
            _ => Err(busy()),
        };
        self.inside.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_hashes_are_refused() {
        let gate = Arc::new(HashGate::new(1));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    gate.run(|| std::thread::sleep(Duration::from_millis(200)))
                        .await
                })
            })
            .collect();
        let mut refused = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Err(ApiError::TooManyRequests { .. })) {
                refused += 1;
            }
        }
        assert!(refused >= 7, "{refused} refused");
    }
}
