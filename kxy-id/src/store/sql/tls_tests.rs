//! SQL stores over TLS, against database servers of the test's own that accept TLS
//! connections only, with certificates made by `openssl` for this run: a PostgreSQL (`initdb`
//! in a temporary directory, `ssl = on`, a `pg_hba.conf` of `hostssl` lines) and a MariaDB
//! (`mariadb-install-db`, `require_secure_transport`). The TLS parameters of a store URL
//! (PostgreSQL `sslmode`, `sslrootcert`, `sslcert`, `sslkey`; MySQL `ssl-mode`, `ssl-ca`,
//! `ssl-cert`, `ssl-key`) are sqlx's and reach the connection unchanged.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::testing::{allocator as conformance, unreachable};

/// A database server that only speaks TLS; stopped when dropped.
struct TlsServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        // SIGQUIT: PostgreSQL's immediate shutdown (SIGKILL would leave its children); MariaDB
        // stops too.
        let quit = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        if !quit.is_ok_and(|s| s.success()) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The directory of PostgreSQL's server programs (`initdb`, `postgres`), if installed.
fn server_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("openssl: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A CA `{name}.crt`/`{name}.key` in `dir`.
fn ca(dir: &Path, name: &str) -> Result<(), String> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN=kxy-id test {name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
        ],
    )
}

/// A certificate `{name}.crt`/`{name}.key` for `cn` (and 127.0.0.1), signed by the CA `ca`.
fn signed(dir: &Path, ca: &str, name: &str, cn: &str) -> Result<(), String> {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={cn}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
        ],
    )?;
    std::fs::write(
        dir.join(format!("{name}.ext")),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.crt"),
        ],
    )
}

/// A temporary directory with a CA (`ca`), another CA (`other-ca`), a server certificate
/// (`server`) and a client certificate for `user` (`client`).
fn certificates(user: &str) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path();
    ca(path, "ca")?;
    ca(path, "other-ca")?;
    signed(path, "ca", "server", "localhost")?;
    signed(path, "ca", "client", user)?;
    Ok(dir)
}

/// A free loopback port.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

impl TlsServer {
    /// Waits until the server accepts connections on its port.
    fn wait_listening(self) -> Result<TlsServer, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return Err("the server did not listen within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(self)
    }

    /// A MariaDB, or why it cannot run here.
    #[cfg(feature = "mysql")]
    fn mariadb() -> Result<TlsServer, String> {
        let dir = certificates("root")?;
        let p = |f: &str| dir.path().join(f).display().to_string();
        let as_root = std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
            .unwrap_or(false);
        let user: &[&str] = if as_root { &["--user=root"] } else { &[] };
        let install = Command::new("mariadb-install-db")
            .args(["--no-defaults", &format!("--datadir={}", p("data"))])
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .args(user)
            .output()
            .map_err(|e| format!("mariadb-install-db: {e}"))?;
        if !install.status.success() {
            return Err(format!(
                "mariadb-install-db: {}",
                String::from_utf8_lossy(&install.stderr)
            ));
        }
        let port = free_port()?;
        let child = Command::new("mariadbd")
            .args([
                "--no-defaults",
                &format!("--datadir={}", p("data")),
                "--bind-address=127.0.0.1",
            ])
            .args([format!("--port={port}"), format!("--socket={}", p("sock"))])
            .args([
                format!("--ssl-cert={}", p("server.crt")),
                format!("--ssl-key={}", p("server.key")),
            ])
            .args([
                format!("--ssl-ca={}", p("ca.crt")),
                "--require-secure-transport=ON".into(),
            ])
            .args(["--skip-log-bin", "--innodb-buffer-pool-size=16M"])
            .args(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("mariadbd: {e}"))?;
        TlsServer { child, port, dir }.wait_listening()
    }

    /// A PostgreSQL, or why it cannot run here.
    fn postgres() -> Result<TlsServer, String> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        use std::os::unix::process::CommandExt;

        let bin = server_bin().ok_or("no PostgreSQL server programs under /usr/lib/postgresql")?;
        let dir = certificates("postgres")?;
        let path = dir.path();
        // PostgreSQL refuses to run as root: as root, run it as the `postgres` account.
        let me = std::fs::metadata("/proc/self").map_err(|e| e.to_string())?;
        let (uid, gid) = if me.uid() == 0 {
            let id = |flag: &str| -> Option<u32> {
                let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
                String::from_utf8(out.stdout).ok()?.trim().parse().ok()
            };
            (
                id("-u").ok_or("no postgres account")?,
                id("-g").ok_or("no postgres group")?,
            )
        } else {
            (me.uid(), me.gid())
        };
        let mode = |file: &str, mode: u32| {
            std::fs::set_permissions(path.join(file), std::fs::Permissions::from_mode(mode))
        };
        for entry in std::fs::read_dir(path).map_err(|e| e.to_string())? {
            let p = entry.map_err(|e| e.to_string())?.path();
            std::os::unix::fs::chown(&p, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        mode("server.key", 0o600).map_err(|e| e.to_string())?;
        let data = path.join("data");
        let init = Command::new(bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .uid(uid)
            .gid(gid)
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !init.status.success() {
            return Err(format!("initdb: {}", String::from_utf8_lossy(&init.stderr)));
        }
        // TLS only; a client certificate is checked when one is sent (`clientcert` below is
        // not required, so plain password-less TLS works too).
        std::fs::write(
            data.join("pg_hba.conf"),
            "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        )
        .map_err(|e| e.to_string())?;
        let port = free_port()?;
        let p = |f: &str| path.join(f).display().to_string();
        let child = Command::new(bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-k",
                &p(""),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .args([
                "-c",
                "ssl=on",
                "-c",
                &format!("ssl_cert_file={}", p("server.crt")),
            ])
            .args(["-c", &format!("ssl_key_file={}", p("server.key"))])
            .args([
                "-c",
                &format!("ssl_ca_file={}", p("ca.crt")),
                "-c",
                "fsync=off",
            ])
            .uid(uid)
            .gid(gid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("postgres: {e}"))?;
        TlsServer { child, port, dir }.wait_listening()
    }

    /// The URL of database `db` as `user`, with the query `params`.
    fn url(&self, scheme: &str, user: &str, db: &str, params: &str) -> String {
        format!("{scheme}://{user}@127.0.0.1:{}/{db}?{params}", self.port)
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// The checks every SQL store over TLS passes on `server`: `url(params)` names a database
/// there; `verified`, `mutual`, `plain` and `wrong_ca` are the URL parameters of each case, and
/// `plain_says` what the refusal of a plaintext connection says.
async fn speaks_tls_as_its_url_says<A, F, Fut>(
    connect: F,
    url: impl Fn(&str) -> String,
    verified: &str,
    mutual: &str,
    plain: &str,
    plain_says: &str,
    wrong_ca: &str,
) where
    A: crate::SegmentAllocator + Clone + 'static,
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = crate::Result<A>>,
{
    // Verified TLS: the store works (the conformance suite, two pools).
    let a = connect(url(verified)).await.unwrap();
    let b = connect(url(verified)).await.unwrap();
    conformance::run_all(Arc::new(a), Arc::new(b), &conformance::unique_prefix()).await;
    // A client certificate, as mutual TLS deployments send.
    connect(url(mutual)).await.unwrap();
    // Refusals: each a clear connection error that keeps the password out of the message.
    // (The plaintext case goes without a password: the server refuses it for the transport,
    // where the same account over TLS was accepted above.)
    let refusals = [
        (url(plain), plain_says),
        (url(wrong_ca).replacen('@', ":hunter2@", 1), "certificate"),
    ];
    for (url, says) in refusals {
        let params = url.rsplit('?').next().unwrap_or_default().to_owned();
        let Err(err) = connect(url).await else {
            panic!("{params}: accepted");
        };
        let msg = err.to_string();
        assert!(matches!(err, Error::Connect { .. }), "{params}: {msg}");
        assert!(msg.to_lowercase().contains(says), "{params}: {msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}

/// Starts a server with `start` on a blocking thread, or notes why it cannot run here.
async fn own(name: &str, start: fn() -> Result<TlsServer, String>) -> Option<TlsServer> {
    match tokio::task::spawn_blocking(start).await.unwrap() {
        Ok(server) => Some(server),
        Err(e) => {
            unreachable(name, "own process", e);
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_speaks_tls_as_its_url_says() {
    let Some(server) = own("PostgreSQL with TLS", TlsServer::postgres).await else {
        return;
    };
    let f = |name: &str| server.file(name);
    let verified = format!("sslmode=verify-full&sslrootcert={}", f("ca.crt"));
    speaks_tls_as_its_url_says(
        |url| async move { crate::PgAllocator::connect(&url, Duration::from_secs(5)).await },
        |params| server.url("postgres", "postgres", "postgres", params),
        &verified,
        &format!(
            "{verified}&sslcert={}&sslkey={}",
            f("client.crt"),
            f("client.key")
        ),
        "sslmode=disable",
        "no encryption",
        &format!("sslmode=verify-full&sslrootcert={}", f("other-ca.crt")),
    )
    .await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mysql_store_speaks_tls_as_its_url_says() {
    let Some(server) = own("MariaDB with TLS", TlsServer::mariadb).await else {
        return;
    };
    let f = |name: &str| server.file(name);
    let verified = format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", f("ca.crt"));
    speaks_tls_as_its_url_says(
        |url| async move { crate::MySqlAllocator::connect(&url, Duration::from_secs(5)).await },
        |params| server.url("mysql", "root", "mysql", params),
        &verified,
        &format!(
            "{verified}&ssl-cert={}&ssl-key={}",
            f("client.crt"),
            f("client.key")
        ),
        "ssl-mode=DISABLED",
        "denied",
        &format!("ssl-mode=VERIFY_CA&ssl-ca={}", f("other-ca.crt")),
    )
    .await;
}
