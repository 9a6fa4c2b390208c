//! What callers see when the source fails, hangs or is slow, and how the generator recovers.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kxy_id::{MemoryAllocator, SegmentAllocator};
use kxy_id_client::{AllocatorSource, Error, GeneratorConfig, IdGenerator};

use common::{Faulty, assert_unique, block_on, memory_store, unique_key};

/// Waits until `check` holds, for at most `limit`.
fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    check()
}

fn fixed(step: i64) -> GeneratorConfig {
    GeneratorConfig::default().step(step).adaptive(false)
}

#[test]
fn buffered_segments_keep_serving_then_a_clear_error_then_recovery() {
    let key = unique_key("t_outage");
    let store = memory_store(&key, 0);
    let source = Faulty::new(store.clone());
    let max_wait = Duration::from_millis(300);
    let generator = IdGenerator::new(
        source.clone(),
        key.clone(),
        fixed(100)
            .prefetch_at(0.2)
            .max_wait(max_wait)
            .retry_backoff(Duration::from_millis(20), Duration::from_millis(100)),
    )
    .unwrap();

    // Serve past the prefetch point and let the next segment arrive: two segments buffered.
    let mut ids = vec![generator.next_id().unwrap()];
    for _ in 0..30 {
        ids.push(generator.next_id().unwrap());
    }
    assert!(wait_until(Duration::from_secs(5), || generator
        .snapshot()
        .next_ready()));

    // The source goes down: the 69 left in the current segment and the 100 of the next are
    // still served, without waiting.
    source.set_failing(true);
    for _ in 0..169 {
        let started = Instant::now();
        ids.push(generator.next_id().expect("buffered IDs are served"));
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    // Both used up: a clear error, within the configured wait.
    let started = Instant::now();
    let err = generator.next_id().unwrap_err();
    let took = started.elapsed();
    assert!(
        took <= max_wait + Duration::from_millis(200),
        "took {took:?}"
    );
    match &err {
        Error::Unavailable {
            key: k, last_error, ..
        } => {
            assert_eq!(k, key.as_str());
            let last = last_error.as_ref().expect("the fetch error is attached");
            assert!(matches!(**last, Error::Transport { .. }), "{last:?}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert!(err.to_string().contains(key.as_str()), "{err}");
    let snapshot = generator.snapshot();
    assert!(snapshot.fetch_failures >= 1 && snapshot.consecutive_failures >= 1);
    assert!(snapshot.last_error.is_some());
    assert_eq!(snapshot.remaining, 0);

    // Calls keep failing within the bound while the source is down.
    for _ in 0..5 {
        let started = Instant::now();
        assert!(generator.next_id().is_err());
        assert!(started.elapsed() <= max_wait + Duration::from_millis(200));
    }

    // The source comes back: the generator recovers by itself.
    source.set_failing(false);
    assert!(wait_until(Duration::from_secs(5), || generator
        .next_id()
        .map(|id| ids.push(id))
        .is_ok()));
    for _ in 0..500 {
        ids.push(generator.next_id().unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_unique(ids);
    assert_eq!(generator.snapshot().consecutive_failures, 0);
}

#[test]
fn a_hanging_source_makes_calls_fail_after_the_configured_wait() {
    let key = unique_key("t_hang");
    let source = Faulty::new(memory_store(&key, 0));
    source.set_delay(Duration::from_secs(30));
    let generator =
        IdGenerator::new(source, key, fixed(10).max_wait(Duration::from_millis(200))).unwrap();
    let started = Instant::now();
    let err = generator.next_id().unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_secs(2),
        "took {took:?}"
    );
    assert!(
        matches!(
            &err,
            Error::Unavailable {
                last_error: None,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(generator.snapshot().fetching);
}

#[test]
fn a_slow_source_with_large_enough_segments_never_makes_a_call_wait() {
    // 40 ms per fetch; 100 IDs taken per millisecond. With segments of 10 000 IDs the fetch
    // starts 8 000 IDs (80 ms) before the switch, so no call waits. With segments of 500 it
    // starts 400 IDs (4 ms) before, so calls wait at most switches: the test can fail.
    let run = |step: i64| {
        let key = unique_key("t_slow");
        let source = Faulty::new(memory_store(&key, 0));
        source.set_delay(Duration::from_millis(40));
        let generator = IdGenerator::new(source, key, fixed(step)).unwrap();
        generator.next_id().unwrap(); // the first segment: the one wait
        let mut slowest = Duration::ZERO;
        for _ in 0..400 {
            for _ in 0..100 {
                let started = Instant::now();
                generator.next_id().unwrap();
                slowest = slowest.max(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        (generator.snapshot(), slowest)
    };
    let (snapshot, slowest) = run(10_000);
    assert_eq!(snapshot.waits, 1, "{snapshot:?}");
    assert!(snapshot.fetches >= 5, "{snapshot:?}");
    // No call waited for a 40 ms fetch (scheduling hiccups of a loaded machine stay below).
    assert!(
        slowest < Duration::from_millis(40),
        "slowest call {slowest:?}"
    );

    let (snapshot, _) = run(500);
    assert!(
        snapshot.waits > 10,
        "small segments must wait: {snapshot:?}"
    );
}

#[test]
fn a_missing_counter_is_reported_at_once_and_never_created() {
    let key = unique_key("t_missing");
    let store = Arc::new(MemoryAllocator::new());
    let generator = IdGenerator::new(
        Arc::new(AllocatorSource::new(store.clone())),
        key.clone(),
        fixed(10).max_wait(Duration::from_secs(10)),
    )
    .unwrap();
    let started = Instant::now();
    let err = generator.next_id().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    match &err {
        Error::Unavailable {
            last_error: Some(last),
            ..
        } => assert!(matches!(**last, Error::CounterMissing { .. }), "{last:?}"),
        other => panic!("{other:?}"),
    }
    assert!(
        std::error::Error::source(&err)
            .unwrap()
            .to_string()
            .contains("raise_to")
    );
    assert_eq!(block_on(store.get(&key)).unwrap(), None, "nothing created");
}

#[test]
fn create_missing_starts_a_new_sequence_at_one() {
    let key = unique_key("seq_coupon");
    let store = Arc::new(MemoryAllocator::new());
    let generator = IdGenerator::new(
        Arc::new(AllocatorSource::new(store).create_missing(true)),
        key,
        fixed(10),
    )
    .unwrap();
    assert_eq!(generator.next_id().unwrap(), 1);
    assert_eq!(generator.next_id().unwrap(), 2);
}

#[test]
fn the_end_of_the_i64_range_is_a_clear_error_not_a_wrap() {
    let key = unique_key("t_overflow");
    let store = memory_store(&key, i64::MAX - 200);
    let generator = IdGenerator::new(
        Arc::new(AllocatorSource::new(store)),
        key,
        fixed(100).retry_backoff(Duration::from_millis(10), Duration::from_millis(50)),
    )
    .unwrap();
    let mut last = 0;
    for _ in 0..200 {
        last = generator.next_id().unwrap();
    }
    assert_eq!(last, i64::MAX);
    let err = generator.next_id().unwrap_err();
    match &err {
        Error::Unavailable {
            last_error: Some(last),
            ..
        } => assert!(
            matches!(**last, Error::Store(kxy_id::Error::Overflow { .. })),
            "{last:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(generator.next_ids(5).is_err());
}

#[test]
fn a_counter_moved_backwards_is_refused_instead_of_repeating_ids() {
    let key = unique_key("t_reset");
    let store = memory_store(&key, 0);
    let generator = IdGenerator::new(
        Arc::new(AllocatorSource::new(store.clone())),
        key.clone(),
        fixed(100)
            .max_wait(Duration::from_millis(500))
            .retry_backoff(Duration::from_millis(10), Duration::from_millis(20)),
    )
    .unwrap();
    let mut ids: Vec<i64> = (0..30).map(|_| generator.next_id().unwrap()).collect();
    assert!(wait_until(Duration::from_secs(5), || generator
        .snapshot()
        .next_ready()));
    // Someone deletes the counter and seeds it again from 0.
    block_on(async {
        store.delete(&key).await.unwrap();
        store.raise_to(&key, 0).await.unwrap();
    });
    for _ in 0..170 {
        ids.push(generator.next_id().unwrap());
    }
    // The store now hands out 1..=100 again: the generator refuses it (and keeps refusing
    // until the counter has passed every ID it served).
    let mut saw_out_of_order = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match generator.next_id() {
            Ok(id) => {
                ids.push(id);
                break;
            }
            Err(Error::Unavailable {
                last_error: Some(last),
                ..
            }) => {
                saw_out_of_order |= matches!(*last, Error::SegmentOutOfOrder { .. });
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(saw_out_of_order);
    assert!(
        generator.snapshot().segments_out_of_order >= 1,
        "refused segments are counted"
    );
    assert!(*ids.last().unwrap() > 200, "recovered above the old IDs");
    assert_unique(ids);
}

#[test]
fn blocks_span_segments() {
    let key = unique_key("t_block");
    let store = memory_store(&key, 0);
    let generator =
        IdGenerator::new(Arc::new(AllocatorSource::new(store)), key, fixed(100)).unwrap();
    generator.next_id().unwrap();
    let block = generator.next_ids(250).unwrap();
    assert_eq!(block.len(), 250);
    let ids: Vec<i64> = block.iter().collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(ids[0] > 1);
    assert!(generator.next_ids(0).unwrap().is_empty());
    assert!(matches!(
        generator.next_ids(kxy_id_client::MAX_BLOCK + 1),
        Err(Error::BlockTooLarge { .. })
    ));
}

#[test]
fn dropping_the_generator_stops_its_background_work() {
    let key = unique_key("t_drop");
    let source = Faulty::new(memory_store(&key, 0));
    source.set_failing(true);
    let generator = IdGenerator::new(
        source.clone(),
        key,
        fixed(10).retry_backoff(Duration::from_millis(5), Duration::from_millis(5)),
    )
    .unwrap();
    // The fetch task keeps retrying while the generator lives.
    assert!(wait_until(Duration::from_secs(5), || source.calls() >= 3));
    drop(generator);
    // The task is gone: it released its handle on the source and makes no more calls.
    assert!(wait_until(Duration::from_secs(5), || Arc::strong_count(
        &source
    ) == 1));
    let calls = source.calls();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(source.calls(), calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_callers_get_the_same_errors_without_blocking_the_runtime() {
    let key = unique_key("t_async_outage");
    let store = common::memory_store_async(&key, 0).await;
    let source = Faulty::new(store);
    source.set_failing(true);
    let generator = IdGenerator::new(
        source.clone(),
        key,
        fixed(50)
            .max_wait(Duration::from_millis(200))
            .retry_backoff(Duration::from_millis(10), Duration::from_millis(20)),
    )
    .unwrap();
    // While one task waits for a segment, another task on the runtime keeps running.
    let ticker = tokio::spawn(async {
        let mut ticks = 0;
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            ticks += 1;
        }
        ticks
    });
    let err = generator.next_id_async().await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert_eq!(ticker.await.unwrap(), 10);
    source.set_failing(false);
    let mut recovered = None;
    for _ in 0..200 {
        if let Ok(id) = generator.next_id_async().await {
            recovered = Some(id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(recovered, Some(1));
}
