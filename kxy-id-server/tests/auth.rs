//! First-run setup, login, the stored password, and what a protected endpoint answers
//! without a valid token.

mod common;

use common::{TestServer, problem_fields, settings};
use serde_json::json;

#[tokio::test]
async fn auth_flow_and_401_details() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let (_, body) = server.call("GET", "/api/auth/check-init", None, None).await;
    assert_eq!(
        body,
        json!({"code": 0, "msg": "", "data": {"initialized": false}, "traceId": null})
    );
    let body = server.login("admin", "secret123").await;
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (
            Some(400),
            Some("System not initialized. Please initialize first.")
        )
    );
    // Bounds of init-user are 422s naming the field.
    let (status, body) = server.init_user_status("ab", "123").await;
    assert_eq!(status, 422);
    assert_eq!(problem_fields(&body), ["username", "password"]);
    let body = server.init_user("admin", "secret123").await;
    assert_eq!(body["msg"], "System initialized successfully");
    assert_eq!(body["data"]["username"], "admin");
    let body = server.init_user("other", "secret123").await;
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (Some(400), Some("System already initialized"))
    );
    let body = server.login("admin", "wrong-pw").await;
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
