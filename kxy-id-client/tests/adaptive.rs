//! The adaptive step under tokio's paused clock: the fetch task runs on the test's runtime, so
//! the clock it reads is the one the test moves.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kxy_id::SegmentAllocator;
use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGenerator};

use common::{memory_store_async, unique_key};

const MINUTE: Duration = Duration::from_secs(60);

/// Segments asked for so far, read back from the store's counter after each switch.
async fn segment_sizes(
    generator: &IdGenerator,
    store: &dyn SegmentAllocator,
    segments: usize,
    pause_per_tenth: Duration,
) -> Vec<i64> {
    let mut sizes = Vec::new();
    let mut counter = store.get(generator.key()).await.unwrap().unwrap();
    while sizes.len() < segments {
        // Use one tenth of the current step, then let time pass.
        let step = generator.snapshot().step;
        generator
            .next_ids_async((step / 10).max(1) as usize)
            .await
            .unwrap();
        tokio::time::sleep(pause_per_tenth).await;
        let now = store.get(generator.key()).await.unwrap().unwrap();
        if now != counter {
            sizes.push(now - counter);
            counter = now;
        }
    }
    sizes
}

#[tokio::test(start_paused = true)]
async fn step_doubles_when_segments_go_fast_and_halves_when_they_last() {
    let key = unique_key("t_adaptive");
    let store = memory_store_async(&key, 0).await;
    let generator = IdGenerator::builder(Arc::new(AllocatorSource::new(store.clone())), key)
        .config(
            GeneratorConfig::default()
                .step(100)
                .min_step(100)
                .max_step(1_600)
                .target_period(15 * MINUTE),
        )
        .runtime(tokio::runtime::Handle::current())
        .build()
        .unwrap();
    generator.next_id_async().await.unwrap();

    // A segment lasts ten tenths of 10 s: far below 15 minutes, so each step doubles.
    let fast = segment_sizes(&generator, store.as_ref(), 6, Duration::from_secs(10)).await;
    assert_eq!(fast, [200, 400, 800, 1_600, 1_600, 1_600]);

    // A tenth now takes 4 minutes: a segment lasts 40 minutes, past twice the target, so the
    // step halves down to the minimum.
    let slow = segment_sizes(&generator, store.as_ref(), 6, 4 * MINUTE).await;
    assert_eq!(slow, [800, 400, 200, 100, 100, 100]);

    // 2 minutes a tenth: 20 minutes a segment, between the target and twice it: kept.
    let steady = segment_sizes(&generator, store.as_ref(), 3, 2 * MINUTE).await;
    assert_eq!(steady, [100, 100, 100]);
}

#[tokio::test(start_paused = true)]
async fn without_adaptation_the_step_stays_fixed() {
    let key = unique_key("t_fixed");
    let store = memory_store_async(&key, 0).await;
    let generator = IdGenerator::builder(Arc::new(AllocatorSource::new(store.clone())), key)
        .config(GeneratorConfig::default().step(100).adaptive(false))
        .runtime(tokio::runtime::Handle::current())
        .build()
        .unwrap();
    generator.next_id_async().await.unwrap();
    let sizes = segment_sizes(&generator, store.as_ref(), 4, Duration::from_secs(1)).await;
    assert_eq!(sizes, [100, 100, 100, 100]);
}
