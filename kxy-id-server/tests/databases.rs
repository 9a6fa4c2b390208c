//! Business databases behind the API: counters seeded from MAX(id) on first allocation,
//! keys the server refuses, discovery, initialize, and a database that goes away; over the
//! real MariaDB and PostgreSQL.

mod common;

use common::business::{db_request, has, over_mariadb};

use kxy_id::testing::TestDatabase;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_api_over_a_real_mariadb() {
    let Some((db, server, token, guid, _dir)) = over_mariadb().await else {
        return;
    };
    let name = db.name.as_str();

    // Lazy initialization on first allocation seeds from MAX(id).
    let body = server.allocate("shop", name, "t_order", "id", 10).await;
    assert_eq!(body["data"], json!({"start": 1235, "end": 1244}), "{body}");

    // A UUID key and a missing table: the same 404 that tells nothing of the schema (before,
    // a UUID key was a 400 naming the column and its type, and a missing table named itself),
    // nothing written.
    for table in ["tp_keycloak_account", "no_such_table", "no_such_table"] {
        let body = server.allocate("shop", name, table, "id", 10).await;
        assert_eq!(body["code"], 404, "{body}");
        assert_eq!(
            body["msg"],
            format!(
                "No counter and no single-column integer primary key for this table/field: shop:{name}:{table}:id. An administrator can initialize the database or add the key."
            )
        );
        let key = kxy_id::SegmentKey::new("shop", name, table, "id").unwrap();
        assert_eq!(
            server.state.service.allocator().get(&key).await.unwrap(),
            None
        );
    }

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
    let body = server.discovered(&token, &guid).await;
    assert_eq!(
        body["data"],
        json!([{"database": name, "table": "t_empty", "primary_key": "id", "max_id": 0}]),
        "{body}"
    );
    let approve = json!({"database": name, "table": "t_empty"});
    let body = server.approve(&token, &guid, approve).await;
    assert_eq!(body["code"], 0, "{body}");
    let body = server.discovered(&token, &guid).await;
    assert_eq!(body["data"], json!([]));

    // Initialize: t_order is already ahead (never moved back), tp_keycloak_account skipped with its reason.
    let body = server.initialize(&token, &guid).await;
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
    let body = server.update_database(&token, &guid, update).await;
    assert_eq!(body["msg"], "Database configuration updated successfully");
    let body = server.initialize(&token, &guid).await;
    assert_eq!(body["code"], 0, "{body}");

    // An unreachable database: initialize fails with the old 500 message.
    let mut bad = db_request(&db);
    bad["db_address"] = json!("127.0.0.1:1");
    let body = server.update_database(&token, &guid, bad).await;
    assert_eq!(body["code"], 0);
    let body = server.initialize(&token, &guid).await;
    assert_eq!(body["code"], 500);
    assert!(
        common::msg(&body).starts_with("Failed to initialize database: "),
        "{body}"
    );
    // The scanner survives a database being down.
    let summary = server.state.service.scan_once().await.unwrap();
    assert_eq!(summary.failed, 1);

    server.stop().await;
    db.drop_mysql().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_business_tables_seed_counters() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    db.execute_postgres(&[
        "CREATE TABLE t_user (id BIGSERIAL PRIMARY KEY, name TEXT)".into(),
        "INSERT INTO t_user (id, name) VALUES (9007199254740993, 'big')".into(),
        "CREATE TABLE t_uuid (id UUID PRIMARY KEY)".into(),
    ])
    .await;
    let (_dir, server, token) = common::embedded_with_admin().await;
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
    // A UUID key: the 404 that names no column type (a 400 naming `uuid` before).
    let body = server.allocate("pg", &db.name, "t_uuid", "id", 2).await;
    assert_eq!(body["code"], 404, "{body}");
    assert!(
        common::msg(&body).starts_with("No counter and no single-column integer primary key"),
        "{body}"
    );
    let body = server.initialize(&token, &guid).await;
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
