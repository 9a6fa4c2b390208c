//! [`RedisServer`]: a `redis-server` process of a test's own, on a free loopback port in a
//! temporary directory, for tests that restart, kill or roll back Redis. Stopped on drop, also
//! when the test panics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options for a Redis that loses nothing it acknowledged: AOF fsync'ed on every write, no
/// snapshots.
pub const AOF_ALWAYS: &[&str] = &[
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--save",
    "",
];

/// A `redis-server` the test owns.
#[derive(Debug)]
pub struct RedisServer {
    /// The running process (`None` while stopped).
    child: Option<Child>,
    /// The loopback port, kept across restarts.
    port: u16,
    /// The working directory (dump and AOF files).
    dir: tempfile::TempDir,
    /// Persistence and other options, passed on every start.
    options: Vec<String>,
    /// The TLS port, when started with [`start_tls`](Self::start_tls).
    tls_port: Option<u16>,
}

impl RedisServer {
    /// Starts `redis-server` with `options` (e.g. `["--save", "", "--appendonly", "no"]`), or
    /// `None` after a notice (a failure when services are required) if it cannot run here.
    pub fn start(options: &[&str]) -> Option<RedisServer> {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir,
            options: options.iter().map(|s| s.to_string()).collect(),
            tls_port: None,
        };
        match server.spawn() {
            Ok(()) => Some(server),
            Err(e) => {
                super::unreachable("redis-server", "redis-server (binary)", e);
                None
            }
        }
    }

    /// Starts `redis-server` with a TLS port beside the plain one, with the server
    /// certificate of `certs`; clients must show a certificate `certs`' CA signed.
    pub fn start_tls(certs: &super::certs::TestCerts) -> Option<RedisServer> {
        let tls_port = free_port();
        let file = |name: &str| certs.path(name).display().to_string();
        let options = [
            "--save".to_owned(),
            String::new(),
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            file("server.pem"),
            "--tls-key-file".into(),
            file("server.key"),
            "--tls-ca-cert-file".into(),
            file("ca.pem"),
            "--tls-auth-clients".into(),
            "yes".into(),
        ];
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let mut server = Self::start(&options)?;
        server.tls_port = Some(tls_port);
        Some(server)
    }

    /// `rediss://127.0.0.1:TLS_PORT/` (after [`start_tls`](Self::start_tls)), without options.
    pub fn tls_url(&self) -> String {
        let port = self.tls_port.expect("started with start_tls");
        format!("rediss://127.0.0.1:{port}/")
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.options)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() && self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other("redis-server did not answer PING"))
    }

    /// `PING` answers `PONG` (and the dataset is loaded).
    fn ping(&self) -> bool {
        self.cli(&["PING"]).trim() == "PONG"
    }

    /// Runs `redis-cli` against this server; its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The plain loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the process runs (not stopped by [`kill`](Self::kill)).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The directory holding `dump.rdb` and the AOF.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The snapshot file.
    pub fn dump_path(&self) -> PathBuf {
        self.dir.path().join("dump.rdb")
    }

    /// `kill -9`: the process dies without saving anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same port and directory (after [`kill`](Self::kill)).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn().expect("restart redis-server");
    }

    /// `SHUTDOWN NOSAVE`, then a start: a Redis without persistence comes back empty.
    pub fn restart_empty(&mut self) {
        let _ = self.cli(&["SHUTDOWN", "NOSAVE"]);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.dump_path());
        self.spawn().expect("restart redis-server");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `ready` every 50 ms until it holds, or fails after `timeout` saying `what` did not
/// happen.
pub fn wait_until(
    timeout: Duration,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> std::io::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(std::io::Error::other(format!(
        "{what} did not happen within {timeout:?}"
    )))
}

/// `127.0.0.1:p1,127.0.0.1:p2,...`: the host list of a several-node URL.
pub fn loopback_hosts(ports: impl IntoIterator<Item = u16>) -> String {
    let hosts: Vec<String> = ports
        .into_iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    hosts.join(",")
}

/// A loopback port nothing listens on right now (for any process a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
