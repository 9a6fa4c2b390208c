//! Load for failover tests: tasks allocating in a loop on several allocators ("servers"),
//! recording every range handed out, and the count of IDs handed out twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::RedisAllocator;
use crate::allocator::SegmentAllocator;
use crate::key::SegmentKey;

/// Tasks allocating until [`stop`](Self::stop).
pub(super) struct Load {
    handed: Arc<Mutex<Vec<(String, i64, i64)>>>,
    errors: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// What a load run handed out.
#[derive(Debug)]
pub(super) struct Outcome {
    /// Ranges handed out.
    pub(super) ranges: usize,
    /// IDs handed out more than once (across every task and allocator).
    pub(super) repeated: u64,
    /// Allocations that failed (and were retried).
    pub(super) errors: u64,
}

impl Load {
    /// Two tasks per allocator, each allocating 50 IDs at a time on `keys` in turn; an error
    /// (the failover) is counted and retried after 50 ms.
    pub(super) fn start(allocators: &[RedisAllocator], keys: &[SegmentKey]) -> Load {
        let load = Load {
            handed: Arc::default(),
            errors: Arc::default(),
            stop: Arc::default(),
            tasks: Vec::new(),
        };
        let mut tasks = Vec::new();
        for a in allocators.iter().flat_map(|a| [a.clone(), a.clone()]) {
            let (keys, handed, errors, stop) = (
                keys.to_vec(),
                load.handed.clone(),
                load.errors.clone(),
                load.stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let key = &keys[i % keys.len()];
                    i += 1;
                    match a.allocate(key, 50).await {
                        Ok(s) => handed
                            .lock()
                            .unwrap()
                            .push((key.to_string(), s.start, s.end)),
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }));
        }
        Load { tasks, ..load }
    }

    /// Ranges handed out so far.
    pub(super) fn handed(&self) -> usize {
        self.handed.lock().unwrap().len()
    }

    /// Lets the load run on 1.5 s after a failover, stops it, and checks that allocations
    /// went on after the fault (`before`: [`handed`](Self::handed) before it) and that no ID
    /// was handed out twice.
    pub(super) async fn finish_after_failover(self, before: usize) -> Outcome {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let outcome = self.stop().await;
        assert!(
            outcome.ranges > before + 10,
            "no allocations after the failover: {before}, {outcome:?}"
        );
        assert_eq!(outcome.repeated, 0, "IDs handed out twice: {outcome:?}");
        outcome
    }

    /// Stops the tasks; what they handed out.
    pub(super) async fn stop(self) -> Outcome {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.unwrap();
        }
        let handed = self.handed.lock().unwrap().clone();
        let mut by_key: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        for (key, start, end) in &handed {
            by_key.entry(key.clone()).or_default().push((*start, *end));
        }
        let mut repeated = 0;
        for ranges in by_key.values_mut() {
            ranges.sort_unstable();
            let mut top = i64::MIN;
            for &(start, end) in ranges.iter() {
                if start <= top {
                    repeated += (end.min(top) - start + 1) as u64;
                }
                top = top.max(end);
            }
        }
        let outcome = Outcome {
            ranges: handed.len(),
            repeated,
            errors: self.errors.load(Ordering::Relaxed),
        };
        eprintln!(
            "failover load: {} ranges, {} IDs repeated, {} errors",
            outcome.ranges, outcome.repeated, outcome.errors
        );
        outcome
    }
}
