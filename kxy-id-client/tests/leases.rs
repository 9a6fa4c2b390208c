//! Per-thread leases ([`IdGenerator::local`]): no ID twice across threads, handles and the
//! shared `next_id`, increasing per handle, across thousands of segment switches.

mod common;

use std::sync::Arc;
use std::time::Duration;

use kxy_id::SegmentAllocator;
use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGenerator, MAX_LEASE, MIN_LEASE};

use common::{assert_unique, block_on, join_ids, memory_store, unique_key};

const THREADS: usize = 8;
const IDS_PER_THREAD: usize = 500_000;

#[test]
fn leases_of_many_threads_never_share_an_id_across_segment_switches() {
    let key = unique_key("t_lease");
    let store = memory_store(&key, 7);
    // Segments of 1,000 IDs: smaller than the largest lease, so leases are cut short by
    // segment ends and thousands of switches happen.
    let config = GeneratorConfig::default()
        .step(1_000)
        .adaptive(false)
        .max_wait(Duration::from_secs(30));
    let generator = Arc::new(
        IdGenerator::new(
            Arc::new(AllocatorSource::new(store.clone())),
            key.clone(),
            config,
        )
        .unwrap(),
    );
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let generator = generator.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::with_capacity(IDS_PER_THREAD);
                let mut local = generator.local();
                // Each source increases on its own (a lease taken before a shared call holds
                // smaller IDs than it).
                let (mut previous_local, mut previous_shared) = (0, 0);
                for i in 0..IDS_PER_THREAD {
                    // One thread in two also draws from the shared cursor now and then, and
                    // handles are dropped and taken again (their leases' rests become gaps).
                    let id = if t % 2 == 0 && i % 97 == 0 {
                        let id = generator.next_id().unwrap();
                        assert!(id > previous_shared, "{id} after {previous_shared}");
                        previous_shared = id;
                        id
                    } else {
                        if i % 50_000 == 0 {
                            local = generator.local();
                        }
                        let id = local.next_id().unwrap();
                        assert!(
                            id > previous_local,
                            "{id} after {previous_local} on one handle"
                        );
                        previous_local = id;
                        id
                    };
                    ids.push(id);
                }
                ids
            })
        })
        .collect();
    let all = join_ids(threads);
    let counter = block_on(store.get(&key)).unwrap().unwrap();
    assert!(all.iter().all(|&id| id > 7 && id <= counter));
    assert!(
        generator.snapshot().fetches >= 1_000,
        "{:?}",
        generator.snapshot()
    );
    assert_unique(all);
}

#[test]
fn leases_grow_from_the_smallest_to_the_largest() {
    let key = unique_key("t_grow");
    let store = memory_store(&key, 0);
    let config = GeneratorConfig::default().step(1_000_000).adaptive(false);
    let generator = IdGenerator::new(Arc::new(AllocatorSource::new(store)), key, config).unwrap();
    let mut local = generator.local();
    assert_eq!(local.leased(), 0);
    let first = local.next_id().unwrap();
    assert_eq!(local.leased(), MIN_LEASE - 1);
    let mut sizes = Vec::new();
    for _ in 0..20_000 {
        if local.leased() == 0 {
            local.next_id().unwrap();
            sizes.push(local.leased() + 1);
        } else {
            local.next_id().unwrap();
        }
    }
    assert_eq!(&sizes[..3], &[2 * MIN_LEASE, 4 * MIN_LEASE, 8 * MIN_LEASE]);
    assert_eq!(*sizes.last().unwrap(), MAX_LEASE);
    // The shared cursor continues after the leases taken, never inside one.
    let shared = generator.next_id().unwrap();
    assert!(shared > first + 20_000, "{shared} {first}");
}
