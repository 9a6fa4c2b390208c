//! Many keys: a server reserving ahead (the default mode) that serves 1,000,000 keys. Reported:
//! the resident memory each key costs the server (its reserved block, beside what the store
//! keeps), and allocate throughput over HTTP when every request names a random one of the keys,
//! against the same load on one key (the baseline, same run).
//!
//! The counters live in the in-memory store so that creating a million of them takes seconds;
//! the store's own memory per key is reported apart from the server's.
//!
//! `cargo bench --bench keys`. `KXY_KEYS` (default 1,000,000) and `KXY_LOAD_SECONDS` (default 5)
//! change the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kxy_id::SegmentKey;
use kxy_id_server::{open_state, run};
use support::{bench_runtime, connect, env_number, resident_bytes, server_settings};

mod support;

const CONNECTIONS: usize = 32;

/// The table name of key number `i`.
fn table(i: u64) -> String {
    format!("t_{i:07}")
}

/// Requests/s over `CONNECTIONS` keep-alive connections for `seconds`; request `n` of a
/// connection names key `pick(n)`.
async fn load(addr: std::net::SocketAddr, seconds: u64, pick: fn(u64) -> u64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..CONNECTIONS as u64)
        .map(|c| {
            let (stop, done) = (stop.clone(), done.clone());
            tokio::spawn(async move {
                let mut sender = connect(addr).await.expect("connect");
                let mut n = c.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                while !stop.load(Ordering::Relaxed) {
                    n = n.wrapping_add(1);
                    let body = format!(
                        r#"{{"system_code":"keys","db_name":"bench","table_name":"{}","field_name":"id","segment_count":10}}"#,
                        table(pick(n))
                    );
                    let req = http::Request::post("/api/segment/allocate")
                        .header("host", "bench")
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body)))
                        .expect("request");
                    let res = sender.send_request(req).await.expect("response");
                    let bytes = res.into_body().collect().await.expect("body").to_bytes();
                    assert!(bytes.starts_with(br#"{"code":0"#), "{bytes:?}");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (start_count, started) = (done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let rate =
        (done.load(Ordering::Relaxed) - start_count) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("load task");
    }
    rate
}

fn main() {
    // `cargo test --benches` passes no `--bench`: nothing runs then.
    let Some(rt) = bench_runtime() else {
        return;
    };
    let keys = env_number("KXY_KEYS", 1_000_000).max(1);
    let seconds = env_number("KXY_LOAD_SECONDS", 5);
    static KEYS: AtomicU64 = AtomicU64::new(1);
    KEYS.store(keys, Ordering::Relaxed);
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = server_settings(dir.path(), &["--store", "memory://", "--reserve", "1000"]);
        let state = open_state(&settings).await.expect("open the store");
        let service = state.service.clone();
        let key = |i: u64| SegmentKey::new("keys", "bench", &table(i), "id").expect("key");

        let empty = resident_bytes("self");
        for i in 0..keys {
            service.allocator().raise_to(&key(i), 0).await.expect("seed");
        }
        let seeded = resident_bytes("self");
        for i in 0..keys {
            service.allocate(&key(i), 1).await.expect("allocate");
        }
        let reserved = resident_bytes("self");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, state, async {
            let _ = stopped.await;
        }));
        let one = load(addr, seconds, |_| 0).await;
        let many = load(addr, seconds, |n| {
            // A multiplicative hash spreads consecutive requests over all keys.
            n.wrapping_mul(0x2545_F491_4F6C_DD1D) % KEYS.load(Ordering::Relaxed)
        })
        .await;
        let _ = stop.send(());
        server.await.expect("server task").expect("server");

        let per_key = |bytes: u64| bytes as f64 / keys as f64;
        println!("\n{keys} keys, reserving ahead (blocks of 1,000), counters in the in-memory store\n");
        println!("| what | bytes per key |");
        println!("|---|---|");
        println!("| the store's counters (in-memory store) | {:.0} |", per_key(seeded.saturating_sub(empty)));
        println!("| the server's reserved blocks | {:.0} |", per_key(reserved.saturating_sub(seeded)));
        println!("\nPOST /api/segment/allocate, {CONNECTIONS} keep-alive connections, {seconds} s per run\n");
        println!("| keys named by the requests | requests/s | vs one key |");
        println!("|---|---|---|");
        println!("| one key (baseline) | {one:.0} | 1.00× |");
        println!("| a random one of {keys} | {many:.0} | {:.2}× |", many / one);
    });
}
