//! Embedded mode: IDs from an SQLite file in this process, with no kxy-id server.
//!
//! Run: `cargo run --example embedded_sqlite [path/to/ids.db]`
//! (default: `kxy-id-example.db` in the system's temporary directory). Run it twice: the second
//! run continues above every ID of the first.

use std::path::PathBuf;
use std::sync::Arc;

use kxy_id::{SegmentAllocator, SegmentKey, SqliteAllocator};
use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGeneratorFactory};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("kxy-id-example.db"));
    let store = Arc::new(SqliteAllocator::open(&path).await?);

    // Counters must exist before IDs are taken. For a table that already holds rows, seed the
    // counter with its MAX(id); `raise_to` never lowers a counter, so this is safe to repeat.
    for table in ["t_order", "t_order_item"] {
        let key = SegmentKey::new("shop", "orders", table, "id")?;
        let outcome = store.raise_to(&key, 0).await?;
        println!("counter {key}: {outcome:?}");
    }

    // One factory per system and database; generators are created on first use and shared.
    let factory = IdGeneratorFactory::builder(
        Arc::new(AllocatorSource::new(store.clone())),
        "shop",
        "orders",
    )
    .config(GeneratorConfig::default().step(1_000))
    .table_step("t_order_item", 5_000) // order items take many more IDs
    .build()?;

    let orders = factory.generator("t_order", "id")?;
    let items = factory.generator("t_order_item", "id")?;
    for _ in 0..3 {
        let order = orders.next_id_async().await?;
        let block = items.next_ids_async(4).await?;
        let item_ids: Vec<i64> = block.iter().collect();
        println!("order {order} with items {item_ids:?}");
    }
    // `next_id` is synchronous and lock-free; it is fine in async code in the steady state.
    println!("one more order: {}", orders.next_id()?);

    for snapshot in factory.snapshots() {
        println!(
            "{}: last ID {:?}, segment {:?}, next ready {}, step {}",
            snapshot.key,
            snapshot.last_id,
            snapshot.segment,
            snapshot.next_ready(),
            snapshot.step
        );
    }
    println!("counters are kept in {}", path.display());
    Ok(())
}
