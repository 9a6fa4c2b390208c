//! Many connections: a real server (this bench's binary re-run as a child process, so that the
//! server's memory and file descriptors are its own) holding 10,000 idle keep-alive
//! connections while 1,000 more send allocations at a fixed rate. Reported: allocate latency
//! percentiles at that rate against the same rate over 32 connections with nothing idle (the
//! baseline, same run), the server's resident memory per connection, and whether every idle
//! connection still answers afterwards.
//!
//! `cargo bench --bench connections`. `KXY_IDLE_CONNECTIONS` (default 10,000),
//! `KXY_ACTIVE_CONNECTIONS` (default 1,000), `KXY_LOAD_RATE` (requests/s in all, default
//! 5,000) and `KXY_LOAD_SECONDS` (default 5) change the load. Needs about
//! idle + active + 100 file descriptors in each process (`ulimit -n`).

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use kxy_id::SegmentKey;
use kxy_id_server::run;
use support::{bench_runtime, connect, env_number, resident_bytes, server_settings};

mod support;

/// The child's marker: run the server.
const CHILD: &str = "KXY_CONNECTIONS_BENCH_SERVER";

const BODY: &str = r#"{"system_code":"conn","db_name":"bench","table_name":"t","field_name":"id","segment_count":100}"#;

/// The child: a server on 127.0.0.1:0 (embedded SQLite, reserving ahead: the default), its
/// address on stdout, until stdin closes.
fn serve(rt: tokio::runtime::Runtime) {
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let settings = server_settings(dir.path(), &[]);
        let key = SegmentKey::new("conn", "bench", "t", "id").expect("key");
        let state = support::seeded_state(&settings, &key).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        println!("{}", listener.local_addr().expect("addr"));
        std::io::stdout().flush().expect("flush");
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
        });
        run(listener, state, async {
            let _ = stdin_closed.await;
        })
        .await
        .expect("server");
    });
}

/// One allocation over `sender`; whether it succeeded.
async fn allocate(sender: &mut SendRequest<Full<Bytes>>) -> bool {
    let req = http::Request::post("/api/segment/allocate")
        .header("host", "bench")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(BODY.as_bytes())))
        .expect("request");
    let Ok(res) = sender.send_request(req).await else {
        return false;
    };
    match res.into_body().collect().await {
        Ok(body) => body.to_bytes().starts_with(br#"{"code":0"#),
        Err(_) => false,
    }
}

/// `connections` connections sending `rate` requests/s in all for `seconds`, each request at
/// its scheduled time (an open loop: a slow answer does not slow the schedule); the latency
/// histogram (microseconds), the failures and the requests that left late.
async fn open_loop(
    addr: std::net::SocketAddr,
    connections: u64,
    rate: u64,
    seconds: u64,
) -> (Histogram<u64>, u64, u64) {
    let interval = Duration::from_secs_f64(connections as f64 / rate as f64);
    let mut senders = Vec::new();
    for _ in 0..connections {
        senders.push(connect(addr).await.expect("connect"));
    }
    let start = Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::new();
    for (i, mut sender) in senders.into_iter().enumerate() {
        // Spread the connections' schedules evenly over one interval.
        let offset = interval.mul_f64(i as f64 / connections as f64);
        tasks.push(tokio::spawn(async move {
            let mut histogram = Histogram::<u64>::new(3).expect("histogram");
            let (mut failures, mut late) = (0u64, 0u64);
            let mut due = start + offset;
            let end = start + Duration::from_secs(seconds);
            while due < end {
                tokio::time::sleep_until(due.into()).await;
                // Measured from the moment the request leaves: tokio's timer wakes up to 1 ms
                // after the scheduled time. A request that leaves later than that (its
                // connection was still waiting for the previous answer) is counted as late.
                let sent = Instant::now();
                if sent.duration_since(due) > Duration::from_millis(2) {
                    late += 1;
                }
                if allocate(&mut sender).await {
                    histogram.saturating_record(sent.elapsed().as_micros() as u64);
                } else {
                    failures += 1;
                }
                due += interval;
            }
            (histogram, failures, late)
        }));
    }
    let mut all = Histogram::<u64>::new(3).expect("histogram");
    let (mut failures, mut late) = (0, 0);
    for t in tasks {
        let (h, f, l) = t.await.expect("load task");
        all.add(h).expect("merge");
        failures += f;
        late += l;
    }
    (all, failures, late)
}

fn main() {
    // `cargo test --benches` passes no `--bench`: nothing runs then.
    let Some(rt) = bench_runtime() else {
        return;
    };
    if std::env::var_os(CHILD).is_some() {
        return serve(rt);
    }
    let idle = env_number("KXY_IDLE_CONNECTIONS", 10_000);
    let active = env_number("KXY_ACTIVE_CONNECTIONS", 1_000);
    let rate = env_number("KXY_LOAD_RATE", 5_000);
    let seconds = env_number("KXY_LOAD_SECONDS", 5);

    let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .arg("--bench")
        .env(CHILD, "1")
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the server");
    let pid = child.id();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("the server's address");
    let addr: std::net::SocketAddr = line.trim().parse().expect("an address");

    rt.block_on(async {
        let (baseline, base_failures, base_late) = open_loop(addr, 32, rate, seconds).await;
        let before = resident_bytes(&pid.to_string());
        let mut idle_senders = Vec::with_capacity(idle as usize);
        for _ in 0..idle {
            let mut sender = connect(addr).await.expect("an idle connection");
            assert!(allocate(&mut sender).await, "a first request on each idle connection");
            idle_senders.push(sender);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let with_idle = resident_bytes(&pid.to_string());
        let (loaded, failures, late) = open_loop(addr, active, rate, seconds).await;
        let with_active = resident_bytes(&pid.to_string());
        let mut still_open = 0;
        for sender in idle_senders.iter_mut() {
            if allocate(sender).await {
                still_open += 1;
            }
        }
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        println!("\nPOST /api/segment/allocate at {rate} requests/s for {seconds} s (open loop), server on 2 cores shared with the load\n");
        println!("| connections | p50 ms | p99 ms | p99.9 ms | failures | left late | p99 vs baseline |");
        println!("|---|---|---|---|---|---|---|");
        println!(
            "| 32 active (baseline) | {:.2} | {:.2} | {:.2} | {base_failures} | {base_late} | 1.00× |",
            ms(&baseline, 0.5),
            ms(&baseline, 0.99),
            ms(&baseline, 0.999)
        );
        println!(
            "| {active} active + {idle} idle | {:.2} | {:.2} | {:.2} | {failures} | {late} | {:.2}× |",
            ms(&loaded, 0.5),
            ms(&loaded, 0.99),
            ms(&loaded, 0.999),
            ms(&loaded, 0.99) / ms(&baseline, 0.99)
        );
        let per = |bytes: u64, n: u64| bytes as f64 / n.max(1) as f64;
        println!(
            "\nserver memory: {:.1} MiB before, +{:.0} bytes per idle connection, +{:.0} bytes per active connection; {still_open} of {idle} idle connections still answered after the load",
            before as f64 / 1048576.0,
            per(with_idle.saturating_sub(before), idle),
            per(with_active.saturating_sub(with_idle), active)
        );
    });
    drop(child.stdin.take());
    let _ = child.wait();
}
