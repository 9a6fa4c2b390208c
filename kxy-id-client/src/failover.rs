//! Failover between several servers: the order in which a fetch tries them, how long a failing
//! server is left out, and the health check that brings it back.
//!
//! * A fetch starts at the server that answered last (sticky, so that keep-alive connections
//!   are reused), then goes on in the configured order.
//! * A server whose attempt failed in a way another server might not (refused, timed out, a
//!   5xx, envelope code 500 or 503) is *down* for a cooldown: 1 s after the first failure,
//!   doubling with each consecutive failure, up to 30 s.
//! * Down servers come last in every fetch, the one whose cooldown ends first leading: they
//!   are tried only when every server that is up failed in the same fetch, so that an outage
//!   of all servers ends as soon as one of them answers.
//! * When a down server's cooldown is over, one health check (`GET /health`, bounded by the
//!   request timeout) runs in the background: an answer with status 200 brings the server back
//!   up; anything else starts its next, longer cooldown. A partitioned server (one that
//!   accepts connections and never answers) therefore costs one request timeout per cooldown
//!   in a background check, not a timeout per fetch.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The first cooldown of a server that failed.
const COOLDOWN_MIN: Duration = Duration::from_secs(1);
/// The longest cooldown.
const COOLDOWN_MAX: Duration = Duration::from_secs(30);

/// The health of one server as an [`HttpSource`](crate::HttpSource) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHealth {
    /// The server's allocation URL.
    pub url: String,
    /// Whether fetches go to it (it has not failed since it last answered or passed a check).
    pub up: bool,
    /// Failures in a row (attempts and health checks) since it last answered.
    pub consecutive_failures: u32,
}

/// What is known of one server.
#[derive(Debug, Default)]
struct State {
    /// Failures in a row.
    failures: AtomicU32,
    /// Milliseconds since [`Failover::epoch`] until which the server is left out; 0 while up.
    down_until: AtomicU64,
    /// A health check is running.
    checking: AtomicBool,
}

/// The health of every server of one source, shared with its background checks.
#[derive(Debug)]
pub(crate) struct Failover {
    servers: Vec<State>,
    /// The server that answered last.
    preferred: AtomicUsize,
    /// Where the clock of `down_until` starts.
    epoch: Instant,
}

impl Failover {
    /// `n` servers, all up.
    pub(crate) fn new(n: usize) -> Self {
        Failover {
            servers: (0..n).map(|_| State::default()).collect(),
            preferred: AtomicUsize::new(0),
            epoch: Instant::now(),
        }
    }

    /// Milliseconds since the epoch, at least 1 (0 means up).
    fn now(&self) -> u64 {
        (self.epoch.elapsed().as_millis() as u64).max(1)
    }

    fn is_up(&self, i: usize) -> bool {
        self.servers[i].down_until.load(Ordering::Acquire) == 0
    }

    /// The order in which a fetch tries the servers: those that are up, starting at the one
    /// that answered last, then those that are down, the soonest back first.
    pub(crate) fn order(&self) -> Vec<usize> {
        let n = self.servers.len();
        let first = self.preferred.load(Ordering::Relaxed) % n;
        let (mut up, mut down): (Vec<usize>, Vec<usize>) = (0..n)
            .map(|k| (first + k) % n)
            .partition(|&i| self.is_up(i));
        down.sort_by_key(|&i| self.servers[i].down_until.load(Ordering::Acquire));
        up.extend(down);
        up
    }

    /// The down servers whose cooldown is over and that no check is running for; each one
    /// returned is marked as being checked (report with [`Failover::checked`]).
    pub(crate) fn due_for_check(&self) -> Vec<usize> {
        let now = self.now();
        (0..self.servers.len())
            .filter(|&i| {
                let s = &self.servers[i];
                let until = s.down_until.load(Ordering::Acquire);
                until != 0
                    && until <= now
                    && s.checking
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
            })
            .collect()
    }

    /// Server `i` answered: it is up and tried first from now on.
    pub(crate) fn answered(&self, i: usize) {
        let s = &self.servers[i];
        s.failures.store(0, Ordering::Relaxed);
        s.down_until.store(0, Ordering::Release);
        self.preferred.store(i, Ordering::Relaxed);
    }

    /// Server `i` failed an attempt: it is down for its next cooldown.
    pub(crate) fn failed(&self, i: usize) {
        let s = &self.servers[i];
        let failures = s.failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        let cooldown = COOLDOWN_MIN
            .saturating_mul(1 << (failures - 1).min(16))
            .min(COOLDOWN_MAX);
        s.down_until
            .store(self.now() + cooldown.as_millis() as u64, Ordering::Release);
    }

    /// The health check of server `i` ended: up when it `passed`, else down for longer.
    pub(crate) fn checked(&self, i: usize, passed: bool) {
        if passed {
            let s = &self.servers[i];
            s.failures.store(0, Ordering::Relaxed);
            s.down_until.store(0, Ordering::Release);
        } else {
            self.failed(i);
        }
        self.servers[i].checking.store(false, Ordering::Release);
    }

    /// Each server's health, named by `urls`.
    pub(crate) fn report<'a>(&self, urls: impl Iterator<Item = &'a str>) -> Vec<ServerHealth> {
        urls.zip(&self.servers)
            .enumerate()
            .map(|(i, (url, s))| ServerHealth {
                url: url.to_owned(),
                up: self.is_up(i),
                consecutive_failures: s.failures.load(Ordering::Relaxed),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answering_servers_lead_and_failed_ones_trail() {
        let f = Failover::new(3);
        assert_eq!(f.order(), [0, 1, 2]);
        f.answered(2);
        assert_eq!(
            f.order(),
            [2, 0, 1],
            "the last to answer leads, then configured order"
        );
        f.failed(0);
        assert_eq!(f.order(), [2, 1, 0]);
        f.failed(1);
        f.failed(1);
        assert_eq!(
            f.order(),
            [2, 0, 1],
            "the down server back soonest comes first"
        );
        assert!(f.due_for_check().is_empty(), "cooldowns are not over");
        let report = f.report(["a", "b", "c"].into_iter());
        assert_eq!(
            report
                .iter()
                .map(|h| (h.up, h.consecutive_failures))
                .collect::<Vec<_>>(),
            [(false, 1), (false, 2), (true, 0)]
        );
    }

    #[test]
    fn cooldowns_double_up_to_the_ceiling() {
        let f = Failover::new(1);
        let mut last = 0;
        for n in 1..=10u32 {
            f.failed(0);
            let until = f.servers[0].down_until.load(Ordering::Acquire) - f.now();
            let want = (1000u64 << (n - 1)).min(30_000);
            assert!(
                until <= want && until + 50 >= want,
                "after {n}: {until} ms, want {want}"
            );
            assert!(until >= last || until + 50 >= 30_000);
            last = until;
        }
    }

    #[test]
    fn a_check_runs_once_per_cooldown_and_decides() {
        let f = Failover::new(2);
        f.failed(1);
        // Pretend the cooldown is over.
        f.servers[1].down_until.store(1, Ordering::Release);
        assert_eq!(f.due_for_check(), [1]);
        assert!(f.due_for_check().is_empty(), "one check at a time");
        f.checked(1, false);
        assert!(!f.is_up(1));
        assert_eq!(f.servers[1].failures.load(Ordering::Relaxed), 2);
        f.servers[1].down_until.store(1, Ordering::Release);
        assert_eq!(f.due_for_check(), [1]);
        f.checked(1, true);
        assert!(f.is_up(1));
        assert_eq!(
            f.order(),
            [0, 1],
            "a server back up keeps its place; the preferred leads"
        );
    }
}
