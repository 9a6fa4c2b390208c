//! [`StoreProbe`]: whether the store answers, checked when `/metrics` is scraped.
//!
//! Allocation errors only show a store outage while clients call; a probe per scrape shows
//! it on an idle server too, and tells "the store is down" from "clients send bad requests".

use std::time::{Duration, Instant};

use kxy_id::{IdService, SegmentKey};

/// How long a probe may take before the store counts as unreachable: well below
/// Prometheus's default scrape timeout (10 s), so a hung store still gives an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// A name no counter and no metadata record uses, read (never written) by the probe.
const PROBE_NAME: &str = "kxy-id-metrics-probe";

/// The result of one probe.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreProbe {
    /// Both the counter store and the metadata store answered a read.
    pub(crate) up: bool,
    /// How long the reads took (up to the timeout).
    pub(crate) took: Duration,
}

impl StoreProbe {
    /// Reads one counter and one metadata record that do not exist.
    pub(crate) async fn run(service: &IdService) -> StoreProbe {
        let started = Instant::now();
        let reads = async {
            let key = SegmentKey::new(PROBE_NAME, PROBE_NAME, PROBE_NAME, PROBE_NAME)?;
            service.allocator().get(&key).await?;
            service.meta().get(PROBE_NAME).await?;
            Ok::<_, kxy_id::Error>(())
        };
        let up = match tokio::time::timeout(PROBE_TIMEOUT, reads).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "store probe failed");
                false
            }
            Err(_) => {
                tracing::warn!(timeout = ?PROBE_TIMEOUT, "store probe timed out");
                false
            }
        };
        StoreProbe {
            up,
            took: started.elapsed(),
        }
    }
}
