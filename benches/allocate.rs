//! One allocation on each `SegmentAllocator` backend, in one run so the numbers compare.
//!
//! `cargo bench --bench allocate`. Redis, MariaDB and PostgreSQL come from
//! `KXY_TEST_REDIS_URL`, `KXY_TEST_MYSQL_URL` and `KXY_TEST_POSTGRES_URL` (local defaults);
//! a backend whose service is unreachable is skipped with a notice.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kxy_id::testing::TestDatabase;
use kxy_id::{
    MemoryAllocator, MySqlAllocator, PgAllocator, RedisAllocator, SegmentAllocator, SegmentKey,
    SqliteAllocator,
};

fn bench_allocate(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temp dir");
    let system = kxy_id::testing::allocator::unique_prefix();
    let key = SegmentKey::new(&system, "bench", "t", "id").expect("a valid key");

    let mut backends: Vec<(&str, Arc<dyn SegmentAllocator>)> =
        vec![("memory", Arc::new(MemoryAllocator::new()))];
    backends.push((
        "sqlite",
        Arc::new(
            rt.block_on(SqliteAllocator::open(dir.path().join("bench.db")))
                .expect("sqlite"),
        ),
    ));
    let timeout = Duration::from_secs(5);
    if let Some(url) = rt.block_on(kxy_id::testing::redis_url()) {
        backends.push((
            "redis",
            Arc::new(
                rt.block_on(RedisAllocator::connect(&url, timeout))
                    .expect("redis"),
            ),
        ));
    }
    let mysql_db = rt.block_on(TestDatabase::mysql());
    if let Some(db) = &mysql_db {
        backends.push((
            "mysql",
            Arc::new(
                rt.block_on(MySqlAllocator::connect(&db.url, timeout))
                    .expect("mysql"),
            ),
        ));
    }
    let pg_db = rt.block_on(TestDatabase::postgres());
    if let Some(db) = &pg_db {
        backends.push((
            "postgres",
            Arc::new(
                rt.block_on(PgAllocator::connect(&db.url, timeout))
                    .expect("postgres"),
            ),
        ));
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
    if let Some(db) = mysql_db {
        rt.block_on(db.drop_mysql());
    }
    if let Some(db) = pg_db {
        rt.block_on(db.drop_postgres());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = bench_allocate
}
criterion_main!(benches);
