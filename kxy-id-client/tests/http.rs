//! The HTTP transport.
//!
//! * Against a tiny local hyper server that answers with recorded envelope bodies of the
//!   contract: failover, retries, timeouts, keep-alive and error mapping.
//! * End to end against the real kxy-id server, started in-process on 127.0.0.1:0 through
//!   `kxy_id_server::run` over an SQLite store in a temporary directory.

mod common;

use common::RealServer;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use kxy_id::SegmentKey;
use kxy_id_client::{Error, GeneratorConfig, HttpConfig, HttpSource, IdGenerator, SegmentSource};

/// One recorded answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(start: &str, end: &str) -> Reply {
    Reply {
        status: 200,
        body: format!(
            r#"{{"code":0,"msg":"Allocated segment: {s} to {e}","data":{{"start":{start},"end":{end}}},"traceId":null}}"#,
            s = start.trim_matches('"'),
            e = end.trim_matches('"'),
        ),
        delay: Duration::ZERO,
    }
}

fn envelope(code: u16, msg: &str) -> Reply {
    Reply {
        status: 200,
        body: format!(r#"{{"code":{code},"msg":"{msg}","data":null,"traceId":null}}"#),
        delay: Duration::ZERO,
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    content_type: Option<String>,
    body: serde_json::Value,
}

/// A local server answering from a script (the last reply repeats once the script runs out).
struct Recorded {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorded {
    async fn start(replies: Vec<Reply>) -> Recorded {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(VecDeque::from(replies)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let (script, seen, connections) = (script.clone(), seen.clone(), connections.clone());
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (script, seen) = (script.clone(), seen.clone());
                    tokio::spawn(async move {
                        let service = service_fn(move |request: Request<Incoming>| {
                            let (script, seen) = (script.clone(), seen.clone());
                            async move {
                                let method = request.method().to_string();
                                let path = request.uri().path().to_owned();
                                let content_type = request
                                    .headers()
                                    .get("content-type")
                                    .map(|v| v.to_str().unwrap().to_owned());
                                let body = request.into_body().collect().await?.to_bytes();
                                seen.lock().unwrap().push(Seen {
                                    method,
                                    path,
                                    content_type,
                                    body: serde_json::from_slice(&body)
                                        .unwrap_or(serde_json::Value::Null),
                                });
                                let reply = {
                                    let mut script = script.lock().unwrap();
                                    if script.len() > 1 {
                                        script.pop_front().unwrap()
                                    } else {
                                        script.front().cloned().unwrap()
                                    }
                                };
                                if !reply.delay.is_zero() {
                                    tokio::time::sleep(reply.delay).await;
                                }
                                Ok::<_, hyper::Error>(
                                    Response::builder()
                                        .status(reply.status)
                                        .header("content-type", "application/json")
                                        .body(Full::new(Bytes::from(reply.body)))
                                        .unwrap(),
                                )
                            }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Recorded {
            addr,
            seen,
            connections,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A URL where nothing listens (connection refused).
async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn key() -> SegmentKey {
    SegmentKey::new("Shop", "Orders", "T_Order", "ID").unwrap()
}

fn fast_retries(config: HttpConfig) -> HttpConfig {
    config.retry_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

#[tokio::test]
async fn request_follows_the_contract_and_big_integers_come_back_as_strings() {
    let server = Recorded::start(vec![ok("\"9007199254740992\"", "\"9007199254750991\"")]).await;
    let source = HttpSource::new(HttpConfig::new([server.url()])).unwrap();
    let segment = source.fetch(&key(), 10_000).await.unwrap();
    assert_eq!(
        (segment.start, segment.end),
        (9_007_199_254_740_992, 9_007_199_254_750_991)
    );
    let seen = server.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/api/segment/allocate");
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        seen.body,
        serde_json::json!({
            "system_code": "shop",
            "db_name": "orders",
            "table_name": "t_order",
            "field_name": "id",
            "segment_count": 10_000,
        })
    );
}

#[tokio::test]
async fn busy_answers_are_retried_with_backoff() {
    let server = Recorded::start(vec![
        envelope(
            503,
            "Failed to initialize segment cache for key: shop:orders:t_order:id. System is busy, please retry later.",
        ),
        envelope(503, "busy"),
        ok("1", "100"),
    ])
    .await;
    let source = HttpSource::new(fast_retries(HttpConfig::new([server.url()]))).unwrap();
    let segment = source.fetch(&key(), 100).await.unwrap();
    assert_eq!((segment.start, segment.end), (1, 100));
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn a_refused_server_fails_over_and_the_working_one_is_kept() {
    let server = Recorded::start(vec![ok("1", "100"), ok("101", "200")]).await;
    let source = HttpSource::new(fast_retries(HttpConfig::new([
        refused_url().await,
        server.url(),
    ])))
    .unwrap();
    assert_eq!(source.fetch(&key(), 100).await.unwrap().start, 1);
    assert_eq!(source.fetch(&key(), 100).await.unwrap().start, 101);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_slow_server_times_out_and_the_next_one_answers() {
    let slow = Recorded::start(vec![Reply {
        delay: Duration::from_secs(10),
        ..ok("1", "100")
    }])
    .await;
    let fast = Recorded::start(vec![ok("101", "200")]).await;
    let source = HttpSource::new(
        fast_retries(HttpConfig::new([slow.url(), fast.url()]))
            .request_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let started = Instant::now();
    assert_eq!(source.fetch(&key(), 100).await.unwrap().start, 101);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(slow.requests(), 1);
}

#[tokio::test]
async fn every_attempt_failing_returns_the_last_error_after_the_configured_attempts() {
    let server = Recorded::start(vec![Reply {
        status: 500,
        body: r#"{"code":500,"msg":"Internal Server Error","data":null}"#.to_owned(),
        delay: Duration::ZERO,
    }])
    .await;
    let source =
        HttpSource::new(fast_retries(HttpConfig::new([server.url()])).attempts(3)).unwrap();
    let err = source.fetch(&key(), 100).await.unwrap_err();
    assert!(matches!(err, Error::ServerError { .. }), "{err:?}");
    assert_eq!(server.requests(), 3);

    let source = HttpSource::new(
        fast_retries(HttpConfig::new([refused_url().await]))
            .attempts(2)
            .connect_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let err = source.fetch(&key(), 100).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn handled_refusals_are_returned_at_once_without_retrying() {
    let cases = [
        (
            envelope(
                404,
                "Database configuration not found for system_code: shop, db_name: orders. Please add database configuration first.",
            ),
            "NotFound",
        ),
        (
            envelope(
                400,
                "Column 'id' of table 't_order' is varchar(36), not an integer",
            ),
            "BadRequest",
        ),
        (
            Reply {
                status: 422,
                body: r#"{"detail":[{"type":"greater_than_equal","loc":["body","segment_count"],"msg":"Input should be greater than or equal to 1","input":0}]}"#.to_owned(),
                delay: Duration::ZERO,
            },
            "Unprocessable",
        ),
    ];
    for (reply, expected) in cases {
        let backup = Recorded::start(vec![ok("1", "2")]).await;
        let server = Recorded::start(vec![reply]).await;
        let source =
            HttpSource::new(fast_retries(HttpConfig::new([server.url(), backup.url()]))).unwrap();
        let err = source.fetch(&key(), 100).await.unwrap_err();
        let name = match &err {
            Error::NotFound { .. } => "NotFound",
            Error::BadRequest { .. } => "BadRequest",
            Error::Unprocessable { .. } => "Unprocessable",
            _ => "other",
        };
        assert_eq!(name, expected, "{err:?}");
        assert!(!err.is_retryable());
        assert_eq!(server.requests(), 1);
        assert_eq!(
            backup.requests(),
            0,
            "no failover for an answer every server gives"
        );
    }
}

#[tokio::test]
async fn keep_alive_reuses_one_connection() {
    let server = Recorded::start(vec![ok("1", "100")]).await;
    let source = HttpSource::new(HttpConfig::new([server.url()])).unwrap();
    for _ in 0..5 {
        source.fetch(&key(), 100).await.unwrap();
    }
    assert_eq!(server.requests(), 5);
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generator_over_http_keeps_serving_through_a_failover() {
    // Two servers answer from one recorded sequence of segments: the first turns busy, then
    // goes away.
    let first = Recorded::start(vec![
        ok("1", "100"),
        ok("101", "200"),
        envelope(503, "busy"),
    ])
    .await;
    let second = Recorded::start(vec![ok("201", "300"), ok("301", "400")]).await;
    let source = Arc::new(
        HttpSource::new(fast_retries(HttpConfig::new([first.url(), second.url()]))).unwrap(),
    );
    let generator = IdGenerator::new(
        source,
        key(),
        GeneratorConfig::default().step(100).adaptive(false),
    )
    .unwrap();
    let ids = tokio::task::spawn_blocking(move || {
        let mut ids: Vec<i64> = (0..150).map(|_| generator.next_id().unwrap()).collect();
        drop(first); // the first server goes away
        ids.extend((0..150).map(|_| generator.next_id().unwrap()));
        ids
    })
    .await
    .unwrap();
    assert_eq!(ids, (1..=300).collect::<Vec<_>>());
    assert!(second.requests() >= 1);
}

// ---------------------------------------------------------------------------------------------
// End to end: the real server.
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_serves_unique_increasing_ids_to_two_threads() {
    let server = RealServer::start().await;
    let key = SegmentKey::new("shop", "orders", "t_order", "id").unwrap();
    server.seed(&key, 41).await; // MAX(id) of the table
    let generator = Arc::new(
        IdGenerator::new(
            Arc::new(HttpSource::new(HttpConfig::new([server.url()])).unwrap()),
            key.clone(),
            GeneratorConfig::default().step(200).adaptive(false),
        )
        .unwrap(),
    );
    let ids = tokio::task::spawn_blocking({
        let generator = generator.clone();
        move || {
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let generator = generator.clone();
                    std::thread::spawn(move || {
                        let ids: Vec<i64> =
                            (0..5_000).map(|_| generator.next_id().unwrap()).collect();
                        assert!(ids.windows(2).all(|w| w[0] < w[1]));
                        ids
                    })
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect::<Vec<_>>()
        }
    })
    .await
    .unwrap();
    let counter = server.counter(&key).await.unwrap();
    assert!(ids.iter().all(|&id| id > 41 && id <= counter));
    common::assert_unique(ids);
    assert!(generator.snapshot().fetches >= 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_big_counters_come_back_exactly() {
    let server = RealServer::start().await;
    let key = SegmentKey::new("shop", "orders", "t_big", "id").unwrap();
    let seed = (1i64 << 53) + 5; // beyond JavaScript's safe integers: sent as strings
    server.seed(&key, seed).await;
    let source = HttpSource::new(HttpConfig::new([server.url()])).unwrap();
    let segment = source.fetch(&key, 10).await.unwrap();
    assert_eq!((segment.start, segment.end), (seed + 1, seed + 10));

    // Near the top of the range: the server refuses the overflow with a 400.
    let top = SegmentKey::new("shop", "orders", "t_top", "id").unwrap();
    server.seed(&top, i64::MAX - 5).await;
    let segment = source.fetch(&top, 5).await.unwrap();
    assert_eq!(segment.end, i64::MAX);
    let err = source.fetch(&top, 1).await.unwrap_err();
    assert!(matches!(err, Error::BadRequest { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_unknown_key_is_a_clear_not_found() {
    let server = RealServer::start().await;
    let key = SegmentKey::new("nobody", "nowhere", "t_none", "id").unwrap();
    let generator = IdGenerator::new(
        Arc::new(HttpSource::new(HttpConfig::new([server.url()])).unwrap()),
        key.clone(),
        GeneratorConfig::default().max_wait(Duration::from_secs(5)),
    )
    .unwrap();
    let started = Instant::now();
    let err = tokio::task::spawn_blocking(move || generator.next_id().unwrap_err())
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(4), "fails fast");
    match &err {
        Error::Unavailable {
            last_error: Some(last),
            ..
        } => match &**last {
            Error::NotFound { message } => {
                assert!(
                    message.contains("Database configuration not found"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(server.counter(&key).await, None);
}

/// A shared generator of `key` over an HTTP source.
fn generator_over(http: HttpConfig, key: &SegmentKey, config: GeneratorConfig) -> Arc<IdGenerator> {
    let source = Arc::new(HttpSource::new(http).unwrap());
    Arc::new(IdGenerator::new(source, key.clone(), config).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_servers_sharing_a_store_fail_over_without_repeating_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("shared.db").display());
    let first = RealServer::on_store(dir.path(), &store).await;
    let second = RealServer::on_store(dir.path(), &store).await;
    let key = SegmentKey::new("shop", "orders", "t_failover", "id").unwrap();
    first.seed(&key, 0).await;
    let generator = generator_over(
        fast_retries(HttpConfig::new([first.url(), second.url()]))
            .connect_timeout(Duration::from_millis(500)),
        &key,
        GeneratorConfig::default().step(100).adaptive(false),
    );
    // A thousand IDs taken on a blocking thread, as synchronous callers take them.
    let take_1000 = || {
        let generator = generator.clone();
        tokio::task::spawn_blocking(move || {
            (0..1_000)
                .map(|_| generator.next_id().unwrap())
                .collect::<Vec<_>>()
        })
    };
    let mut ids = take_1000().await.unwrap();
    drop(first); // the first server stops; the client moves to the second
    tokio::time::sleep(Duration::from_millis(50)).await;
    ids.extend(take_1000().await.unwrap());
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    common::assert_unique(ids);
    assert!(second.counter(&key).await.unwrap() >= 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_stopped_mid_stream_buffers_serve_then_a_clear_error_then_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("restart.db").display());
    let server = RealServer::on_store(dir.path(), &store).await;
    let addr = server.addr;
    let key = SegmentKey::new("shop", "orders", "t_restart", "id").unwrap();
    server.seed(&key, 0).await;
    let generator = generator_over(
        fast_retries(HttpConfig::new([server.url()]))
            .connect_timeout(Duration::from_millis(200))
            .request_timeout(Duration::from_millis(500)),
        &key,
        GeneratorConfig::default()
            .step(1_000)
            .adaptive(false)
            .max_wait(Duration::from_millis(300)),
    );
    let next = |n: usize| {
        let generator = generator.clone();
        tokio::task::spawn_blocking(move || (0..n).map(|_| generator.next_id()).collect::<Vec<_>>())
    };
    // Use a third of the first segment so the second one is fetched, and wait for it.
    let mut ids: Vec<i64> = next(300)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    for _ in 0..100 {
        if generator.snapshot().next_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        generator.snapshot().next_ready(),
        "{:?}",
        generator.snapshot()
    );

    drop(server);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Both buffers keep serving (700 + 1,000 IDs), then a clear error, quickly.
    let results = next(2_000).await.unwrap();
    let served = results.iter().take_while(|r| r.is_ok()).count();
    assert!(served >= 1_700, "only {served} IDs served from the buffers");
    let error = results[served].as_ref().unwrap_err();
    assert!(
        matches!(error, kxy_id_client::Error::Unavailable { .. }),
        "{error:?}"
    );
    ids.extend(results.into_iter().filter_map(Result::ok));

    // The server comes back on the same address: the generator recovers by itself.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let _server = RealServer::on_listener(dir.path(), &store, listener).await;
    let mut recovered = None;
    for _ in 0..100 {
        match next(1).await.unwrap().pop().unwrap() {
            Ok(id) => {
                recovered = Some(id);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let recovered = recovered.expect("the generator recovers once the server is back");
    ids.push(recovered);
    ids.extend(next(500).await.unwrap().into_iter().map(|r| r.unwrap()));
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "IDs keep increasing across the outage"
    );
    common::assert_unique(ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allocation_token_is_sent_to_a_server_that_requires_one() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("kxy-id.db").display());
    let settings = kxy_id_server::Settings::try_parse_from([
        "kxy-id-server",
        "--data-dir",
        &dir.path().display().to_string(),
        "--store",
        &store,
        "--bcrypt-cost",
        "10",
        "--secret-key",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "--require-allocation-tokens",
    ])
    .unwrap();
    let state = kxy_id_server::open_state(&settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(kxy_id_server::run(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    let key = SegmentKey::new("shop", "orders", "t_order", "id").unwrap();
    state.service.allocator().raise_to(&key, 41).await.unwrap();
    let (_, token) = state.tokens.create("Shop").await.unwrap();

    let config = HttpConfig::new([url.clone()]).attempts(1);
    let without = HttpSource::new(config.clone()).unwrap();
    assert!(without.fetch(&key, 10).await.is_err(), "no token, no IDs");
    let config = config.allocation_token(token.clone());
    assert!(
        !format!("{config:?}").contains(&token),
        "Debug never shows the token"
    );
    let with = HttpSource::new(config).unwrap();
    let segment = with.fetch(&key, 10).await.unwrap();
    assert_eq!((segment.start, segment.end), (42, 51));
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_many_asks_the_batch_endpoint_and_answers_each_key() {
    let server = RealServer::start().await;
    let keys: Vec<SegmentKey> = (0..3)
        .map(|i| SegmentKey::new("shop", "orders", &format!("t_{i}"), "id").unwrap())
        .collect();
    for (i, key) in keys.iter().enumerate() {
        server.seed(key, 100 * i as i64).await;
    }
    let source = HttpSource::new(HttpConfig::new([server.url()])).unwrap();
    let missing = SegmentKey::new("nobody", "d", "t", "id").unwrap();
    let mut requests: Vec<(SegmentKey, i64)> = keys.iter().map(|k| (k.clone(), 10)).collect();
    requests.insert(1, (missing, 10));
    let results = source.fetch_many(&requests).await.unwrap();
    assert_eq!(results.len(), 4);
    assert!(
        matches!(results[1], Err(Error::NotFound { .. })),
        "{:?}",
        results[1]
    );
    for (i, r) in [0, 2, 3].into_iter().zip(0..) {
        let segment = results[i].as_ref().unwrap();
        assert_eq!((segment.start, segment.end), (100 * r + 1, 100 * r + 10));
    }
    // The single endpoint goes on from where the batch left the counter.
    let next = source.fetch(&keys[0], 5).await.unwrap();
    assert_eq!((next.start, next.end), (11, 15));
    // The server reserves blocks ahead: its store is at or past the last ID handed out.
    assert!(server.counter(&keys[2]).await.unwrap() >= 210);
}
