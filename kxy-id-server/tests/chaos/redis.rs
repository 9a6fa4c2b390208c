//! `redis-server` processes of the chaos suite, each on a free loopback port in a directory of
//! its own, and a small RESP client to drive them. Never the shared Redis on 6379.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A reply of Redis.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Vec<Reply>),
}

impl Reply {
    /// The text of a status or bulk reply.
    pub fn text(&self) -> Option<&str> {
        match self {
            Reply::Status(s) | Reply::Bulk(Some(s)) => Some(s),
            _ => None,
        }
    }
}

fn read_reply(r: &mut impl BufRead) -> io::Result<Reply> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at(1);
    let bad = || io::Error::new(io::ErrorKind::InvalidData, format!("bad reply {line:?}"));
    match kind {
        "+" => Ok(Reply::Status(rest.to_owned())),
        "-" => Ok(Reply::Error(rest.to_owned())),
        ":" => Ok(Reply::Int(rest.parse().map_err(|_| bad())?)),
        "$" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            if n < 0 {
                return Ok(Reply::Bulk(None));
            }
            let mut buf = vec![0; n as usize + 2];
            r.read_exact(&mut buf)?;
            buf.truncate(n as usize);
            Ok(Reply::Bulk(Some(
                String::from_utf8_lossy(&buf).into_owned(),
            )))
        }
        "*" => {
            let n: i64 = rest.parse().map_err(|_| bad())?;
            (0..n.max(0))
                .map(|_| read_reply(r))
                .collect::<io::Result<_>>()
                .map(Reply::Array)
        }
        _ => Err(bad()),
    }
}

/// Sends one command to the Redis on `127.0.0.1:port` and reads its reply.
pub fn command(port: u16, args: &[&str]) -> io::Result<Reply> {
    let stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    (&stream).write_all(out.as_bytes())?;
    read_reply(&mut BufReader::new(stream))
}

/// `true` when `redis-server` can be run; otherwise a NOTICE (or a panic when services are required).
pub fn installed() -> bool {
    match Command::new("redis-server").arg("--version").output() {
        Ok(out) if out.status.success() => true,
        Ok(out) => {
            kxy_id::testing::unreachable("redis-server", "PATH", format!("{:?}", out.status));
            false
        }
        Err(e) => {
            kxy_id::testing::unreachable("redis-server", "PATH", e);
            false
        }
    }
}

/// The value of `name` in the text of an `INFO` reply.
fn field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_owned())
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().unwrap().port()
}

/// Persistence without any saving: a restart comes back empty.
pub const NO_PERSISTENCE: &[&str] = &["--save", "", "--appendonly", "no"];

/// No automatic persistence; an RDB snapshot (`dump.rdb`) only when asked for.
pub const RDB: &[&str] = &[
    "--save",
    "",
    "--appendonly",
    "no",
    "--dbfilename",
    "dump.rdb",
];

/// An append-only file, synced once a second.
pub const AOF: &[&str] = &[
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
];

/// One `redis-server` process; killed (and waited for) when dropped.
pub struct RedisServer {
    child: Option<Child>,
    /// The loopback port, kept across restarts.
    pub port: u16,
    /// Its working directory (`--dir`): snapshots and the AOF live here.
    pub dir: PathBuf,
    args: Vec<String>,
}

impl RedisServer {
    /// Starts `redis-server` on a free port with its files in `dir` and the options `args`
    /// (`--save`, `--appendonly`, `--appendfsync`, `--dbfilename`, `--replicaof` ...).
    pub fn start(dir: &Path, args: &[&str]) -> RedisServer {
        std::fs::create_dir_all(dir).expect("the Redis directory");
        let mut server = RedisServer {
            child: None,
            port: 0,
            dir: dir.to_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        // Another process may take the free port before Redis binds it: try another one.
        let mut failures = Vec::new();
        for _ in 0..3 {
            server.port = free_port();
            match server.try_start() {
                Ok(()) => return server,
                Err(e) => failures.push(e),
            }
        }
        panic!("redis-server did not start: {failures:#?}");
    }

    /// The URL a kxy-id server uses to reach it directly.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts the process again on the same port with the same options (after a stop or a kill),
    /// and waits until it answers `PING` (after loading its files).
    pub fn restart(&mut self) {
        if let Err(e) = self.try_start() {
            panic!("{e}");
        }
    }

    fn try_start(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "Redis on {} still runs", self.port);
        let log = self.dir.join("redis.log");
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .args(["--daemonize", "no", "--protected-mode", "no"])
            .args(&self.args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "redis-server on {} exited ({status}):\n{log}",
                    self.port
                ));
            }
            // PONG from this very process (not another one on the port), done loading.
            let pid = self.child.as_ref().map(Child::id).unwrap_or_default();
            if let Ok(reply) = command(self.port, &["PING"])
                && reply == Reply::Status("PONG".into())
                && command(self.port, &["INFO", "server"])
                    .ok()
                    .and_then(|info| field(info.text()?, "process_id"))
                    == Some(pid.to_string())
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill9();
                return Err(format!("redis-server on {} does not answer", self.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One command; panics when Redis cannot be reached or answers an error.
    pub fn cmd(&self, args: &[&str]) -> Reply {
        match command(self.port, args) {
            Ok(Reply::Error(e)) => panic!("Redis on {}: {args:?}: {e}", self.port),
            Ok(reply) => reply,
            Err(e) => panic!("Redis on {}: {args:?}: {e}", self.port),
        }
    }

    /// `INFO server`'s `run_id`: a new one after every restart.
    pub fn run_id(&self) -> String {
        self.info_field("server", "run_id")
    }

    /// One field of an `INFO` section.
    pub fn info_field(&self, section: &str, name: &str) -> String {
        let info = self.cmd(&["INFO", section]);
        field(info.text().unwrap_or_default(), name).unwrap_or_default()
    }

    /// `SHUTDOWN NOSAVE`: a clean stop that writes nothing.
    pub fn shutdown_nosave(&mut self) {
        // The connection closes instead of answering.
        let _ = command(self.port, &["SHUTDOWN", "NOSAVE"]);
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.wait();
        }
    }

    /// SIGKILL: nothing is flushed.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `SAVE` (a synchronous snapshot), then copies the snapshot to `aside`.
    pub fn snapshot_to(&self, dbfilename: &str, aside: &Path) {
        self.cmd(&["SAVE"]);
        std::fs::copy(self.dir.join(dbfilename), aside).expect("copy the snapshot aside");
    }

    /// Waits until this replica's link to its master is up and caught up with `master`.
    pub fn wait_in_sync(&self, master: &RedisServer) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = self.info_field("replication", "master_link_status") == "up";
            let theirs = master.info_field("replication", "master_repl_offset");
            let ours = self.info_field("replication", "slave_repl_offset");
            if up && !theirs.is_empty() && theirs == ours {
                return;
            }
            assert!(Instant::now() < deadline, "the replica does not sync");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Copies the directory `from` (files only, one level, as Redis's `appendonlydir`) to `to`,
/// replacing what was there.
pub fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the directory") {
        let entry = entry.expect("a directory entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy a file");
    }
}
