//! `kxy-id-server admin ...` end to end: the binary against a server started in the test,
//! over real MariaDB and PostgreSQL business databases; tables for people, `--json` for
//! scripts, and an exit code per class of failure.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::business::Account;
use common::{TestServer, settings};
use kxy_id::testing::TestDatabase;
use serde_json::Value;
use tempfile::TempDir;

/// The exit codes the README documents.
const OK: i32 = 0;
const LOCAL: i32 = 1;
const USAGE: i32 = 2;
const AUTH: i32 = 3;
const NOT_FOUND: i32 = 4;
const INVALID: i32 = 5;
const UNREACHABLE: i32 = 6;
const SERVER_ERROR: i32 = 7;

/// The admin CLI pointed at one server, with a token file and a home of its own.
struct Cli {
    server: String,
    home: TempDir,
}

/// What one run printed, and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("--json output is JSON ({e}): {}", self.stdout))
    }

    fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "stdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Cli {
    fn new(server: &TestServer) -> Cli {
        Cli {
            server: format!("http://{}", server.addr),
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn token_file(&self) -> std::path::PathBuf {
        self.home
            .path()
            .join(".config")
            .join("kxy-id")
            .join("tokens.json")
    }

    /// `kxy-id-server admin ARGS` with `stdin` piped in and `env` set, in a clean
    /// environment (no KXY_* from the caller, HOME in the temporary directory).
    async fn run(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kxy-id-server"));
        command
            .arg("admin")
            .args(args)
            .current_dir(self.home.path())
            .env("HOME", self.home.path())
            .env("KXY_SERVER", &self.server)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in [
            "XDG_CONFIG_HOME",
            "KXY_TOKEN",
            "KXY_TOKEN_FILE",
            "KXY_USER",
            "KXY_PASSWORD",
            "KXY_DB_PASSWORD",
        ] {
            command.env_remove(name);
        }
        command.envs(env.iter().copied());
        let stdin = stdin.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().expect("start the binary");
            let mut input = child.stdin.take().expect("stdin");
            input.write_all(stdin.as_bytes()).expect("write stdin");
            drop(input);
            let out = child.wait_with_output().expect("the binary ends");
            Run {
                code: out.status.code().expect("an exit code"),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }
        })
        .await
        .unwrap()
    }

    /// `run` without standard input or extra environment.
    async fn ok(&self, args: &[&str]) -> Run {
        self.run(args, "", &[]).await.expect(OK)
    }

    /// Logs in as the test admin.
    async fn login(&self) {
        let run = self
            .run(
                &["login", "--user", "admin", "--password-stdin"],
                "secret123\n",
                &[],
            )
            .await
            .expect(OK);
        assert!(run.stdout.starts_with("logged in to "), "{}", run.stdout);
    }
}

/// A server on the embedded store with the admin `admin` / `secret123` created (not logged
/// in), and its data directory.
async fn server_with_admin() -> (TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let (status, body) = server.init_user_status("admin", "secret123").await;
    assert_eq!((status, &body["code"]), (200, &Value::from(0)), "{body}");
    (dir, server)
}

/// Every admin task of the CLI over one business database of `db_type`: add, list,
/// initialize, counters, discovered and approve, a custom counter, delete.
async fn admin_tasks_over(db: TestDatabase, db_type: &str) {
    db.execute(&[
        "CREATE TABLE t_order (id BIGINT PRIMARY KEY, note VARCHAR(20))".into(),
        "INSERT INTO t_order VALUES (41, 'a'), (1234, 'b')".into(),
    ])
    .await;
    let (_dir, server) = server_with_admin().await;
    let cli = Cli::new(&server);
    cli.login().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cli.token_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The password travels in the environment, not in the arguments.
    let account = Account::of(&db);
    let add = [
        "db",
        "add",
        "--system-code",
        "Shop",
        "--type",
        db_type,
        "--address",
        &account.address,
        "--user",
        &account.user,
        "--db-name",
        &db.name,
        "--json",
    ];
    let env = [("KXY_DB_PASSWORD", account.password.as_str())];
    let added = cli.run(&add, "", &env).await.expect(OK).json();
    let guid = added["guid"].as_str().expect("a guid").to_owned();
    assert_eq!(added["db_password"], "", "{added}");
    assert_eq!(server.stored_password(&guid).await, account.password);

    let shown = cli.ok(&["db", "show", &guid, "--json"]).await.json();
    assert_eq!(shown, added);

    let list = cli.ok(&["db", "list", "--json"]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["guid"], guid.as_str());
    let table = cli.ok(&["db", "list"]).await.stdout;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["GUID", "SYSTEM", "TYPE", "ADDRESS", "USER", "DATABASE"]
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[..3], [guid.as_str(), "Shop", db_type]);

    let init = cli.ok(&["db", "initialize", &guid, "--json"]).await.json();
    assert_eq!(init["initialized_count"], 1, "{init}");
    let key = init["segments"][0].as_str().unwrap().to_owned();
    assert!(key.ends_with(":t_order:id"), "{key}");
    // Again: the counter is ahead and stays as it is.
    let again = cli.ok(&["db", "initialize", &guid]).await.stdout;
    assert!(
        again
            .lines()
            .any(|l| l.starts_with("ahead") && l.contains(&key)),
        "{again}"
    );

    let counters = cli
        .ok(&["counters", "list", "--system-code", "shop", "--json"])
        .await
        .json();
    assert_eq!(counters, serde_json::json!([{"key": key, "value": 1234}]));

    // A table created after initialize: the scanner finds it, the operator approves it.
    db.execute(&[
        "CREATE TABLE t_new (id BIGINT PRIMARY KEY)".into(),
        "INSERT INTO t_new VALUES (77)".into(),
    ])
    .await;
    server.state.service.scan_once().await.unwrap();
    let found = cli.ok(&["db", "discovered", &guid, "--json"]).await.json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(
        (&found[0]["table"], &found[0]["max_id"]),
        (&"t_new".into(), &77.into())
    );
    let database = found[0]["database"].as_str().unwrap();
    let approve = [
        "db",
        "approve",
        &guid,
        "--database",
        database,
        "--table",
        "t_new",
    ];
    let approved = cli.ok(&approve).await.stdout;
    let row = approved.lines().nth(1).unwrap();
    assert!(
        row.split_whitespace().eq([database, "t_new", "77", "true"]),
        "{approved}"
    );
    let found = cli.ok(&["db", "discovered", &guid, "--json"]).await.json();
    assert_eq!(found, serde_json::json!([]));

    let custom = ["config", "add", &guid, "--table", "seq", "--field", "n"];
    let created = cli
        .ok(&[&custom[..], &["--initial-value", "500", "--json"]].concat())
        .await
        .json();
    let custom_key = format!("shop:{}:seq:n", db.name.to_lowercase());
    assert_eq!(
        created,
        serde_json::json!({"segment_key": custom_key, "initial_value": 500})
    );
    let run = cli.run(&custom, "", &[]).await.expect(INVALID);
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    let counters = cli.ok(&["counters", "list"]).await.stdout;
    assert!(
        counters
            .lines()
            .any(|l| l.split_whitespace().eq([custom_key.as_str(), "500"])),
        "{counters}"
    );

    let deleted = cli.ok(&["db", "delete", &guid]).await.stdout;
    assert!(deleted.contains("its counters are kept"), "{deleted}");
    cli.run(&["db", "initialize", &guid], "", &[])
        .await
        .expect(NOT_FOUND);
    // The counters outlive their configuration.
    assert_eq!(server.stored_counters("shop:").await, 3);
    server.stop().await;
    db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tasks_over_mariadb() {
    if let Some(db) = TestDatabase::mysql().await {
        admin_tasks_over(db, "mysql").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tasks_over_postgresql() {
    if let Some(db) = TestDatabase::postgres().await {
        admin_tasks_over(db, "postgresql").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_class_has_its_exit_code() {
    let (_dir, server) = server_with_admin().await;
    let cli = Cli::new(&server);

    // Auth refused: a wrong password, no token, a token the server did not sign.
    let login = ["login", "--user", "admin", "--password-stdin"];
    let run = cli.run(&login, "wrong-password\n", &[]).await.expect(AUTH);
    assert!(
        run.stderr.contains("Invalid username or password"),
        "{}",
        run.stderr
    );
    assert!(!cli.token_file().exists());
    let run = cli.run(&["db", "list"], "", &[]).await.expect(AUTH);
    assert!(run.stderr.contains("not logged in"), "{}", run.stderr);
    cli.run(&["db", "list"], "", &[("KXY_TOKEN", "not-a-token")])
        .await
        .expect(AUTH);

    // Usage: no password source, a server that is no URL, an unknown database type.
    cli.run(&["login", "--user", "admin"], "", &[])
        .await
        .expect(USAGE);
    cli.run(&["--server", "ftp://h", "db", "list"], "", &[])
        .await
        .expect(USAGE);
    let bad_type = [
        "db",
        "add",
        "--system-code",
        "s",
        "--type",
        "db2",
        "--address",
        "h",
        "--user",
        "u",
    ];
    cli.run(&bad_type, "", &[]).await.expect(USAGE);

    // Local: the token file cannot be written (its directory is a file).
    let blocked = cli.home.path().join("file");
    std::fs::write(&blocked, "x").unwrap();
    let in_file = blocked.join("tokens.json");
    let env = [("KXY_TOKEN_FILE", in_file.to_str().unwrap())];
    cli.run(&login, "secret123\n", &env).await.expect(LOCAL);

    // --print: the token on standard output, usable as KXY_TOKEN; nothing saved.
    let print = [&login[..], &["--print"]].concat();
    let token = cli.run(&print, "secret123\n", &[]).await.expect(OK).stdout;
    let token = token.trim().to_owned();
    assert!(!cli.token_file().exists());
    let with_token = [("KXY_TOKEN", token.as_str())];
    let list = cli.run(&["db", "list", "--json"], "", &with_token).await;
    assert_eq!(list.expect(OK).json(), serde_json::json!([]));

    cli.login().await;
    // Not found: an unknown guid.
    let unknown = "00000000-0000-4000-8000-000000000000";
    for args in [
        &["db", "discovered", unknown][..],
        &["db", "delete", unknown],
        &["config", "add", unknown, "--table", "t", "--field", "f"],
    ] {
        let run = cli.run(args, "", &[]).await.expect(NOT_FOUND);
        assert!(run.stderr.contains(unknown), "{}", run.stderr);
    }

    // Invalid input: a body the server refuses (an empty system code is a 422).
    let empty_system = [
        "db",
        "add",
        "--system-code",
        "",
        "--type",
        "mysql",
        "--address",
        "h",
        "--user",
        "u",
    ];
    let run = cli.run(&empty_system, "", &[]).await.expect(INVALID);
    assert!(run.stderr.contains("system_code"), "{}", run.stderr);

    // Server error: initialize fails when the business database is down (the old 500).
    let closed = [
        "db",
        "add",
        "--system-code",
        "s",
        "--type",
        "mysql",
        "--address",
        "127.0.0.1:1",
        "--user",
        "u",
        "--db-name",
        "d",
        "--json",
    ];
    let added = cli.run(&closed, "", &[]).await.expect(OK).json();
    let guid = added["guid"].as_str().unwrap();
    let run = cli
        .run(&["db", "initialize", guid], "", &[])
        .await
        .expect(SERVER_ERROR);
    assert!(
        run.stderr.contains("Failed to initialize database"),
        "{}",
        run.stderr
    );

    // Unreachable: the server is down.
    server.stop().await;
    let run = cli.run(&["db", "list"], "", &[]).await.expect(UNREACHABLE);
    assert!(run.stderr.contains(&cli.server), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_update_keeps_the_password_unless_one_is_given() {
    let (_dir, server) = server_with_admin().await;
    let cli = Cli::new(&server);
    cli.login().await;
    let config = [
        "--system-code",
        "s",
        "--type",
        "mysql",
        "--address",
        "127.0.0.1:1",
        "--user",
        "u",
        "--db-name",
        "d",
        "--json",
    ];
    let add = [&["db", "add"][..], &config, &["--password-stdin"]].concat();
    let added = cli.run(&add, "first pass\n", &[]).await.expect(OK).json();
    let guid = added["guid"].as_str().unwrap().to_owned();
    assert_eq!(server.stored_password(&guid).await, "first pass");

    // No password given: the stored one is kept (same type, address and user).
    let update = [&["db", "update", &guid][..], &config].concat();
    let updated = cli.ok(&update).await.json();
    assert_eq!(updated, added);
    assert_eq!(server.stored_password(&guid).await, "first pass");

    let env = [("KXY_DB_PASSWORD", "second")];
    cli.run(&update, "", &env).await.expect(OK);
    assert_eq!(server.stored_password(&guid).await, "second");
    let shown = cli.ok(&["db", "show", &guid]).await.stdout;
    assert!(!shown.contains("second"), "{shown}");

    let unknown = [&["db", "update", "no-such-guid"][..], &config].concat();
    cli.run(&unknown, "", &[]).await.expect(NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_tokens_are_created_listed_and_revoked() {
    let (_dir, server) = server_with_admin().await;
    let cli = Cli::new(&server);
    cli.login().await;
    let create = ["tokens", "create", "--system-code", "Shop"];
    let created = cli.ok(&[&create[..], &["--json"]].concat()).await.json();
    let id = created["id"].as_str().unwrap().to_owned();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    // The table shows the token this once, too.
    let table = cli.ok(&create).await.stdout;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "SYSTEM", "CREATED", "TOKEN"]);

    let list = cli.ok(&["tokens", "list", "--json"]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(!list.to_string().contains(&token), "{list}");
    let table = cli.ok(&["tokens", "list"]).await.stdout;
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .expect("the token's row");
    let created_at = row.split_whitespace().nth(2).unwrap();
    assert!(created_at.ends_with('Z') && created_at.len() == 20, "{row}");

    let revoked = cli.ok(&["tokens", "revoke", &id]).await.stdout;
    assert_eq!(revoked.trim(), format!("revoked {id}"));
    cli.run(&["tokens", "revoke", &id], "", &[])
        .await
        .expect(NOT_FOUND);
    let list = cli.ok(&["tokens", "list", "--json"]).await.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_user_creates_the_admin_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let cli = Cli::new(&server);
    let init = ["init-user", "--user", "admin"];
    // Too short a password: refused as invalid input, nothing created.
    let short = [("KXY_PASSWORD", "12345")];
    cli.run(&init, "", &short).await.expect(INVALID);
    let password = [("KXY_PASSWORD", "secret123")];
    let created = cli
        .run(&[&init[..], &["--json"]].concat(), "", &password)
        .await;
    assert_eq!(
        created.expect(OK).json(),
        serde_json::json!({"username": "admin"})
    );
    let run = cli.run(&init, "", &password).await.expect(INVALID);
    assert!(run.stderr.contains("already initialized"), "{}", run.stderr);
    cli.login().await;
    cli.ok(&["db", "list"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reaches_an_https_server_through_its_ca_file() {
    use kxy_id::testing::pki::{TestCa, Use};
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "cli");
    let issued = ca.issue(dir.path(), "server", Use::Server);
    let tls = kxy_id_server::Tls::load(kxy_id_server::TlsSettings {
        cert: issued.cert.clone(),
        key: issued.key.clone(),
        client_ca: None,
        http2: false,
    })
    .expect("the TLS files load");
    let state = kxy_id_server::open_state(&settings(&dir.path().join("data"), None))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = tokio::spawn(kxy_id_server::run_tls(
        listener,
        state,
        tls,
        std::future::pending(),
    ));
    let cli = Cli {
        server: format!("https://localhost:{port}"),
        home: tempfile::tempdir().unwrap(),
    };
    let ca_file = ca.cert.display().to_string();
    let trusted = [
        ("KXY_CA_FILE", ca_file.as_str()),
        ("KXY_PASSWORD", "secret123"),
    ];
    // Without the CA, the system's roots do not know the server: a clear refusal.
    let untrusted = cli
        .run(&["init-user", "--user", "admin"], "", &trusted[1..])
        .await
        .expect(UNREACHABLE);
    assert!(
        untrusted.stderr.contains("not signed by a CA"),
        "{}",
        untrusted.stderr
    );
    cli.run(&["init-user", "--user", "admin"], "", &trusted)
        .await
        .expect(OK);
    let login = ["login", "--user", "admin", "--password-stdin"];
    cli.run(&login, "secret123\n", &trusted[..1])
        .await
        .expect(OK);
    let listed = cli.run(&["db", "list", "--json"], "", &trusted[..1]).await;
    assert_eq!(listed.expect(OK).json(), serde_json::json!([]));
    served.abort();
}
