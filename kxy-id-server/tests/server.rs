//! The HTTP API end to end: in-process servers on 127.0.0.1:0, the embedded store, Redis,
//! and business tables in the real MariaDB.

mod common;

use std::collections::HashSet;

use common::{TestServer, int, settings, settings_with};
use kxy_id::testing::TestDatabase;
use serde_json::{Value, json};

fn has(list: &Value, field: &str, value: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|e| e[field] == value))
}

#[tokio::test]
async fn health_and_unknown_paths() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let (status, body) = server.call("GET", "/health", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["msg"], "KXY ID Generator Service is running");
    assert_eq!(body["data"]["status"], "healthy");
    assert!(body.get("traceId").is_none());
    assert_eq!(
        server.call("GET", "/api/nothing", None, None).await,
        (404, json!({"code": 404, "msg": "Not found", "data": null}))
    );
    // A GET elsewhere is a client-side route of the admin UI (tests/ui.rs).
    assert_eq!(
        server.call("POST", "/nothing", None, None).await,
        (404, json!({"detail": "Not Found"}))
    );
    let (status, spec) = server.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(spec["paths"]["/api/segment/allocate"]["post"].is_object());
    let (status, _) = server.raw("GET", "/docs", b"", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn auth_flow_and_401_details() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let (_, body) = server.call("GET", "/api/auth/check-init", None, None).await;
    assert_eq!(
        body,
        json!({"code": 0, "msg": "", "data": {"initialized": false}, "traceId": null})
    );
    let (_, body) = server
        .call(
            "POST",
            "/api/auth/login",
            Some(json!({"username": "admin", "password": "secret123"})),
            None,
        )
        .await;
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (
            Some(400),
            Some("System not initialized. Please initialize first.")
        )
    );
    // Bounds of init-user are 422s naming the field.
    let (status, body) = server
        .call(
            "POST",
            "/api/auth/init-user",
            Some(json!({"username": "ab", "password": "123"})),
            None,
        )
        .await;
    assert_eq!(status, 422);
    let locs: Vec<_> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"][1].clone())
        .collect();
    assert_eq!(locs, [json!("username"), json!("password")]);
    let (_, body) = server
        .call(
            "POST",
            "/api/auth/init-user",
            Some(json!({"username": "admin", "password": "secret123"})),
            None,
        )
        .await;
    assert_eq!(body["msg"], "System initialized successfully");
    assert_eq!(body["data"]["username"], "admin");
    let (_, body) = server
        .call(
            "POST",
            "/api/auth/init-user",
            Some(json!({"username": "other", "password": "secret123"})),
            None,
        )
        .await;
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (Some(400), Some("System already initialized"))
    );
    let (_, body) = server
        .call(
            "POST",
            "/api/auth/login",
            Some(json!({"username": "admin", "password": "wrong-pw"})),
            None,
        )
        .await;
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (Some(401), Some("Invalid username or password"))
    );
    let token = server.admin_token().await;
    // The stored password is a bcrypt hash.
    let stored = server
        .state
        .service
        .meta()
        .get(kxy_id::store::names::SYSTEM_PASSWORD)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.starts_with("$2"), "{stored}");

    assert_eq!(
        server.call("GET", "/api/database/list", None, None).await,
        (401, json!({"detail": "Authorization header missing"}))
    );
    let (status, body) = server
        .raw("GET", "/api/database/list", b"", Some("x y"))
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"detail": "Invalid authorization header format"})
        )
    );
    assert_eq!(
        server
            .call("GET", "/api/database/list", None, Some("not-a-token"))
            .await
            .1,
        json!({"detail": "Invalid or expired token"})
    );
    let (status, body) = server
        .call("GET", "/api/database/list", None, Some(&token))
        .await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(0)));
}

#[tokio::test]
async fn invalid_bodies_are_422_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let (status, body) = server
        .raw("POST", "/api/segment/allocate", b"{not json", None)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    let (status, body) = server
        .call(
            "POST",
            "/api/segment/allocate",
            Some(json!({"system_code": "s"})),
            None,
        )
        .await;
    assert_eq!(status, 422);
    let missing: HashSet<_> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["loc"][1].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        missing,
        ["db_name", "table_name", "field_name"]
            .map(String::from)
            .into()
    );
    for bad in [
        json!(0),
        json!(-5),
        json!("abc"),
        json!(1.5),
        json!(9223372036854775808u64),
    ] {
        let req = json!({"system_code": "s", "db_name": "d", "table_name": "t", "field_name": "f", "segment_count": bad});
        let (status, body) = server
            .call("POST", "/api/segment/allocate", Some(req), None)
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["detail"][0]["loc"], json!(["body", "segment_count"]));
    }
    // 64 KiB is the limit.
    let big = format!("{{\"system_code\": \"{}\"}}", "x".repeat(70 * 1024));
    let (status, _) = server
        .raw("POST", "/api/segment/allocate", big.as_bytes(), None)
        .await;
    assert_eq!(status, 413);
    assert!(
        server
            .state
            .service
            .allocator()
            .list("")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn custom_counters_overflow_and_big_integers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let token = server.admin_token().await;
    let add = json!({"system_code": "Shop", "db_type": "mysql", "db_address": "127.0.0.1:1", "db_user": "u", "db_password": "pw", "db_name": "Orders"});
    let (_, body) = server
        .call("POST", "/api/database/add", Some(add), Some(&token))
        .await;
    assert_eq!(body["msg"], "Database configuration added successfully");
    assert_eq!(body["data"]["db_password"], "", "passwords never come back");
    let guid = body["data"]["guid"].as_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&guid).unwrap().get_version_num(), 4);
    // A second configuration for the same system and database would make lazy init ambiguous.
    let again = json!({"system_code": "shop", "db_type": "postgresql", "db_address": "h", "db_user": "u", "db_password": "", "db_name": "ORDERS"});
    let (_, body) = server
        .call("POST", "/api/database/add", Some(again), Some(&token))
        .await;
    assert_eq!(body["code"], 409, "{body}");
    assert_eq!(
        body["msg"],
        "Configuration already exists for system_code shop, db_name ORDERS"
    );
    // Renaming another configuration onto it is refused the same way; updating itself is fine.
    let other = json!({"system_code": "shop", "db_type": "mysql", "db_address": "127.0.0.1:1", "db_user": "u", "db_password": "", "db_name": "other"});
    let other_guid = server.add_database(&token, other.clone()).await;
    let mut onto = other.clone();
    onto["db_name"] = json!("orders");
    let (_, body) = server
        .call(
            "PUT",
            &format!("/api/database/{other_guid}"),
            Some(onto),
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 409, "{body}");
    let (_, body) = server
        .call(
            "PUT",
            &format!("/api/database/{other_guid}"),
            Some(other),
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 0, "{body}");
    server
        .call(
            "DELETE",
            &format!("/api/database/{other_guid}"),
            None,
            Some(&token),
        )
        .await;

    let cfg = |t: &str, v: i64| json!({"table_name": t, "field_name": "seq", "initial_value": v});
    let path = format!("/api/database/{guid}/add-config");
    let (_, body) = server
        .call(
            "POST",
            &path,
            Some(cfg("Invoice", 9007199254740990)),
            Some(&token),
        )
        .await;
    assert_eq!(
        body["msg"], "Custom configuration added successfully",
        "{body}"
    );
    assert_eq!(body["data"]["segment_key"], "shop:orders:invoice:seq");
    let (_, body) = server
        .call("POST", &path, Some(cfg("invoice", 0)), Some(&token))
        .await;
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (
            Some(409),
            Some("Configuration already exists for shop:orders:invoice:seq")
        )
    );

    // Past 2^53 the response carries strings.
    let body = server
        .allocate("SHOP", "orders", "INVOICE", "seq", 10)
        .await;
    assert_eq!(
        body["data"],
        json!({"start": 9007199254740991i64, "end": "9007199254741000"})
    );
    assert_eq!(
        body["msg"],
        "Allocated segment: 9007199254740991 to 9007199254741000"
    );

    // Overflow: 400, counter unchanged.
    server
        .call(
            "POST",
            &path,
            Some(cfg("near-max", i64::MAX - 5)),
            Some(&token),
        )
        .await;
    let body = server
        .allocate("shop", "orders", "near-max", "seq", 6)
        .await;
    assert_eq!(body["code"], 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("overflow"));
    let body = server
        .allocate("shop", "orders", "near-max", "seq", 5)
        .await;
    assert_eq!(int(&body["data"]["end"]), i64::MAX);

    // Counters listing, filterable, big values as strings.
    let (_, body) = server
        .call(
            "GET",
            "/api/segment/counters?system_code=shop&db_name=orders",
            None,
            Some(&token),
        )
        .await;
    let list = body["data"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["value"], "9007199254741000");
    let (_, body) = server
        .call(
            "GET",
            "/api/segment/counters?system_code=nobody",
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["data"], json!([]));

    // A configuration without db_name cannot hold custom counters.
    let add = json!({"system_code": "x", "db_type": "postgresql", "db_address": "h", "db_user": "u", "db_password": ""});
    let (_, body) = server
        .call("POST", "/api/database/add", Some(add), Some(&token))
        .await;
    let guid2 = body["data"]["guid"].as_str().unwrap().to_owned();
    let (_, body) = server
        .call(
            "POST",
            &format!("/api/database/{guid2}/add-config"),
            Some(cfg("t", 0)),
            Some(&token),
        )
        .await;
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (Some(400), Some("Database name not configured"))
    );

    // Unknown guid.
    let (_, body) = server
        .call(
            "GET",
            "/api/database/00000000-0000-4000-8000-000000000000",
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 404);
    assert_eq!(
        body["msg"],
        "Database config with guid 00000000-0000-4000-8000-000000000000 not found"
    );

    // Deleting keeps counters unless asked to purge.
    let (_, body) = server
        .call(
            "DELETE",
            &format!("/api/database/{guid}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["data"]["deleted"], true);
    assert_eq!(
        server
            .state
            .service
            .allocator()
            .list("shop:")
            .await
            .unwrap()
            .len(),
        2
    );
    let (_, body) = server
        .call(
            "DELETE",
            &format!("/api/database/{guid2}?purge_segments=true"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["data"]["deleted"], true);
}

#[tokio::test]
async fn a_restarted_reserving_server_leaves_a_gap_never_a_repeat() {
    let dir = tempfile::tempdir().unwrap();
    // The embedded default: blocks of 100,000 reserved ahead.
    let s = settings_with(dir.path(), None, &[]);
    assert_eq!(s.reserve_block(), 100_000);
    let first = TestServer::start(&s).await;
    let key = kxy_id::SegmentKey::new("s", "d", "t", "id").unwrap();
    first
        .state
        .service
        .allocator()
        .create(&key, 0)
        .await
        .unwrap();
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

#[tokio::test]
async fn a_restarted_server_continues_after_the_last_id() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), None);
    let first = TestServer::start(&s).await;
    let token = first.admin_token().await;
    let add = json!({"system_code": "s", "db_type": "mysql", "db_address": "127.0.0.1:1", "db_user": "u", "db_password": "pw", "db_name": "d"});
    let guid = first.add_database(&token, add).await;
    first
        .call(
            "POST",
            &format!("/api/database/{guid}/add-config"),
            Some(json!({"table_name": "t", "field_name": "id"})),
            Some(&token),
        )
        .await;
    let before = int(&first.allocate("s", "d", "t", "id", 1000).await["data"]["end"]);
    first.stop().await;
    let second = TestServer::start(&s).await;
    let after = int(&second.allocate("s", "d", "t", "id", 1).await["data"]["start"]);
    assert_eq!(after, before + 1);
    // The admin and the encrypted configuration survive too.
    let token = second.admin_token().await;
    let (_, body) = second
        .call("GET", &format!("/api/database/{guid}"), None, Some(&token))
        .await;
    assert_eq!(body["data"]["system_code"], "s");
    assert_eq!(
        second
            .state
            .service
            .get_database(&guid)
            .await
            .unwrap()
            .db_password,
        "pw"
    );
}

async fn mysql_fixture(db: &TestDatabase) {
    use sqlx::Connection;
    let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
    for sql in [
        "CREATE TABLE t_order (id BIGINT PRIMARY KEY, note VARCHAR(20))",
        "INSERT INTO t_order VALUES (41, 'a'), (1234, 'b')",
        "CREATE TABLE t_empty (id INT PRIMARY KEY)",
        "CREATE TABLE tp_account (ACCOUNT_ID VARCHAR(36) PRIMARY KEY)",
        "CREATE TABLE tp_keycloak_account (id VARCHAR(36) NOT NULL PRIMARY KEY, account_id VARCHAR(36) NOT NULL UNIQUE, \
         CONSTRAINT fk_kc FOREIGN KEY (account_id) REFERENCES tp_account (ACCOUNT_ID) ON DELETE CASCADE ON UPDATE CASCADE)",
        "INSERT INTO tp_account VALUES ('0b7e8c1a-2f7d-4c55-9a55-6b1e7b0b9d11')",
        "INSERT INTO tp_keycloak_account VALUES ('5f0c0b7e-8c1a-4f7d-9c55-9a556b1e7b0b', '0b7e8c1a-2f7d-4c55-9a55-6b1e7b0b9d11')",
        "CREATE TABLE t_log (ts INT)",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let _ = conn.close().await;
}

fn db_request(db: &TestDatabase) -> Value {
    let url = db.server_url.trim_start_matches("mysql://");
    let (userinfo, host) = url.rsplit_once('@').unwrap_or(("root", url));
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    json!({"system_code": "Shop", "db_type": "mysql", "db_address": host.trim_end_matches('/'), "db_user": user, "db_password": password, "db_name": db.name})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_api_over_a_real_mariadb() {
    let Some(db) = TestDatabase::mysql().await else {
        return;
    };
    mysql_fixture(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let token = server.admin_token().await;
    let guid = server.add_database(&token, db_request(&db)).await;
    let name = db.name.as_str();

    // Lazy initialization on first allocation seeds from MAX(id).
    let body = server.allocate("shop", name, "t_order", "id", 10).await;
    assert_eq!(body["data"], json!({"start": 1235, "end": 1244}), "{body}");

    // A UUID key: 400 naming the column and type, nothing written.
    let body = server
        .allocate("shop", name, "tp_keycloak_account", "id", 10)
        .await;
    assert_eq!(body["code"], 400, "{body}");
    let msg = body["msg"].as_str().unwrap();
    assert!(
        msg.contains("id") && msg.to_lowercase().contains("varchar"),
        "{msg}"
    );
    let key = kxy_id::SegmentKey::new("shop", name, "tp_keycloak_account", "id").unwrap();
    assert_eq!(
        server.state.service.allocator().get(&key).await.unwrap(),
        None
    );

    // A missing table: 404, then the failure marker answers without the database.
    let body = server
        .allocate("shop", name, "no_such_table", "id", 1)
        .await;
    assert_eq!(body["code"], 404);
    assert_eq!(
        body["msg"],
        format!(
            "Table 'no_such_table' or field 'id' does not exist in database '{name}'. Please check your database schema."
        )
    );
    let body = server
        .allocate("shop", name, "no_such_table", "id", 1)
        .await;
    assert_eq!(
        body["msg"],
        format!(
            "Table or field does not exist for key: shop:{name}:no_such_table:id. Please check your database configuration."
        )
    );

    // No configuration for the system.
    let body = server.allocate("nobody", name, "t_order", "id", 1).await;
    assert_eq!(body["code"], 404);
    assert_eq!(
        body["msg"],
        format!(
            "Database configuration not found for system_code: nobody, db_name: {name}. Please add database configuration first."
        )
    );

    // The scanner records t_empty (integer key, no counter) and nothing else.
    server.state.service.scan_once().await.unwrap();
    let (_, body) = server
        .call(
            "GET",
            &format!("/api/database/{guid}/discovered-tables"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(
        body["data"],
        json!([{"database": name, "table": "t_empty", "primary_key": "id", "max_id": 0}]),
        "{body}"
    );
    let (_, body) = server
        .call(
            "POST",
            &format!("/api/database/{guid}/approve"),
            Some(json!({"database": name, "table": "t_empty"})),
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 0, "{body}");
    let (_, body) = server
        .call(
            "GET",
            &format!("/api/database/{guid}/discovered-tables"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["data"], json!([]));

    // Initialize: t_order is already ahead (never moved back), tp_keycloak_account skipped with its reason.
    let (_, body) = server
        .call(
            "POST",
            &format!("/api/database/initialize/{guid}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 0, "{body}");
    let data = &body["data"];
    assert!(
        has(
            &data["already_ahead"],
            "key",
            &format!("shop:{name}:t_order:id")
        ),
        "{data}"
    );
    assert!(
        has(&data["skipped"], "table", "tp_keycloak_account"),
        "{data}"
    );
    assert!(has(&data["skipped"], "table", "t_log"), "{data}");
    assert_eq!(
        data["initialized_count"],
        data["segments"].as_array().unwrap().len()
    );
    let body = server.allocate("shop", name, "t_order", "id", 1).await;
    assert_eq!(body["data"]["start"], 1245);

    // Update with an empty password keeps the stored one (initialize still connects).
    let mut update = db_request(&db);
    update["db_password"] = json!("");
    update["db_address"] = json!(update["db_address"].as_str().unwrap());
    let (_, body) = server
        .call(
            "PUT",
            &format!("/api/database/{guid}"),
            Some(update),
            Some(&token),
        )
        .await;
    assert_eq!(body["msg"], "Database configuration updated successfully");
    let (_, body) = server
        .call(
            "POST",
            &format!("/api/database/initialize/{guid}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 0, "{body}");

    // An unreachable database: initialize fails with the old 500 message.
    let mut bad = db_request(&db);
    bad["db_address"] = json!("127.0.0.1:1");
    let (_, body) = server
        .call(
            "PUT",
            &format!("/api/database/{guid}"),
            Some(bad),
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 0);
    let (_, body) = server
        .call(
            "POST",
            &format!("/api/database/initialize/{guid}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 500);
    assert!(
        body["msg"]
            .as_str()
            .unwrap()
            .starts_with("Failed to initialize database: "),
        "{body}"
    );
    // The scanner survives a database being down.
    let summary = server.state.service.scan_once().await.unwrap();
    assert_eq!(summary.failed, 1);

    server.stop().await;
    db.drop_mysql().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_first_allocations_initialize_once() {
    let Some(db) = TestDatabase::mysql().await else {
        return;
    };
    mysql_fixture(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let server = std::sync::Arc::new(TestServer::start(&settings(dir.path(), None)).await);
    let token = server.admin_token().await;
    server
        .call(
            "POST",
            "/api/database/add",
            Some(db_request(&db)),
            Some(&token),
        )
        .await;
    let name = db.name.clone();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let server = server.clone();
            let name = name.clone();
            tokio::spawn(async move { server.allocate("shop", &name, "t_order", "id", 100).await })
        })
        .collect();
    let mut ranges = Vec::new();
    for t in tasks {
        let body = t.await.unwrap();
        assert_eq!(body["code"], 0, "{body}");
        ranges.push((int(&body["data"]["start"]), int(&body["data"]["end"])));
    }
    ranges.sort();
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
    let key = kxy_id::SegmentKey::new(&system, "d", "t", "id").unwrap();
    a.state.service.allocator().create(&key, 0).await.unwrap();
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
async fn takes_over_a_redis_filled_by_the_old_service() {
    use redis::AsyncCommands;
    let Some(url) = kxy_id::testing::redis_url().await else {
        return;
    };
    let Some(db) = TestDatabase::mysql().await else {
        return;
    };
    mysql_fixture(&db).await;
    // The old service keeps one deployment per Redis database: use a spare database number.
    let base = url
        .trim_end_matches('/')
        .rsplit_once('/')
        .filter(|(_, n)| n.parse::<u32>().is_ok())
        .map(|(b, _)| b)
        .unwrap_or(url.trim_end_matches('/'));
    let url = format!("{base}/13");
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    let guid = "7d3c5e8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
    let mut config = db_request(&db);
    config["guid"] = json!(guid);
    let name = db.name.clone();
    let _: () = conn
        .set(format!("kxy:id:db_config:{guid}"), config.to_string())
        .await
        .unwrap();
    let _: () = conn
        .set(format!("kxy:id:segment:shop:{name}:t_order:id"), "5000")
        .await
        .unwrap();
    let _: () = conn.set("kxy:id:system:init", "1").await.unwrap();
    let _: () = conn.set("kxy:id:system:username", "admin").await.unwrap();
    let legacy = kxy_id_server::auth::des_encrypt_hex("old-pass-1", "f87e43f9");
    let _: () = conn.set("kxy:id:system:password", &legacy).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), Some(&url))).await;
    // Counters continue without a gap or a repeat.
    let body = server.allocate("shop", &name, "t_order", "id", 10).await;
    assert_eq!(body["data"], json!({"start": 5001, "end": 5010}));
    // The legacy DES password works once and is replaced by bcrypt.
    let login = json!({"username": "admin", "password": "old-pass-1"});
    let (_, body) = server
        .call("POST", "/api/auth/login", Some(login.clone()), None)
        .await;
    assert_eq!(body["code"], 0, "{body}");
    let stored: String = conn.get("kxy:id:system:password").await.unwrap();
    assert!(stored.starts_with("$2"), "{stored}");
    let (_, body) = server
        .call("POST", "/api/auth/login", Some(login), None)
        .await;
    assert_eq!(body["code"], 0, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_owned();
    // The old plain-text configuration reads back (password hidden) and still connects.
    let (_, body) = server
        .call("GET", &format!("/api/database/{guid}"), None, Some(&token))
        .await;
    assert_eq!(body["data"]["system_code"], "Shop");
    assert_eq!(body["data"]["db_password"], "");
    let (_, body) = server
        .call(
            "POST",
            &format!("/api/database/initialize/{guid}"),
            None,
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 0, "{body}");
    let current: String = conn
        .get(format!("kxy:id:segment:shop:{name}:t_order:id"))
        .await
        .unwrap();
    assert_eq!(current, "5010", "initialize never moves a counter back");
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    server.stop().await;
    db.drop_mysql().await;
}

/// Every store the server can use keeps counters, admin and configurations across a restart.
async fn store_survives_a_restart(store: &str) {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), Some(store));
    let first = TestServer::start(&s).await;
    let token = first.admin_token().await;
    let add = json!({"system_code": "st", "db_type": "postgresql", "db_address": "127.0.0.1:1", "db_user": "u", "db_password": "pw!", "db_name": "d"});
    let guid = first.add_database(&token, add).await;
    let (_, body) = first
        .call(
            "POST",
            &format!("/api/database/{guid}/add-config"),
            Some(json!({"table_name": "t", "field_name": "id", "initial_value": 41})),
            Some(&token),
        )
        .await;
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(
        first.allocate("st", "d", "t", "id", 10).await["data"],
        json!({"start": 42, "end": 51})
    );
    first.stop().await;
    let second = TestServer::start(&s).await;
    assert_eq!(
        second.allocate("st", "d", "t", "id", 1).await["data"],
        json!({"start": 52, "end": 52})
    );
    let token = second.admin_token().await;
    let (_, body) = second
        .call("GET", "/api/database/list", None, Some(&token))
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        second
            .state
            .service
            .get_database(&guid)
            .await
            .unwrap()
            .db_password,
        "pw!"
    );
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mysql_store_keeps_everything() {
    let Some(db) = TestDatabase::mysql().await else {
        return;
    };
    store_survives_a_restart(&db.url).await;
    db.drop_mysql().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_keeps_everything() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    store_survives_a_restart(&db.url).await;
    db.drop_postgres().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanner_runs_on_its_interval_and_metrics_count_it() {
    let Some(db) = TestDatabase::mysql().await else {
        return;
    };
    mysql_fixture(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let token = server.admin_token().await;
    let guid = server.add_database(&token, db_request(&db)).await;
    let scanner =
        kxy_id_server::spawn_scanner(server.state.clone(), std::time::Duration::from_millis(200));
    let path = format!("/api/database/{guid}/discovered-tables");
    let mut found = Value::Null;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        found = server.call("GET", &path, None, Some(&token)).await.1["data"].clone();
        if found.as_array().is_some_and(|a| a.len() == 2) {
            break;
        }
    }
    // t_order and t_empty have integer keys and no counters; nothing was written.
    assert!(
        has(&found, "table", "t_order") && has(&found, "table", "t_empty"),
        "{found}"
    );
    assert!(
        server
            .state
            .service
            .allocator()
            .list("")
            .await
            .unwrap()
            .is_empty()
    );
    // Once a key exists its entry goes.
    server.allocate("shop", &db.name, "t_order", "id", 1).await;
    let (_, body) = server.call("GET", &path, None, Some(&token)).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
    drop(scanner);
    let (status, body) = server.raw("GET", "/metrics", b"", None).await;
    assert_eq!(status, 200);
    assert_eq!(body, Value::Null, "metrics are text, not JSON");
    let text = {
        use http_body_util::BodyExt;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
        let res = client
            .get(format!("http://{}/metrics", server.addr).parse().unwrap())
            .await
            .unwrap();
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    };
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_business_tables_seed_counters() {
    use sqlx::Connection;
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    for sql in [
        "CREATE TABLE t_user (id BIGSERIAL PRIMARY KEY, name TEXT)",
        "INSERT INTO t_user (id, name) VALUES (9007199254740993, 'big')",
        "CREATE TABLE t_uuid (id UUID PRIMARY KEY)",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let _ = conn.close().await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let token = server.admin_token().await;
    let host = db
        .server_url
        .trim_start_matches("postgres://")
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let add = json!({"system_code": "pg", "db_type": "postgresql", "db_address": host, "db_user": "postgres", "db_password": "", "db_name": db.name});
    let guid = server.add_database(&token, add).await;
    let body = server.allocate("pg", &db.name, "t_user", "id", 2).await;
    assert_eq!(
        body["data"],
        json!({"start": "9007199254740994", "end": "9007199254740995"}),
        "{body}"
    );
    let body = server.allocate("pg", &db.name, "t_uuid", "id", 2).await;
    assert_eq!(body["code"], 400, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("uuid"), "{body}");
    let (_, body) = server
        .call(
            "POST",
            &format!("/api/database/initialize/{guid}"),
            None,
            Some(&token),
        )
        .await;
    assert!(
        has(
            &body["data"]["already_ahead"],
            "key",
            &format!("pg:{}:t_user:id", db.name)
        ),
        "{body}"
    );
    assert!(has(&body["data"]["skipped"], "table", "t_uuid"), "{body}");
    server.stop().await;
    db.drop_postgres().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_allocations_on_two_servers_sharing_redis_initialize_once() {
    let Some(url) = kxy_id::testing::redis_url().await else {
        return;
    };
    let Some(db) = TestDatabase::mysql().await else {
        return;
    };
    mysql_fixture(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), Some(&url));
    let a = std::sync::Arc::new(TestServer::start(&s).await);
    let b = std::sync::Arc::new(TestServer::start(&s).await);
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
    let mut ranges = Vec::new();
    for t in tasks {
        let body = t.await.unwrap();
        assert_eq!(body["code"], 0, "{body}");
        ranges.push((int(&body["data"]["start"]), int(&body["data"]["end"])));
    }
    ranges.sort();
    assert_eq!(ranges[0].0, 1235, "seeded from MAX(id) = 1234");
    for w in ranges.windows(2) {
        assert_eq!(w[0].1 + 1, w[1].0, "disjoint and contiguous: {w:?}");
    }
    a.call(
        "DELETE",
        &format!("/api/database/{guid}?purge_segments=true"),
        None,
        Some(&token),
    )
    .await;
    kxy_id::testing::allocator::cleanup(&**a.state.service.allocator(), &system).await;
    db.drop_mysql().await;
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let mut state = kxy_id_server::open_state(&settings(dir.path(), None))
        .await
        .unwrap();
    state.header_timeout = std::time::Duration::from_millis(300);
    state.body_timeout = std::time::Duration::from_millis(300);
    let server = TestServer::with_state(state).await;

    // Headers that never finish: the connection is closed.
    let mut conn = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    conn.write_all(b"POST /api/segment/allocate HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        conn.read_to_end(&mut buf),
    )
    .await;
    assert!(
        read.is_ok(),
        "the server must close a connection whose headers never finish"
    );

    // A body that never arrives: answered with 408, nothing allocated.
    let mut conn = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    conn.write_all(b"POST /api/segment/allocate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"system")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.contains("\"code\":408"), "{text}");
}
