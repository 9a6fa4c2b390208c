//! A PostgreSQL store over TLS, against a `postgres` process of the test's own: `initdb` in a
//! temporary directory, certificates made with `openssl` for this run, `ssl = on`, and a
//! `pg_hba.conf` that accepts TLS connections only. The `sslmode`, `sslrootcert`, `sslcert`
//! and `sslkey` parameters of the store URL are sqlx's and go to the server unchanged.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::testing::{allocator as conformance, unreachable};

/// A `postgres` that only speaks TLS; stopped when dropped.
struct TlsPostgres {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown, nothing to keep (SIGKILL would leave its children).
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

impl TlsPostgres {
    /// Starts it, or explains why it cannot run here.
    fn start() -> Result<TlsPostgres, String> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        use std::os::unix::process::CommandExt;

        let bin = server_bin().ok_or("no PostgreSQL server programs under /usr/lib/postgresql")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path();
        ca(path, "ca")?;
        ca(path, "other-ca")?;
        signed(path, "ca", "server", "localhost")?;
        signed(path, "ca", "client", "postgres")?;
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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
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
        let server = TlsPostgres { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("postgres did not listen within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// The store URL with the query `params`.
    fn url(&self, params: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{params}",
            self.port
        )
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

async fn connect(url: &str) -> crate::Result<crate::PgAllocator> {
    crate::PgAllocator::connect(url, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_speaks_tls_as_its_url_says() {
    let server = match tokio::task::spawn_blocking(TlsPostgres::start)
        .await
        .unwrap()
    {
        Ok(server) => server,
        Err(e) => return unreachable("PostgreSQL with TLS", "postgres (own process)", e),
    };
    let verified = format!("sslmode=verify-full&sslrootcert={}", server.file("ca.crt"));

    // Verified TLS: the store works (the conformance suite, two pools).
    let a = connect(&server.url(&verified)).await.unwrap();
    let b = connect(&server.url(&verified)).await.unwrap();
    conformance::run_all(
        Arc::new(a.clone()),
        Arc::new(b.clone()),
        &conformance::unique_prefix(),
    )
    .await;
    a.pool().close().await;
    b.pool().close().await;

    // A client certificate, as mutual TLS deployments send.
    let mutual = format!(
        "{verified}&sslcert={}&sslkey={}",
        server.file("client.crt"),
        server.file("client.key")
    );
    connect(&server.url(&mutual))
        .await
        .unwrap()
        .pool()
        .close()
        .await;

    // Refusals, each a clear connection error that keeps the password out of the message.
    let wrong_ca = format!(
        "sslmode=verify-full&sslrootcert={}",
        server.file("other-ca.crt")
    );
    let refusals = [
        ("sslmode=disable", "no encryption"),
        (wrong_ca.as_str(), "certificate"),
    ];
    for (params, says) in refusals {
        let url = server.url(params).replace("postgres@", "postgres:hunter2@");
        let err = connect(&url).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Connect { .. }), "{params}: {msg}");
        assert!(msg.to_lowercase().contains(says), "{params}: {msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}
