//! Coalescing (`--coalesce`, the default without reservation): concurrent allocations of one
//! key over HTTP share store calls, and the ranges still tile the counter exactly, never
//! overlap, and rise for each caller. Against a `redis-server` of the test's own, whose
//! command statistics count the store calls.

mod common;

use std::sync::Arc;

use common::{TestServer, int, settings_with};
use kxy_id::testing::redis_server::RedisServer;
use serde_json::json;

const TASKS: i64 = 48;
const EACH: i64 = 25;

/// Calls of the allocation script so far (`EVALSHA` and `EVAL`).
fn script_calls(redis: &RedisServer) -> u64 {
    let stats = redis.cli(&["INFO", "commandstats"]);
    stats
        .lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The value of the unlabelled metric `name` in a `/metrics` text.
fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// `TASKS` callers allocating `EACH` times at once; the ranges each got, in order, and the
/// script calls they cost.
async fn load(redis: &RedisServer, coalesce: &str) -> (Vec<Vec<(i64, i64)>>, i64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let url = redis.url();
    let s = settings_with(
        dir.path(),
        Some(&url),
        &["--reserve", "0", "--coalesce", coalesce],
    );
    let server = Arc::new(TestServer::start(&s).await);
    let system = kxy_id::testing::allocator::unique_prefix();
    let key = server.create_counter(&system, 1_000).await;
    let before = script_calls(redis);
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (server, system) = (server.clone(), system.clone());
            tokio::spawn(async move {
                let mut got = Vec::new();
                for i in 0..EACH {
                    let count = (t + i) % 9 + 1;
                    let body = json!({"system_code": system, "db_name": "d", "table_name": "t",
                        "field_name": "id", "segment_count": count});
                    let (status, answer) = server
                        .call("POST", "/api/segment/allocate", Some(body), None)
                        .await;
                    assert_eq!(
                        (status, answer["code"].as_i64()),
                        (200, Some(0)),
                        "{answer}"
                    );
                    let (start, end) = (int(&answer["data"]["start"]), int(&answer["data"]["end"]));
                    assert_eq!(end - start + 1, count, "{answer}");
                    got.push((start, end));
                }
                got
            })
        })
        .collect();
    let mut per_task = Vec::new();
    for t in tasks {
        per_task.push(t.await.unwrap());
    }
    let calls = script_calls(redis) - before;
    let (_, _, bytes) = server.get_raw("/metrics", &[]).await;
    let metrics = String::from_utf8(bytes.to_vec()).unwrap();
    let coalesced = metric(&metrics, "kxy_id_coalesced_requests_total");
    let store_calls = metric(&metrics, "kxy_id_coalesced_store_calls_total");
    if coalesce == "true" {
        // Every request, and the store calls the server made for them (the script's own count
        // also holds the counter's creation).
        assert_eq!(coalesced, Some((TASKS * EACH) as u64), "{metrics}");
        assert!(store_calls.is_some_and(|c| c <= calls), "{metrics}");
    } else {
        assert_eq!((coalesced, store_calls), (None, None), "{metrics}");
    }
    let counter = server
        .state
        .service
        .allocator()
        .get(&key)
        .await
        .unwrap()
        .unwrap();
    (per_task, counter, calls)
}

/// Every caller's ranges rise; all ranges together tile `1001..=counter` exactly.
fn check(per_task: &[Vec<(i64, i64)>], counter: i64) {
    for got in per_task {
        for pair in got.windows(2) {
            assert!(pair[1].0 > pair[0].1, "a caller went backwards: {pair:?}");
        }
    }
    let mut all: Vec<_> = per_task.iter().flatten().copied().collect();
    all.sort();
    let mut next = 1_001;
    for (start, end) in all {
        assert_eq!(start, next, "gap or overlap at {start}..={end}");
        next = end + 1;
    }
    assert_eq!(
        next - 1,
        counter,
        "the counter is where the last range ends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_store_calls_and_tile_the_counter_exactly() {
    let Some(redis) = RedisServer::start(&[]) else {
        return;
    };
    let requests = (TASKS * EACH) as u64;
    let (per_task, counter, calls) = load(&redis, "true").await;
    check(&per_task, counter);
    assert!(
        calls < requests,
        "{calls} script calls for {requests} coalesced requests"
    );
    eprintln!("coalesced: {requests} requests, {calls} store calls");
    // The same load without coalescing: one call per request, and the same guarantees.
    let (per_task, counter, calls) = load(&redis, "false").await;
    check(&per_task, counter);
    assert!(
        calls >= requests,
        "{calls} script calls for {requests} requests"
    );
}
