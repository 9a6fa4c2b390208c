//! What the load benches share: whether `cargo bench` runs them, their runtime and settings
//! from the environment.

#![allow(dead_code)]

use std::time::Duration;

/// The 2-thread runtime a bench runs on, or `None` under `cargo test --benches` (which passes no
/// `--bench`): the benches create databases and servers, which a test run should not.
pub fn bench_runtime() -> Option<tokio::runtime::Runtime> {
    if !std::env::args().any(|a| a == "--bench") {
        return None;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    Some(runtime)
}

/// The number in the environment variable `name`, or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How long each row of a load bench runs: `KXY_LOAD_SECONDS` (default 5).
pub fn load_seconds() -> Duration {
    Duration::from_secs(env_number("KXY_LOAD_SECONDS", 5))
}

/// Settings of a bench's server: data directory `dir`, no table scanner, then `extra` flags.
pub fn server_settings(dir: &std::path::Path, extra: &[&str]) -> kxy_id_server::Settings {
    use clap::Parser;
    let dir = dir.display().to_string();
    let mut args = vec!["kxy-id-server", "--data-dir", &dir, "--scan-interval", "0"];
    args.extend_from_slice(extra);
    kxy_id_server::Settings::try_parse_from(args).expect("settings")
}

/// A keep-alive HTTP/1.1 connection to `addr` (its driver spawned on the current runtime).
pub async fn connect(
    addr: std::net::SocketAddr,
) -> std::io::Result<hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Resident memory of a process, in bytes: `process` is a pid or `self`.
pub fn resident_bytes(process: &str) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{process}/statm")).unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Gives `key` a counter at 0 in the store of a bench's server.
pub async fn seed(state: &kxy_id_server::AppState, key: &kxy_id::SegmentKey) {
    let allocator = state.service.allocator();
    allocator.raise_to(key, 0).await.expect("seed");
}

/// The state of a bench's server over `settings`, with a counter for `key` at 0.
pub async fn seeded_state(
    settings: &kxy_id_server::Settings,
    key: &kxy_id::SegmentKey,
) -> kxy_id_server::AppState {
    let state = kxy_id_server::open_state(settings)
        .await
        .expect("open the store");
    seed(&state, key).await;
    state
}

/// hyper alone answering every request on `listener` with a fixed allocation envelope and the
/// headers the server sends: no router, no handler, no store. What any HTTP/1.1 server built
/// on hyper costs at least, in the same run as the real one.
pub async fn serve_fixed_answer(listener: tokio::net::TcpListener) {
    use bytes::Bytes;
    use http_body_util::Full;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let _ = stream.set_nodelay(true);
        let service = hyper::service::service_fn(|_req| async {
            let mut response = http::Response::new(Full::new(Bytes::from_static(
                br#"{"code":0,"data":{"end":1,"start":1},"msg":"fixed","traceId":null}"#,
            )));
            let headers = response.headers_mut();
            headers.insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
            headers.insert(
                "x-content-type-options",
                http::HeaderValue::from_static("nosniff"),
            );
            Ok::<_, std::convert::Infallible>(response)
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
        );
    }
}
