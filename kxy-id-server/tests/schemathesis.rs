//! schemathesis (from PyPI) against `/openapi.json` of a real server, with an admin token:
//! every check it has (no 5xx, answers that match the spec, schema-valid requests accepted,
//! schema-violating ones refused), bounded to a few examples per operation and a fixed seed.
//!
//! The virtualenv is kept under `target/kxy-venv-schemathesis` between runs. Skips with a notice when
//! Python or PyPI is unavailable, unless `KXY_TEST_REQUIRE_SERVICES=1`.

mod common;

/// schemathesis, at a fixed version so that its checks do not change under the suite.
use common::python::PythonTool;
static SCHEMATHESIS: PythonTool = PythonTool::pinned("schemathesis==4.32.5");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_against_the_openapi_spec() {
    let Some(python) = SCHEMATHESIS.python_or_skip().await else {
        return;
    };
    let bin = python
        .parent()
        .expect("bin/python has a directory")
        .to_owned();
    let (_dir, server, token) = common::embedded_with_admin().await;
    let url = format!("http://{}/openapi.json", server.addr);
    let scratch = tempfile::tempdir().unwrap();
    let work = scratch.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin.join("schemathesis"))
            .args(["run", &url, "--checks", "all", "--max-examples", "30"])
            .args(["--seed", "20261130", "--workers", "2"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .env("NO_COLOR", "1")
            // schemathesis keeps a cache in its working directory: keep it out of the tree.
            .current_dir(&work)
            .output()
            .expect("run schemathesis")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}
