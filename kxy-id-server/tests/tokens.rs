//! Allocation tokens: off by default (old clients keep working); with
//! `--require-allocation-tokens`, allocation needs a token of the request's system code, which
//! only an admin can create, is shown once, stored hashed, and revocable.

mod common;

use common::{TestServer, settings, settings_with};
use serde_json::{Value, json};

async fn allocate_with(server: &TestServer, system: &str, token: Option<&str>) -> (u16, Value) {
    let body = json!({"system_code": system, "db_name": "d", "table_name": "t", "field_name": "id", "segment_count": 5});
    server.allocate_json(body, token).await
}

/// `POST /api/tokens` for `system_code`, as the holder of `admin` (if any).
async fn create_token(server: &TestServer, system_code: &str, admin: Option<&str>) -> (u16, Value) {
    let body = json!({"system_code": system_code});
    server.call("POST", "/api/tokens", Some(body), admin).await
}

#[tokio::test]
async fn tokens_are_scoped_shown_once_stored_hashed_and_revocable() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings_with(
        dir.path(),
        None,
        &["--reserve", "0", "--require-allocation-tokens"],
    ))
    .await;
    let key = server.create_counter("shop", 0).await;
    let other = server.create_counter("other", 0).await;

    let (status, _) = allocate_with(&server, "shop", None).await;
    assert_eq!(status, 401);
    let (status, _) = allocate_with(&server, "shop", Some("kxy_made-up")).await;
    assert_eq!(status, 401);

    // Only an admin creates tokens.
    let (status, _) = create_token(&server, "Shop", None).await;
    assert_eq!(status, 401);
    let admin = server.admin_token().await;
    let (status, body) = create_token(&server, "", Some(&admin)).await;
    assert_eq!(status, 422, "{body}");
    let (_, body) = create_token(&server, "Shop", Some(&admin)).await;
    assert_eq!(body["code"], 0, "{body}");
    let token = body["data"]["token"].as_str().unwrap().to_owned();
    let id = body["data"]["id"].as_str().unwrap().to_owned();

    // The store holds its hash, never the token; the list never shows it.
    let stored = server.state.service.meta().scan("kxy:id:").await.unwrap();
    assert!(
        stored
            .iter()
            .all(|(n, v)| !n.contains(&token) && !v.contains(&token))
    );
    let (_, list) = server.call("GET", "/api/tokens", None, Some(&admin)).await;
    assert_eq!(list["data"][0]["id"], id.as_str());
    assert_eq!(list["data"][0]["system_code"], "Shop");
    assert!(!list.to_string().contains(&token));

    let (status, body) = allocate_with(&server, "SHOP", Some(&token)).await;
    assert_eq!((status, body["code"].as_i64()), (200, Some(0)), "{body}");
    let (_, body) = allocate_with(&server, "Other", Some(&token)).await;
    assert_eq!(body["code"], 403, "{body}");
    assert_eq!(
        body["msg"], "The allocation token is not valid for system_code: Other",
        "the name as the caller wrote it"
    );
    assert_eq!(
        server.state.service.allocator().get(&other).await.unwrap(),
        Some(0)
    );

    let (_, body) = server
        .call("DELETE", &format!("/api/tokens/{id}"), None, Some(&admin))
        .await;
    assert_eq!(body["code"], 0, "{body}");
    let (status, _) = allocate_with(&server, "shop", Some(&token)).await;
    assert_eq!(status, 401, "revoked at once");
    let (_, body) = server
        .call("DELETE", &format!("/api/tokens/{id}"), None, Some(&admin))
        .await;
    assert_eq!(body["code"], 404);
    assert_eq!(
        server.state.service.allocator().get(&key).await.unwrap(),
        Some(5)
    );
}

#[tokio::test]
async fn without_the_setting_allocation_needs_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    server.create_counter("shop", 0).await;
    let (_, body) = allocate_with(&server, "shop", None).await;
    assert_eq!(body["code"], 0, "{body}");
}
