//! A Redis store that loses data under a running server, with `redis-server` processes of the
//! tests' own: without a durable store allocation is refused (503 in the envelope, counted in
//! `/metrics`) until an operator recovers; with one, configurations and counters survive and
//! allocation goes on above every ID handed out. `/health` says which promise is in force, and a
//! host where an admin existed keeps `init-user` closed.

mod common;

use common::{TestServer, int, settings_with};
use kxy_id::testing::redis_server::RedisServer;
use kxy_id_server::{Command, run_command};
use serde_json::{Value, json};

const NO_PERSISTENCE: &[&str] = &["--save", "", "--appendonly", "no"];

/// A custom sequence `shop:orders:seq:id` on a server: the admin token.
async fn with_sequence(server: &TestServer) -> String {
    let token = server.admin_token().await;
    let add = json!({"system_code": "shop", "db_type": "mysql", "db_address": "127.0.0.1:1",
                     "db_user": "u", "db_password": "pw", "db_name": "orders"});
    let guid = server.add_database(&token, add).await;
    let body = server
        .add_config(
            &token,
            &guid,
            json!({"table_name": "seq", "field_name": "id", "initial_value": 1000}),
        )
        .await;
    assert_eq!(body["code"], 0, "{body}");
    token
}

/// Allocates `rounds` segments of 1000 on the sequence; the largest ID handed out.
async fn hand_out(server: &TestServer, rounds: usize) -> i64 {
    let mut last = 0;
    for _ in 0..rounds {
        let body = server.allocate("shop", "orders", "seq", "id", 1000).await;
        assert_eq!(body["code"], 0, "{body}");
        let start = int(&body["data"]["start"]);
        assert!(start > last, "{body} after {last}");
        last = int(&body["data"]["end"]);
    }
    last
}

/// A `redis-server` without persistence and a server over it (exact counters): the Redis, the
/// data directory, the settings and the server.
async fn over_a_redis_of_its_own() -> Option<(
    RedisServer,
    tempfile::TempDir,
    kxy_id_server::Settings,
    TestServer,
)> {
    let redis = RedisServer::start(NO_PERSISTENCE)?;
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_with(dir.path(), Some(&redis.url()), &["--reserve", "0"]);
    let server = TestServer::start(&settings).await;
    Some((redis, dir, settings, server))
}

/// `/metrics` has a line containing `sample`.
async fn assert_counted(server: &TestServer, sample: &str) {
    let (_, _, metrics) = server.get_raw("/metrics", &[]).await;
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains(sample), "no {sample} in {metrics}");
}

/// The first answer after a fault that is not a connection error.
async fn first_answer(server: &TestServer) -> Value {
    for _ in 0..50 {
        let body = server.allocate("shop", "orders", "seq", "id", 1000).await;
        let connecting = body["code"] == 503
            && body["msg"]
                .as_str()
                .is_some_and(|m| m.contains("cannot connect"));
        if !connecting {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the server never answered after the fault")
}

#[tokio::test]
async fn without_a_durable_store_a_wiped_redis_is_refused_until_recovered() {
    let Some((mut redis, _dir, settings, server)) = over_a_redis_of_its_own().await else {
        return;
    };
    let (_, health) = server.call("GET", "/health", None, None).await;
    assert_eq!(
        health["data"]["durability"]["mode"], "refuse-on-loss",
        "{health}"
    );
    with_sequence(&server).await;
    let last = hand_out(&server, 20).await;

    redis.restart_empty();
    let body = first_answer(&server).await;
    assert_eq!(body["code"], 503, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("recover"), "{body}");
    assert_counted(&server, r#"route="allocate",outcome="data_loss"} 1"#).await;

    // The admin account went with Redis, but this host remembers one existed.
    let (_, check) = server.call("GET", "/api/auth/check-init", None, None).await;
    assert_eq!(check["data"]["initialized"], true, "{check}");
    let creds = json!({"username": "mallory", "password": "secret123"});
    let (_, body) = server
        .call("POST", "/api/auth/init-user", Some(creds.clone()), None)
        .await;
    assert_eq!(body["code"], 400, "{body}");
    assert!(
        body["msg"].as_str().unwrap().contains("reopen-init"),
        "{body}"
    );

    // The operator recovers, reopens initialization on the host and adds the sequence again.
    let report = run_command(
        &settings,
        &Command::Recover {
            margin: 1_000_000_000,
        },
    )
    .await
    .unwrap();
    assert!(report.contains("raised"), "{report}");
    run_command(&settings, &Command::ReopenInit).await.unwrap();
    with_sequence(&server).await;
    let body = server.allocate("shop", "orders", "seq", "id", 10).await;
    assert_eq!(body["code"], 0, "{body}");
    assert!(
        int(&body["data"]["start"]) > last.max(1_000_000_000),
        "{body}"
    );
}

#[tokio::test]
async fn with_a_durable_store_a_wiped_redis_costs_a_gap_and_keeps_the_configuration() {
    let Some(mut redis) = RedisServer::start(NO_PERSISTENCE) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let durable = format!("sqlite://{}", dir.path().join("durable.db").display());
    let settings = settings_with(
        dir.path(),
        Some(&redis.url()),
        &["--reserve", "0", "--durable-store", &durable],
    );
    let server = TestServer::start(&settings).await;
    let (_, health) = server.call("GET", "/health", None, None).await;
    assert_eq!(
        health["data"]["durability"]["mode"], "durable-marks",
        "{health}"
    );
    let token = with_sequence(&server).await;
    let last = hand_out(&server, 50).await;

    redis.restart_empty();
    let body = first_answer(&server).await;
    assert_eq!(body["code"], 0, "{body}");
    assert!(
        int(&body["data"]["start"]) > last,
        "{body} repeats IDs up to {last}"
    );
    let (_, dbs) = server
        .call("GET", "/api/database/list", None, Some(&token))
        .await;
    assert_eq!(dbs["data"].as_array().map(Vec::len), Some(1), "{dbs}");

    // A second server that starts now, with nothing in memory, is just as safe.
    let other = TestServer::start(&settings).await;
    let body = other.allocate("shop", "orders", "seq", "id", 10).await;
    assert!(int(&body["data"]["start"]) > last, "{body}");
}

#[tokio::test]
async fn export_and_import_carry_configurations_and_counters_to_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let from = settings_with(dir.path(), None, &["--reserve", "0"]);
    let server = TestServer::start(&from).await;
    with_sequence(&server).await;
    let last = hand_out(&server, 3).await;
    server.stop().await;

    let file = dir.path().join("backup.json");
    run_command(
        &from,
        &Command::Export {
            file: Some(file.clone()),
        },
    )
    .await
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the export is private");
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("\"pw\""),
        "database passwords stay encrypted"
    );

    let other_dir = tempfile::tempdir().unwrap();
    let to = settings_with(other_dir.path(), None, &["--reserve", "0"]);
    run_command(&to, &Command::Import { file }).await.unwrap();
    let server = TestServer::start(&to).await;
    let body = server.allocate("shop", "orders", "seq", "id", 10).await;
    assert_eq!(body["code"], 0, "{body}");
    assert!(int(&body["data"]["start"]) > last, "{body}");
}

#[tokio::test]
async fn a_failing_store_answers_503_in_the_envelope_never_a_bare_500() {
    let Some(db) = kxy_id::testing::TestDatabase::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = settings_with(dir.path(), Some(&db.url), &["--reserve", "0"]);
    let server = TestServer::start(&settings).await;
    with_sequence(&server).await;
    hand_out(&server, 1).await;
    // The counter table disappears under the server (an operator's mistake, a bad restore).
    db.execute(&["DROP TABLE kxy_id_segments".to_string()])
        .await;
    let (status, body) = server
        .call(
            "POST",
            "/api/segment/allocate",
            Some(
                json!({"system_code": "shop", "db_name": "orders", "table_name": "seq",
                        "field_name": "id", "segment_count": 10}),
            ),
            None,
        )
        .await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(503)), "{body}");
    assert!(body["msg"].as_str().unwrap().contains("retry"), "{body}");
    assert_counted(&server, r#"route="allocate",outcome="unavailable"} 1"#).await;
    server.stop().await;
    db.remove().await;
}

#[tokio::test]
async fn a_server_started_after_redis_was_wiped_refuses_until_recovered() {
    let Some((mut redis, _dir, settings, server)) = over_a_redis_of_its_own().await else {
        return;
    };
    with_sequence(&server).await;
    let last = hand_out(&server, 5).await;
    server.stop().await;

    // Redis and every server go down; Redis comes back empty, then the server starts.
    redis.restart_empty();
    let server = TestServer::start(&settings).await;
    let key = kxy_id::SegmentKey::new("shop", "orders", "seq", "id").unwrap();
    let allocator = server.state.service.allocator().clone();
    assert!(
        matches!(
            allocator.raise_to(&key, 1000).await,
            Err(kxy_id::Error::DataLoss(_))
        ),
        "a lazy re-seed from the table would repeat IDs up to {last}"
    );
    run_command(&settings, &Command::Recover { margin: 1_000_000 })
        .await
        .unwrap();
    allocator.raise_to(&key, 1000).await.unwrap();
    let segment = allocator.allocate(&key, 10).await.unwrap();
    assert!(segment.start > last.max(1_000_000), "{segment:?}");
}
