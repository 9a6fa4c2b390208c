//! The Redis allocator against the shared test Redis: the conformance suites, the old service's
//! key layout, corrupt counters and an unreachable server.

use std::sync::Arc;

use super::allocator::RedisAllocator;
use super::connection::RedisConnection;
use crate::allocator::SegmentAllocator;
use crate::error::Error;
use crate::key::{Segment, SegmentKey};
use crate::testing::allocator as conformance;
use redis::AsyncCommands;
use std::time::Duration;

async fn allocator() -> Option<RedisAllocator> {
    let url = crate::testing::redis_url().await?;
    Some(
        RedisAllocator::connect(&url, Duration::from_secs(5))
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_allocator_conforms_with_two_connections() {
    let Some(a) = allocator().await else { return };
    let Some(b) = allocator().await else { return };
    conformance::run_all(Arc::new(a), Arc::new(b), &conformance::unique_prefix()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserving_over_redis_conforms() {
    let Some(a) = allocator().await else { return };
    let Some(b) = allocator().await else { return };
    let opts = crate::ReserveOptions {
        min_block: 5,
        max_block: 40,
        ..Default::default()
    };
    let a = Arc::new(crate::ReservingAllocator::new(Arc::new(a), opts.clone()));
    let b = Arc::new(crate::ReservingAllocator::new(Arc::new(b), opts));
    conformance::run_all_reserving(a, b, &conformance::unique_prefix()).await;
}

/// Writes `value` into the counter of `key` as the old service did; the connection and
/// the Redis key.
async fn written_as_the_old_service(
    a: &RedisAllocator,
    key: &SegmentKey,
    value: &str,
) -> (RedisConnection, String) {
    let mut conn = a.connection();
    let raw_key = format!("kxy:id:segment:{key}");
    let _: () = conn.set(&raw_key, value).await.unwrap();
    (conn, raw_key)
}

#[tokio::test]
async fn counters_use_the_old_service_layout() {
    let Some(a) = allocator().await else { return };
    let system = conformance::unique_prefix();
    let key = SegmentKey::new(&system, "Shop", "Orders", "ID").unwrap();
    // The old service wrote plain integers with INCRBY / SET.
    let (mut conn, raw_key) = written_as_the_old_service(&a, &key, "9007199254740993").await;
    assert_eq!(raw_key, format!("kxy:id:segment:{system}:shop:orders:id"));
    assert_eq!(
        a.allocate(&key, 10).await.unwrap(),
        Segment {
            start: 9007199254740994,
            end: 9007199254741003
        }
    );
    let raw: String = conn.get(&raw_key).await.unwrap();
    assert_eq!(raw, "9007199254741003");
    conformance::cleanup(&a, &system).await;
}

#[tokio::test]
async fn a_corrupt_counter_is_reported_and_left_alone() {
    let Some(a) = allocator().await else { return };
    let system = conformance::unique_prefix();
    let key = SegmentKey::new(&system, "db", "tp_keycloak_account", "id").unwrap();
    let uuid = "0b7e8c1a-2f7d-4c55-9a55-6b1e7b0b9d11";
    let (mut conn, raw_key) = written_as_the_old_service(&a, &key, uuid).await;
    assert!(
        matches!(a.allocate(&key, 1).await, Err(Error::CorruptCounter { ref value, .. }) if value == uuid)
    );
    assert!(matches!(
        a.raise_to(&key, 5).await,
        Err(Error::CorruptCounter { .. })
    ));
    assert!(matches!(
        a.get(&key).await,
        Err(Error::CorruptCounter { .. })
    ));
    let raw: String = conn.get(&raw_key).await.unwrap();
    assert_eq!(raw, uuid);
    // Listing skips it rather than failing.
    assert!(a.list(&format!("{system}:")).await.unwrap().is_empty());
    let _: () = conn.del(&raw_key).await.unwrap();
}

#[tokio::test]
async fn unreachable_redis_is_a_connect_error() {
    let err = RedisAllocator::connect("redis://:secret@127.0.0.1:1/", Duration::from_secs(1))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Connect { .. }), "{msg}");
    assert!(
        msg.contains("127.0.0.1:1") && !msg.contains("secret"),
        "{msg}"
    );
}
