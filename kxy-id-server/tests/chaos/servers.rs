//! `kxy-id-server` processes (the real binary): start with given flags, kill -9, restart.
//! The addresses the load uses live in [`Targets`] and follow restarts.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The current `host:port` of each server, read by the load on every reconnect.
pub type Targets = Arc<Vec<Mutex<String>>>;

/// The key that encrypts database passwords; servers sharing a store need the same.
pub const SECRET_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The server binary: `KXY_CHAOS_SERVER_BIN` (another build, such as a release), else the one
/// cargo built with this test.
pub fn binary_path() -> PathBuf {
    std::env::var_os("KXY_CHAOS_SERVER_BIN")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kxy-id-server")))
}

/// A command for the server binary with no configuration inherited from the environment.
pub fn binary(dir: &Path) -> Command {
    let mut command = Command::new(binary_path());
    for (name, _) in std::env::vars() {
        if (name.starts_with("KXY_")
            && !name.starts_with("KXY_CHAOS_")
            && !name.starts_with("KXY_TEST_"))
            || name.starts_with("REDIS_")
            || name.starts_with("JWT_")
            || name == "DES_KEY"
        {
            command.env_remove(name);
        }
    }
    command.env("RUST_LOG", "warn").current_dir(dir);
    command
}

/// One server process; killed and waited for when dropped.
pub struct Server {
    child: Option<Child>,
    /// Where it listens now.
    pub addr: String,
    dir: PathBuf,
    args: Vec<String>,
    starts: u32,
}

impl Server {
    /// Starts a server with its data directory `dir` (created) and the flags `args`, on a free
    /// loopback port. `Err` holds what the server said when it did not come up.
    pub fn start(dir: &Path, args: &[String]) -> Result<Server, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut server = Server {
            child: None,
            addr: String::new(),
            dir: dir.to_owned(),
            args: args.to_vec(),
            starts: 0,
        };
        server.restart()?;
        Ok(server)
    }

    /// Starts it again with the same flags (after [`Server::kill9`]).
    pub fn restart(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "the server still runs");
        self.starts += 1;
        // Beside the data directory, not in it (the server owns that).
        let log = self.dir.with_extension(format!("{}.log", self.starts));
        let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut child = binary(&self.dir)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.dir)
            .args(["--scan-interval", "0", "--bcrypt-cost", "10"])
            .args(["--secret-key", SECRET_KEY])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run the server binary: {e}"))?;
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Forward every line, and keep draining so the server never blocks on stdout.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // The address is on the line saying `listening on http://ADDR` (the first line, unless
        // a log line comes before it).
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut said = Vec::new();
        let mut addr = None;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            let Ok(line) = rx.recv_timeout(left) else {
                break;
            };
            if line.contains("listening on http://") {
                addr = line.split("http://").nth(1).map(|a| a.trim().to_owned());
                break;
            }
            said.push(line);
        }
        match addr {
            Some(addr) => {
                self.addr = addr;
                self.child = Some(child);
                Ok(())
            }
            None => {
                let _ = child.kill();
                let status = child.wait();
                let log_text = std::fs::read_to_string(&log).unwrap_or_default();
                Err(format!(
                    "kxy-id-server {} did not start ({status:?}); it printed {said:?}; its log:\n{log_text}",
                    self.args.join(" ")
                ))
            }
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Servers sharing one store, and the addresses the load sends to.
pub struct Servers {
    pub list: Vec<Server>,
    pub targets: Targets,
}

impl Servers {
    /// Starts one server per entry of `args` (flags each), data directories under `dir`.
    pub fn start(dir: &Path, args: &[Vec<String>]) -> Servers {
        let mut list = Vec::new();
        for (i, a) in args.iter().enumerate() {
            match Server::start(&dir.join(format!("server{i}")), a) {
                Ok(s) => list.push(s),
                Err(e) => panic!("{e}"),
            }
        }
        let targets = Arc::new(list.iter().map(|s| Mutex::new(s.addr.clone())).collect());
        Servers { list, targets }
    }

    /// The address of server `i`.
    pub fn addr(&self, i: usize) -> String {
        self.list[i].addr.clone()
    }

    /// kill -9 of server `i`.
    pub fn kill9(&mut self, i: usize) {
        self.list[i].kill9();
    }

    /// Starts server `i` again and points the load at its new address.
    pub fn restart(&mut self, i: usize) {
        if let Err(e) = self.list[i].restart() {
            panic!("{e}");
        }
        *self.targets[i].lock().unwrap() = self.list[i].addr.clone();
    }
}

/// Flags as owned strings.
pub fn flags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}
