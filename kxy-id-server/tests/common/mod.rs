//! Starts in-process servers on 127.0.0.1:0 through `kxy_id_server::run`, and talks to them.
//!
//! Shared by every test file (each is its own crate, so any one uses only part of this):
//! `admin` has a method per admin endpoint, `business` the business databases the server
//! reads, `prometheus` a Prometheus process scraping a server, `webdriver` drives headless Chromium for `tests/ui.rs`.

#![allow(dead_code, unreachable_pub)]

pub mod admin;
pub mod business;
pub mod prometheus;
pub mod python;
pub mod raw_http;
pub mod webdriver;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kxy_id::SegmentKey;
use kxy_id_server::{AppState, Settings, open_state, run};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

/// Settings for a test server: exact counters (no reservation ahead) unless `extra` says otherwise.
pub fn settings(data_dir: &Path, store: Option<&str>) -> Settings {
    settings_with(data_dir, store, &["--reserve", "0"])
}

pub fn settings_with(data_dir: &Path, store: Option<&str>, extra: &[&str]) -> Settings {
    let mut args = vec![
        "kxy-id-server".to_string(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--bcrypt-cost".into(),
        "10".into(),
        "--secret-key".into(),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
    ];
    if let Some(store) = store {
        args.push("--store".into());
        args.push(store.into());
        if store.starts_with("redis") {
            // A shared Redis: sign with a fixed secret rather than leave a generated one behind.
            args.push("--jwt-secret-key".into());
            args.push("kxy-id-test-secret-signing-tokens-0123456789".into());
        }
    }
    args.extend(extra.iter().map(|a| a.to_string()));
    Settings::try_parse_from(args).expect("test settings parse")
}

/// A server on the embedded store of a fresh data directory, with an admin logged in: the
/// directory (removed on drop), the server and the admin's token.
pub async fn embedded_with_admin() -> (tempfile::TempDir, TestServer, String) {
    let dir = tempfile::tempdir().expect("a data directory");
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let token = server.admin_token().await;
    (dir, server, token)
}

impl TestServer {
    pub async fn start(settings: &Settings) -> TestServer {
        let state = open_state(settings).await.expect("open the store");
        Self::with_state(state).await
    }

    pub async fn with_state(state: AppState) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        let task = tokio::spawn(async move {
            task.await.expect("server task").expect("server runs");
        });
        TestServer {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server stopped");
        }
    }

    /// Sends a request with a raw body; returns the status and the JSON body (Null if not JSON).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path))
            .header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request");
        let res = self.client.request(req).await.expect("response");
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Any request with the given headers (none added); returns the status, the headers and
    /// the JSON body (Null if not JSON).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, http::HeaderMap, Value) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{}", self.addr, path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request");
        let res = self.client.request(req).await.expect("response");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// `GET path` with extra request headers; returns the status, the headers and the raw body.
    pub async fn get_raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, Bytes) {
        let mut req = http::Request::builder().uri(format!("http://{}{}", self.addr, path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Full::new(Bytes::new())).expect("request");
        let res = self.client.request(req).await.expect("response");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        (status, headers, bytes)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let body = body
            .map(|b| serde_json::to_vec(&b).expect("json"))
            .unwrap_or_default();
        self.raw(method, path, &body, token).await
    }

    /// Creates the admin (if needed) and logs in.
    pub async fn admin_token(&self) -> String {
        let creds = serde_json::json!({"username": "admin", "password": "secret123"});
        let _ = self
            .call("POST", "/api/auth/init-user", Some(creds.clone()), None)
            .await;
        let (status, body) = self
            .call("POST", "/api/auth/login", Some(creds), None)
            .await;
        assert_eq!((status, body["code"].as_i64()), (200, Some(0)), "{body}");
        body["data"]["token"].as_str().expect("token").to_owned()
    }

    /// Adds a database configuration as the admin; its guid.
    pub async fn add_database(&self, token: &str, request: Value) -> String {
        let (status, body) = self
            .call("POST", "/api/database/add", Some(request), Some(token))
            .await;
        assert_eq!((status, body["code"].as_i64()), (200, Some(0)), "{body}");
        body["data"]["guid"].as_str().expect("a guid").to_owned()
    }

    /// A token on a store other tests share (Redis): signs one directly instead of creating
    /// or guessing the admin account.
    pub async fn admin_token_for_shared_store(&self) -> String {
        self.state.auth.issue("admin").expect("a token")
    }

    /// How many counters the store holds under `prefix`.
    pub async fn stored_counters(&self, prefix: &str) -> usize {
        self.state
            .service
            .allocator()
            .list(prefix)
            .await
            .unwrap()
            .len()
    }

    /// The database password the store holds for `guid`, decrypted.
    pub async fn stored_password(&self, guid: &str) -> String {
        self.state
            .service
            .get_database(guid)
            .await
            .unwrap()
            .db_password
    }

    /// Creates the counter `system`/`d`/`t`/`id` in the store at `value`, as initialization
    /// would; its key.
    pub async fn create_counter(&self, system: &str, value: i64) -> SegmentKey {
        let key = SegmentKey::new(system, "d", "t", "id").expect("a valid key");
        self.state
            .service
            .allocator()
            .create(&key, value)
            .await
            .expect("the counter is created");
        key
    }

    /// `POST /api/segment/allocate` with any body and an optional bearer token; the status and
    /// the body.
    pub async fn allocate_json(&self, body: Value, token: Option<&str>) -> (u16, Value) {
        self.call("POST", "/api/segment/allocate", Some(body), token)
            .await
    }

    pub async fn allocate(
        &self,
        system: &str,
        db: &str,
        table: &str,
        field: &str,
        count: i64,
    ) -> Value {
        let body = serde_json::json!({"system_code": system, "db_name": db, "table_name": table, "field_name": field, "segment_count": count});
        let (status, body) = self.allocate_json(body, None).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs `task(server, context, i)` for each `i` in `0..n` as its own tokio task (so that they
/// overlap), each with its own clone of `context`; the handles in order of `i`.
pub fn spawn_each<C, T, F, Fut>(
    server: &Arc<TestServer>,
    context: &C,
    n: usize,
    task: F,
) -> Vec<JoinHandle<T>>
where
    C: Clone,
    F: Fn(Arc<TestServer>, C, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    (0..n)
        .map(|i| tokio::spawn(task(server.clone(), context.clone(), i)))
        .collect()
}

/// The `msg` of an envelope (empty when there is none).
pub fn msg(body: &Value) -> &str {
    body["msg"].as_str().unwrap_or_default()
}

/// The fields named by a 422 body's problems (`detail[].loc[1]`), in order.
pub fn problem_fields(body: &Value) -> Vec<String> {
    body["detail"]
        .as_array()
        .expect("a 422 detail list")
        .iter()
        .map(|d| d["loc"][1].as_str().expect("a field name").to_owned())
        .collect()
}

/// Reads `start`/`end` that may be numbers or strings.
pub fn int(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().expect("i64"),
        Value::String(s) => s.parse().expect("numeric string"),
        other => panic!("not an integer: {other}"),
    }
}

/// Unknown paths are 404s: the envelope under `/api/`, FastAPI's `detail` elsewhere (a `GET`
/// elsewhere is a client-side route of the admin UI, see `tests/ui.rs`).
pub async fn assert_unknown_paths_are_404s(server: &TestServer) {
    assert_eq!(
        server.call("GET", "/api/nothing", None, None).await,
        (
            404,
            serde_json::json!({"code": 404, "msg": "Not found", "data": null})
        )
    );
    assert_eq!(
        server.call("POST", "/nothing", None, None).await,
        (404, serde_json::json!({"detail": "Not Found"}))
    );
}
