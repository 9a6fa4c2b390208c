//! Monitoring as shipped in `deploy/`: Debian's Prometheus scrapes a running server with the
//! shipped alert rules loaded and answers queries on its metrics; `promtool` accepts the
//! scrape configuration and the rules and passes the rules' unit tests; every metric the
//! Grafana dashboard and the rules use is one the server exports.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::prometheus::{Prometheus, deploy_dir};
use common::{TestServer, settings, settings_with};
use kxy_id::testing::redis_server::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_server_and_answers_queries_on_its_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    server.create_counter("prom", 0).await;
    server.allocate("prom", "d", "t", "id", 5).await;
    server.allocate("prom", "d", "t", "id", 7).await;
    let Some(prometheus) = Prometheus::start(&server.addr.to_string()).await else {
        return;
    };
    prometheus
        .wait_for("kxy_id_ids_allocated_total", 12.0)
        .await;
    prometheus.wait_for("kxy_id_allocated_id_max", 12.0).await;
    prometheus.wait_for("kxy_id_store_up", 1.0).await;
    // The shipped rules loaded, and none fires against a healthy server.
    let rules = prometheus.api("rules").await;
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "kxy-id", "{rules}");
    assert_eq!(group["rules"].as_array().map(Vec::len), Some(8), "{rules}");
    let alerts = prometheus.api("alerts").await;
    assert_eq!(alerts["data"]["alerts"], serde_json::json!([]), "{alerts}");
    drop(prometheus);
    server.stop().await;
}

/// The value of the sample `name` (without labels) in the server's `/metrics`.
async fn sample(server: &TestServer, name: &str) -> String {
    let (status, _, body) = server.get_raw("/metrics", &[]).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body.to_vec()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_probe_and_the_range_metrics_follow_what_happens() {
    let Some(mut redis) = RedisServer::start(&["--save", "", "--appendonly", "no"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings_with(
        dir.path(),
        Some(&redis.url()),
        &["--reserve", "0"],
    ))
    .await;
    server.create_counter("edge", i64::MAX - 10).await;
    assert_eq!(sample(&server, "kxy_id_allocated_id_max").await, "0");
    assert_eq!(
        sample(&server, "kxy_id_allocation_exhausted_total").await,
        "0"
    );
    server.allocate("edge", "d", "t", "id", 5).await;
    let refused = server.allocate("edge", "d", "t", "id", 10).await;
    assert_eq!(refused["code"], 400, "{refused}");
    assert_eq!(
        sample(&server, "kxy_id_allocated_id_max").await,
        (i64::MAX - 5).to_string()
    );
    assert_eq!(
        sample(&server, "kxy_id_allocation_exhausted_total").await,
        "1"
    );
    assert_eq!(sample(&server, "kxy_id_store_up").await, "1");
    redis.kill();
    assert_eq!(sample(&server, "kxy_id_store_up").await, "0");
    let took: f64 = sample(&server, "kxy_id_store_probe_duration_seconds")
        .await
        .parse()
        .expect("seconds as a number");
    assert!(took >= 0.0, "{took}");
    server.stop().await;
}

/// Runs `promtool` with `args` in `deploy/prometheus`; `false` (after a notice, or a
/// failure when services are required) when it is not installed.
fn promtool(args: &[&str]) -> bool {
    let out = match Command::new("promtool")
        .args(args)
        .current_dir(deploy_dir())
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            kxy_id::testing::unreachable("promtool", "promtool (binary)", e);
            return false;
        }
    };
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    assert!(text.contains("SUCCESS"), "promtool {args:?}:\n{text}");
    true
}

#[test]
fn promtool_accepts_the_scrape_config_and_the_rules_and_their_tests_pass() {
    if promtool(&["check", "config", "prometheus.yml"]) {
        promtool(&["check", "rules", "kxy-id.rules.yml"]);
        promtool(&["test", "rules", "kxy-id.rules.test.yml"]);
    }
}

/// Every `kxy_id_*` name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("kxy_id_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[tokio::test]
async fn the_dashboard_and_the_rules_query_only_metrics_the_server_exports() {
    let dashboard_file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/kxy-id.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dashboard_file).unwrap())
            .expect("valid JSON");
    let mut exprs = String::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{panel}");
        for target in targets {
            exprs.push_str(target["expr"].as_str().expect("an expression"));
            exprs.push('\n');
        }
    }
    let dashboard_names = metric_names(&exprs);
    let rules = std::fs::read_to_string(deploy_dir().join("kxy-id.rules.yml")).unwrap();
    let rule_names = metric_names(&rules);
    assert!(dashboard_names.len() >= 8, "{dashboard_names:?}");
    assert!(rule_names.len() >= 5, "{rule_names:?}");

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let (status, _, body) = server.get_raw("/metrics", &[]).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body.to_vec()).unwrap();
    let exported: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect();
    for name in dashboard_names.iter().chain(&rule_names) {
        assert!(
            exported.contains(name),
            "{name} is not in /metrics:\n{text}"
        );
    }
    server.stop().await;
}
