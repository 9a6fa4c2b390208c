//! Requests the server refuses: bodies that do not validate or are too large (422, 413), and
//! clients too slow to send their headers or body.

mod common;

use std::collections::HashSet;

use common::{TestServer, problem_fields, settings};
use serde_json::json;

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
        .allocate_json(json!({"system_code": "s"}), None)
        .await;
    assert_eq!(status, 422);
    let missing: HashSet<_> = problem_fields(&body).into_iter().collect();
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
    assert_eq!(server.stored_counters("").await, 0);
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
