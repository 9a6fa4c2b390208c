//! `IdGenerator::next_id` against the floor (`AtomicU64::fetch_add`) and other ID schemes,
//! on one and on two threads, plus a tail-latency histogram of `next_id`.
//!
//! Run: `cargo bench --bench next_id` (add `-- --warm-up-time 1 --measurement-time 3` for a
//! quick run). The generator serves from an in-memory store with 1 M-ID segments, so the
//! numbers are the steady state: segment switches (with the next segment ready) are included,
//! fetch I/O is not on the measured path by design.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use hdrhistogram::Histogram;
use kxy_id::{MemoryAllocator, SegmentAllocator, SegmentKey};
use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGenerator};
use snowflake::SnowflakeIdGenerator;

/// A generator over an in-memory counter, warmed up (first segment fetched, next buffered).
fn generator() -> IdGenerator {
    let store = Arc::new(MemoryAllocator::new());
    let key = SegmentKey::new("bench", "db", "t_order", "id").expect("valid key");
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
        .block_on(store.raise_to(&key, 0))
        .expect("seed the counter");
    let generator = IdGenerator::new(
        Arc::new(AllocatorSource::new(store)),
        key,
        GeneratorConfig::default()
            .step(1_000_000)
            .max_step(1_000_000),
    )
    .expect("a generator");
    for _ in 0..300_000 {
        generator.next_id().expect("an ID");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !generator.snapshot().next_ready() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    generator
}

fn single_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("id/1-thread");
    group.throughput(Throughput::Elements(1));

    let counter = AtomicU64::new(0);
    group.bench_function("AtomicU64::fetch_add (floor)", |b| {
        b.iter(|| black_box(counter.fetch_add(1, Ordering::Relaxed)))
    });

    let ids = generator();
    group.bench_function("kxy IdGenerator::next_id", |b| {
        b.iter(|| black_box(ids.next_id().expect("an ID")))
    });

    group.bench_function("uuid v4 (fast-rng)", |b| {
        b.iter(|| black_box(uuid::Uuid::new_v4()))
    });
    group.bench_function("uuid v7", |b| b.iter(|| black_box(uuid::Uuid::now_v7())));
    group.bench_function("ulid", |b| b.iter(|| black_box(ulid::Ulid::generate())));

    let mut snowflake = SnowflakeIdGenerator::new(1, 1);
    group.bench_function("snowflake (rs-snowflake, 4096/ms)", |b| {
        b.iter(|| black_box(snowflake.real_time_generate()))
    });
    group.finish();
}

/// Time per call on each of two threads calling `op` at once (`iters` calls each; the wall
/// time of the slower thread from a common start).
fn two_threads<F>(iters: u64, op: F) -> Duration
where
    F: Fn() + Sync,
{
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let run = || {
            barrier.wait();
            let started = Instant::now();
            for _ in 0..iters {
                op();
            }
            started.elapsed()
        };
        let other = s.spawn(run);
        let mine = run();
        mine.max(other.join().expect("no panic"))
    })
}

fn two_thread_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("id/2-threads");
    group.throughput(Throughput::Elements(1));

    let counter = AtomicU64::new(0);
    group.bench_function("AtomicU64::fetch_add (floor)", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(counter.fetch_add(1, Ordering::Relaxed));
            })
        })
    });

    let ids = generator();
    group.bench_function("kxy IdGenerator::next_id", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(ids.next_id().expect("an ID"));
            })
        })
    });

    group.bench_function("uuid v4 (fast-rng)", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(uuid::Uuid::new_v4());
            })
        })
    });
    group.bench_function("uuid v7", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(uuid::Uuid::now_v7());
            })
        })
    });
    group.bench_function("ulid", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(ulid::Ulid::generate());
            })
        })
    });
    let snowflake = Mutex::new(SnowflakeIdGenerator::new(1, 1));
    group.bench_function("snowflake (rs-snowflake, shared, 4096/ms)", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(snowflake.lock().expect("not poisoned").real_time_generate());
            })
        })
    });
    group.finish();
}

/// Prints p50 .. max of `next_id` latency over `calls` calls, timed two ways:
///
/// * each call between two `Instant::now()` (the clock's own cost, measured and printed
///   separately, is included in every sample);
/// * batches of 64 calls per pair of clock reads, recording the batch's mean per call (the
///   clock's cost is spread over 64 calls; a slow call shows up as a slow batch).
fn tail_latency(calls: u64) {
    let ids = generator();

    let mut clock = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..1_000_000 {
        let t0 = Instant::now();
        let t1 = Instant::now();
        let _ = clock.record((t1 - t0).as_nanos() as u64);
    }

    let mut per_call = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..calls {
        let t0 = Instant::now();
        black_box(ids.next_id().expect("an ID"));
        let _ = per_call.record(t0.elapsed().as_nanos() as u64);
    }

    const BATCH: u64 = 64;
    let mut per_batch = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..calls / BATCH {
        let t0 = Instant::now();
        for _ in 0..BATCH {
            black_box(ids.next_id().expect("an ID"));
        }
        let _ = per_batch.record(t0.elapsed().as_nanos() as u64 / BATCH);
    }

    let snapshot = ids.snapshot();
    println!();
    println!(
        "next_id tail latency, {calls} calls, one thread, segments of {} IDs ({} fetched, {} waits)",
        snapshot.step, snapshot.fetches, snapshot.waits
    );
    println!("| timing | p50 | p99 | p99.9 | p99.99 | max |");
    println!("|---|---|---|---|---|---|");
    for (name, h) in [
        ("Instant::now() pair alone (clock cost)", &clock),
        ("per call, clock included", &per_call),
        ("per call, mean of batches of 64", &per_batch),
    ] {
        println!(
            "| {name} | {} ns | {} ns | {} ns | {} ns | {} ns |",
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.value_at_quantile(0.999),
            h.value_at_quantile(0.9999),
            h.max()
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let listing = args.iter().any(|a| a == "--list");
    // `cargo bench` passes `--bench`; `cargo test --benches` does not (quick smoke run).
    let full = args.iter().any(|a| a == "--bench");

    let mut c = Criterion::default().configure_from_args();
    single_thread(&mut c);
    two_thread_group(&mut c);
    c.final_summary();

    if !listing {
        tail_latency(if full { 10_000_000 } else { 100_000 });
    }
}
