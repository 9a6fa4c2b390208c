//! A small W3C WebDriver client that drives headless Chromium through `chromedriver`, spoken
//! over plain HTTP with the hyper client the tests already use (no extra HTTP or TLS stack).
//!
//! Every helper waits (up to [`WAIT`]) for what it needs, so tests read as the steps a person
//! takes: click this, type that, see this text.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// The Enter key, for `type_into`.
pub const ENTER: &str = "\u{E007}";
/// The Escape key, for `type_into`.
pub const ESCAPE: &str = "\u{E00C}";

/// How long helpers wait for an element or a text.
pub const WAIT: Duration = Duration::from_secs(15);

/// The key under which WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The flags Chromium needs on the test machines (containers without a sandbox or GPU, no
/// network use of its own).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--force-device-scale-factor=1",
    "--lang=en-US",
];

/// A headless Chromium session; quits the browser and stops chromedriver when dropped.
pub struct Browser {
    client: Client<HttpConnector, Full<Bytes>>,
    /// `http://127.0.0.1:{port}/session/{id}`
    session: String,
    driver: Child,
    /// The fresh profile directory (`--user-data-dir`).
    _profile: tempfile::TempDir,
}

/// `$env`, else the first of `candidates` that exists (names without `/` are looked up on PATH).
fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path)).filter(|p| p.exists());
    }
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    candidates.iter().find_map(|c| {
        if c.contains('/') {
            Some(PathBuf::from(c)).filter(|p| p.exists())
        } else {
            path_dirs.iter().map(|d| d.join(c)).find(|p| p.exists())
        }
    })
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a `width`×`height`
    /// window. `None` (after a printed NOTICE) when either is not installed, unless
    /// `KXY_TEST_REQUIRE_SERVICES=1`, which fails instead.
    pub async fn launch(width: u32, height: u32) -> Option<Browser> {
        let chromium = find_program(
            "KXY_TEST_CHROMIUM",
            &["/usr/bin/chromium", "chromium", "chromium-browser"],
        );
        let chromedriver = find_program(
            "KXY_TEST_CHROMEDRIVER",
            &["/usr/bin/chromedriver", "chromedriver"],
        );
        let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
            let why = "Chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver; \
                       or set KXY_TEST_CHROMIUM and KXY_TEST_CHROMEDRIVER)";
            if kxy_id::testing::services_required() {
                panic!("{why}, and KXY_TEST_REQUIRE_SERVICES=1");
            }
            eprintln!("NOTICE: skipping the browser test: {why}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let profile = tempfile::tempdir().expect("a profile directory");
        let log = std::fs::File::create(profile.path().join("chromedriver.log"))
            .expect("a chromedriver log file");
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let client = Client::builder(TokioExecutor::new()).build_http();
        let mut browser = Browser {
            client,
            session: String::new(),
            driver,
            _profile: profile,
        };
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            match browser
                .request("GET", &format!("{base}/status"), None)
                .await
            {
                Ok(v) if v["ready"] == true => break,
                _ if started.elapsed() > Duration::from_secs(20) => {
                    panic!("chromedriver did not become ready on port {port}")
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!(
            "--user-data-dir={}",
            browser._profile.path().join("profile").display()
        ));
        args.push(format!("--window-size={width},{height}"));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let value = browser
            .request("POST", &format!("{base}/session"), Some(capabilities))
            .await
            .unwrap_or_else(|e| panic!("start a Chromium session: {e}"));
        let id = value["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser.session = format!("{base}/session/{id}");
        browser.set_window(width, height).await;
        Some(browser)
    }

    /// One WebDriver call; the `value` of the answer, or the WebDriver error as text.
    async fn request(&self, method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a WebDriver request");
        let send = async {
            let res = self.client.request(req).await.map_err(|e| e.to_string())?;
            let bytes = res
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            serde_json::from_slice::<Value>(&bytes).map_err(|e| e.to_string())
        };
        let answer = tokio::time::timeout(Duration::from_secs(60), send)
            .await
            .map_err(|_| format!("{method} {url}: no answer within 60 s"))??;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        match value.get("error").and_then(Value::as_str) {
            Some(error) => Err(format!(
                "{error}: {}",
                value["message"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
            )),
            None => Ok(value),
        }
    }

    /// A call on this session; panics with the WebDriver error.
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.request(method, &format!("{}{path}", self.session), body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url}))).await;
    }

    /// Resizes the window (the page's layout follows).
    pub async fn set_window(&self, width: u32, height: u32) {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its result.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The path of the current page (`location.pathname + location.search`).
    pub async fn location(&self) -> String {
        let v = self
            .script("return location.pathname + location.search", json!([]))
            .await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// The first visible element matching `css`, if there is one now.
    async fn visible(&self, css: &str) -> Option<String> {
        let found = self
            .request(
                "POST",
                &format!("{}/elements", self.session),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await
            .ok()?;
        for element in found.as_array()? {
            let id = element[ELEMENT].as_str()?.to_owned();
            let shown = self
                .request(
                    "GET",
                    &format!("{}/element/{id}/displayed", self.session),
                    None,
                )
                .await;
            if shown == Ok(Value::Bool(true)) {
                return Some(id);
            }
        }
        None
    }

    /// Waits for a visible element matching `css`; returns its reference.
    pub async fn wait_for(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(id) = self.visible(css).await {
                return id;
            }
            if started.elapsed() > WAIT {
                self.fail(&format!("no visible element matches {css}"))
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until no visible element matches `css`.
    pub async fn wait_gone(&self, css: &str) {
        let started = Instant::now();
        while self.visible(css).await.is_some() {
            if started.elapsed() > WAIT {
                self.fail(&format!("{css} is still shown")).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matching `css` (waiting until it is there and can be clicked).
    pub async fn click(&self, css: &str) {
        let started = Instant::now();
        loop {
            let id = self.wait_for(css).await;
            let clicked = self
                .request(
                    "POST",
                    &format!("{}/element/{id}/click", self.session),
                    Some(json!({})),
                )
                .await;
            match clicked {
                Ok(_) => return,
                // Covered by a closing dialog, re-rendered, not yet enabled: try again.
                Err(_) if started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => self.fail(&format!("cannot click {css}: {e}")).await,
            }
        }
    }

    /// Replaces the value of the input matching `css` with `text` (which may end in
    /// [`ENTER`] to submit, like a person would).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.wait_for(css).await;
        self.call("POST", &format!("/element/{id}/clear"), Some(json!({})))
            .await;
        self.press(css, text).await;
    }

    /// Types `keys` into the element matching `css` without clearing it first.
    pub async fn press(&self, css: &str, keys: &str) {
        let id = self.wait_for(css).await;
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": keys})),
        )
        .await;
    }

    /// The rendered text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let id = self.wait_for(css).await;
        let v = self.call("GET", &format!("/element/{id}/text"), None).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// A property of the element matching `css` (e.g. `value`).
    pub async fn property(&self, css: &str, name: &str) -> Value {
        let id = self.wait_for(css).await;
        self.call("GET", &format!("/element/{id}/property/{name}"), None)
            .await
    }

    /// Waits until the element matching `css` shows `needle`; returns its text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let text = match self.visible(css).await {
                Some(id) => self
                    .request("GET", &format!("{}/element/{id}/text", self.session), None)
                    .await
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                None => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            if started.elapsed() > WAIT {
                self.fail(&format!(
                    "{css} does not show {needle:?}; it shows {text:?}"
                ))
                .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How many elements match `css` now.
    pub async fn count(&self, css: &str) -> usize {
        let v = self
            .script(
                "return document.querySelectorAll(arguments[0]).length",
                json!([css]),
            )
            .await;
        v.as_u64().unwrap_or(0) as usize
    }

    /// Saves a PNG of the page: the whole page when `full_page`, else the window.
    pub async fn screenshot(&self, path: &Path, full_page: bool) {
        let data = if full_page {
            let metrics = self
                .call(
                    "POST",
                    "/goog/cdp/execute",
                    Some(json!({"cmd": "Page.getLayoutMetrics", "params": {}})),
                )
                .await;
            let size = &metrics["cssContentSize"];
            let viewport = &metrics["cssLayoutViewport"];
            let width = viewport["clientWidth"].as_f64().unwrap_or(1280.0);
            let height = size["height"]
                .as_f64()
                .unwrap_or(900.0)
                .max(viewport["clientHeight"].as_f64().unwrap_or(0.0));
            let shot = self
                .call(
                    "POST",
                    "/goog/cdp/execute",
                    Some(json!({"cmd": "Page.captureScreenshot", "params": {
                        "format": "png",
                        "captureBeyondViewport": true,
                        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
                    }})),
                )
                .await;
            shot["data"].as_str().unwrap_or_default().to_owned()
        } else {
            let v = self.call("GET", "/screenshot", None).await;
            v.as_str().unwrap_or_default().to_owned()
        };
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("a base64 PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot directory");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Fails the test with `what`, the current path and the page's text.
    async fn fail(&self, what: &str) -> ! {
        let page = self
            .request(
                "POST",
                &format!("{}/execute/sync", self.session),
                Some(json!({"script": "return location.href + '\\n' + document.body.innerText", "args": []})),
            )
            .await
            .unwrap_or_else(Value::String);
        panic!(
            "{what}\n--- page ---\n{}",
            page.as_str().unwrap_or_default()
        );
    }

    /// Ends the session and stops chromedriver.
    pub async fn quit(mut self) {
        if !self.session.is_empty() {
            let _ = self.request("DELETE", &self.session.clone(), None).await;
            self.session.clear();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that failed never reached `quit`: end the session first, so chromedriver
        // closes its Chromium, then stop chromedriver.
        if let Some((host, path)) = self
            .session
            .strip_prefix("http://")
            .and_then(|rest| rest.split_once('/'))
        {
            delete_blocking(host, &format!("/{path}"));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE path` on `host` with a plain blocking socket (usable in `Drop`).
fn delete_blocking(host: &str, path: &str) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read_to_end(&mut Vec::new());
    }
}
