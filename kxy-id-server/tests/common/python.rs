//! Python tools the tests run (the published Python client, schemathesis), each in a virtualenv
//! under the target directory that is kept between runs and installed from PyPI on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The Python of the virtualenv `target/<name>` in which `check` runs without error,
/// installing `package` there first when it does not; or why there is none.
pub fn venv_with(name: &str, package: &str, check: &str) -> Result<PathBuf, String> {
    let venv = target_dir().join(name);
    let python = venv.join("bin/python");
    let installed = python.exists()
        && Command::new(&python)
            .args(["-c", check])
            .status()
            .is_ok_and(|s| s.success());
    if installed {
        return Ok(python);
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 not found: {e}"))?;
    if !status.success() {
        return Err("python3 -m venv failed (is python3-venv installed?)".into());
    }
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            package,
        ])
        .output()
        .map_err(|e| format!("pip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pip install {package} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(python)
}

/// [`venv_with`] on a blocking thread, or `None` after a notice that `what` is skipped (a
/// failure when `KXY_TEST_REQUIRE_SERVICES=1`).
pub async fn venv_or_skip(
    what: &'static str,
    name: &'static str,
    package: &'static str,
    check: &'static str,
) -> Option<PathBuf> {
    match tokio::task::spawn_blocking(move || venv_with(name, package, check))
        .await
        .expect("the virtualenv task")
    {
        Ok(python) => Some(python),
        Err(why) => {
            if kxy_id::testing::services_required() {
                panic!("{what} is required (KXY_TEST_REQUIRE_SERVICES=1): {why}");
            }
            eprintln!("NOTICE: skipping {what}: {why}");
            None
        }
    }
}
