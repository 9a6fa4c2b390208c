//! Prometheus metrics: requests by route and outcome with their latency, IDs handed out and
//! the largest one, allocation latency, coalescing, scanner runs and errors, and whether the
//! store answers. The README's "Monitoring" table lists every name.

mod histogram;
mod probe;

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use kxy_id::store::CoalesceStats;

use crate::route::Route;
use histogram::Histogram;
pub(crate) use probe::StoreProbe;

/// Outcome labels; an outcome not listed counts as `internal`.
const OUTCOMES: [&str; 11] = [
    "ok",
    "client_error",
    "server_error",
    "unavailable",
    "data_loss",
    "invalid",
    "unauthorized",
    "no_route",
    "too_large",
    "limited",
    "internal",
];

/// The server's metrics. Every update is a relaxed atomic add: no lock on the request path.
#[derive(Debug)]
pub struct Metrics {
    /// Requests by route (row, [`Route::index`]) and outcome (column).
    requests: [[AtomicU64; OUTCOMES.len()]; Route::ALL.len()],
    /// Time from a request's arrival to its answer, by route: what a client waits for.
    request_latency: [Histogram; Route::ALL.len()],
    /// IDs handed out.
    ids: AtomicU64,
    /// The largest ID handed out since the server started.
    max_id: AtomicU64,
    /// Allocations refused because the key's range (up to `i64::MAX`) is used up.
    exhausted: AtomicU64,
    /// Time the store took for each successful allocation.
    allocate_latency: Histogram,
    /// Scanner passes.
    scanner_runs: AtomicU64,
    /// Databases that failed during scanner passes.
    scanner_errors: AtomicU64,
    /// The store's coalescing, when it coalesces (`--coalesce` without reservation).
    coalescing: OnceLock<Arc<CoalesceStats>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            request_latency: std::array::from_fn(|_| Histogram::default()),
            ids: AtomicU64::new(0),
            max_id: AtomicU64::new(0),
            exhausted: AtomicU64::new(0),
            allocate_latency: Histogram::default(),
            scanner_runs: AtomicU64::new(0),
            scanner_errors: AtomicU64::new(0),
            coalescing: OnceLock::new(),
        }
    }
}

/// Appends the `# HELP` and `# TYPE` lines of one metric.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Appends one metric without labels, with its header.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

impl Metrics {
    /// Counts one request that took `took` from its arrival to its answer.
    pub fn request(&self, route: Route, outcome: &'static str, took: Duration) {
        let o = OUTCOMES
            .iter()
            .position(|x| *x == outcome)
            .unwrap_or(OUTCOMES.len() - 1);
        self.requests[route.index()][o].fetch_add(1, Ordering::Relaxed);
        self.request_latency[route.index()].observe(took);
    }

    /// Records a successful allocation of `ids` IDs up to `last`, which took the store `took`.
    pub fn allocated(&self, ids: u64, last: i64, took: Duration) {
        // Saturates instead of wrapping: a counter that went back to 0 would read as a reset.
        let _ = self
            .ids
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(ids))
            });
        self.max_id.fetch_max(last.max(0) as u64, Ordering::Relaxed);
        self.allocate_latency.observe(took);
    }

    /// Counts an allocation refused because the key's range is used up.
    pub fn exhausted(&self) {
        self.exhausted.fetch_add(1, Ordering::Relaxed);
    }

    /// Reports the store's coalescing from now on.
    pub fn watch_coalescing(&self, stats: Arc<CoalesceStats>) {
        let _ = self.coalescing.set(stats);
    }

    /// Records a scanner pass.
    pub fn scanned(&self, failed_databases: u64) {
        self.scanner_runs.fetch_add(1, Ordering::Relaxed);
        self.scanner_errors
            .fetch_add(failed_databases, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, without the store probe (`/metrics` adds one).
    pub fn render(&self) -> String {
        self.render_with(None)
    }

    /// The Prometheus text exposition, with the result of a store probe when there is one.
    pub(crate) fn render_with(&self, store: Option<StoreProbe>) -> String {
        let mut out = String::new();
        header(
            &mut out,
            "kxy_id_build_info",
            "gauge",
            "Always 1; the version label is the server's version.",
        );
        let _ = writeln!(
            out,
            "kxy_id_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        self.render_requests(&mut out);
        single(
            &mut out,
            "kxy_id_ids_allocated_total",
            "counter",
            "IDs handed out.",
            self.ids.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "kxy_id_allocated_id_max",
            "gauge",
            "The largest ID this server handed out since it started (0: none yet); the range of a key ends at 9223372036854775807.",
            self.max_id.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "kxy_id_allocation_exhausted_total",
            "counter",
            "Allocations refused because the key's range is used up.",
            self.exhausted.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "kxy_id_allocate_duration_seconds",
            "histogram",
            "Time the store took for each successful allocation.",
        );
        self.allocate_latency
            .render(&mut out, "kxy_id_allocate_duration_seconds", "");
        if let Some(stats) = self.coalescing.get() {
            single(
                &mut out,
                "kxy_id_coalesced_requests_total",
                "counter",
                "Allocations served through coalescing (--coalesce without reservation).",
                stats.requests(),
            );
            single(
                &mut out,
                "kxy_id_coalesced_store_calls_total",
                "counter",
                "Store calls those allocations cost; requests per call is the average group.",
                stats.store_calls(),
            );
        }
        single(
            &mut out,
            "kxy_id_scanner_runs_total",
            "counter",
            "Scanner passes.",
            self.scanner_runs.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "kxy_id_scanner_errors_total",
            "counter",
            "Databases that failed during scanner passes.",
            self.scanner_errors.load(Ordering::Relaxed),
        );
        if let Some(probe) = store {
            single(
                &mut out,
                "kxy_id_store_up",
                "gauge",
                "1 when the store answered a read during this scrape, 0 when it failed or took longer than 2 s.",
                u8::from(probe.up),
            );
            single(
                &mut out,
                "kxy_id_store_probe_duration_seconds",
                "gauge",
                "How long the store took to answer the probe of this scrape.",
                probe.took.as_secs_f64(),
            );
        }
        out
    }

    /// Requests by route and outcome, and their latency by route. Routes without requests
    /// are left out, except allocation: all its outcomes are always listed, so that an
    /// alert on the rate of errors or data loss sees the series before the first one.
    fn render_requests(&self, out: &mut String) {
        header(
            out,
            "kxy_id_http_requests_total",
            "counter",
            "HTTP requests by route and outcome.",
        );
        for (route, row) in Route::ALL.iter().zip(&self.requests) {
            let always = *route == Route::Allocate;
            let route = route.as_str();
            for (outcome, n) in OUTCOMES.iter().zip(row) {
                let n = n.load(Ordering::Relaxed);
                if n > 0 || always {
                    let _ = writeln!(
                        out,
                        "kxy_id_http_requests_total{{route=\"{route}\",outcome=\"{outcome}\"}} {n}"
                    );
                }
            }
        }
        let name = "kxy_id_http_request_duration_seconds";
        header(
            out,
            name,
            "histogram",
            "Time from a request's arrival to its answer, by route.",
        );
        for (route, histogram) in Route::ALL.iter().zip(&self.request_latency) {
            if histogram.count() > 0 || *route == Route::Allocate {
                histogram.render(out, name, &format!("route=\"{}\",", route.as_str()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn requests_render_by_route_and_outcome() {
        let m = Metrics::default();
        m.request(Route::Allocate, "ok", MS);
        m.request(Route::Allocate, "ok", MS);
        m.request(Route::Login, "client_error", MS);
        m.request(Route::Unknown, "weird", MS);
        let text = m.render();
        assert!(
            text.contains(r#"kxy_id_http_requests_total{route="allocate",outcome="ok"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kxy_id_http_requests_total{route="login",outcome="client_error"} 1"#)
        );
        assert!(
            text.contains(r#"kxy_id_http_requests_total{route="unknown",outcome="internal"} 1"#)
        );
        assert!(text.contains(
            r#"kxy_id_http_request_duration_seconds_bucket{route="login",le="0.001"} 1"#
        ));
        assert!(!text.contains(r#"route="health""#), "{text}");
        assert!(!text.contains("kxy_id_store_up"), "{text}");
    }

    #[test]
    fn allocation_series_exist_before_the_first_request() {
        let text = Metrics::default().render();
        for outcome in ["ok", "data_loss", "unavailable", "server_error"] {
            let line = format!(
                "kxy_id_http_requests_total{{route=\"allocate\",outcome=\"{outcome}\"}} 0\n"
            );
            assert!(text.contains(&line), "{text}");
        }
        assert!(
            text.contains("kxy_id_http_request_duration_seconds_count{route=\"allocate\"} 0\n")
        );
        assert!(text.contains(&format!(
            "kxy_id_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )));
    }

    #[test]
    fn ids_allocated_saturates_instead_of_wrapping_and_the_max_only_grows() {
        let m = Metrics::default();
        m.allocated(u64::MAX - 1, 500, Duration::ZERO);
        m.allocated(10, 20, Duration::ZERO);
        m.exhausted();
        let text = m.render_with(Some(StoreProbe {
            up: false,
            took: MS,
        }));
        assert!(
            text.contains(&format!("kxy_id_ids_allocated_total {}", u64::MAX)),
            "{text}"
        );
        assert!(text.contains("kxy_id_allocated_id_max 500\n"), "{text}");
        assert!(text.contains("kxy_id_allocation_exhausted_total 1\n"));
        assert!(text.contains("kxy_id_store_up 0\n"));
        assert!(text.contains("kxy_id_store_probe_duration_seconds 0.001\n"));
    }

    #[test]
    fn every_sample_has_a_type_line_and_follows_the_naming_conventions() {
        let text = Metrics::default().render_with(Some(StoreProbe { up: true, took: MS }));
        let mut types = std::collections::HashMap::new();
        for line in text.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
            let (name, kind) = line.split_once(' ').unwrap();
            types.insert(name.to_owned(), kind.to_owned());
        }
        for (name, kind) in &types {
            assert!(name.starts_with("kxy_id_"), "{name}");
            assert_eq!(kind == "counter", name.ends_with("_total"), "{name} {kind}");
            assert!(!name.contains("_ms") && !name.contains("micro"), "{name}");
        }
        for sample in text.lines().filter(|l| !l.starts_with('#')) {
            let name = sample.split(['{', ' ']).next().unwrap();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|b| types.get(*b).is_some_and(|k| k == "histogram"))
                })
                .unwrap_or(name);
            assert!(types.contains_key(base), "{sample}");
        }
    }
}
