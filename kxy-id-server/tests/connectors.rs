//! The server binary carries every connector: SQL Server (pure Rust) and Oracle (its client
//! library is loaded when first used). Configurations of either kind are accepted, and reaching
//! a server that is not there, or an Oracle client library that is not installed, gives a clear
//! message instead of "unsupported".

mod common;

use serde_json::json;

#[tokio::test]
async fn sql_server_and_oracle_configurations_get_clear_answers() {
    let (_dir, server, token) = common::embedded_with_admin().await;
    for (db_type, address, expect) in [
        ("sqlserver", "127.0.0.1:1", "127.0.0.1:1"),
        ("oracle", "127.0.0.1:1", "Oracle"),
    ] {
        let guid = server
            .add_database(
                &token,
                json!({"system_code": format!("sys-{db_type}"), "db_type": db_type,
                       "db_address": address, "db_user": "u", "db_password": "pw",
                       "db_name": "app"}),
            )
            .await;
        let body = server.initialize(&token, &guid).await;
        let msg = body["msg"].as_str().unwrap_or_default().to_owned();
        assert!(
            matches!(body["code"].as_i64(), Some(500 | 503)),
            "{db_type}: {body}"
        );
        assert!(msg.contains(expect), "{db_type}: {body}");
        assert!(
            !msg.to_lowercase().contains("not compiled"),
            "{db_type}: {body}"
        );
        assert!(
            !msg.contains("pw"),
            "{db_type}: the password leaked: {body}"
        );
    }
}
