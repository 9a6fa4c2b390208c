//! Running a statement again after a serialization failure.
//!
//! Distributed SQL engines (CockroachDB, YugabyteDB, TiDB) and PostgreSQL at `REPEATABLE READ`
//! or `SERIALIZABLE` isolation answer a transaction that lost a race for a row with a
//! serialization failure (SQLSTATE `40001`) or a deadlock (`40P01`, MySQL error 1213, TiDB's
//! write conflict 9007) instead of waiting. The engine rolled the transaction back, so nothing
//! it did is visible and running it again is safe: every statement the stores retry is a
//! whole transaction (a single statement, or the transaction that wraps it). CockroachDB's
//! documentation asks clients to do exactly this.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::policy::Backoff;

/// How long a statement keeps being retried while it keeps losing races. Long enough for any
/// burst of contention on one key; short enough that a caller sees the failure.
const PATIENCE: Duration = Duration::from_secs(10);

/// Statements run again after a lost race, since the process started (for tests and logs).
pub(crate) static RERUNS: AtomicU64 = AtomicU64::new(0);

/// Whether `e` is a failure that the engine rolled back because of a concurrent transaction.
pub(crate) fn is_conflict(e: &Error) -> bool {
    let Error::Backend { source, .. } = e else {
        return false;
    };
    let Some(sqlx::Error::Database(db)) = source.downcast_ref::<sqlx::Error>() else {
        return false;
    };
    if matches!(db.code().as_deref(), Some("40001" | "40P01")) {
        return true;
    }
    #[cfg(feature = "mysql")]
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // 1213: deadlock; 9007: TiDB's write conflict (optimistic transactions).
        return matches!(my.number(), 1213 | 9007);
    }
    false
}

/// Runs `op` until it succeeds, fails with something other than a conflict, or conflicts
/// have gone on for [`PATIENCE`]; pauses between tries grow from 1 ms to 50 ms, with jitter,
/// so that the transactions that collided do not collide again in step.
pub(crate) async fn on_conflict<T, F, Fut>(mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(50));
    loop {
        match op().await {
            Err(e) if is_conflict(&e) && started.elapsed() < PATIENCE => {
                RERUNS.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "a statement lost a race and runs again");
                tokio::time::sleep(backoff.next_pause()).await;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
#[path = "retry_tests.rs"]
mod tests;
