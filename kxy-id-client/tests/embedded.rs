//! Embedded mode over real stores: an SQLite file and the test machine's Redis.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kxy_id::{RedisAllocator, SegmentAllocator, SqliteAllocator};
use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGeneratorFactory};

use common::{assert_unique, unique_key};

/// Takes IDs from two tables on two threads each; returns them per table.
fn take_ids(factory: &Arc<IdGeneratorFactory>, per_thread: usize) -> (Vec<i64>, Vec<i64>) {
    let threads: Vec<_> = ["t_order", "t_order", "T_Item", "t_item"]
        .into_iter()
        .map(|table| {
            let factory = factory.clone();
            std::thread::spawn(move || {
                let generator = factory.generator(table, "id").unwrap();
                let ids: Vec<i64> = (0..per_thread)
                    .map(|_| generator.next_id().unwrap())
                    .collect();
                assert!(ids.windows(2).all(|w| w[0] < w[1]));
                (table.to_lowercase(), ids)
            })
        })
        .collect();
    let (mut orders, mut items) = (Vec::new(), Vec::new());
    for thread in threads {
        let (table, ids) = thread.join().unwrap();
        if table == "t_order" {
            orders.extend(ids);
        } else {
            items.extend(ids);
        }
    }
    (orders, items)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_serves_unique_ids_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.db");
    let order = unique_key("t_order");
    let system = order.system_code().to_owned();
    let db = order.db_name().to_owned();
    let item = kxy_id::SegmentKey::new(&system, &db, "t_item", "id").unwrap();

    let store = Arc::new(SqliteAllocator::open(&path).await.unwrap());
    store.raise_to(&order, 1_000).await.unwrap(); // MAX(id) of the table
    store.raise_to(&item, 0).await.unwrap();
    let config = GeneratorConfig::default().step(500).adaptive(false);

    let factory = Arc::new(
        IdGeneratorFactory::builder(Arc::new(AllocatorSource::new(store.clone())), &system, &db)
            .config(config.clone())
            .table_step("t_item", 50)
            .build()
            .unwrap(),
    );
    let (mut orders, mut items) = {
        let factory = factory.clone();
        tokio::task::spawn_blocking(move || take_ids(&factory, 2_000))
            .await
            .unwrap()
    };
    assert!(orders.iter().all(|&id| id > 1_000));
    let snapshots = factory.snapshots();
    assert_eq!(
        snapshots.len(),
        2,
        "one generator per key, whatever the case"
    );
    let item_snapshot = snapshots.iter().find(|s| s.key == item.as_str()).unwrap();
    assert_eq!(item_snapshot.step, 50, "per-table step");
    drop(factory);
    store.pool().close().await;

    // A restart: a new store on the same file continues above every ID handed out.
    let store = Arc::new(SqliteAllocator::open(&path).await.unwrap());
    let factory = Arc::new(
        IdGeneratorFactory::builder(Arc::new(AllocatorSource::new(store.clone())), &system, &db)
            .config(config)
            .build()
            .unwrap(),
    );
    let (more_orders, more_items) = {
        let factory = factory.clone();
        tokio::task::spawn_blocking(move || take_ids(&factory, 1_000))
            .await
            .unwrap()
    };
    let max_before = *orders.iter().max().unwrap();
    assert!(more_orders.iter().all(|&id| id > max_before));
    orders.extend(more_orders);
    items.extend(more_items);
    assert_unique(orders);
    assert_unique(items);
    drop(factory);
    store.pool().close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_serves_unique_ids_to_two_factories() {
    let Some(url) = kxy_id::testing::redis_url().await else {
        return;
    };
    let store = Arc::new(
        RedisAllocator::connect(&url, Duration::from_secs(5))
            .await
            .unwrap(),
    );
    let order = unique_key("t_order");
    let (system, db) = (order.system_code().to_owned(), order.db_name().to_owned());
    let item = kxy_id::SegmentKey::new(&system, &db, "t_item", "id").unwrap();
    store.raise_to(&order, 0).await.unwrap();
    store.raise_to(&item, 0).await.unwrap();

    // Two factories over one Redis play two processes of one service.
    let make = || {
        Arc::new(
            IdGeneratorFactory::builder(
                Arc::new(AllocatorSource::new(store.clone())),
                &system,
                &db,
            )
            .config(GeneratorConfig::default().step(300).adaptive(false))
            .build()
            .unwrap(),
        )
    };
    let (a, b) = (make(), make());
    let result = tokio::task::spawn_blocking(move || {
        let first = std::thread::spawn({
            let a = a.clone();
            move || take_ids(&a, 3_000)
        });
        let (orders_b, items_b) = take_ids(&b, 3_000);
        let (orders_a, items_a) = first.join().unwrap();
        ([orders_a, orders_b].concat(), [items_a, items_b].concat())
    })
    .await;

    // Clean up before asserting.
    store.delete(&order).await.unwrap();
    store.delete(&item).await.unwrap();
    let (orders, items) = result.unwrap();
    assert_eq!(orders.len(), 12_000);
    assert_unique(orders);
    assert_unique(items);
}
