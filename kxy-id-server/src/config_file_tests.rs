//! Loading the config file: precedence under flags, unknown keys, bad values, masking.
//! (The environment's place between flags and file is tested on the binary, in
//! `tests/config.rs`, where each process has its own environment.)

use super::*;
use crate::{Command, ConfigAction};

/// A config file with `text` in a fresh directory (kept alive by the returned guard).
fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kxy-id.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn load_with(path: &Path, args: &[&str]) -> Result<Settings, LoadError> {
    let mut all = vec!["kxy-id-server".to_owned(), "--config".to_owned()];
    all.push(path.display().to_string());
    all.extend(args.iter().map(|a| a.to_string()));
    load(all)
}

fn origin<'a>(settings: &'a Settings, key: &str) -> &'a Origin {
    settings
        .origins
        .iter()
        .find(|o| o.key == key)
        .unwrap_or_else(|| panic!("no origin for {key}"))
}

#[test]
fn file_values_beat_defaults_and_flags_beat_the_file() {
    let (_dir, path) = file(
        "listen = \"127.0.0.1:7000\"\nscan-interval = 7\nrequire-allocation-tokens = true\n\
         tls-http2 = true\nmax-ids-per-minute = 500\n",
    );
    let s = load_with(&path, &[]).unwrap();
    assert_eq!(s.listen, "127.0.0.1:7000");
    assert_eq!(s.scan_interval, 7);
    assert!(s.require_allocation_tokens);
    assert!(s.tls_http2);
    assert_eq!(s.max_ids_per_minute, Some(500));
    assert_eq!(s.jwt_expire_hours, 24, "untouched keys keep their defaults");
    assert_eq!(origin(&s, "listen").source, "file");
    assert_eq!(origin(&s, "jwt-expire-hours").source, "default");

    let s = load_with(
        &path,
        &["--listen", "127.0.0.1:7001", "--scan-interval", "9"],
    )
    .unwrap();
    assert_eq!(s.listen, "127.0.0.1:7001");
    assert_eq!(s.scan_interval, 9);
    assert_eq!(origin(&s, "listen").source, "flag");
    assert_eq!(s.max_ids_per_minute, Some(500));
}

#[test]
fn global_keys_reach_subcommands() {
    let (_dir, path) = file("data-dir = \"/srv/kxy\"\nstore = \"sqlite:///srv/kxy/x.db\"\n");
    let s = load_with(&path, &["config", "check"]).unwrap();
    assert!(matches!(
        s.command,
        Some(Command::Config {
            action: ConfigAction::Check
        })
    ));
    assert_eq!(s.data_dir, PathBuf::from("/srv/kxy"));
    assert_eq!(s.store_url(), "sqlite:///srv/kxy/x.db");
    // The file may also be named after the subcommand.
    let args = ["kxy-id-server", "config", "check", "--config"];
    let s = load(
        args.iter()
            .map(|a| a.to_string())
            .chain([path.display().to_string()]),
    )
    .unwrap();
    assert_eq!(s.data_dir, PathBuf::from("/srv/kxy"));
}

#[test]
fn unknown_keys_and_bad_values_are_errors_naming_the_key() {
    let (_dir, path) = file("listen = \"0.0.0.0:1\"\nlisten-address = \"x\"\n");
    let err = load_with(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("unknown key `listen-address`"), "{err}");
    assert!(err.contains("kxy-id.toml"), "{err}");

    let (_dir, path) = file("scan_interval = 5\n");
    let err = load_with(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("did you mean `scan-interval`?"), "{err}");

    let (_dir, path) = file("scan-interval = \"soon\"\n");
    let err = load_with(&path, &[]).unwrap_err().to_string();
    assert!(
        err.contains("`scan-interval`: invalid value \"soon\""),
        "{err}"
    );

    let (_dir, path) = file("bcrypt-cost = 4\n");
    let err = load_with(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("`bcrypt-cost`"), "{err}");

    let (_dir, path) = file("listen = [\"a\"]\n");
    let err = load_with(&path, &[]).unwrap_err().to_string();
    assert!(
        err.contains("must be a string, an integer or a boolean"),
        "{err}"
    );

    let (_dir, path) = file("listen = \n");
    let err = load_with(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("not valid TOML"), "{err}");

    let missing = Path::new("/nonexistent/kxy-id.toml");
    let err = load_with(missing, &[]).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/kxy-id.toml"), "{err}");

    // The file's name itself is not a key.
    let (_dir, path) = file("config = \"other.toml\"\n");
    let err = load_with(&path, &[]).unwrap_err().to_string();
    assert!(err.contains("unknown key `config`"), "{err}");
}

#[test]
fn check_masks_every_secret() {
    let (_dir, path) = file(
        "jwt-secret-key = \"jwt-file-secret\"\nsecret-key = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n\
         redis-password = \"redis-file-secret\"\ndes-key = \"0badc0de\"\n\
         store = \"redis://:store-file-secret@127.0.0.1:6379/0\"\n\
         durable-store = \"postgres://kxy:durable-file-secret@db:5432/kxy\"\n",
    );
    let s = load_with(&path, &[]).unwrap();
    let out = check(&s).unwrap();
    for secret in [
        "jwt-file-secret",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "redis-file-secret",
        "0badc0de",
        "store-file-secret",
        "durable-file-secret",
        "f87e43f9",
    ] {
        assert!(!out.contains(secret), "{secret} in {out}");
    }
    assert!(
        out.contains("jwt-secret-key = \"<redacted>\"  # file"),
        "{out}"
    );
    assert!(
        out.contains("store = \"redis://:***@127.0.0.1:6379/0\"  # file"),
        "{out}"
    );
    assert!(
        out.contains("durable-store = \"postgres://kxy:***@db:5432/kxy\"  # file"),
        "{out}"
    );
    assert!(out.contains("# tls-cert is not set"), "{out}");

    // A bad value of a secret is reported without the value.
    let (_dir, path) = file("des-key = [1]\n");
    assert!(load_with(&path, &[]).is_err());
    let (_dir, path) = file("bcrypt-cost = \"x\"\njwt-secret-key = \"s3cr3t-value\"\n");
    let err = load_with(&path, &[]).unwrap_err().to_string();
    assert!(!err.contains("s3cr3t-value"), "{err}");
}

#[test]
fn every_option_has_a_key_and_tls_needs_both_files() {
    let s = load(["kxy-id-server"]).unwrap();
    let keys: Vec<&str> = s.origins.iter().map(|o| o.key.as_str()).collect();
    for key in [
        "listen",
        "store",
        "durable-store",
        "data-dir",
        "jwt-secret-key",
        "tls-cert",
        "tls-key",
        "tls-client-ca",
        "tls-http2",
        "tls-reload-interval",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert!(!keys.contains(&"config") && !keys.contains(&"help"));
    let (_dir, path) = file("tls-cert = \"/etc/kxy-id/cert.pem\"\n");
    let s = load_with(&path, &[]).unwrap();
    let err = s.tls().unwrap_err().to_string();
    assert!(err.contains("both tls-cert and tls-key"), "{err}");
}

/// `deploy/kxy-id.toml` lists every key, commented out: uncommented, each line is a valid
/// value, and together they are every option.
#[test]
fn the_example_file_documents_every_key_with_a_valid_value() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kxy-id.toml");
    let text = std::fs::read_to_string(&example).unwrap();
    let uncommented: String = text
        .lines()
        .filter_map(|line| line.strip_prefix("# "))
        .filter(|line| {
            line.split_once(" = ")
                .is_some_and(|(key, _)| !key.is_empty() && !key.contains(' '))
        })
        .map(|line| format!("{line}\n"))
        .collect();
    let (_dir, path) = file(&uncommented);
    let s = load_with(&path, &[]).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    let missing: Vec<&str> = s
        .origins
        .iter()
        .filter(|o| o.source != "file")
        .map(|o| o.key.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from the example: {missing:?}"
    );
}
