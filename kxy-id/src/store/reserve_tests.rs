//! Tests of [`ReservingAllocator`](super::ReservingAllocator): blocks, resizing and the raise log.

use super::*;
use crate::MemoryAllocator;
use crate::testing::allocator as conformance;

/// A reserving allocator (a server) over `store` with blocks of at least 1000.
fn blocks_of_1000(store: &Arc<MemoryAllocator>) -> ReservingAllocator {
    ReservingAllocator::new(
        store.clone(),
        ReserveOptions {
            min_block: 1000,
            ..Default::default()
        },
    )
}

/// A store and two servers over it that log their raises in one metadata store.
fn two_servers_with_a_raise_log() -> (Arc<MemoryAllocator>, ReservingAllocator, ReservingAllocator)
{
    let store = Arc::new(MemoryAllocator::new());
    let meta: Arc<dyn MetaStore> = Arc::new(crate::MemoryMetaStore::new());
    let a = blocks_of_1000(&store).with_raise_log(meta.clone());
    let b = blocks_of_1000(&store).with_raise_log(meta);
    (store, a, b)
}

/// A store with a counter at 0 for table `t`, and one server over it.
async fn one_server_over_a_counter(
    t: &str,
) -> (Arc<MemoryAllocator>, ReservingAllocator, SegmentKey) {
    let store = Arc::new(MemoryAllocator::new());
    let k = key(t);
    store.create(&k, 0).await.unwrap();
    (store.clone(), blocks_of_1000(&store), k)
}

fn key(t: &str) -> SegmentKey {
    SegmentKey::new("s", "d", t, "id").unwrap()
}

#[tokio::test]
async fn requests_come_out_of_one_reserved_block() {
    let (store, r, k) = one_server_over_a_counter("t").await;
    assert_eq!(
        r.allocate(&k, 10).await.unwrap(),
        Segment { start: 1, end: 10 }
    );
    assert_eq!(
        r.allocate(&k, 10).await.unwrap(),
        Segment { start: 11, end: 20 }
    );
    assert_eq!(
        store.get(&k).await.unwrap(),
        Some(1000),
        "one store write for the block"
    );
    // A second server over the same store gets its own block after ours.
    let other = blocks_of_1000(&store);
    assert_eq!(other.allocate(&k, 5).await.unwrap().start, 1001);
    // A restart loses the rest of the block: a gap, never a repeat.
    let restarted = blocks_of_1000(&store);
    assert!(restarted.allocate(&k, 1).await.unwrap().start > 2000);
}

#[tokio::test]
async fn unknown_keys_leave_no_state_behind() {
    let store = Arc::new(MemoryAllocator::new());
    let r = ReservingAllocator::new(store, ReserveOptions::default());
    for i in 0..100 {
        let k = key(&format!("nobody-{i}"));
        assert!(matches!(
            r.allocate(&k, 1).await,
            Err(Error::KeyNotFound { .. })
        ));
    }
    assert!(r.blocks.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_raise_through_it_drops_ids_at_or_below_the_value() {
    let (_, r, k) = one_server_over_a_counter("raise").await;
    r.allocate(&k, 1).await.unwrap();
    // The store is at 1000 already, so this raise changes nothing there, but IDs 2..=500
    // sit in the block and must not be handed out after it.
    assert_eq!(
        r.raise_to(&k, 500).await.unwrap(),
        RaiseOutcome::AlreadyAhead { current: 1000 }
    );
    assert!(r.allocate(&k, 1).await.unwrap().start > 500);
    r.raise_to(&k, 5000).await.unwrap();
    assert!(r.allocate(&k, 1).await.unwrap().start > 5000);
}

#[tokio::test]
async fn blocks_grow_when_used_fast_and_fall_back_near_the_end_of_the_range() {
    let store = Arc::new(MemoryAllocator::new());
    let r = ReservingAllocator::new(
        store.clone(),
        ReserveOptions {
            min_block: 10,
            ..Default::default()
        },
    );
    let k = key("grow");
    store.create(&k, 0).await.unwrap();
    for _ in 0..100 {
        r.allocate(&k, 1).await.unwrap();
    }
    // Doubling blocks: far fewer than 10 reservations for 100 IDs.
    assert!(store.get(&k).await.unwrap().unwrap() >= 150);
    store.create(&key("end"), i64::MAX - 3).await.unwrap();
    assert_eq!(
        r.allocate(&key("end"), 3).await.unwrap(),
        Segment {
            start: i64::MAX - 2,
            end: i64::MAX
        }
    );
    assert!(matches!(
        r.allocate(&key("end"), 1).await,
        Err(Error::Overflow { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserving_over_two_sqlite_pools_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let opts = ReserveOptions {
        min_block: 5,
        max_block: 40,
        ..Default::default()
    };
    let a = Arc::new(ReservingAllocator::new(
        Arc::new(crate::SqliteAllocator::open(&path).await.unwrap()),
        opts.clone(),
    ));
    let b = Arc::new(ReservingAllocator::new(
        Arc::new(crate::SqliteAllocator::open(&path).await.unwrap()),
        opts,
    ));
    crate::testing::allocator::run_all_reserving(a, b, &crate::testing::allocator::unique_prefix())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserving_allocator_conforms() {
    let store: Arc<dyn SegmentAllocator> = Arc::new(MemoryAllocator::new());
    // Two reserving "servers" over one store, with small blocks so they interleave.
    let opts = ReserveOptions {
        min_block: 7,
        max_block: 50,
        ..Default::default()
    };
    let a = Arc::new(ReservingAllocator::new(store.clone(), opts.clone()));
    let b = Arc::new(ReservingAllocator::new(store, opts));
    crate::testing::allocator::run_all_reserving(a, b, &crate::testing::allocator::unique_prefix())
        .await;
}

#[tokio::test]
async fn a_raise_through_another_server_reaches_this_ones_block_within_a_second() {
    let (store, a, b) = two_servers_with_a_raise_log();
    let k = key("elsewhere");
    store.create(&k, 0).await.unwrap();
    assert_eq!(a.allocate(&k, 1).await.unwrap().start, 1);
    // b reserves after a's block, then a raise to 500 goes through b (initialize there).
    b.allocate(&k, 1).await.unwrap();
    b.raise_to(&k, 500).await.unwrap();
    tokio::time::sleep(crate::store::raise_log::POLL + Duration::from_millis(100)).await;
    let next = a.allocate(&k, 1).await.unwrap();
    assert!(next.start > 500, "{next:?} is at or below the raised value");
    // The internal sequence counter of the log is not listed.
    assert_eq!(a.list("").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_flood_of_raises_drops_every_block() {
    let (store, a, b) = two_servers_with_a_raise_log();
    let k = key("flood");
    store.create(&k, 0).await.unwrap();
    a.allocate(&k, 1).await.unwrap();
    let other = key("other");
    for v in 0..1002 {
        b.raise_to(&other, v).await.unwrap();
    }
    tokio::time::sleep(crate::store::raise_log::POLL + Duration::from_millis(100)).await;
    assert!(a.allocate(&k, 1).await.unwrap().start > 1000);
}

#[tokio::test]
async fn a_batch_of_raises_through_another_server_is_one_log_entry_that_reaches_this_one() {
    let (store, a, b) = two_servers_with_a_raise_log();
    let (raised, kept) = (key("batch-raised"), key("batch-kept"));
    store.create(&raised, 0).await.unwrap();
    store.create(&kept, 0).await.unwrap();
    assert_eq!(a.allocate(&raised, 1).await.unwrap().start, 1);
    assert_eq!(a.allocate(&kept, 1).await.unwrap().start, 1);
    let seq = crate::store::raise_log::sequence_key();
    let before = store.get(&seq).await.unwrap().unwrap_or(0);
    let items: Vec<_> = (0..50)
        .map(|i| (key(&format!("batch-{i}")), i))
        .chain([(raised.clone(), 700)])
        .collect();
    assert!(b.raise_many(&items).await.iter().all(Result::is_ok));
    assert_eq!(
        store.get(&seq).await.unwrap(),
        Some(before + 1),
        "one log entry"
    );
    tokio::time::sleep(crate::store::raise_log::POLL + Duration::from_millis(100)).await;
    let next = a.allocate(&raised, 1).await.unwrap();
    assert!(next.start > 700, "{next:?} is at or below the raised value");
    // Read key by key, not as "drop everything": the other block is still used.
    assert_eq!(a.allocate(&kept, 1).await.unwrap().start, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_without_waiting_and_through_the_store_never_overlap() {
    let store = Arc::new(MemoryAllocator::new());
    let a = Arc::new(blocks_of_1000(&store));
    let k = key("now");
    store.create(&k, 0).await.unwrap();
    // No block yet: nothing to hand out without the store.
    assert!(a.allocate_now(&k, 1).is_none());
    assert_eq!(a.allocate(&k, 1).await.unwrap().start, 1);
    assert_eq!(a.allocate_now(&k, 5).unwrap().unwrap().start, 2);
    assert!(
        a.allocate_now(&k, 0).is_none(),
        "refused counts take the checked path"
    );
    let mut tasks = Vec::new();
    for t in 0..4 {
        let (a, k) = (a.clone(), k.clone());
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..500 {
                let count = (t + i) % 13 + 1;
                let s = match a.allocate_now(&k, count) {
                    Some(done) => done.unwrap(),
                    None => a.allocate(&k, count).await.unwrap(),
                };
                assert_eq!(s.len(), count as u64);
                got.push(s);
            }
            got
        }));
    }
    conformance::joined_disjoint(tasks).await;
    // A raise through another path empties the block: the next allocation waits for the store.
    a.raise_to(&k, 1_000_000).await.unwrap();
    assert!(a.allocate_now(&k, 1).is_none());
    assert!(a.allocate(&k, 1).await.unwrap().start > 1_000_000);
}
