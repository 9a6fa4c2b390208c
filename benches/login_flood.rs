//! Allocation latency during a login flood: bcrypt must not be a CPU weapon. A real server
//! (release build, in-process, embedded SQLite reserving ahead, bcrypt cost 12, the login
//! brake set so high that only the bound on concurrent hashes stands in the way) answers
//! sequential allocations while an attacker on a thread and runtime of its own (as another
//! process would be) sends wrong passwords from 16 connections, each retrying 100 ms after a
//! refusal. Rounds without and with the flood alternate; reported: allocate p50/p99 of each,
//! the median over rounds of the p99 ratio (flood / idle), and how many guesses were hashed or
//! refused.
//!
//! `cargo bench --bench login_flood`. `KXY_FLOOD_ROUNDS` (default 7) and
//! `KXY_FLOOD_ALLOCATIONS` (per phase, default 2,000) change the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use kxy_id::SegmentKey;
use kxy_id_server::{open_state, run};
use support::{bench_runtime, connect, env_number, server_settings};

mod support;

/// POSTs `body` to `path`; the status and the answer.
async fn post(
    sender: &mut SendRequest<Full<Bytes>>,
    path: &str,
    body: &'static str,
) -> (u16, Bytes) {
    let req = http::Request::post(path)
        .header("host", "bench")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request");
    sender.ready().await.expect("the connection is open");
    let res = sender.send_request(req).await.expect("an answer");
    let status = res.status().as_u16();
    (
        status,
        res.into_body().collect().await.expect("body").to_bytes(),
    )
}

const ALLOCATE: &str =
    r#"{"system_code":"flood","db_name":"d","table_name":"t","field_name":"id","segment_count":1}"#;
const GUESS: &str = r#"{"username":"admin","password":"not-the-password"}"#;

/// Latencies of `n` sequential allocations.
async fn allocations(sender: &mut SendRequest<Full<Bytes>>, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let (status, body) = post(sender, "/api/segment/allocate", ALLOCATE).await;
        out.push(started.elapsed());
        assert!(
            status == 200 && body.starts_with(br#"{"code":0"#),
            "{body:?}"
        );
    }
    out
}

fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)]
}

/// The attacker: 16 connections guessing until `stop`, on its own thread and runtime.
fn flood(
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    hashed: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the attacker's runtime");
        runtime.block_on(async move {
            let tasks: Vec<_> = (0..16)
                .map(|_| {
                    let (stop, hashed, refused) = (stop.clone(), hashed.clone(), refused.clone());
                    tokio::spawn(async move {
                        let mut sender = connect(addr).await.expect("connect");
                        while !stop.load(Ordering::Relaxed) {
                            match post(&mut sender, "/api/auth/login", GUESS).await.0 {
                                429 => {
                                    refused.fetch_add(1, Ordering::Relaxed);
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                }
                                _ => {
                                    hashed.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("attacker task");
            }
        });
    })
}

fn main() {
    // `cargo test --benches` passes no `--bench`: nothing runs then.
    let Some(rt) = bench_runtime() else {
        return;
    };
    let rounds = env_number("KXY_FLOOD_ROUNDS", 7).max(1) as usize;
    let per_phase = env_number("KXY_FLOOD_ALLOCATIONS", 2_000).max(100) as usize;
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = server_settings(dir.path(), &["--login-attempts", "1000000000"]);
        let state = open_state(&settings).await.expect("open the store");
        let key = SegmentKey::new("flood", "d", "t", "id").expect("key");
        state.service.allocator().raise_to(&key, 0).await.expect("seed");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(run(listener, state, std::future::pending()));
        let admin = r#"{"username":"admin","password":"the-right-password-1"}"#;
        let mut setup = connect(addr).await.expect("connect");
        assert_eq!(post(&mut setup, "/api/auth/init-user", admin).await.0, 200);
        let mut sender = connect(addr).await.expect("connect");
        allocations(&mut sender, per_phase).await; // warm up

        let (hashed, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (mut idle_all, mut busy_all, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let mut idle = allocations(&mut sender, per_phase).await;
            let stop = Arc::new(AtomicBool::new(false));
            let attacker = flood(addr, stop.clone(), hashed.clone(), refused.clone());
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut busy = allocations(&mut sender, per_phase).await;
            stop.store(true, Ordering::Relaxed);
            tokio::task::spawn_blocking(move || attacker.join().expect("attacker"))
                .await
                .expect("join");
            ratios.push(quantile(&mut busy, 0.99).as_secs_f64() / quantile(&mut idle, 0.99).as_secs_f64());
            idle_all.extend(idle);
            busy_all.extend(busy);
        }
        ratios.sort_by(f64::total_cmp);
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let (i50, i99) = (quantile(&mut idle_all, 0.5), quantile(&mut idle_all, 0.99));
        let (b50, b99) = (quantile(&mut busy_all, 0.5), quantile(&mut busy_all, 0.99));
        println!("\nPOST /api/segment/allocate, one connection, {rounds} rounds of {per_phase} allocations idle and {per_phase} during the flood\n");
        println!("| phase | p50 µs | p99 µs | p99 vs idle |");
        println!("|---|---|---|---|");
        println!("| idle (baseline) | {:.0} | {:.0} | 1.00× |", us(i50), us(i99));
        println!(
            "| during the login flood | {:.0} | {:.0} | {:.2}× (median of per-round ratios {:.2}×, all {ratios:.2?}) |",
            us(b50),
            us(b99),
            b99.as_secs_f64() / i99.as_secs_f64(),
            ratios[ratios.len() / 2]
        );
        println!(
            "\nguesses hashed: {}, refused with 429: {}",
            hashed.load(Ordering::Relaxed),
            refused.load(Ordering::Relaxed)
        );
    });
}
