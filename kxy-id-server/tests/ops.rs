//! Operations endpoints and background work: health, unknown paths, the OpenAPI document,
//! the table scanner and `/metrics`.

mod common;

use common::business::{has, over_mariadb};
use common::{TestServer, assert_unknown_paths_are_404s, settings};
use serde_json::Value;

#[tokio::test]
async fn health_and_unknown_paths() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let (status, body) = server.call("GET", "/health", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["msg"], "KXY ID Generator Service is running");
    assert_eq!(body["data"]["status"], "healthy");
    assert!(body.get("traceId").is_none());
    assert_unknown_paths_are_404s(&server).await;
    let (status, spec) = server.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(spec["paths"]["/api/segment/allocate"]["post"].is_object());
    let (status, _) = server.raw("GET", "/docs", b"", None).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanner_runs_on_its_interval_and_metrics_count_it() {
    let Some((db, server, token, guid, _dir)) = over_mariadb().await else {
        return;
    };
    let scanner =
        kxy_id_server::spawn_scanner(server.state.clone(), std::time::Duration::from_millis(200));
    let mut found = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        found = server.discovered(&token, &guid).await["data"].clone();
        if found.as_array().is_some_and(|a| a.len() == 2) {
            break;
        }
    }
    // t_order and t_empty have integer keys and no counters; nothing was written.
    assert!(
        has(&found, "table", "t_order") && has(&found, "table", "t_empty"),
        "{found}"
    );
    assert_eq!(server.stored_counters("").await, 0);
    // Once a key exists its entry goes.
    server.allocate("shop", &db.name, "t_order", "id", 1).await;
    let body = server.discovered(&token, &guid).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
    drop(scanner);
    let (status, body) = server.raw("GET", "/metrics", b"", None).await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Null, "metrics are text, not JSON");
    let (_, _, bytes) = server.get_raw("/metrics", &[]).await;
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains("kxy_id_scanner_runs_total"), "{text}");
    let runs: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("kxy_id_scanner_runs_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!(runs >= 1);
    assert!(text.contains("kxy_id_ids_allocated_total 1"), "{text}");
    assert!(
        text.contains(r#"kxy_id_http_requests_total{route="allocate",outcome="ok"} 1"#),
        "{text}"
    );
    server.stop().await;
    db.drop_mysql().await;
}
