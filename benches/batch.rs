//! IDs per second for a service that refills 200 keys, through the batch endpoint (one request
//! for all keys), and one fetch per key grouped by `BatchingSource` (what a factory's
//! generators do), against one request per key (all 200 in flight at once), in the same run,
//! against one real in-process server with its default store (SQLite, reserving ahead).
//!
//! `cargo bench --bench batch`; `KXY_LOAD_SECONDS` sets the duration of each row (default 5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use kxy_id::SegmentKey;
use kxy_id_client::{BatchingSource, HttpConfig, HttpSource, SegmentSource};
use kxy_id_server::{Settings, open_state, run};

mod support;
use support::{bench_runtime, load_seconds};

/// Keys the service uses.
const KEYS: usize = 200;
/// IDs asked per key and refill.
const COUNT: i64 = 1_000;

/// Refills every key with `refill` until the time is up (after a one-second warm-up); IDs/s.
async fn ids_per_second<F, Fut>(refill: F) -> f64
where
    F: Fn() -> Fut,
    Fut: Future<Output = u64>,
{
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_secs(1) {
        refill().await;
    }
    let started = Instant::now();
    let mut ids: u64 = 0;
    while started.elapsed() < load_seconds() {
        ids += refill().await;
    }
    ids as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let Some(rt) = bench_runtime() else {
        return;
    };
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("a temp dir");
        let settings = Settings::try_parse_from([
            "kxy-id-server",
            "--data-dir",
            &dir.path().display().to_string(),
        ])
        .expect("settings");
        let state = open_state(&settings).await.expect("open the store");
        let system = kxy_id::testing::allocator::unique_prefix();
        let keys: Vec<SegmentKey> = (0..KEYS)
            .map(|i| SegmentKey::new(&system, "bench", &format!("t_{i}"), "id").expect("key"))
            .collect();
        for key in &keys {
            support::seed(&state, key).await;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        let source = Arc::new(HttpSource::new(HttpConfig::new([url])).expect("a source"));
        let requests: Vec<(SegmentKey, i64)> = keys.iter().map(|k| (k.clone(), COUNT)).collect();

        let single = all_in_flight(&keys, source.clone()).await;
        // What a factory's generators do: each refill its own fetch, grouped on the way out.
        let grouped = Arc::new(BatchingSource::new(source.clone()));
        let grouped = all_in_flight(&keys, grouped).await;
        let batch = ids_per_second(|| async {
            let results = source.fetch_many(&requests).await.expect("batch");
            results.iter().map(|r| r.as_ref().expect("item").len()).sum()
        })
        .await;
        println!("| what | IDs/s | vs one request per key |");
        println!("|---|---|---|");
        println!(
            "| {KEYS} keys, one request per key (all in flight), {COUNT} IDs each | {:.1} M | 1.00× |",
            single / 1e6
        );
        println!(
            "| {KEYS} keys, one fetch per key (all in flight) through `BatchingSource`, as a factory's generators refill | {:.1} M | {:.2}× |",
            grouped / 1e6,
            grouped / single
        );
        println!(
            "| {KEYS} keys, one batch request, {COUNT} IDs each | {:.1} M | {:.2}× |",
            batch / 1e6,
            batch / single
        );
        let _ = stop.send(());
        let _ = server.await;
        kxy_id::testing::allocator::cleanup(&**state.service.allocator(), &system).await;
    });
}

/// IDs/s when every key is fetched on its own through `source`, all keys in flight at once.
async fn all_in_flight(keys: &[SegmentKey], source: Arc<dyn SegmentSource>) -> f64 {
    ids_per_second(|| {
        let source = source.clone();
        let keys = keys.to_vec();
        async move {
            let tasks: Vec<_> = keys
                .into_iter()
                .map(|key| {
                    let source = source.clone();
                    tokio::spawn(async move { source.fetch(&key, COUNT).await })
                })
                .collect();
            let mut ids: u64 = 0;
            for t in tasks {
                ids += t.await.expect("task").expect("fetch").len();
            }
            ids
        }
    })
    .await
}
