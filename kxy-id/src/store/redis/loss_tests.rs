//! Redis losing data under a running allocator, with real `redis-server` processes of the
//! tests' own: restarted empty, killed and restored from an older snapshot, a counter moved
//! back behind the allocator's back. With durable marks the allocator resumes above every ID
//! it handed out; without them it refuses until `recover`.

use std::sync::Arc;
use std::time::Duration;

use super::RedisAllocator;
use crate::allocator::SegmentAllocator;
use crate::error::Error;
use crate::key::SegmentKey;
use crate::store::SqliteAllocator;
use crate::testing::allocator::{run_all, unique_prefix};
use crate::testing::redis_server::RedisServer;

const NO_PERSISTENCE: &[&str] = &["--save", "", "--appendonly", "no"];

fn key() -> SegmentKey {
    SegmentKey::new(&unique_prefix(), "db", "t_order", "id").unwrap()
}

async fn plain(redis: &RedisServer) -> RedisAllocator {
    RedisAllocator::connect(&redis.url(), Duration::from_secs(5))
        .await
        .unwrap()
}

/// An allocator with durable marks in an SQLite file of `dir`.
async fn with_marks(redis: &RedisServer, dir: &std::path::Path) -> RedisAllocator {
    let marks = SqliteAllocator::open(dir.join("marks.db")).await.unwrap();
    plain(redis).await.with_marks(Arc::new(marks))
}

/// Allocates `rounds` segments of `count`; the largest ID handed out.
async fn hand_out(a: &RedisAllocator, key: &SegmentKey, rounds: usize, count: i64) -> i64 {
    let mut last = 0;
    for _ in 0..rounds {
        let segment = a.allocate(key, count).await.unwrap();
        assert!(segment.start > last, "{segment:?} after {last}");
        last = segment.end;
    }
    last
}

/// The first allocation after a fault, riding through the connection errors of the restart.
async fn first_after_fault(a: &RedisAllocator, key: &SegmentKey) -> crate::Result<crate::Segment> {
    for _ in 0..50 {
        match a.allocate(key, 10).await {
            Err(Error::Connect { .. }) => tokio::time::sleep(Duration::from_millis(100)).await,
            other => return other,
        }
    }
    a.allocate(key, 10).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocator_with_marks_conforms() {
    let Some(redis) = RedisServer::start(NO_PERSISTENCE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = with_marks(&redis, dir.path()).await;
    let b = with_marks(&redis, dir.path()).await;
    run_all(Arc::new(a), Arc::new(b), &unique_prefix()).await;
}

#[tokio::test]
async fn marks_carry_counters_over_a_redis_that_restarted_empty() {
    let Some(mut redis) = RedisServer::start(NO_PERSISTENCE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = with_marks(&redis, dir.path()).await;
    let k = key();
    a.raise_to(&k, 1000).await.unwrap(); // MAX(pk) of the table
    let last = hand_out(&a, &k, 200, 500).await;
    redis.restart_empty();
    let next = first_after_fault(&a, &k).await.unwrap();
    assert!(next.start > last, "{next:?} repeats IDs up to {last}");
    // A second server that starts only now (no memory of the old Redis) is safe too.
    let b = with_marks(&redis, dir.path()).await;
    let from_b = b.allocate(&k, 10).await.unwrap();
    assert!(from_b.start > next.end, "{from_b:?}");
}

#[tokio::test]
async fn marks_carry_counters_over_a_snapshot_from_the_past() {
    let Some(mut redis) = RedisServer::start(&["--save", "", "--appendonly", "no"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = with_marks(&redis, dir.path()).await;
    let k = key();
    a.raise_to(&k, 0).await.unwrap();
    hand_out(&a, &k, 50, 1000).await;
    redis.cli(&["SAVE"]);
    let old = dir.path().join("old.rdb");
    std::fs::copy(redis.dump_path(), &old).unwrap();
    let last = hand_out(&a, &k, 500, 1000).await;
    redis.kill();
    std::fs::copy(&old, redis.dump_path()).unwrap();
    redis.restart();
    assert!(
        redis
            .cli(&["GET", &format!("kxy:id:segment:{k}")])
            .trim()
            .parse::<i64>()
            .unwrap()
            < last,
        "the snapshot holds an older counter"
    );
    let next = first_after_fault(&a, &k).await.unwrap();
    assert!(next.start > last, "{next:?} repeats IDs up to {last}");
}

#[tokio::test]
async fn without_marks_a_restarted_redis_is_refused_until_recovered() {
    let Some(mut redis) = RedisServer::start(NO_PERSISTENCE) else {
        return;
    };
    let a = plain(&redis).await;
    let k = key();
    a.raise_to(&k, 1000).await.unwrap();
    let last = hand_out(&a, &k, 20, 1000).await;
    redis.restart_empty();
    match first_after_fault(&a, &k).await {
        Err(Error::DataLoss(msg)) => assert!(msg.contains("recover"), "{msg}"),
        other => panic!("a restarted Redis was used: {other:?}"),
    }
    // Re-seeding the lost counter from the table (lazy initialization) is refused too.
    assert!(matches!(
        a.raise_to(&k, 1000).await,
        Err(Error::DataLoss(_))
    ));
    // The operator recovers (as `kxy-id-server recover` does, from another process).
    let operator = plain(&redis).await;
    operator.recover(10_000_000).await.unwrap();
    // The lost counter comes back above the floor, through lazy initialization.
    a.raise_to(&k, 1000).await.unwrap();
    let next = a.allocate(&k, 10).await.unwrap();
    assert!(next.start > last && next.start > 10_000_000, "{next:?}");
}

#[tokio::test]
async fn without_marks_a_counter_moved_back_is_refused() {
    let Some(redis) = RedisServer::start(NO_PERSISTENCE) else {
        return;
    };
    let a = plain(&redis).await;
    let k = key();
    a.raise_to(&k, 0).await.unwrap();
    let last = hand_out(&a, &k, 10, 100).await;
    // The old service's re-initialize writes MAX(pk) over the counter.
    redis.cli(&["SET", &format!("kxy:id:segment:{k}"), "5"]);
    assert!(matches!(a.allocate(&k, 10).await, Err(Error::DataLoss(_))));
    redis.cli(&["DEL", &format!("kxy:id:segment:{k}")]);
    assert!(matches!(a.allocate(&k, 10).await, Err(Error::DataLoss(_))));
    assert!(last > 0);
}

#[tokio::test]
async fn with_marks_a_counter_moved_back_resumes_above_the_mark() {
    let Some(redis) = RedisServer::start(NO_PERSISTENCE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = with_marks(&redis, dir.path()).await;
    let k = key();
    a.raise_to(&k, 0).await.unwrap();
    let last = hand_out(&a, &k, 10, 100).await;
    redis.cli(&["SET", &format!("kxy:id:segment:{k}"), "5"]);
    let next = a.allocate(&k, 10).await.unwrap();
    assert!(next.start > last, "{next:?}");
    redis.cli(&["DEL", &format!("kxy:id:segment:{k}")]);
    let next2 = a.allocate(&k, 10).await.unwrap();
    assert!(next2.start > next.end, "{next2:?}");
}
