//! The config file through the binary, where each run has its own environment:
//! precedence (flag > environment > file > default), `KXY_CONFIG`, unknown keys, masking in
//! `config check`, and the example file `deploy/kxy-id.toml`.

use std::path::Path;
use std::process::{Command, Output};

/// `kxy-id-server ARGS` in `dir` with only `env` in its environment.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kxy-id-server"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .expect("run the binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn flags_beat_environment_beats_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kxy-id.toml"),
        "listen = \"127.0.0.1:1001\"\nscan-interval = 7\njwt-algorithm = \"HS384\"\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "--listen",
            "127.0.0.1:1003",
            "config",
            "check",
            "--config",
            "kxy-id.toml",
        ],
        &[("KXY_LISTEN", "127.0.0.1:1002"), ("KXY_SCAN_INTERVAL", "8")],
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("listen = \"127.0.0.1:1003\"  # flag"),
        "{text}"
    );
    assert!(
        text.contains("scan-interval = \"8\"  # environment (KXY_SCAN_INTERVAL)"),
        "{text}"
    );
    assert!(text.contains("jwt-algorithm = \"HS384\"  # file"), "{text}");
    assert!(
        text.contains("jwt-expire-hours = \"24\"  # default"),
        "{text}"
    );

    // KXY_CONFIG names the file too; the environment still wins over it.
    let out = run(
        dir.path(),
        &["config", "check"],
        &[
            ("KXY_CONFIG", "kxy-id.toml"),
            ("KXY_LISTEN", "127.0.0.1:1002"),
        ],
    );
    let text = stdout(&out);
    assert!(
        text.contains("listen = \"127.0.0.1:1002\"  # environment (KXY_LISTEN)"),
        "{text}"
    );
    assert!(text.contains("scan-interval = \"7\"  # file"), "{text}");
}

#[test]
fn an_unknown_key_stops_the_server_and_the_check_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "listen = \"127.0.0.1:0\"\ntls_cert = \"x\"\n",
    )
    .unwrap();
    for args in [
        &["--config", "bad.toml"][..],
        &["config", "check", "--config", "bad.toml"],
    ] {
        let out = run(dir.path(), args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("unknown key `tls_cert` (did you mean `tls-cert`?)"),
            "{err}"
        );
        assert!(out.stdout.is_empty(), "nothing served: {}", stdout(&out));
    }
}

#[test]
fn config_check_never_shows_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kxy-id.toml"),
        "jwt-secret-key = \"file-jwt-secret\"\n\
         store = \"redis://:file-redis-secret@127.0.0.1:6379/0\"\n\
         durable-store = \"mysql://kxy:file-durable-secret@127.0.0.1:3306/kxy\"\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &[
            "--secret-key",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "config",
            "check",
            "--config",
            "kxy-id.toml",
        ],
        &[
            ("REDIS_PASSWORD", "env-redis-secret"),
            ("DES_KEY", "0badc0de"),
        ],
    );
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{text}{err}");
    for secret in [
        "file-jwt-secret",
        "file-redis-secret",
        "file-durable-secret",
        "env-redis-secret",
        "0badc0de",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ] {
        assert!(
            !text.contains(secret) && !err.contains(secret),
            "{secret}: {text}{err}"
        );
    }
    assert!(
        text.contains("redis-password = \"<redacted>\"  # environment (REDIS_PASSWORD)"),
        "{text}"
    );
    assert!(
        text.contains("store = \"redis://:***@127.0.0.1:6379/0\"  # file"),
        "{text}"
    );
}

#[test]
fn config_check_accepts_the_example_file_and_checks_tls_files() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kxy-id.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["config", "check", "--config", example.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("kxy-id.toml is valid"),
        "{}",
        stdout(&out)
    );

    std::fs::write(
        dir.path().join("tls.toml"),
        "tls-cert = \"missing-cert.pem\"\ntls-key = \"missing-key.pem\"\n",
    )
    .unwrap();
    let out = run(
        dir.path(),
        &["config", "check", "--config", "tls.toml"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("missing-cert.pem"),
        "{}",
        stderr(&out)
    );
}
