//! Load on `POST /api/segment/allocate` of a real in-process server (release build), with
//! 32 keep-alive connections, against a baseline measured in the same run: plain Redis
//! `INCRBY` (not pipelined) at the same concurrency, which bounds any design that makes one
//! Redis round trip per request (the old Python service measured ~1,100 requests/s under
//! `wrk -t2 -c32` on this machine kind while Redis answered ~38,000 INCRBY/s).
//!
//! `cargo bench --bench server_load` (Redis from `KXY_TEST_REDIS_URL`, MariaDB and PostgreSQL
//! from `KXY_TEST_MYSQL_URL` and `KXY_TEST_POSTGRES_URL`, local defaults; rows of an
//! unreachable service are skipped with a notice). `KXY_LOAD_SECONDS` sets the duration of
//! each run (default 5), `KXY_LOAD_ROUNDS` how many times every row runs (default 3; the
//! median is reported). Every store without reservation runs twice: each request its own
//! store call (`--coalesce false`), then coalesced (the default). A row of hyper alone
//! answering a fixed body shows what any HTTP/1.1 server on hyper costs here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use kxy_id::SegmentKey;
use kxy_id_server::{Settings, run};

mod support;
use support::{bench_runtime, env_number, load_seconds};

const CONNECTIONS: usize = 32;

/// Runs `CONNECTIONS` workers for the configured duration; each calls `step` in a loop.
async fn drive<F, Fut>(make_worker: F) -> f64
where
    F: Fn(Arc<AtomicBool>, Arc<AtomicU64>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(make_worker(stop.clone(), done.clone())))
        .collect();
    // Warm up for a second, then count.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start_count = done.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(load_seconds()).await;
    let count = done.load(Ordering::Relaxed) - start_count;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await.expect("worker");
    }
    count as f64 / elapsed
}

async fn redis_incrby(url: String) -> f64 {
    let client = redis::Client::open(url.as_str()).expect("redis url");
    let key = format!("kxy:id:bench:{}", std::process::id());
    let rate = drive(|stop, done| {
        let client = client.clone();
        let key = key.clone();
        async move {
            // One connection per worker, one command in flight: no pipelining.
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .expect("connect");
            while !stop.load(Ordering::Relaxed) {
                let _: i64 = redis::cmd("INCRBY")
                    .arg(&key)
                    .arg(10_000)
                    .query_async(&mut conn)
                    .await
                    .expect("incrby");
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: i64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("del");
    rate
}

/// A server started through `run` on 127.0.0.1:0; stop it with [`stop`].
struct Running {
    addr: std::net::SocketAddr,
    state: kxy_id_server::AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(settings: &Settings, key: &SegmentKey) -> Running {
    let state = support::seeded_state(settings, key).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        state,
        stop,
        task,
    }
}

async fn stop(server: Running, system: &str) {
    let _ = server.stop.send(());
    server.task.await.expect("server task").expect("server");
    kxy_id::testing::allocator::cleanup(&**server.state.service.allocator(), system).await;
}

async fn server_allocate(settings: Settings, system: String) -> f64 {
    let key = SegmentKey::new(&system, "bench", "t_order", "id").expect("key");
    let server = start(&settings, &key).await;
    let rate = drive_http(server.addr, &system).await;
    stop(server, &system).await;
    rate
}

/// `CONNECTIONS` keep-alive connections to `addr` sending allocations of 10,000 IDs for
/// `system`, one request in flight each; requests/s.
async fn drive_http(addr: std::net::SocketAddr, system: &str) -> f64 {
    let body = Bytes::from(format!(
        r#"{{"system_code":"{system}","db_name":"bench","table_name":"t_order","field_name":"id","segment_count":10000}}"#
    ));
    drive(|stop, done| {
        let body = body.clone();
        async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            while !stop.load(Ordering::Relaxed) {
                let req = http::Request::post("/api/segment/allocate")
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                    .expect("request");
                let res = sender.send_request(req).await.expect("response");
                let bytes = res.into_body().collect().await.expect("body").to_bytes();
                assert!(
                    bytes.starts_with(br#"{"code":0"#),
                    "{}",
                    String::from_utf8_lossy(&bytes)
                );
                done.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await
}

/// One row of the table: what the load is sent to.
enum Row {
    /// Redis itself, `INCRBY` over one connection per worker.
    Incrby(String),
    /// hyper alone answering a fixed body.
    Fixed,
    /// A kxy-id server over `store` (the default SQLite store with `None`).
    Server {
        store: Option<String>,
        reserve: Option<i64>,
        coalesce: bool,
    },
}

impl Row {
    /// One sample of the row, in requests/s; `system` names its counters.
    async fn run(&self, dir: &std::path::Path, system: &str) -> f64 {
        match self {
            Row::Incrby(url) => redis_incrby(url.clone()).await,
            Row::Fixed => fixed_answer(system).await,
            Row::Server {
                store,
                reserve,
                coalesce,
            } => {
                let mut s = settings(dir, store.as_deref());
                if reserve.is_some() {
                    s.reserve = *reserve;
                }
                s.coalesce = *coalesce;
                server_allocate(s, system.to_owned()).await
            }
        }
    }
}

/// The median of `samples`.
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Requests/s of the same load against hyper alone answering a fixed body.
async fn fixed_answer(system: &str) -> f64 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(support::serve_fixed_answer(listener));
    let rate = drive_http(addr, system).await;
    server.abort();
    rate
}

/// IDs per second from `threads` threads calling `next` in a loop for the configured duration.
fn ids_per_second(threads: usize, next: Arc<dyn Fn() -> i64 + Send + Sync>) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, next) = (stop.clone(), next.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                let mut last = 0;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..1024 {
                        last = std::hint::black_box(next());
                    }
                    n += 1024;
                }
                std::hint::black_box(last);
                n
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(load_seconds());
    stop.store(true, Ordering::Relaxed);
    let total: u64 = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

/// `IdGenerator::next_id()` over HTTP to a real server (segments of 10,000), against
/// `AtomicI64::fetch_add` on the same threads in the same run.
async fn client_end_to_end(dir: &std::path::Path, system: &str) -> Vec<(String, f64)> {
    use kxy_id_client::{GeneratorConfig, HttpConfig, HttpSource, IdGenerator};
    let key = SegmentKey::new(system, "bench", "t_client", "id").expect("key");
    let server = start(&settings(dir, None), &key).await;
    let addr = server.addr;
    let source = HttpSource::new(HttpConfig::new([format!("http://{addr}")])).expect("source");
    let generator = Arc::new(
        IdGenerator::new(
            Arc::new(source),
            key,
            GeneratorConfig::default().step(10_000).adaptive(false),
        )
        .expect("generator"),
    );
    let mut rows = Vec::new();
    for threads in [1, 2] {
        let counter = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let floor = tokio::task::spawn_blocking(move || {
            ids_per_second(
                threads,
                Arc::new(move || counter.fetch_add(1, Ordering::Relaxed)),
            )
        })
        .await
        .expect("baseline");
        let g = generator.clone();
        let rate = tokio::task::spawn_blocking(move || {
            ids_per_second(threads, Arc::new(move || g.next_id().expect("next_id")))
        })
        .await
        .expect("client");
        rows.push((
            format!("AtomicI64::fetch_add, {threads} thread(s) (baseline)"),
            floor,
        ));
        rows.push((
            format!("IdGenerator::next_id over HTTP, segments of 10,000, {threads} thread(s)"),
            rate,
        ));
    }
    drop(generator);
    stop(server, system).await;
    rows
}

fn settings(dir: &std::path::Path, store: Option<&str>) -> Settings {
    let mut args = vec![
        "kxy-id-server".to_string(),
        "--data-dir".into(),
        dir.display().to_string(),
    ];
    if let Some(store) = store {
        args.extend(["--store".to_string(), store.to_string()]);
    }
    Settings::try_parse_from(args).expect("settings")
}

fn main() {
    let Some(rt) = bench_runtime() else {
        return;
    };
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let system = kxy_id::testing::allocator::unique_prefix();
        let redis = kxy_id::testing::redis_url().await;
        let mysql = kxy_id::testing::TestDatabase::mysql().await;
        let postgres = kxy_id::testing::TestDatabase::postgres().await;
        let mut rows: Vec<(String, Row)> = Vec::new();
        if let Some(url) = &redis {
            rows.push(("Redis INCRBY, not pipelined (baseline)".into(), Row::Incrby(url.clone())));
        }
        rows.push(("hyper alone answering a fixed body (no router, handler or store: the ceiling of an HTTP/1.1 server here)".into(), Row::Fixed));
        rows.push(("kxy-id-server, SQLite store, reserving ahead (default)".into(), Row::Server { store: None, reserve: None, coalesce: true }));
        if let Some(url) = &redis {
            let store = Some(url.clone());
            rows.push(("kxy-id-server, Redis store, one Lua script per request (--coalesce false)".into(), Row::Server { store: store.clone(), reserve: None, coalesce: false }));
            rows.push(("kxy-id-server, Redis store, coalescing (default without reservation)".into(), Row::Server { store: store.clone(), reserve: None, coalesce: true }));
            rows.push(("kxy-id-server, Redis store, reserving ahead".into(), Row::Server { store, reserve: Some(100_000), coalesce: true }));
        }
        // The SQL stores without reservation: every request one UPDATE, then coalesced.
        let sqlite = format!("sqlite://{}", dir.path().join("plain.db").display());
        let mut sql: Vec<(&str, String)> = vec![("SQLite", sqlite)];
        sql.extend(mysql.as_ref().map(|db| ("MariaDB", db.url.clone())));
        sql.extend(postgres.as_ref().map(|db| ("PostgreSQL", db.url.clone())));
        for (name, url) in &sql {
            for coalesce in [false, true] {
                let label = if coalesce { "coalescing" } else { "one UPDATE per request (--coalesce false)" };
                let row = Row::Server { store: Some(url.clone()), reserve: Some(0), coalesce };
                rows.push((format!("kxy-id-server, {name} store, --reserve 0, {label}"), row));
            }
        }
        // Every round runs every row; the medians are reported, so a slow moment of the
        // machine moves one sample, not a row.
        let rounds = env_number("KXY_LOAD_ROUNDS", 3).max(1) as usize;
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
        for round in 0..rounds {
            for (i, (_, row)) in rows.iter().enumerate() {
                let system = format!("{system}-{i}-{round}");
                samples[i].push(row.run(dir.path(), &system).await);
            }
        }
        for db in [mysql, postgres].into_iter().flatten() {
            db.remove().await;
        }
        let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
        let baseline = redis.as_ref().map(|_| medians[0]);
        println!("\nPOST /api/segment/allocate, {CONNECTIONS} keep-alive connections, {} s per run, median of {rounds} rounds, 2 cores shared with the load generator\n", load_seconds().as_secs());
        println!("| what | requests/s | vs Redis INCRBY | vs old service (1,100/s) |");
        println!("|---|---|---|---|");
        for ((name, _), rate) in rows.iter().zip(medians) {
            let vs = baseline.map(|b| format!("{:.2}×", rate / b)).unwrap_or_else(|| "–".into());
            println!("| {name} | {rate:.0} | {vs} | {:.0}× |", rate / 1100.0);
        }

        let client = client_end_to_end(dir.path(), &format!("{system}-c")).await;
        println!("\nIDs/s end to end: kxy-id-client over HTTP to the same kind of server\n");
        println!("| what | IDs/s | vs fetch_add on as many threads |");
        println!("|---|---|---|");
        for pair in client.chunks(2) {
            let (base_name, base) = &pair[0];
            let (name, rate) = &pair[1];
            println!("| {base_name} | {base:.0} | 1.00× |");
            println!("| {name} | {rate:.0} | {:.2}× |", rate / base);
        }
    });
}
