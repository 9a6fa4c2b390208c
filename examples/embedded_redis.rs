//! Embedded mode over Redis: IDs straight from the counters the kxy-id server (and the old
//! Python service) keep under `kxy:id:segment:{key}`, with no server in between.
//!
//! Run: `cargo run --example embedded_redis` (Redis at `KXY_REDIS_URL`, default
//! `redis://127.0.0.1:6379/`).

use std::sync::Arc;
use std::time::Duration;

use kxy_id::{RedisAllocator, SegmentAllocator, SegmentKey};
use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGenerator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("KXY_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    let key = SegmentKey::new("kxy-example", "orders", "t_order", "id")?;

    // The Redis connection is driven by the runtime it was opened on, so that runtime must live
    // as long as the generator: keep it, and let it run the generator's fetches too.
    let runtime = tokio::runtime::Runtime::new()?;
    let store = runtime.block_on(async {
        let store = RedisAllocator::connect(&url, Duration::from_secs(5)).await?;
        // Seed the counter (with the table's MAX(id) for a real table); never lowers it.
        store.raise_to(&key, 0).await?;
        Ok::<_, kxy_id::Error>(store)
    })?;

    // Plain synchronous calls from here on (the runtime's own threads do the fetching).
    let ids = IdGenerator::builder(Arc::new(AllocatorSource::new(Arc::new(store))), key)
        .config(GeneratorConfig::default().step(1_000))
        .runtime(runtime.handle().clone())
        .build()?;
    let first: Vec<i64> = (0..5).map(|_| ids.next_id()).collect::<Result<_, _>>()?;
    println!("IDs: {first:?}");

    let threads: Vec<_> = (0..2)
        .map(|_| {
            let ids = &ids;
            move || {
                (0..10_000)
                    .map(|_| ids.next_id())
                    .collect::<Result<Vec<_>, _>>()
            }
        })
        .collect();
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = threads.into_iter().map(|t| s.spawn(t)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic").map(|v| v.len()))
            .collect::<Result<Vec<_>, _>>()
    })?;
    println!("two threads took {counts:?} IDs");
    println!("{:?}", ids.snapshot());
    Ok(())
}
