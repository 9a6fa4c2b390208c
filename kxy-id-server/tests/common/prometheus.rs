//! [`Prometheus`]: Debian's `prometheus` binary of a test's own, on a free loopback port in a
//! temporary directory, scraping given targets every second. Killed on drop, also when the
//! test panics.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The directory of the shipped scrape configuration and rules.
pub fn deploy_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus")
}

/// A running `prometheus` the test owns.
pub struct Prometheus {
    child: Child,
    port: u16,
    /// Configuration, rules and the TSDB; removed after the process is killed.
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `prometheus` scraping `target` (`host:port`) as job `kxy-id` with the shipped
    /// alert rules loaded, or `None` after a notice (a failure when services are required)
    /// when the binary is not installed.
    pub async fn start(target: &str) -> Option<Prometheus> {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::copy(
            deploy_dir().join("kxy-id.rules.yml"),
            dir.path().join("kxy-id.rules.yml"),
        )
        .expect("copy the rules");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - kxy-id.rules.yml\nscrape_configs:\n  - job_name: kxy-id\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{target}']\n"
        );
        let config_file = dir.path().join("prometheus.yml");
        std::fs::write(&config_file, config).expect("write the configuration");
        let port = kxy_id::testing::redis_server::free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let spawned = Command::new("prometheus")
            .arg(format!("--config.file={}", config_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) => {
                kxy_id::testing::unreachable("prometheus", "prometheus (binary)", e);
                return None;
            }
        };
        let prometheus = Prometheus {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if prometheus
                .get("/-/ready")
                .await
                .is_some_and(|(s, _)| s == 200)
            {
                return Some(prometheus);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(prometheus._dir.path().join("prometheus.log"));
        panic!("prometheus did not become ready: {log:?}");
    }

    /// `GET path` on Prometheus: the status and the body, `None` when it does not answer.
    pub async fn get(&self, path: &str) -> Option<(u16, Bytes)> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let uri = format!("http://127.0.0.1:{}{path}", self.port);
        let res = client.get(uri.parse().expect("uri")).await.ok()?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.ok()?.to_bytes();
        Some((status, body))
    }

    /// The JSON answer of `GET /api/v1/<what>` (which must succeed).
    pub async fn api(&self, what: &str) -> Value {
        let (status, body) = self
            .get(&format!("/api/v1/{what}"))
            .await
            .expect("prometheus answers");
        let json: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["status"], "success", "{json}");
        json
    }

    /// The values of an instant query (a PromQL expression of letters, digits, `_` only).
    pub async fn query(&self, expr: &str) -> Vec<f64> {
        let json = self.api(&format!("query?query={expr}")).await;
        json["data"]["result"]
            .as_array()
            .expect("a vector")
            .iter()
            .map(|r| {
                r["value"][1]
                    .as_str()
                    .expect("a value")
                    .parse()
                    .expect("a number")
            })
            .collect()
    }

    /// Waits (up to 30 s, scraping every second) until `expr` has exactly the value `want`.
    pub async fn wait_for(&self, expr: &str, want: f64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while Instant::now() < deadline {
            got = self.query(expr).await;
            if got == [want] {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("{expr}: wanted [{want}] through Prometheus, got {got:?}");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
