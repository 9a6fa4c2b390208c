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

    let mut local = ids.local();
    group.bench_function("kxy LocalIds::next_id (per-thread leases)", |b| {
        b.iter(|| black_box(local.next_id().expect("an ID")))
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

/// [`two_threads`] with a [`LocalIds`](kxy_id_client::LocalIds) handle of `ids` per thread.
fn two_threads_leased(iters: u64, ids: &IdGenerator) -> Duration {
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let run = || {
            let mut local = ids.local();
            barrier.wait();
            let started = Instant::now();
            for _ in 0..iters {
                black_box(local.next_id().expect("an ID"));
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

    group.bench_function("kxy LocalIds::next_id (per-thread leases)", |b| {
        b.iter_custom(|iters| two_threads_leased(iters, &ids))
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

/// Latency of each call of `op` between two `Instant::now()` (the clock's cost is included).
fn per_call(calls: u64, op: impl Fn()) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..calls {
        let t0 = Instant::now();
        op();
        let _ = h.record(t0.elapsed().as_nanos() as u64);
    }
    h
}

/// Mean latency per call over batches of 64 calls of `op` (the clock's cost is spread over 64
/// calls; one slow call shows up as a slow batch).
fn per_batch(calls: u64, op: impl Fn()) -> Histogram<u64> {
    const BATCH: u64 = 64;
    let mut h = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..calls / BATCH {
        let t0 = Instant::now();
        for _ in 0..BATCH {
            op();
        }
        let _ = h.record(t0.elapsed().as_nanos() as u64 / BATCH);
    }
    h
}

/// Prints p50 .. max of `next_id` over `calls` calls on one thread, next to the same
/// measurement of the clock alone and of `AtomicU64::fetch_add`: whatever the floor shows in
/// its tail (interrupts, preemption by other processes) is the machine's, not `next_id`'s.
fn tail_latency(calls: u64) {
    let ids = generator();
    let counter = AtomicU64::new(0);
    let fetch_add = || {
        black_box(counter.fetch_add(1, Ordering::Relaxed));
    };
    let next_id = || {
        black_box(ids.next_id().expect("an ID"));
    };
    let rows = [
        ("clock alone: Instant::now() pair", per_call(calls, || ())),
        (
            "fetch_add, per call (clock included)",
            per_call(calls, fetch_add),
        ),
        (
            "next_id, per call (clock included)",
            per_call(calls, next_id),
        ),
        (
            "fetch_add, mean per batch of 64",
            per_batch(calls, fetch_add),
        ),
        ("next_id, mean per batch of 64", per_batch(calls, next_id)),
    ];
    let snapshot = ids.snapshot();
    println!();
    println!(
        "tail latency, {calls} calls each, one thread; next_id over segments of {} IDs \
         ({} fetches, {} waits)",
        snapshot.step, snapshot.fetches, snapshot.waits
    );
    println!("| timing | p50 | p99 | p99.9 | p99.99 | max |");
    println!("|---|---|---|---|---|---|");
    for (name, h) in &rows {
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
