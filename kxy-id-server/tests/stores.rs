//! What each store keeps across a restart: counters, the admin account and configurations
//! (with their encrypted passwords), on the embedded store, MariaDB and PostgreSQL.

mod common;

use common::{TestServer, int, settings};
use kxy_id::testing::TestDatabase;
use serde_json::json;

#[tokio::test]
async fn a_restarted_server_continues_after_the_last_id() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), None);
    let first = TestServer::start(&s).await;
    let token = first.admin_token().await;
    let add = json!({"system_code": "s", "db_type": "mysql", "db_address": "127.0.0.1:1", "db_user": "u", "db_password": "pw", "db_name": "d"});
    let guid = first.add_database(&token, add).await;
    let config = json!({"table_name": "t", "field_name": "id"});
    first.add_config(&token, &guid, config).await;
    let before = int(&first.allocate("s", "d", "t", "id", 1000).await["data"]["end"]);
    first.stop().await;
    let second = TestServer::start(&s).await;
    let after = int(&second.allocate("s", "d", "t", "id", 1).await["data"]["start"]);
    assert_eq!(after, before + 1);
    // The admin and the encrypted configuration survive too.
    let token = second.admin_token().await;
    let body = second.get_database(&token, &guid).await;
    assert_eq!(body["data"]["system_code"], "s");
    assert_eq!(second.stored_password(&guid).await, "pw");
}

/// Every store the server can use keeps counters, admin and configurations across a restart.
/// Passes when the database server is unreachable (`None`); drops the database when done.
async fn store_survives_a_restart(db: Option<TestDatabase>) {
    let Some(db) = db else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), Some(&db.url));
    let first = TestServer::start(&s).await;
    let token = first.admin_token().await;
    let add = json!({"system_code": "st", "db_type": "postgresql", "db_address": "127.0.0.1:1", "db_user": "u", "db_password": "pw!", "db_name": "d"});
    let guid = first.add_database(&token, add).await;
    let config = json!({"table_name": "t", "field_name": "id", "initial_value": 41});
    let body = first.add_config(&token, &guid, config).await;
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
    let body = second.list_databases(&token).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(second.stored_password(&guid).await, "pw!");
    second.stop().await;
    if db.url.starts_with("mysql") {
        db.drop_mysql().await;
    } else {
        db.drop_postgres().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mysql_store_keeps_everything() {
    store_survives_a_restart(TestDatabase::mysql().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_keeps_everything() {
    store_survives_a_restart(TestDatabase::postgres().await).await;
}
