//! Helpers shared by the integration tests.
#![allow(dead_code)]

mod real_server;

#[allow(unused_imports)]
pub use real_server::RealServer;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use kxy_id::{MemoryAllocator, Segment, SegmentAllocator, SegmentKey};
use kxy_id_client::{AllocatorSource, Error, Result, SegmentSource};

/// A key no other test uses.
pub fn unique_key(table: &str) -> SegmentKey {
    SegmentKey::new(
        "kxy-client-test",
        &kxy_id::testing::unique_name(),
        table,
        "id",
    )
    .unwrap()
}

/// Runs a future to completion on a throw-away runtime (for setup in synchronous tests).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A memory store with a counter for `key` at `value`.
pub fn memory_store(key: &SegmentKey, value: i64) -> Arc<MemoryAllocator> {
    let store = Arc::new(MemoryAllocator::new());
    block_on(store.raise_to(key, value)).unwrap();
    store
}

/// A memory store with a counter for `key` at `value`, from async code.
pub async fn memory_store_async(key: &SegmentKey, value: i64) -> Arc<MemoryAllocator> {
    let store = Arc::new(MemoryAllocator::new());
    store.raise_to(key, value).await.unwrap();
    store
}

/// Wraps a real source and fails or delays its fetches on demand.
#[derive(Debug)]
pub struct Faulty {
    /// The real source.
    inner: AllocatorSource,
    /// When set, fetches fail with a transport error (without touching the store).
    failing: AtomicBool,
    /// Added to every fetch.
    delay: Mutex<Duration>,
    /// Fetches started.
    pub calls: AtomicU64,
}

impl Faulty {
    pub fn new(store: Arc<dyn SegmentAllocator>) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner: AllocatorSource::new(store),
            failing: AtomicBool::new(false),
            delay: Mutex::new(Duration::ZERO),
            calls: AtomicU64::new(0),
        })
    }

    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SegmentSource for Faulty {
    async fn fetch(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Transport {
                url: "test://faulty".to_owned(),
                reason: "connection refused (injected)".to_owned(),
            });
        }
        self.inner.fetch(key, count).await
    }
}

/// Asserts that `ids` holds no ID twice.
pub fn assert_unique(mut ids: Vec<i64>) {
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "{} duplicate IDs", n - ids.len());
}

/// The IDs of every thread, joined in order (a thread that panicked fails the test).
pub fn join_ids(threads: Vec<std::thread::JoinHandle<Vec<i64>>>) -> Vec<i64> {
    threads
        .into_iter()
        .flat_map(|t| t.join().expect("no panic"))
        .collect()
}
