//! A factory's generators that refill at the same moment reach a real server as batches
//! (`POST /api/segment/allocate-batch`), and every ID is still unique.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use common::RealServer;
use kxy_id::{Segment, SegmentKey};
use kxy_id_client::{
    GeneratorConfig, HttpConfig, HttpSource, IdGeneratorFactory, Result, SegmentSource,
};

const TABLES: usize = 40;

/// An HTTP source that counts its single and batch calls.
#[derive(Debug)]
struct Counted {
    http: HttpSource,
    singles: AtomicUsize,
    batches: AtomicUsize,
}

#[async_trait]
impl SegmentSource for Counted {
    async fn fetch(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        self.singles.fetch_add(1, Ordering::SeqCst);
        self.http.fetch(key, count).await
    }

    async fn fetch_many(&self, requests: &[(SegmentKey, i64)]) -> Result<Vec<Result<Segment>>> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.http.fetch_many(requests).await
    }

    fn batches(&self) -> bool {
        self.http.batches()
    }
}

async fn factory_over(server: &RealServer, batch: bool) -> (Arc<Counted>, IdGeneratorFactory) {
    let source = Arc::new(Counted {
        http: HttpSource::new(HttpConfig::new([server.url()])).unwrap(),
        singles: AtomicUsize::new(0),
        batches: AtomicUsize::new(0),
    });
    let factory = IdGeneratorFactory::builder(source.clone(), "shop", "orders")
        .config(GeneratorConfig::default().step(100))
        .batch_refills(batch)
        .runtime(tokio::runtime::Handle::current())
        .build()
        .unwrap();
    (source, factory)
}

/// The first IDs of every table, taken by one task per table, all at once (a burst touching
/// many tables).
async fn first_ids(factory: &IdGeneratorFactory) -> Vec<Vec<i64>> {
    let tasks: Vec<_> = (0..TABLES)
        .map(|i| {
            let g = factory.generator(&format!("t_{i}"), "id").unwrap();
            tokio::spawn(async move {
                let mut table = Vec::new();
                for _ in 0..150 {
                    table.push(g.next_id_async().await.unwrap());
                }
                table
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refills_that_fall_due_together_reach_the_server_as_batches() {
    let server = RealServer::start().await;
    for i in 0..TABLES {
        let key = SegmentKey::new("shop", "orders", &format!("t_{i}"), "id").unwrap();
        server.seed(&key, 1_000 * i as i64).await;
    }
    let (source, factory) = factory_over(&server, true).await;
    let ids = first_ids(&factory).await;
    let (singles, batches) = (
        source.singles.load(Ordering::SeqCst),
        source.batches.load(Ordering::SeqCst),
    );
    // Each generator fetched at least twice (two buffers), yet far fewer calls went out.
    eprintln!("{singles} single and {batches} batch calls for {TABLES} generators");
    assert!(batches >= 1, "{singles} single and {batches} batch calls");
    assert!(
        singles + batches < TABLES,
        "{singles} single and {batches} batch calls for {TABLES} generators"
    );
    for (i, table) in ids.iter().enumerate() {
        assert!(table.windows(2).all(|w| w[0] < w[1]), "table {i} goes up");
        assert!(
            table[0] > 1_000 * i as i64,
            "table {i} starts above its counter"
        );
    }
    // Without batching, a second factory sends one request per fetch, and no table repeats
    // an ID the batched one handed out.
    let (plain, factory) = factory_over(&server, false).await;
    let more = first_ids(&factory).await;
    assert_eq!(plain.batches.load(Ordering::SeqCst), 0);
    assert!(plain.singles.load(Ordering::SeqCst) >= TABLES);
    for (first, second) in ids.into_iter().zip(more) {
        common::assert_unique(first.into_iter().chain(second).collect());
    }
}
