//! No ID is handed out twice: concurrent first allocations that all seed one counter, two
//! servers over one Redis, and a restart of a server that reserves blocks ahead.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::business::{db_request, over_mariadb_shared, redis_and_mariadb};
use common::{TestServer, int, settings, settings_with, spawn_each};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// Waits for every allocation and returns their `(start, end)` ranges in order; each must
/// have succeeded.
async fn sorted_ranges(tasks: Vec<JoinHandle<Value>>) -> Vec<(i64, i64)> {
    let mut ranges = Vec::new();
    for t in tasks {
        let body = t.await.unwrap();
        assert_eq!(body["code"], 0, "{body}");
        ranges.push((int(&body["data"]["start"]), int(&body["data"]["end"])));
    }
    ranges.sort();
    ranges
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_first_allocations_initialize_once() {
    let Some((db, server, _dir)) = over_mariadb_shared().await else {
        return;
    };
    let tasks = spawn_each(&server, &db.name, 50, |server, name, _| async move {
        server.allocate("shop", &name, "t_order", "id", 100).await
    });
    let ranges = sorted_ranges(tasks).await;
    assert_eq!(ranges[0].0, 1235);
    for w in ranges.windows(2) {
        assert_eq!(
            w[0].1 + 1,
            w[1].0,
            "ranges must be disjoint and contiguous: {w:?}"
        );
    }
    assert_eq!(ranges.last().unwrap().1, 1234 + 50 * 100);
    db.drop_mysql().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_over_one_redis_never_repeat_ids() {
    let Some(url) = kxy_id::testing::redis_url().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), Some(&url));
    let a = TestServer::start(&s).await;
    let b = TestServer::start(&s).await;
    let system = kxy_id::testing::allocator::unique_prefix();
    a.create_counter(&system, 0).await;
    let mut seen = HashSet::new();
    let mut futures = Vec::new();
    for i in 0..40 {
        let server = if i % 2 == 0 { &a } else { &b };
        futures.push(server.allocate(&system, "d", "t", "id", 25));
    }
    for body in futures_util::future::join_all(futures).await {
        let (start, end) = (int(&body["data"]["start"]), int(&body["data"]["end"]));
        for id in start..=end {
            assert!(seen.insert(id), "id {id} handed out twice");
        }
    }
    assert_eq!(seen.len(), 1000);
    kxy_id::testing::allocator::cleanup(&**a.state.service.allocator(), &system).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_allocations_on_two_servers_sharing_redis_initialize_once() {
    let Some((url, db)) = redis_and_mariadb().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), Some(&url));
    let a = Arc::new(TestServer::start(&s).await);
    let b = Arc::new(TestServer::start(&s).await);
    let system = kxy_id::testing::allocator::unique_prefix();
    let mut req = db_request(&db);
    req["system_code"] = json!(system);
    let token = a.admin_token_for_shared_store().await;
    let guid = a.add_database(&token, req).await;
    let name = db.name.clone();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let server = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (system, name) = (system.clone(), name.clone());
            tokio::spawn(async move { server.allocate(&system, &name, "t_order", "id", 10).await })
        })
        .collect();
    let ranges = sorted_ranges(tasks).await;
    assert_eq!(ranges[0].0, 1235, "seeded from MAX(id) = 1234");
    for w in ranges.windows(2) {
        assert_eq!(w[0].1 + 1, w[1].0, "disjoint and contiguous: {w:?}");
    }
    a.delete_database(&token, &format!("{guid}?purge_segments=true"))
        .await;
    kxy_id::testing::allocator::cleanup(&**a.state.service.allocator(), &system).await;
    db.drop_mysql().await;
}

#[tokio::test]
async fn a_restarted_reserving_server_leaves_a_gap_never_a_repeat() {
    let dir = tempfile::tempdir().unwrap();
    // The embedded default: blocks of 100,000 reserved ahead.
    let s = settings_with(dir.path(), None, &[]);
    assert_eq!(s.reserve_block(), 100_000);
    let first = TestServer::start(&s).await;
    let key = first.create_counter("s", 0).await;
    let mut last = 0;
    for _ in 0..50 {
        let body = first.allocate("s", "d", "t", "id", 100).await;
        assert_eq!(
            int(&body["data"]["start"]),
            last + 1,
            "served contiguously from the block"
        );
        last = int(&body["data"]["end"]);
    }
    // One store write served all 50 requests.
    assert_eq!(
        first.state.service.allocator().get(&key).await.unwrap(),
        Some(100_000)
    );
    first.stop().await;
    let second = TestServer::start(&s).await;
    let after = int(&second.allocate("s", "d", "t", "id", 1).await["data"]["start"]);
    assert!(
        after > 100_000,
        "a restart skips the rest of the block: {after}"
    );
}
