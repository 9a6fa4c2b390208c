//! The published Python client (`kxy-open-id-client` 0.2.1 from PyPI), unchanged, against the
//! server: `SegmentClient.allocate_segment` and threaded `IdGenerator.next_id` with unique IDs.
//!
//! Needs `python3` with `venv` and access to PyPI; the virtualenv is kept under
//! `target/kxy-venv-kxy-open-id-client` between runs. Skips with a notice when Python or PyPI is unavailable,
//! unless `KXY_TEST_REQUIRE_SERVICES=1`.

mod common;

use std::path::Path;
use std::process::Command;

use common::{TestServer, settings};
use kxy_id::SegmentKey;

/// The published client, unchanged.
use common::python::PythonTool;
static CLIENT: PythonTool = PythonTool::pinned("kxy-open-id-client==0.2.1");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_python_client_works_unchanged() {
    let Some(python) = CLIENT.python_or_skip().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let allocator = server.state.service.allocator();
    allocator
        .create(&SegmentKey::new("pyc", "db", "orders", "id").unwrap(), 0)
        .await
        .unwrap();
    allocator
        .create(
            &SegmentKey::new("pyc", "db", "big", "id").unwrap(),
            (1 << 53) - 2,
        )
        .await
        .unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/old_client_check.py");
    let base = format!("http://{}", server.addr);
    // The server runs on this runtime's workers; the check runs on a blocking thread.
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .args([&base, "pyc", "db"])
            .output()
    })
    .await
    .unwrap()
    .expect("run the Python check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("a JSON summary");
    assert_eq!(seen["ok"], true);
    assert_eq!(seen["ids"], 4000);
    // The server saw every ID the client handed out: the counter is past all of them.
    let key = SegmentKey::new("pyc", "db", "orders", "id").unwrap();
    assert!(allocator.get(&key).await.unwrap().unwrap() >= 4000 + 10 + 120);
}
