//! Database configurations and custom counters through the admin API, on the embedded store:
//! conflicts, overflow, integers past 2^53, counter listing and deletion.

mod common;

use common::int;
use serde_json::json;

#[tokio::test]
async fn custom_counters_overflow_and_big_integers() {
    let (_dir, server, token) = common::embedded_with_admin().await;
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
    let body = server.update_database(&token, &other_guid, onto).await;
    assert_eq!(body["code"], 409, "{body}");
    let body = server.update_database(&token, &other_guid, other).await;
    assert_eq!(body["code"], 0, "{body}");
    server.delete_database(&token, &other_guid).await;

    let cfg = |t: &str, v: i64| json!({"table_name": t, "field_name": "seq", "initial_value": v});
    let body = server
        .add_config(&token, &guid, cfg("Invoice", 9007199254740990))
        .await;
    assert_eq!(
        body["msg"], "Custom configuration added successfully",
        "{body}"
    );
    assert_eq!(body["data"]["segment_key"], "shop:orders:invoice:seq");
    let body = server.add_config(&token, &guid, cfg("invoice", 0)).await;
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
        .add_config(&token, &guid, cfg("near-max", i64::MAX - 5))
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
    let body = server
        .counters(&token, "system_code=shop&db_name=orders")
        .await;
    let list = body["data"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["value"], "9007199254741000");
    let body = server.counters(&token, "system_code=nobody").await;
    assert_eq!(body["data"], json!([]));

    // A configuration without db_name cannot hold custom counters.
    let add = json!({"system_code": "x", "db_type": "postgresql", "db_address": "h", "db_user": "u", "db_password": ""});
    let (_, body) = server
        .call("POST", "/api/database/add", Some(add), Some(&token))
        .await;
    let guid2 = body["data"]["guid"].as_str().unwrap().to_owned();
    let body = server.add_config(&token, &guid2, cfg("t", 0)).await;
    assert_eq!(
        (body["code"].as_i64(), body["msg"].as_str()),
        (Some(400), Some("Database name not configured"))
    );

    // Unknown guid.
    let body = server
        .get_database(&token, "00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(body["code"], 404);
    assert_eq!(
        body["msg"],
        "Database config with guid 00000000-0000-4000-8000-000000000000 not found"
    );

    // Deleting keeps counters unless asked to purge.
    let body = server.delete_database(&token, &guid).await;
    assert_eq!(body["data"]["deleted"], true);
    assert_eq!(server.stored_counters("shop:").await, 2);
    let body = server
        .delete_database(&token, &format!("{guid2}?purge_segments=true"))
        .await;
    assert_eq!(body["data"]["deleted"], true);
}
