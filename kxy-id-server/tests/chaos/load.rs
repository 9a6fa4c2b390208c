//! The load: client threads doing keep-alive `POST /api/segment/allocate` against the servers
//! in turn, riding through errors with a short sleep, recording every range handed out.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;

use super::servers::Targets;
use crate::common::raw_http::{Conn, int};

/// A segment key as a client names it.
#[derive(Debug, Clone)]
pub struct Key {
    pub system_code: String,
    pub db_name: String,
    pub table_name: String,
    pub field_name: String,
}

impl Key {
    pub fn new(system_code: &str, db_name: &str, table_name: &str, field_name: &str) -> Key {
        Key {
            system_code: system_code.into(),
            db_name: db_name.into(),
            table_name: table_name.into(),
            field_name: field_name.into(),
        }
    }

    /// The body of an allocation of `count` IDs.
    pub fn request(&self, count: i64) -> String {
        json!({
            "system_code": self.system_code,
            "db_name": self.db_name,
            "table_name": self.table_name,
            "field_name": self.field_name,
            "segment_count": count,
        })
        .to_string()
    }
}

/// One successful allocation.
#[derive(Debug, Clone, Copy)]
pub struct Allocation {
    /// When the request was sent (a request in flight when a fault began does not count as
    /// recovery from it).
    pub sent: Instant,
    /// When the answer arrived.
    pub at: Instant,
    /// Which server answered.
    pub server: usize,
    /// Which key (index into the load's keys).
    pub key: usize,
    pub start: i64,
    pub end: i64,
}

/// What one client thread saw, in order.
#[derive(Debug, Default)]
pub struct ClientLog {
    pub allocations: Vec<Allocation>,
    /// Failed requests by cause: the envelope `code`, the HTTP status, or `io`.
    pub errors: BTreeMap<String, u64>,
    /// The first message seen per cause.
    pub samples: BTreeMap<String, String>,
    /// The latest message seen per cause.
    pub latest: BTreeMap<String, String>,
}

/// Options of a load.
pub struct LoadOptions {
    /// Client threads (8 or more).
    pub threads: usize,
    /// IDs per request (each thread adds its index, so sizes differ).
    pub count: i64,
    /// How long a client waits for an answer.
    pub timeout: Duration,
    /// How long a client sleeps after a failed request.
    pub backoff: Duration,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            threads: 8,
            count: 100,
            timeout: Duration::from_secs(15),
            backoff: Duration::from_millis(20),
        }
    }
}

struct Shared {
    stop: AtomicBool,
    /// IDs handed out so far.
    ids: AtomicU64,
    /// Per server: nanoseconds after `epoch` when its latest successful request was sent (0: none).
    last_ok: Vec<AtomicU64>,
    /// Failed requests so far.
    errors: AtomicU64,
    epoch: Instant,
}

/// A running load; [`Load::stop`] ends it and returns every client's log.
pub struct Load {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<ClientLog>>,
    pub keys: Vec<Key>,
}

impl Load {
    /// Starts `options.threads` clients allocating on `keys` from the servers of `targets`.
    pub fn start(targets: &Targets, keys: &[Key], options: LoadOptions) -> Load {
        assert!(!keys.is_empty() && !targets.is_empty());
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            ids: AtomicU64::new(0),
            last_ok: targets.iter().map(|_| AtomicU64::new(0)).collect(),
            errors: AtomicU64::new(0),
            epoch: Instant::now(),
        });
        let threads = (0..options.threads)
            .map(|t| {
                let shared = shared.clone();
                let targets = targets.clone();
                let keys = keys.to_vec();
                let count = options.count + t as i64;
                let (timeout, backoff) = (options.timeout, options.backoff);
                std::thread::spawn(move || {
                    client(t, &shared, &targets, &keys, count, timeout, backoff)
                })
            })
            .collect();
        Load {
            shared,
            threads,
            keys: keys.to_vec(),
        }
    }

    /// IDs handed out so far.
    pub fn ids(&self) -> u64 {
        self.shared.ids.load(Ordering::Relaxed)
    }

    /// Failed requests so far.
    pub fn errors(&self) -> u64 {
        self.shared.errors.load(Ordering::Relaxed)
    }

    /// Waits until at least `ids` IDs were handed out; `false` after `timeout`.
    pub fn wait_ids(&self, ids: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.ids() < ids {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Waits until each of `servers` answered an allocation sent after `since`; `false` after `timeout`.
    pub fn wait_ok_after(&self, since: Instant, servers: &[usize], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let since = since.duration_since(self.shared.epoch).as_nanos() as u64;
        loop {
            let all = servers
                .iter()
                .all(|&s| self.shared.last_ok[s].load(Ordering::Relaxed) > since);
            if all {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops the clients and returns their logs.
    pub fn stop(mut self) -> Vec<ClientLog> {
        self.shared.stop.store(true, Ordering::Relaxed);
        std::mem::take(&mut self.threads)
            .into_iter()
            .map(|t| t.join().expect("a client thread panicked"))
            .collect()
    }
}

impl Drop for Load {
    /// A scenario that panicked stops its clients too.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn client(
    index: usize,
    shared: &Shared,
    targets: &Targets,
    keys: &[Key],
    count: i64,
    timeout: Duration,
    backoff: Duration,
) -> ClientLog {
    let mut log = ClientLog::default();
    let mut conns: Vec<Option<Conn>> = targets.iter().map(|_| None).collect();
    let bodies: Vec<String> = keys.iter().map(|k| k.request(count)).collect();
    let mut n = index;
    while !shared.stop.load(Ordering::Relaxed) {
        n += 1;
        let server = n % targets.len();
        let key = (n / targets.len()) % keys.len();
        if conns[server].is_none() {
            let addr = targets[server].lock().unwrap().clone();
            match Conn::connect(&addr, timeout) {
                Ok(c) => conns[server] = Some(c),
                Err(e) => {
                    failed(
                        shared,
                        &mut log,
                        "io".into(),
                        format!("connect {addr}: {e}"),
                    );
                    std::thread::sleep(backoff);
                    continue;
                }
            }
        }
        let conn = conns[server].as_mut().unwrap();
        let sent = Instant::now();
        let answer = conn.request(
            "POST",
            "/api/segment/allocate",
            Some(&bodies[key]),
            None,
            false,
        );
        match answer {
            Ok((200, body)) if body["code"] == 0 => {
                let range = (int(&body["data"]["start"]), int(&body["data"]["end"]));
                let (Some(start), Some(end)) = range else {
                    panic!("an allocation without a range: {body}");
                };
                assert_eq!(end - start + 1, count, "a range of the wrong size: {body}");
                let at = Instant::now();
                log.allocations.push(Allocation {
                    sent,
                    at,
                    server,
                    key,
                    start,
                    end,
                });
                shared.ids.fetch_add(count as u64, Ordering::Relaxed);
                shared.last_ok[server].store(
                    sent.duration_since(shared.epoch).as_nanos() as u64,
                    Ordering::Relaxed,
                );
            }
            Ok((status, body)) => {
                let cause = match body["code"].as_i64() {
                    Some(code) => format!("{code}"),
                    None => format!("http {status}"),
                };
                failed(shared, &mut log, cause, body.to_string());
                std::thread::sleep(backoff);
            }
            Err(e) => {
                conns[server] = None;
                failed(shared, &mut log, "io".into(), e.to_string());
                std::thread::sleep(backoff);
            }
        }
    }
    log
}

fn failed(shared: &Shared, log: &mut ClientLog, cause: String, message: String) {
    shared.errors.fetch_add(1, Ordering::Relaxed);
    *log.errors.entry(cause.clone()).or_default() += 1;
    log.samples
        .entry(cause.clone())
        .or_insert_with(|| message.clone());
    log.latest.insert(cause, message);
}
