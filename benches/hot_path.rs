//! Heap allocations per request on the server's side of `POST /api/segment/allocate`.
//!
//! `cargo bench --bench hot_path` starts an in-process server with the default store (SQLite,
//! reserving ahead) on a runtime of its own, whose one worker thread is the only thread a
//! counting global allocator counts. A client on another runtime sends requests one after
//! another over one keep-alive connection: a warm-up, then `KXY_HOT_PATH_REQUESTS` (default
//! 20,000) counted ones. Rows: hyper alone answering a fixed body (the floor no handler can
//! go below), `POST /api/segment/allocate` of one ID, and the same with an allocation token
//! (`--require-allocation-tokens`).
//!
//! Instructions per request come from the same binary under callgrind (`KXY_HOT_PATH_ONLY=1`
//! sends only the allocations of the first row; collecting only inside the router):
//!
//! ```text
//! KXY_HOT_PATH_ONLY=1 KXY_HOT_PATH_REQUESTS=5000 valgrind --tool=callgrind \
//!   --toggle-collect='kxy_id_server::router::route::*' target/release/deps/hot_path-HASH --bench
//! ```
//!
//! The total of events (`Ir`) divided by warm-up plus counted requests is the figure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kxy_id::SegmentKey;

mod support;
use support::{connect, env_number, server_settings};

/// Counts allocations made on threads marked as the server's.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static SERVER_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if SERVER_THREAD.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call goes to the system allocator unchanged; counting touches no heap.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: u64 = 2_000;

/// One kind of request, sent `WARM_UP` times and then `n` times; allocations per counted one.
async fn per_request(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    request: &dyn Fn() -> http::Request<Full<Bytes>>,
    n: u64,
) -> f64 {
    let mut before = 0;
    for i in 0..WARM_UP + n {
        if i == WARM_UP {
            before = ALLOCATIONS.load(Ordering::Relaxed);
        }
        let response = sender.send_request(request()).await.expect("response");
        assert_eq!(response.status(), 200);
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert!(
            body.starts_with(br#"{"code":0"#) || body.starts_with(br#"{"status""#),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n as f64
}

/// A server with `extra` flags on its own one-thread runtime; its address and a token for
/// `system` when tokens are required.
fn start(
    dir: &std::path::Path,
    extra: &[&str],
    system: &str,
) -> (
    std::net::SocketAddr,
    tokio::runtime::Runtime,
    Option<String>,
) {
    let server = server_runtime();
    let settings = server_settings(dir, extra);
    let (addr, token) = server.block_on(async {
        let key = SegmentKey::new(system, "bench", "t", "id").expect("key");
        let state = support::seeded_state(&settings, &key).await;
        let token = if settings.require_allocation_tokens {
            let created = state.tokens.create(system).await;
            let Ok((_, token)) = created else {
                panic!("an allocation token could not be created")
            };
            Some(token)
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(kxy_id_server::run(listener, state, std::future::pending()));
        (addr, token)
    });
    (addr, server, token)
}

/// A runtime whose one worker thread is counted as the server's.
fn server_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| SERVER_THREAD.with(|s| s.set(true)))
        .enable_all()
        .build()
        .expect("the server's runtime")
}

/// The floor: hyper alone on the same kind of runtime, answering every request with a fixed
/// body and the headers the server sends (no router, no handler).
fn bare_hyper() -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let server = server_runtime();
    let addr = server.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(support::serve_fixed_answer(listener));
        addr
    });
    (addr, server)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_number("KXY_HOT_PATH_REQUESTS", 20_000);
    let only_allocate = std::env::var_os("KXY_HOT_PATH_ONLY").is_some();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the client's runtime");
    let system = kxy_id::testing::allocator::unique_prefix();
    let body = Bytes::from(format!(
        r#"{{"system_code":"{system}","db_name":"bench","table_name":"t","field_name":"id","segment_count":1}}"#
    ));
    let mut rows = Vec::new();
    if !only_allocate {
        let (addr, server) = bare_hyper();
        client.block_on(async {
            let mut sender = connect(addr).await.expect("connect");
            let request = || {
                http::Request::post("/api/segment/allocate")
                    .header("host", "bench")
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                    .expect("request")
            };
            let allocations = per_request(&mut sender, &request, n).await;
            rows.push((
                "hyper alone, a fixed answer (the floor)".to_owned(),
                allocations,
            ));
        });
        drop(server);
    }
    for (name, extra) in [
        ("SQLite, reserving ahead (default)", &[][..]),
        (
            "SQLite, reserving ahead, allocation token required",
            &["--require-allocation-tokens"][..],
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (addr, server, token) = start(dir.path(), extra, &system);
        client.block_on(async {
            let mut sender = connect(addr).await.expect("connect");
            let allocate = || {
                let mut request = http::Request::post("/api/segment/allocate")
                    .header("host", "bench")
                    .header("content-type", "application/json");
                if let Some(token) = &token {
                    request = request.header("authorization", format!("Bearer {token}"));
                }
                request.body(Full::new(body.clone())).expect("request")
            };
            let allocations = per_request(&mut sender, &allocate, n).await;
            rows.push((format!("POST /api/segment/allocate ({name})"), allocations));
        });
        drop(server);
        if only_allocate {
            break;
        }
    }
    println!(
        "\nHeap allocations per request on the server's thread, after {WARM_UP} warm-up requests, {n} counted\n"
    );
    println!("| request | allocations per request |");
    println!("|---|---|");
    for (name, allocations) in rows {
        println!("| {name} | {allocations:.2} |");
    }
}
