//! Tests of [`CoalescingAllocator`](super::CoalescingAllocator): grouping, order, errors, and
//! callers that go away.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::MemoryAllocator;
use crate::testing::allocator as conformance;

/// A memory store whose allocations take `delay` and are counted; the first may panic.
#[derive(Debug)]
struct Slow {
    store: MemoryAllocator,
    calls: AtomicUsize,
    delay: Duration,
    panic_once: AtomicBool,
}

impl Slow {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Slow {
            store: MemoryAllocator::new(),
            calls: AtomicUsize::new(0),
            delay,
            panic_once: AtomicBool::new(false),
        })
    }
}

#[async_trait]
impl SegmentAllocator for Slow {
    fn backend(&self) -> &'static str {
        "slow"
    }
    async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        if self.panic_once.swap(false, Ordering::SeqCst) {
            panic!("the store failed");
        }
        self.store.allocate(key, count).await
    }
    async fn raise_to(&self, key: &SegmentKey, value: i64) -> Result<RaiseOutcome> {
        self.store.raise_to(key, value).await
    }
    async fn create(&self, key: &SegmentKey, value: i64) -> Result<()> {
        self.store.create(key, value).await
    }
    async fn get(&self, key: &SegmentKey) -> Result<Option<i64>> {
        self.store.get(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<Counter>> {
        self.store.list(prefix).await
    }
    async fn delete(&self, key: &SegmentKey) -> Result<bool> {
        self.store.delete(key).await
    }
}

fn key(table: &str) -> SegmentKey {
    SegmentKey::new("coalesce", "db", table, "id").unwrap()
}

/// `n` concurrent allocations of `count(i)` IDs through `a`, each from its own task.
async fn concurrently(
    a: &Arc<CoalescingAllocator>,
    k: &SegmentKey,
    n: i64,
    count: fn(i64) -> i64,
) -> Vec<Result<Segment>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (a, k) = (a.clone(), k.clone());
            tokio::spawn(async move { a.allocate(&k, count(i)).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn passes_the_conformance_suite() {
    let store: Arc<dyn SegmentAllocator> = Arc::new(MemoryAllocator::new());
    let a = Arc::new(CoalescingAllocator::new(store.clone()));
    let b = Arc::new(CoalescingAllocator::new(store));
    conformance::run_all(a, b, &conformance::unique_prefix()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite_as_two_servers_on_one_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("coalesce.db");
    let mut servers: Vec<Arc<dyn SegmentAllocator>> = Vec::new();
    for _ in 0..2 {
        let store = crate::SqliteAllocator::open(&file).await.unwrap();
        servers.push(Arc::new(CoalescingAllocator::new(Arc::new(store))));
    }
    let (a, b) = (servers[0].clone(), servers[1].clone());
    conformance::run_all(a, b, &conformance::unique_prefix()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_arriving_during_a_call_share_the_next_one_and_tile_the_range() {
    let slow = Slow::new(Duration::from_millis(50));
    let a = Arc::new(CoalescingAllocator::new(slow.clone()));
    let k = key("tile");
    a.create(&k, 1000).await.unwrap();
    let mut segments: Vec<Segment> = concurrently(&a, &k, 200, |i| i % 7 + 1)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let total: i64 = (0..200).map(|i| i % 7 + 1).sum();
    // The first call serves the first request; those that came meanwhile share few calls.
    let calls = slow.calls.load(Ordering::SeqCst);
    assert!(
        calls <= 4,
        "{calls} store calls for 200 concurrent requests"
    );
    let stats = a.stats();
    assert_eq!((stats.requests(), stats.store_calls()), (200, calls as u64));
    segments.sort_by_key(|s| s.start);
    let mut next = 1001;
    for s in &segments {
        assert_eq!(s.start, next, "gap or overlap at {s:?}");
        next = s.end + 1;
    }
    assert_eq!(next - 1, 1000 + total);
    assert_eq!(a.get(&k).await.unwrap(), Some(1000 + total));
    assert!(a.shared.queues().is_empty(), "a served key is forgotten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_sees_its_own_segments_rise_and_a_second_server_never_overlaps() {
    let store: Arc<dyn SegmentAllocator> = Arc::new(MemoryAllocator::new());
    let a = Arc::new(CoalescingAllocator::new(store.clone()));
    let k = key("rise");
    store.create(&k, 0).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (a, store, k) = (a.clone(), store.clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            let mut got: Vec<Segment> = Vec::new();
            for i in 0..100 {
                // One task in four goes to the store directly, as another server would.
                let s = if t % 4 == 3 {
                    store.allocate(&k, 3).await.unwrap()
                } else {
                    a.allocate(&k, (i % 5) + 1).await.unwrap()
                };
                if let Some(last) = got.last() {
                    assert!(s.start > last.end, "{s:?} after {last:?}");
                }
                got.push(s);
            }
            got
        }));
    }
    conformance::joined_disjoint(tasks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_past_i64_max_serves_those_that_fit() {
    let slow = Slow::new(Duration::from_millis(30));
    let a = Arc::new(CoalescingAllocator::new(slow.clone()));
    let k = key("near-max");
    a.create(&k, i64::MAX - 20).await.unwrap();
    // One request first, so that the next three arrive while it is in flight and form a
    // group whose sum (8 + 8 + 8) does not fit in what is left (19).
    let first = {
        let (a, k) = (a.clone(), k.clone());
        tokio::spawn(async move { a.allocate(&k, 1).await })
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    let results = concurrently(&a, &k, 3, |_| 8).await;
    assert_eq!(first.await.unwrap().unwrap().start, i64::MAX - 19);
    let served: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Overflow { .. })))
        .count();
    assert_eq!((served.len(), refused), (2, 1), "{results:?}");
    assert_eq!(a.get(&k).await.unwrap(), Some(i64::MAX - 3));
    // Counts whose sum passes i64::MAX are never added up.
    let huge = concurrently(&a, &k, 2, |_| i64::MAX).await;
    assert!(
        huge.iter()
            .all(|r| matches!(r, Err(Error::Overflow { .. })))
    );
    assert_eq!(a.get(&k).await.unwrap(), Some(i64::MAX - 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_waiter_of_a_group_gets_the_error() {
    let a = Arc::new(CoalescingAllocator::new(Slow::new(Duration::from_millis(
        20,
    ))));
    let results = concurrently(&a, &key("absent"), 20, |_| 1).await;
    assert!(
        results.iter().all(
            |r| matches!(r, Err(Error::KeyNotFound { key }) if key == "coalesce:db:absent:id")
        ),
        "{results:?}"
    );
    assert!(matches!(
        a.allocate(&key("absent"), 0).await,
        Err(Error::InvalidCount { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_that_go_away_or_a_store_that_panics_strand_nobody() {
    let slow = Slow::new(Duration::from_millis(40));
    let a = Arc::new(CoalescingAllocator::new(slow.clone()));
    let k = key("abandoned");
    a.create(&k, 0).await.unwrap();
    // A caller gives up while its call is in flight: its IDs are skipped, never repeated.
    let gave_up = tokio::time::timeout(Duration::from_millis(5), a.allocate(&k, 10)).await;
    assert!(gave_up.is_err());
    assert_eq!(a.allocate(&k, 1).await.unwrap().start, 11);
    // The store panics during a call: its waiters get an error, the next request is served.
    slow.panic_once.store(true, Ordering::SeqCst);
    let failed = concurrently(&a, &k, 5, |_| 1).await;
    assert!(failed.iter().any(Result::is_err), "{failed:?}");
    let next = a.allocate(&k, 1).await.unwrap();
    assert!(next.start > 11, "{next:?}");
}
