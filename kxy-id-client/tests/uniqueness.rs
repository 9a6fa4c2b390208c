//! No ID is handed out twice, and each thread sees its IDs strictly increase, across thousands
//! of segment switches.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kxy_id::{MemoryAllocator, SegmentAllocator, SegmentKey};
use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGenerator};

use common::{assert_unique, block_on, memory_store, memory_store_async, unique_key};

const THREADS: usize = 8;
const IDS_PER_THREAD: usize = 1_000_000;

/// Small fixed segments, so that 8 M IDs take thousands of switches.
fn small_segments(step: i64) -> GeneratorConfig {
    GeneratorConfig::default()
        .step(step)
        .adaptive(false)
        .max_wait(Duration::from_secs(30))
}

/// A generator over `store` for `key` with [`small_segments`] of `step`, shared by the
/// threads or tasks of a test.
fn shared_generator(store: Arc<MemoryAllocator>, key: SegmentKey, step: i64) -> Arc<IdGenerator> {
    let source = Arc::new(AllocatorSource::new(store));
    Arc::new(IdGenerator::new(source, key, small_segments(step)).unwrap())
}

#[test]
fn eight_threads_never_share_an_id_and_each_sees_increasing_ids() {
    let key = unique_key("t_order");
    let store = memory_store(&key, 0);
    let generator = shared_generator(store.clone(), key.clone(), 1_000);
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let generator = generator.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::with_capacity(IDS_PER_THREAD);
                let mut previous = 0;
                for _ in 0..IDS_PER_THREAD {
                    let id = generator.next_id().expect("an ID");
                    assert!(id > previous, "{id} after {previous} on one thread");
                    previous = id;
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::with_capacity(THREADS * IDS_PER_THREAD);
    for thread in threads {
        all.extend(thread.join().expect("no panic"));
    }
    let counter = block_on(store.get(&key)).unwrap().unwrap();
    let snapshot = generator.snapshot();
    assert!(
        snapshot.fetches >= (THREADS * IDS_PER_THREAD / 1_000) as u64,
        "{snapshot:?}"
    );
    assert!(all.iter().all(|&id| id >= 1 && id <= counter));
    assert_unique(all);
}

#[test]
fn blocks_and_single_ids_from_many_threads_never_overlap() {
    let key = unique_key("t_item");
    let store = memory_store(&key, 41);
    let generator = shared_generator(store, key, 1_000);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let generator = generator.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                let mut previous = 0;
                for i in 0..20_000 {
                    if (i + t) % 7 == 0 {
                        let block = generator.next_ids(1 + i % 3_000).expect("a block");
                        assert_eq!(block.len(), (1 + i % 3_000) as u64);
                        for id in block {
                            assert!(id > previous);
                            previous = id;
                            ids.push(id);
                        }
                    } else {
                        let id = generator.next_id().expect("an ID");
                        assert!(id > previous);
                        previous = id;
                        ids.push(id);
                    }
                }
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for thread in threads {
        all.extend(thread.join().unwrap());
    }
    assert!(
        all.iter().all(|&id| id > 41),
        "the seed value is never handed out"
    );
    assert_unique(all);
}

#[test]
fn two_generators_on_one_key_never_share_an_id() {
    // Two generators over one store play two processes of one service.
    let key = unique_key("t_shared");
    let store = memory_store(&key, 0);
    let make = || shared_generator(store.clone(), key.clone(), 500);
    let (a, b) = (make(), make());
    let threads: Vec<_> = [a, b]
        .into_iter()
        .map(|generator| {
            std::thread::spawn(move || {
                (0..200_000)
                    .map(|_| generator.next_id().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for thread in threads {
        let ids = thread.join().unwrap();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        all.extend(ids);
    }
    assert_unique(all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_callers_never_share_an_id() {
    let key = unique_key("t_async");
    let store = memory_store_async(&key, 0).await;
    let generator = shared_generator(store, key, 300);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let generator = generator.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for _ in 0..20_000 {
                    ids.push(generator.next_id_async().await.unwrap());
                }
                let block = generator.next_ids_async(700).await.unwrap();
                ids.extend(block);
                ids
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        let ids = task.await.unwrap();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        all.extend(ids);
    }
    assert_unique(all);
}
