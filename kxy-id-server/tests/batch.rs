//! `POST /api/segment/allocate-batch`: each item answered on its own, bad bodies refused as a
//! whole, at most 1,000 items, and ranges that never overlap those of the single endpoint.

mod common;

use std::sync::Arc;

use common::{TestServer, int, settings};
use kxy_id::wire::MAX_BATCH_ITEMS;
use serde_json::{Value, json};

const BATCH: &str = "/api/segment/allocate-batch";

fn item(system: &str, count: i64) -> Value {
    json!({"system_code": system, "db_name": "d", "table_name": "t", "field_name": "id", "segment_count": count})
}

async fn batch(server: &TestServer, items: Vec<Value>) -> (u16, Value) {
    server
        .call("POST", BATCH, Some(json!({ "items": items })), None)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_item_fails_alone_and_the_others_are_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let a = kxy_id::testing::allocator::unique_prefix();
    let b = kxy_id::testing::allocator::unique_prefix();
    server.create_counter(&a, 100).await;
    server.create_counter(&b, i64::MAX - 5).await;
    let too_long = "x".repeat(200);
    let (status, body) = batch(
        &server,
        vec![
            item(&a, 10),
            // No configuration and no counter: 404 for this item only.
            item("no-such-system", 10),
            // Past the end of the range: 400, and the counter is left as it was.
            item(&b, 10),
            // A part too long for a key: 400 with the key's own message.
            json!({"system_code": too_long, "db_name": "d", "table_name": "t", "field_name": "id"}),
            // Past --max-segment-count: 400.
            item(&a, 2_000_000),
            item(&a, 5),
        ],
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(0)), "{body}");
    let results = body["data"]["results"].as_array().expect("results");
    assert_eq!(results.len(), 6, "{body}");
    let codes: Vec<i64> = results
        .iter()
        .map(|r| r["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [0, 404, 400, 400, 400, 0], "{body}");
    assert_eq!(
        (int(&results[0]["start"]), int(&results[0]["end"])),
        (101, 110)
    );
    assert_eq!(
        (int(&results[5]["start"]), int(&results[5]["end"])),
        (111, 115)
    );
    for failed in &results[1..5] {
        assert!(failed.get("start").is_none() && !failed["msg"].as_str().unwrap().is_empty());
    }
    assert_eq!(body["msg"], "Allocated 2 of 6 items");
    // The overflowing counter did not move: 5 IDs are still there.
    let (_, body) = batch(&server, vec![item(&b, 5)]).await;
    assert_eq!(int(&body["data"]["results"][0]["end"]), i64::MAX, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_and_more_than_a_thousand_items_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let system = kxy_id::testing::allocator::unique_prefix();
    server.create_counter(&system, 0).await;

    let (status, body) = batch(&server, vec![item(&system, 1); MAX_BATCH_ITEMS + 1]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["type"], "too_long");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "items"]));
    assert!(
        body["detail"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("at most 1000 items"),
        "{body}"
    );
    let (status, _) = batch(&server, Vec::new()).await;
    assert_eq!(status, 422);
    let (status, _) = server.call("POST", BATCH, Some(json!({})), None).await;
    assert_eq!(status, 422);
    let (status, _) = server
        .call("POST", BATCH, Some(json!({"items": "x"})), None)
        .await;
    assert_eq!(status, 422);
    // One item missing a field refuses the whole request, naming the item and the field;
    // nothing is allocated, not even for the good item.
    let (status, body) = batch(
        &server,
        vec![
            item(&system, 1),
            json!({"system_code": system, "db_name": "d"}),
            json!(7),
        ],
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let locs: Vec<&Value> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["loc"])
        .collect();
    assert_eq!(
        locs,
        [
            &json!(["body", "items", 1, "table_name"]),
            &json!(["body", "items", 1, "field_name"]),
            &json!(["body", "items", 2]),
        ]
    );
    // Exactly 1,000 items are fine, and the counter only moved for them.
    let (status, body) = batch(&server, vec![item(&system, 1); MAX_BATCH_ITEMS]).await;
    assert_eq!(status, 200, "{body}");
    // Items are allocated concurrently, so not in order; together they are 1..=1000.
    let mut starts: Vec<i64> = body["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| int(&r["start"]))
        .collect();
    starts.sort();
    let expected: Vec<i64> = (1..=MAX_BATCH_ITEMS as i64).collect();
    assert_eq!(starts, expected, "the refused requests took nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_and_single_ranges_never_overlap_under_concurrency() {
    let dir = tempfile::tempdir().unwrap();
    let server = Arc::new(TestServer::start(&settings(dir.path(), None)).await);
    let systems: Vec<String> = (0..3)
        .map(|_| kxy_id::testing::allocator::unique_prefix())
        .collect();
    for s in &systems {
        server.create_counter(s, 0).await;
    }
    let mut tasks = Vec::new();
    for i in 0..16 {
        let server = server.clone();
        let systems = systems.clone();
        tasks.push(tokio::spawn(async move {
            let mut ranges = Vec::new();
            for round in 0..10 {
                if (i + round) % 2 == 0 {
                    let items = systems.iter().map(|s| item(s, 7)).collect();
                    let (status, body) = batch(&server, items).await;
                    assert_eq!(status, 200, "{body}");
                    for (s, r) in systems
                        .iter()
                        .zip(body["data"]["results"].as_array().unwrap())
                    {
                        assert_eq!(r["code"], 0, "{body}");
                        ranges.push((s.clone(), int(&r["start"]), int(&r["end"])));
                    }
                } else {
                    let s = &systems[(i + round) % systems.len()];
                    let body = server.allocate(s, "d", "t", "id", 3).await;
                    assert_eq!(body["code"], 0, "{body}");
                    ranges.push((
                        s.clone(),
                        int(&body["data"]["start"]),
                        int(&body["data"]["end"]),
                    ));
                }
            }
            ranges
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    for s in &systems {
        let mut ranges: Vec<(i64, i64)> = all
            .iter()
            .filter(|(k, _, _)| k == s)
            .map(|(_, a, b)| (*a, *b))
            .collect();
        ranges.sort();
        assert_eq!(ranges[0].0, 1);
        for w in ranges.windows(2) {
            assert_eq!(w[0].1 + 1, w[1].0, "disjoint and contiguous: {w:?}");
        }
    }
}
