//! Tests of [`BatchingSource`](super::BatchingSource): grouping, per-key answers, a failed
//! batch, and callers that go away.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use kxy_id::{MemoryAllocator, SegmentAllocator};

use super::*;

/// A memory store behind a slow source that counts its calls; batches can be made to fail.
#[derive(Debug)]
struct Counting {
    store: MemoryAllocator,
    singles: AtomicUsize,
    batches: AtomicUsize,
    batch_fails: AtomicBool,
}

impl Counting {
    fn new() -> Arc<Self> {
        Arc::new(Counting {
            store: MemoryAllocator::new(),
            singles: AtomicUsize::new(0),
            batches: AtomicUsize::new(0),
            batch_fails: AtomicBool::new(false),
        })
    }
}

#[async_trait]
impl SegmentSource for Counting {
    async fn fetch(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        self.singles.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        Ok(self.store.allocate(key, count).await?)
    }

    async fn fetch_many(&self, requests: &[(SegmentKey, i64)]) -> Result<Vec<Result<Segment>>> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        if self.batch_fails.load(Ordering::SeqCst) {
            return Err(Error::InvalidConfig("no batch endpoint".into()));
        }
        let mut out = Vec::new();
        for (key, count) in requests {
            out.push(self.store.allocate(key, *count).await.map_err(Error::from));
        }
        Ok(out)
    }

    fn batches(&self) -> bool {
        true
    }
}

fn key(i: usize) -> SegmentKey {
    SegmentKey::new("batching", "db", &format!("t_{i}"), "id").unwrap()
}

/// `n` fetches of `key(i)` (10 IDs each), all at once.
async fn fetch_all(source: &Arc<BatchingSource>, n: usize) -> Vec<Result<Segment>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let source = source.clone();
            tokio::spawn(async move { source.fetch(&key(i), 10).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn seeded(n: usize) -> Arc<Counting> {
    let inner = Counting::new();
    for i in 0..n {
        inner.store.raise_to(&key(i), 100 * i as i64).await.unwrap();
    }
    inner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_that_fall_due_together_go_out_as_one_batch() {
    let inner = seeded(60).await;
    let source = Arc::new(BatchingSource::new(inner.clone()));
    let results = fetch_all(&source, 60).await;
    for (i, r) in results.into_iter().enumerate() {
        let s = r.unwrap();
        assert_eq!((s.start, s.end), (100 * i as i64 + 1, 100 * i as i64 + 10));
    }
    let (singles, batches) = (
        inner.singles.load(Ordering::SeqCst),
        inner.batches.load(Ordering::SeqCst),
    );
    assert!(
        singles <= 1 && batches >= 1 && singles + batches <= 3,
        "{singles} single and {batches} batch calls"
    );
    // A lone fetch goes out at once, on its own.
    source.fetch(&key(0), 1).await.unwrap();
    assert_eq!(inner.singles.load(Ordering::SeqCst), singles + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_gets_its_own_answer_and_a_failed_batch_falls_back_to_single_fetches() {
    let inner = seeded(20).await;
    let source = Arc::new(BatchingSource::new(inner.clone()));
    // Key 20 has no counter: its own error, the others their segments.
    let results = fetch_all(&source, 21).await;
    assert!(results[20].is_err(), "{:?}", results[20]);
    assert!(results[..20].iter().all(Result::is_ok), "{results:?}");
    inner.batch_fails.store(true, Ordering::SeqCst);
    let results = fetch_all(&source, 20).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let batches = inner.batches.load(Ordering::SeqCst);
    // For a while after a failed batch, fetches go out one by one.
    fetch_all(&source, 20).await.into_iter().for_each(|r| {
        r.unwrap();
    });
    assert_eq!(inner.batches.load(Ordering::SeqCst), batches);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_goes_away_strands_nobody() {
    let inner = seeded(5).await;
    let source = Arc::new(BatchingSource::new(inner.clone()));
    let gave_up = tokio::time::timeout(Duration::from_millis(5), source.fetch(&key(0), 10)).await;
    assert!(gave_up.is_err());
    let results = fetch_all(&source, 5).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    // The abandoned segment is skipped, never handed out again.
    assert_eq!(results[0].as_ref().unwrap().start, 11);
}
