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

/// A Python tool a test runs from its own virtualenv.
pub struct PythonTool {
    /// What the test checks with it, for the skip notice.
    pub what: &'static str,
    /// The virtualenv's directory name under the target directory.
    pub venv: &'static str,
    /// The pip requirement.
    pub package: &'static str,
    /// Python code that runs without error once the package is installed.
    pub check: &'static str,
}

impl PythonTool {
    /// A tool: what it checks, its virtualenv, its pip requirement and its import check.
    pub const fn new(
        what: &'static str,
        venv: &'static str,
        package: &'static str,
        check: &'static str,
    ) -> Self {
        PythonTool {
            what,
            venv,
            package,
            check,
        }
    }

    /// The virtualenv's Python, installed on a blocking thread when needed, or `None` after a
    /// notice that the check is skipped (a failure when `KXY_TEST_REQUIRE_SERVICES=1`).
    pub async fn python_or_skip(&'static self) -> Option<PathBuf> {
        match tokio::task::spawn_blocking(|| venv_with(self.venv, self.package, self.check))
            .await
            .expect("the virtualenv task")
        {
            Ok(python) => Some(python),
            Err(why) => {
                if kxy_id::testing::services_required() {
                    panic!(
                        "{} is required (KXY_TEST_REQUIRE_SERVICES=1): {why}",
                        self.what
                    );
                }
                eprintln!("NOTICE: skipping {}: {why}", self.what);
                None
            }
        }
    }
}
