//! A TCP proxy on loopback that the test controls, between servers and Redis: pass, drop every
//! connection, blackhole (accept but never forward), delay, and re-point to another upstream.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Forward both ways.
    Pass,
    /// Close every open connection and close new ones at once.
    Drop,
    /// Accept connections and read from them, but forward nothing (until another mode heals it).
    Blackhole,
    /// Forward each chunk after this delay.
    Delay(Duration),
}

struct State {
    mode: Mode,
    upstream: SocketAddr,
    /// Both sockets of every open connection, to cut them.
    open: Vec<TcpStream>,
}

struct Shared {
    state: Mutex<State>,
    stop: AtomicBool,
    /// Connections accepted so far.
    accepted: AtomicU64,
}

impl Shared {
    fn mode(&self) -> Mode {
        self.state.lock().unwrap().mode
    }

    fn cut_all(&self) {
        let mut state = self.state.lock().unwrap();
        for s in state.open.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// A running proxy; its threads end when it is dropped.
pub struct Proxy {
    /// The loopback port it listens on.
    pub port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                mode: Mode::Pass,
                upstream: SocketAddr::from(([127, 0, 0, 1], upstream)),
                open: Vec::new(),
            }),
            stop: AtomicBool::new(false),
            accepted: AtomicU64::new(0),
        });
        let accept = {
            let shared = shared.clone();
            std::thread::spawn(move || accept_loop(listener, shared))
        };
        Proxy {
            port,
            shared,
            accept: Some(accept),
        }
    }

    /// The Redis URL that goes through the proxy.
    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Connections accepted so far (in every mode).
    #[allow(dead_code)] // Not every test that runs a proxy counts.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }

    /// Switches the mode; [`Mode::Drop`] also cuts every open connection.
    pub fn set(&self, mode: Mode) {
        self.shared.state.lock().unwrap().mode = mode;
        if mode == Mode::Drop {
            self.shared.cut_all();
        }
    }

    /// Forwards new connections to `127.0.0.1:upstream` and cuts the open ones.
    pub fn repoint(&self, upstream: u16) {
        self.shared.state.lock().unwrap().upstream = SocketAddr::from(([127, 0, 0, 1], upstream));
        self.shared.cut_all();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.cut_all();
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.accepted.fetch_add(1, Ordering::Relaxed);
                let _ = client.set_nonblocking(false);
                if shared.mode() == Mode::Drop {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let shared = shared.clone();
                std::thread::spawn(move || connect(client, &shared));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Opens the upstream side of a new connection and starts both pumps.
fn connect(client: TcpStream, shared: &Arc<Shared>) {
    // A blackhole holds new connections open without forwarding them.
    if let Ok(c) = client.try_clone() {
        shared.state.lock().unwrap().open.push(c);
    }
    while shared.mode() == Mode::Blackhole && !shared.stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let upstream = shared.state.lock().unwrap().upstream;
    if shared.mode() == Mode::Drop || shared.stop.load(Ordering::Relaxed) {
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    let server = match TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) {
        Ok(s) => s,
        Err(_) => {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    };
    let _ = server.set_nodelay(true);
    let _ = client.set_nodelay(true);
    if let Ok(s) = server.try_clone() {
        shared.state.lock().unwrap().open.push(s);
    }
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up = {
        let shared = shared.clone();
        std::thread::spawn(move || pump(client, server, &shared))
    };
    pump(server2, client2, shared);
    let _ = up.join();
}

/// Copies `from` to `to` as the mode says, until either side closes or the proxy stops.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            break;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => break,
        };
        loop {
            match shared.mode() {
                Mode::Blackhole if !shared.stop.load(Ordering::Relaxed) => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Mode::Delay(d) => {
                    std::thread::sleep(d);
                    break;
                }
                _ => break,
            }
        }
        if shared.mode() == Mode::Drop || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
