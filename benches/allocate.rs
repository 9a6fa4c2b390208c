//! One allocation on each `SegmentAllocator` backend, in one run so the numbers compare.
//!
//! `cargo bench --bench allocate`. Redis, MariaDB and PostgreSQL come from
//! `KXY_TEST_REDIS_URL`, `KXY_TEST_MYSQL_URL` and `KXY_TEST_POSTGRES_URL` (local defaults);
//! a backend whose service is unreachable is skipped with a notice.
//!
//! The Redis topologies run on processes the bench starts (`redis-server` on free loopback
//! ports, all with `appendfsync always`): one Redis and a Redis Cluster of 3 masters and 3
//! replicas, both with durable marks in SQLite (as a cluster requires), the cluster also behind
//! a reserving allocator (`--reserve`).

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kxy_id::testing::TestDatabase;
use kxy_id::testing::redis_cluster::RedisCluster;
use kxy_id::testing::redis_server::{AOF_ALWAYS, RedisServer};
use kxy_id::{
    MemoryAllocator, MySqlAllocator, PgAllocator, RedisAllocator, ReserveOptions,
    ReservingAllocator, SegmentAllocator, SegmentKey, SqliteAllocator,
};
use tokio::runtime::Runtime;

fn bench_allocate(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let system = kxy_id::testing::allocator::unique_prefix();
    let key = SegmentKey::new(&system, "bench", "t", "id").expect("a valid key");

    let timeout = Duration::from_secs(5);
    let mut backends: Vec<(&str, Arc<dyn SegmentAllocator>)> =
        vec![("memory", Arc::new(MemoryAllocator::new()))];
    let sqlite = SqliteAllocator::open(dir.path().join("bench.db"));
    backends.push(opened(&rt, "sqlite", sqlite));
    if let Some(url) = rt.block_on(kxy_id::testing::redis_url()) {
        backends.push(opened(&rt, "redis", RedisAllocator::connect(&url, timeout)));
    }
    // Kept alive until the end: the processes stop on drop.
    let single = RedisServer::start(AOF_ALWAYS);
    let cluster = RedisCluster::start();
    let marks = |name: &str| -> Arc<dyn SegmentAllocator> {
        let file = dir.path().join(format!("{name}-marks.db"));
        Arc::new(rt.block_on(SqliteAllocator::open(file)).expect("marks"))
    };
    if let Some(redis) = &single {
        let plain = rt.block_on(RedisAllocator::connect(&redis.url(), timeout));
        let marked = plain
            .expect("redis (AOF always)")
            .with_marks(marks("single"));
        backends.push(("redis AOF always + marks", Arc::new(marked)));
    }
    if let Some(cluster) = &cluster {
        let connect = || {
            let plain = rt.block_on(RedisAllocator::connect(&cluster.url(), timeout));
            Arc::new(plain.expect("redis cluster").with_marks(marks("cluster")))
        };
        backends.push(("redis cluster + marks", connect()));
        let reserving = ReservingAllocator::new(connect(), ReserveOptions::default());
        backends.push(("redis cluster + marks, reserving", Arc::new(reserving)));
    }
    let mysql_db = rt.block_on(TestDatabase::mysql());
    if let Some(db) = &mysql_db {
        let connecting = MySqlAllocator::connect(&db.url, timeout);
        backends.push(opened(&rt, "mysql", connecting));
    }
    let pg_db = rt.block_on(TestDatabase::postgres());
    if let Some(db) = &pg_db {
        let connecting = PgAllocator::connect(&db.url, timeout);
        backends.push(opened(&rt, "postgres", connecting));
    }

    let mut group = c.benchmark_group("allocate");
    for (name, alloc) in &backends {
        rt.block_on(alloc.raise_to(&key, 0))
            .expect("seed the counter");
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| async {
                alloc.allocate(&key, 1000).await.expect("allocate");
            })
        });
    }
    group.finish();

    for (_, alloc) in &backends {
        rt.block_on(kxy_id::testing::allocator::cleanup(&**alloc, &system));
    }
    drop(backends);
    for db in [mysql_db, pg_db].into_iter().flatten() {
        rt.block_on(db.remove());
    }
}

/// A backend named `name`, opened by `opening` (a reachable service that then refuses is a
/// failed run, not a skipped backend).
fn opened<A: SegmentAllocator + 'static>(
    rt: &Runtime,
    name: &'static str,
    opening: impl Future<Output = kxy_id::Result<A>>,
) -> (&'static str, Arc<dyn SegmentAllocator>) {
    let allocator = rt.block_on(opening).expect(name);
    (name, Arc::new(allocator))
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = bench_allocate
}
criterion_main!(benches);
