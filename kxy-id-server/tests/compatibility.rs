//! Taking over from the old kxy-open-id service: its Redis layout (counters, plain-text
//! configurations, the admin account) and its DES-encrypted password.

mod common;

use common::business::{db_request, redis_and_mariadb};
use common::{TestServer, settings};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takes_over_a_redis_filled_by_the_old_service() {
    use redis::AsyncCommands;
    let Some((url, db)) = redis_and_mariadb().await else {
        return;
    };
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
    let body = server.login("admin", "old-pass-1").await;
    assert_eq!(body["code"], 0, "{body}");
    let stored: String = conn.get("kxy:id:system:password").await.unwrap();
    assert!(stored.starts_with("$2"), "{stored}");
    let body = server.login("admin", "old-pass-1").await;
    assert_eq!(body["code"], 0, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_owned();
    // The old plain-text configuration reads back (password hidden) and still connects.
    let body = server.get_database(&token, guid).await;
    assert_eq!(body["data"]["system_code"], "Shop");
    assert_eq!(body["data"]["db_password"], "");
    let body = server.initialize(&token, guid).await;
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
