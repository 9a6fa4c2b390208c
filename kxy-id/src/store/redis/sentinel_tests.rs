//! The Redis store on a Sentinel-managed Redis of the test's own (master, replica, three
//! sentinels): the master killed while allocators run; the store follows the sentinels to the
//! promoted replica without a restart, and no ID is handed out twice.

use std::sync::Arc;
use std::time::Duration;

use super::RedisAllocator;
use super::failover_load::Load;
use crate::allocator::SegmentAllocator;
use crate::key::SegmentKey;
use crate::store::SqliteAllocator;
use crate::testing::allocator::unique_prefix;
use crate::testing::redis_sentinel::RedisSentinel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_follows_a_sentinel_failover_without_a_repeat() {
    let Some(mut setup) = RedisSentinel::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let marks = Arc::new(
        SqliteAllocator::open(dir.path().join("marks.db"))
            .await
            .unwrap(),
    );
    let connect = async || {
        RedisAllocator::connect(&setup.url(), Duration::from_secs(5))
            .await
            .unwrap()
            .with_marks(marks.clone())
    };
    let system = unique_prefix();
    let keys: Vec<SegmentKey> = (0..4)
        .map(|i| SegmentKey::new(&system, "db", &format!("t{i}"), "id").unwrap())
        .collect();
    let servers = [connect().await, connect().await];
    for key in &keys {
        servers[0].raise_to(key, 0).await.unwrap();
    }
    assert!(
        servers[0]
            .connection()
            .target()
            .starts_with("redis+sentinel://")
    );
    let load = Load::start(&servers, &keys);
    tokio::time::sleep(Duration::from_millis(700)).await;

    let old = setup.master_port().expect("the sentinels name a master");
    let victim = setup.nodes.iter().position(|n| n.port() == old).unwrap();
    let before = load.handed();
    setup.nodes[victim].kill();
    let new = setup.wait_failover(old, Duration::from_secs(30)).unwrap();
    load.finish_after_failover(before).await;

    // The same allocators now run on the promoted replica, and checked each key against its
    // mark there: the marker names the new master's identity.
    let promoted = setup.nodes.iter().find(|n| n.port() == new).unwrap();
    let run_id = promoted.cli(&["INFO", "server"]);
    let run_id = super::node::info_field(&run_id, "run_id")
        .unwrap()
        .to_owned();
    let marker = promoted.cli(&["GET", &format!("kxy:id:verified:{}", keys[0])]);
    assert!(
        marker.trim().starts_with(&run_id),
        "marker {marker:?} is not from {run_id}"
    );
    let next = servers[1].allocate(&keys[0], 1).await.unwrap();
    let counter = promoted.cli(&["GET", &format!("kxy:id:segment:{}", keys[0])]);
    assert_eq!(counter.trim(), next.end.to_string());
}
