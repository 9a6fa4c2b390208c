//! The Redis store on a real Redis Cluster of the test's own (3 masters, 3 replicas on loopback
//! ports): the conformance suites, keys spread over every master, and a master killed while
//! allocators run: its replica takes over and no ID is handed out twice.

use std::sync::Arc;
use std::time::Duration;

use super::failover_load::Load;
use super::{RedisAllocator, RedisMetaStore};
use crate::allocator::SegmentAllocator;
use crate::key::SegmentKey;
use crate::store::SqliteAllocator;
use crate::testing::allocator::{run_all, unique_prefix};
use crate::testing::redis_cluster::RedisCluster;

/// An allocator on `cluster` with durable marks in the SQLite file `marks` (shared by every
/// allocator of a test, as servers share their durable store).
async fn allocator(cluster: &RedisCluster, marks: &Arc<SqliteAllocator>) -> RedisAllocator {
    RedisAllocator::connect(&cluster.url(), Duration::from_secs(5))
        .await
        .unwrap()
        .with_marks(marks.clone())
}

async fn marks(dir: &tempfile::TempDir) -> Arc<SqliteAllocator> {
    Arc::new(
        SqliteAllocator::open(dir.path().join("marks.db"))
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_conforms_and_spreads_keys_over_every_master() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let marks = marks(&dir).await;
    let a = allocator(&cluster, &marks).await;
    let b = allocator(&cluster, &marks).await;
    let meta = RedisMetaStore::new(a.connection());
    run_all(Arc::new(a.clone()), Arc::new(b), &unique_prefix()).await;
    crate::testing::meta::meta_store_conforms(&meta, &unique_prefix()).await;

    // Counters of many keys land on every master, each beside its marker (one hash slot).
    let system = unique_prefix();
    for i in 0..30 {
        let key = SegmentKey::new(&system, "db", &format!("t{i}"), "id").unwrap();
        a.raise_to(&key, 0).await.unwrap();
        assert_eq!(a.allocate(&key, 3).await.unwrap().end, 3);
    }
    let masters = cluster.masters();
    assert_eq!(masters.len(), 3, "{masters:?}");
    for &m in &masters {
        let keys = cluster.nodes[m].cli(&["KEYS", &format!("kxy:id:segment:{{{system}:*")]);
        assert!(keys.lines().count() >= 2, "master {m} holds {keys:?}");
        for counter in keys.lines() {
            let marker = counter.replace("kxy:id:segment:", "kxy:id:verified:");
            let owner = cluster.nodes[m].cli(&["EXISTS", &marker]);
            assert_eq!(owner.trim(), "1", "{marker} is not beside {counter}");
        }
    }
    // Listing visits every master.
    assert_eq!(a.list(&system).await.unwrap().len(), 30);

    // Without a durable store a cluster is refused, saying why.
    let err = crate::store::open(&cluster.url(), &crate::store::OpenOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs --durable-store"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_fails_over_to_its_replica_without_a_repeat() {
    let Some(mut cluster) = RedisCluster::start_with_node_timeout(Duration::from_secs(1)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let marks = marks(&dir).await;
    let system = unique_prefix();
    let keys: Vec<SegmentKey> = (0..12)
        .map(|i| SegmentKey::new(&system, "db", &format!("t{i}"), "id").unwrap())
        .collect();
    let setup = allocator(&cluster, &marks).await;
    for key in &keys {
        setup.raise_to(key, 0).await.unwrap();
    }
    // Two "servers" on one durable store.
    let servers = [
        allocator(&cluster, &marks).await,
        allocator(&cluster, &marks).await,
    ];
    let load = Load::start(&servers, &keys);
    tokio::time::sleep(Duration::from_millis(700)).await;

    // kill -9 of the master that holds the first key; its replica takes over.
    let first = format!("kxy:id:segment:{{{}}}", keys[0]);
    let victim = cluster
        .master_of(&first)
        .expect("the master of the first key");
    let before = load.handed();
    cluster.nodes[victim].kill();
    cluster.wait_failover(Duration::from_secs(20)).unwrap();
    load.finish_after_failover(before).await;

    // The first key was checked against its mark on the promoted replica: its marker names
    // the new master's identity, not the dead one's.
    let new_master = cluster
        .master_of(&first)
        .expect("the new master of the first key");
    let marker =
        cluster.nodes[new_master].cli(&["GET", &format!("kxy:id:verified:{{{}}}", keys[0])]);
    let run_id = cluster.nodes[new_master].cli(&["INFO", "server"]);
    let run_id = super::node::info_field(&run_id, "run_id")
        .unwrap()
        .to_owned();
    assert!(
        marker.trim().starts_with(&run_id),
        "marker {marker:?} is not from {run_id}"
    );
}
