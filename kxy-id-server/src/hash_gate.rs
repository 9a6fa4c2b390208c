//! Password hashing (bcrypt) is deliberately slow: unbounded, a flood of logins would take
//! every core from allocation. The gate runs at most a few hashes at once (half the cores,
//! at least one) on its own threads at the lowest CPU priority (`SCHED_IDLE`), so that
//! allocation goes first whenever both want a core; it lets a short queue wait briefly and refuses the rest with
//! 429.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use tokio::sync::Semaphore;

/// A hash or verification to run.
type Job = Box<dyn FnOnce() + Send>;

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
    /// Where jobs go to the hashing threads (which end when the gate is dropped).
    jobs: Mutex<mpsc::Sender<Job>>,
}

/// Lowers the calling thread's CPU priority to the least the system offers: `SCHED_IDLE` on
/// Linux (the scheduler runs it only when no ordinary thread wants the core, and an
/// ordinary thread that wakes up takes the core at once), else nice 19.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler and setpriority only read their arguments (`param` lives
    // through the call); with pid/who 0 they change the calling thread only.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        }
    }
}

/// Starts `n` hashing threads taking jobs from one queue.
fn start_threads(n: usize) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    for i in 0..n {
        let rx = rx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("kxy-hash-{i}"))
            .spawn(move || {
                lowest_priority();
                loop {
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a password hashing thread");
        }
    }
    tx
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
            jobs: Mutex::new(start_threads(running)),
        }
    }

    /// Refuses at once when the queue is full, so that a flood costs no store reads either.
    pub(crate) fn check_room(&self) -> Result<(), ApiError> {
        if self.inside.load(Ordering::Acquire) >= self.capacity {
            return Err(busy());
        }
        Ok(())
    }

    /// Runs `work` (a hash or a verification) on the blocking pool when there is room.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        if self.inside.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.inside.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let permit = tokio::time::timeout(WAIT, self.permits.clone().acquire_owned()).await;
        let result = match permit {
            Ok(Ok(permit)) => {
                let (done, result) = tokio::sync::oneshot::channel();
                let job: Job = Box::new(move || {
                    let _permit = permit;
                    let _ = done.send(work());
                });
                let sent = self
                    .jobs
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .send(job);
                match sent {
                    Ok(()) => result
                        .await
                        .map_err(|_| ApiError::Internal("a password hash was lost".into())),
                    Err(_) => Err(ApiError::Internal("no password hashing thread".into())),
                }
            }
            _ => Err(busy()),
        };
        self.inside.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

/// The refusal when the gate is full.
fn busy() -> ApiError {
    ApiError::TooManyRequests {
        msg: "The server is busy checking passwords; please retry shortly.".into(),
        retry_after: 1,
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
