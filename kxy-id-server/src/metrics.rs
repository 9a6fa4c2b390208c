//! Prometheus metrics: requests by route and outcome, IDs handed out, allocation latency,
//! scanner runs and errors.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::route::Route;

/// Upper bounds (seconds) of the allocation latency histogram.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

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
    /// IDs handed out.
    ids: AtomicU64,
    /// Allocation latency histogram counts per bucket (+Inf last).
    latency_buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of allocation latencies, microseconds.
    latency_sum_us: AtomicU64,
    /// Scanner passes.
    scanner_runs: AtomicU64,
    /// Databases that failed during scanner passes.
    scanner_errors: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            ids: AtomicU64::new(0),
            latency_buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_sum_us: AtomicU64::new(0),
            scanner_runs: AtomicU64::new(0),
            scanner_errors: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// Counts one request.
    pub fn request(&self, route: Route, outcome: &'static str) {
        let o = OUTCOMES
            .iter()
            .position(|x| *x == outcome)
            .unwrap_or(OUTCOMES.len() - 1);
        self.requests[route.index()][o].fetch_add(1, Ordering::Relaxed);
    }

    /// Records a successful allocation.
    pub fn allocated(&self, ids: u64, took: Duration) {
        // Saturates instead of wrapping: a counter that went back to 0 would read as a reset.
        let _ = self
            .ids
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(ids))
            });
        let secs = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// Records a scanner pass.
    pub fn scanned(&self, failed_databases: u64) {
        self.scanner_runs.fetch_add(1, Ordering::Relaxed);
        self.scanner_errors
            .fetch_add(failed_databases, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP kxy_id_http_requests_total HTTP requests by route and outcome.\n# TYPE kxy_id_http_requests_total counter\n");
        for (route, row) in Route::ALL.iter().zip(&self.requests) {
            let route = route.as_str();
            for (outcome, n) in OUTCOMES.iter().zip(row) {
                let n = n.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "kxy_id_http_requests_total{{route=\"{route}\",outcome=\"{outcome}\"}} {n}"
                    );
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP kxy_id_ids_allocated_total IDs handed out.\n# TYPE kxy_id_ids_allocated_total counter\nkxy_id_ids_allocated_total {}",
            self.ids.load(Ordering::Relaxed)
        );
        out.push_str("# HELP kxy_id_allocate_duration_seconds Allocation latency.\n# TYPE kxy_id_allocate_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.latency_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "kxy_id_allocate_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.latency_buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "kxy_id_allocate_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "kxy_id_allocate_duration_seconds_sum {}\nkxy_id_allocate_duration_seconds_count {cumulative}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP kxy_id_scanner_runs_total Scanner passes.\n# TYPE kxy_id_scanner_runs_total counter\nkxy_id_scanner_runs_total {}",
            self.scanner_runs.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP kxy_id_scanner_errors_total Databases that failed during scanner passes.\n# TYPE kxy_id_scanner_errors_total counter\nkxy_id_scanner_errors_total {}",
            self.scanner_errors.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_render_by_route_and_outcome() {
        let m = Metrics::default();
        m.request(Route::Allocate, "ok");
        m.request(Route::Allocate, "ok");
        m.request(Route::Login, "client_error");
        m.request(Route::Unknown, "weird");
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
    }

    #[test]
    fn ids_allocated_saturates_instead_of_wrapping() {
        let m = Metrics::default();
        m.allocated(u64::MAX - 1, Duration::ZERO);
        m.allocated(10, Duration::ZERO);
        let text = m.render();
        assert!(
            text.contains(&format!("kxy_id_ids_allocated_total {}", u64::MAX)),
            "{text}"
        );
    }
}
