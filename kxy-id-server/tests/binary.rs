//! The `kxy-id-server` binary itself: starts with no configuration beyond a data directory,
//! says where it listens, survives `kill -9` without repeating an ID, stops on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::raw_http::call;
use serde_json::json;

/// A running server process and the address it printed.
struct Process {
    child: Child,
    addr: String,
    lines: std::sync::mpsc::Receiver<String>,
}

fn start(data_dir: &std::path::Path, extra: &[&str]) -> Process {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kxy-id-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(["--scan-interval", "0", "--bcrypt-cost", "10"])
        .args(extra)
        .env_remove("KXY_STORE")
        .env_remove("REDIS_HOST")
        .current_dir(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the binary");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Warnings (a data directory whose permissions were tightened) may come first.
    let addr = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the server prints where it listens");
        if let Some(addr) = line.split("http://").nth(1) {
            break addr.trim().to_owned();
        }
    };
    Process { child, addr, lines }
}

fn allocate(addr: &str, count: i64) -> (i64, i64) {
    let req = json!({"system_code": "bin", "db_name": "d", "table_name": "t", "field_name": "id", "segment_count": count});
    let (_, body) =
        call(addr, "POST", "/api/segment/allocate", Some(&req), None).expect("an answer");
    assert_eq!(body["code"], 0, "{body}");
    (
        body["data"]["start"].as_i64().unwrap(),
        body["data"]["end"].as_i64().unwrap(),
    )
}

fn durable_across_kill_9(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut first = start(dir.path(), extra);
    let addr = first.addr.clone();
    let (status, _) = call(&addr, "GET", "/health", None, None).expect("an answer");
    assert_eq!(status, 200);
    let creds = json!({"username": "admin", "password": "secret123"});
    call(&addr, "POST", "/api/auth/init-user", Some(&creds), None).expect("an answer");
    let (_, body) = call(&addr, "POST", "/api/auth/login", Some(&creds), None).expect("an answer");
    let token = body["data"]["token"].as_str().expect("token").to_owned();
    let db = json!({"system_code": "bin", "db_type": "mysql", "db_address": "127.0.0.1:1", "db_user": "u", "db_password": "p", "db_name": "d"});
    let (_, body) =
        call(&addr, "POST", "/api/database/add", Some(&db), Some(&token)).expect("an answer");
    let guid = body["data"]["guid"].as_str().unwrap().to_owned();
    let custom = json!({"table_name": "t", "field_name": "id", "initial_value": 0});
    call(
        &addr,
        "POST",
        &format!("/api/database/{guid}/add-config"),
        Some(&custom),
        Some(&token),
    )
    .expect("an answer");
    let mut last = 0;
    for _ in 0..20 {
        let (start, end) = allocate(&addr, 100);
        assert!(start > last);
        last = end;
    }
    // SIGKILL: no shutdown code runs.
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let mut second = start(dir.path(), extra);
    let (start_after, _) = allocate(&second.addr, 1);
    assert!(
        start_after > last,
        "ID {start_after} after a crash repeats one up to {last}"
    );
    // The admin survives too.
    let (_, body) =
        call(&second.addr, "POST", "/api/auth/login", Some(&creds), None).expect("an answer");
    assert_eq!(body["code"], 0, "{body}");

    // SIGTERM: a graceful stop that says so.
    let pid = second.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = second.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    // The reader thread ends at end of output; collect everything it read.
    let mut said = Vec::new();
    while let Ok(line) = second.lines.recv_timeout(Duration::from_secs(10)) {
        said.push(line);
    }
    assert!(said.iter().any(|l| l.contains("stopped")), "{said:?}");
    assert!(
        said.iter().any(|l| l.contains("admin UI: http://")),
        "{said:?}"
    );
}

#[test]
fn exact_counters_survive_kill_9() {
    durable_across_kill_9(&["--reserve", "0"]);
}

#[test]
fn reserved_blocks_survive_kill_9_as_a_gap() {
    durable_across_kill_9(&[]);
}
