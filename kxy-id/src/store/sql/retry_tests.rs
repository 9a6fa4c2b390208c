//! The paths distributed SQL engines take, run on the servers at hand: PostgreSQL at
//! `SERIALIZABLE` isolation answers concurrent updates of one row with serialization failures
//! (SQLSTATE 40001), as CockroachDB does at every isolation; MariaDB runs TiDB's two-step
//! allocation.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::RERUNS;
use crate::allocator::SegmentAllocator;
use crate::key::{Segment, SegmentKey};
use crate::testing::{TestDatabase, allocator as conformance};

/// `tasks` tasks over `allocators` taking `rounds` segments of 7 IDs each from one key.
async fn race(
    allocators: &[Arc<dyn SegmentAllocator>],
    key: &SegmentKey,
    tasks: usize,
    rounds: usize,
) -> Vec<Segment> {
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let (allocator, key) = (allocators[i % allocators.len()].clone(), key.clone());
            tokio::spawn(async move {
                let mut got = Vec::with_capacity(rounds);
                for _ in 0..rounds {
                    got.push(
                        allocator
                            .allocate(&key, 7)
                            .await
                            .expect("every allocation succeeds"),
                    );
                }
                got
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all
}

/// The segments are disjoint and together exactly cover `1..=last`.
fn assert_tiles(mut segments: Vec<Segment>, last: i64) {
    segments.sort_by_key(|s| s.start);
    let mut next = 1;
    for s in &segments {
        assert_eq!(s.start, next, "a gap or an overlap before {s:?}");
        next = s.end + 1;
    }
    assert_eq!(next - 1, last);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialization_failures_are_run_again() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let url = format!(
        "{}?options=-c%20default_transaction_isolation%3Dserializable",
        db.url
    );
    let connect = || crate::PgAllocator::connect(&url, Duration::from_secs(5));
    let (a, b) = (connect().await.unwrap(), connect().await.unwrap());
    let key = SegmentKey::new("dist", "pg", "t", "id").unwrap();
    a.create(&key, 0).await.unwrap();
    let before = RERUNS.load(Ordering::Relaxed);
    let allocators: Vec<Arc<dyn SegmentAllocator>> = vec![Arc::new(a.clone()), Arc::new(b.clone())];
    let segments = race(&allocators, &key, 6, 40).await;
    assert_tiles(segments, 6 * 40 * 7);
    assert_eq!(a.get(&key).await.unwrap(), Some(6 * 40 * 7));
    // The race really happened: at this isolation the losers were told to retry.
    assert!(
        RERUNS.load(Ordering::Relaxed) > before,
        "no serialization failure was seen"
    );
    a.pool().close().await;
    b.pool().close().await;
    db.remove().await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_step_allocation_conforms() {
    let Some(db) = TestDatabase::mysql().await else {
        return;
    };
    let connect = || crate::MySqlAllocator::connect(&db.url, Duration::from_secs(5));
    let a = connect().await.unwrap().in_two_steps();
    let b = connect().await.unwrap().in_two_steps();
    conformance::run_all(
        Arc::new(a.clone()),
        Arc::new(b.clone()),
        &conformance::unique_prefix(),
    )
    .await;
    let key = SegmentKey::new("dist", "my", "t", "id").unwrap();
    a.create(&key, 0).await.unwrap();
    let allocators: Vec<Arc<dyn SegmentAllocator>> = vec![Arc::new(a.clone()), Arc::new(b.clone())];
    assert_tiles(race(&allocators, &key, 6, 40).await, 6 * 40 * 7);
    a.pool().close().await;
    b.pool().close().await;
    db.remove().await;
}
