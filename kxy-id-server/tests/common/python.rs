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

/// A Python package a test runs, pinned (`name==version`), installed from PyPI into its own
/// virtualenv `target/kxy-venv-<name>` the first time.
pub struct PythonTool {
    /// The pip requirement, `name==version`.
    pub requirement: &'static str,
}

impl PythonTool {
    /// The tool that `requirement` (`name==version`) names.
    pub const fn pinned(requirement: &'static str) -> Self {
        PythonTool { requirement }
    }

    /// The package's name and version.
    fn name_and_version(&self) -> (&'static str, &'static str) {
        self.requirement
            .split_once("==")
            .expect("a pinned requirement: name==version")
    }

    /// The virtualenv's Python, installed on a blocking thread when needed, or `None` after a
    /// notice that the check is skipped (a failure when `KXY_TEST_REQUIRE_SERVICES=1`).
    pub async fn python_or_skip(&'static self) -> Option<PathBuf> {
        let (name, version) = self.name_and_version();
        let installed =
            format!("import importlib.metadata as m; assert m.version('{name}') == '{version}'");
        let venv = format!("kxy-venv-{name}");
        match tokio::task::spawn_blocking(move || venv_with(&venv, self.requirement, &installed))
            .await
            .expect("the virtualenv task")
        {
            Ok(python) => Some(python),
            Err(why) => {
                if kxy_id::testing::services_required() {
                    panic!("{name} is required (KXY_TEST_REQUIRE_SERVICES=1): {why}");
                }
                eprintln!("NOTICE: skipping the checks with {name}: {why}");
                None
            }
        }
    }
}
