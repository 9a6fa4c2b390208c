//! `kxy-id-server migrate`: a single Redis filled as the old service leaves it, copied into a
//! real Redis Cluster (3 masters, 3 replicas of the test's own) with a durable store: counters
//! continue without a gap or a repeat, a target counter that is already ahead stays ahead,
//! and the old admin account logs in on a server over the cluster.

mod common;

use std::time::Duration;

use common::{TestServer, settings_with};
use kxy_id::SegmentKey;
use kxy_id::store::{self, OpenOptions};
use kxy_id::testing::redis_cluster::RedisCluster;
use kxy_id::testing::redis_server::RedisServer;
use kxy_id_server::{Command, run_command};

const GUID: &str = "7d3c5e8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";

/// Fills `redis` as the old Python service leaves it.
fn fill_as_the_old_service(redis: &RedisServer) {
    let config = serde_json::json!({"guid": GUID, "system_code": "Shop", "db_type": "mysql",
        "db_address": "127.0.0.1:3306", "db_user": "root", "db_password": "", "db_name": "orders"});
    let set = |k: &str, v: &str| assert_eq!(redis.cli(&["SET", k, v]).trim(), "OK");
    set(&format!("kxy:id:db_config:{GUID}"), &config.to_string());
    set("kxy:id:segment:shop:orders:t_order:id", "5000");
    set("kxy:id:segment:shop:orders:t_item:id", "100");
    set("kxy:id:system:init", "1");
    set("kxy:id:system:username", "admin");
    let legacy = kxy_id_server::auth::des_encrypt_hex("old-pass-1", "f87e43f9");
    set("kxy:id:system:password", &legacy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrates_a_single_redis_of_the_old_service_into_a_cluster() {
    let Some(single) = RedisServer::start(&["--save", "", "--appendonly", "no"]) else {
        return;
    };
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    fill_as_the_old_service(&single);
    let dir = tempfile::tempdir().unwrap();
    let durable = format!("sqlite://{}", dir.path().join("durable.db").display());
    let settings = settings_with(
        dir.path(),
        Some(&cluster.url()),
        &["--reserve", "0", "--durable-store", &durable],
    );
    let options = OpenOptions::default()
        .connect_timeout(Duration::from_secs(5))
        .durable_store(Some(durable.clone()));
    // The target already handed out IDs up to 9000 of one key: migrating never lowers it.
    let item = SegmentKey::parse("shop:orders:t_item:id").unwrap();
    {
        let target = store::open(&cluster.url(), &options).await.unwrap();
        target.allocator.raise_to(&item, 9000).await.unwrap();
    }

    // The same store twice is refused before anything is read.
    let same = Command::Migrate {
        from: single.url(),
        to: single.url(),
    };
    let err = run_command(&settings, &same).await.unwrap_err().to_string();
    assert!(err.contains("the same store"), "{err}");

    let migrate = Command::Migrate {
        from: single.url(),
        to: cluster.url(),
    };
    let report = run_command(&settings, &migrate).await.unwrap();
    assert!(report.contains("2 counters"), "{report}");
    // Running it again changes nothing (counters are only raised).
    run_command(&settings, &migrate).await.unwrap();

    let target = store::open(&cluster.url(), &options).await.unwrap();
    let order = SegmentKey::parse("shop:orders:t_order:id").unwrap();
    let next = target.allocator.allocate(&order, 10).await.unwrap();
    assert_eq!((next.start, next.end), (5001, 5010), "no gap, no repeat");
    let next = target.allocator.allocate(&item, 1).await.unwrap();
    assert_eq!(
        next.start, 9001,
        "a target counter ahead of the source stays ahead"
    );
    let config = target
        .meta
        .get(&format!("kxy:id:db_config:{GUID}"))
        .await
        .unwrap()
        .expect("the configuration was copied");
    assert!(config.contains("\"Shop\""), "{config}");
    // The counters live in the cluster with their hash tags.
    let master = cluster
        .master_of("kxy:id:segment:{shop:orders:t_order:id}")
        .unwrap();
    let raw = cluster.nodes[master].cli(&["GET", "kxy:id:segment:{shop:orders:t_order:id}"]);
    assert_eq!(raw.trim(), "5010");
    drop(target);

    // A server over the cluster takes the old admin account (DES password) as it was.
    let server = TestServer::start(&settings).await;
    let body = server.login("admin", "old-pass-1").await;
    assert_eq!(body["code"], 0, "{body}");
    server.stop().await;
}
