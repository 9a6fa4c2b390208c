//! Checks of two allocators over one store (two servers): they see the same counters, and
//! concurrent allocations and raises never hand out an ID twice.

use std::sync::Arc;

use super::{assert_counter, key};
use crate::allocator::SegmentAllocator;
use crate::error::Error;
use crate::key::Segment;

/// A second allocator over the same store continues where the first stopped.
pub async fn second_instance_sees_the_same_counters(
    a: &dyn SegmentAllocator,
    b: &dyn SegmentAllocator,
    system: &str,
    exact: bool,
) {
    let k = key(system, "two-instances");
    a.create(&k, 0).await.unwrap();
    let first = a.allocate(&k, 10).await.unwrap();
    assert_eq!(first, Segment { start: 1, end: 10 });
    assert_counter(b, &k, 10, exact).await;
    let second = b.allocate(&k, 10).await.unwrap();
    let third = a.allocate(&k, 1).await.unwrap();
    if exact {
        assert_eq!(second, Segment { start: 11, end: 20 });
        assert_eq!(third, Segment { start: 21, end: 21 });
    } else {
        // b reserves its own block after a's; a's next IDs come from its block or a new one.
        assert!(second.start > first.end, "{second:?} after {first:?}");
        assert!(
            third.start > first.end && (third.end < second.start || third.start > second.end),
            "{third:?} overlaps {first:?} or {second:?}"
        );
    }
    assert!(matches!(
        b.create(&k, 0).await,
        Err(Error::AlreadyExists { .. })
    ));
}

/// Many concurrent tasks on two allocators never get overlapping ranges, and together
/// cover exactly the IDs they asked for.
pub async fn allocations_never_overlap(
    a: Arc<dyn SegmentAllocator>,
    b: Arc<dyn SegmentAllocator>,
    system: &str,
    exact: bool,
) {
    const TASKS: i64 = 16;
    const ROUNDS: i64 = 40;
    let k = key(system, "concurrent");
    a.create(&k, 0).await.unwrap();
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let alloc = if t % 2 == 0 { a.clone() } else { b.clone() };
        let k = k.clone();
        handles.push(tokio::spawn(async move {
            let mut got = Vec::with_capacity(ROUNDS as usize);
            for r in 0..ROUNDS {
                let n = 1 + (t * 7 + r * 3) % 9;
                got.push((alloc.allocate(&k, n).await.expect("concurrent allocate"), n));
            }
            got
        }));
    }
    let mut segments = Vec::new();
    for h in handles {
        segments.extend(h.await.expect("allocation task"));
    }
    let asked: i64 = segments.iter().map(|(_, n)| *n).sum();
    for (s, n) in &segments {
        assert_eq!(s.len() as i64, *n, "a segment of the wrong size: {s:?}");
    }
    segments.sort_by_key(|(s, _)| s.start);
    if !exact {
        // Reserving allocators leave gaps between blocks, never overlaps.
        for pair in segments.windows(2) {
            assert!(
                pair[0].0.end < pair[1].0.start,
                "{}: overlap {pair:?}",
                a.backend()
            );
        }
        assert_counter(&*a, &k, segments.last().expect("segments").0.end, false).await;
        return;
    }
    let mut next = 1;
    for (s, _) in &segments {
        assert_eq!(s.start, next, "{}: gap or overlap at {s:?}", a.backend());
        next = s.end + 1;
    }
    assert_eq!(next - 1, asked);
    assert_eq!(a.get(&k).await.unwrap(), Some(asked));
}

/// Raises that race with allocations never lower the counter, and an allocation that
/// starts after a raise returns starts above the raised value.
pub async fn raise_never_lowers_while_allocations_race(
    a: Arc<dyn SegmentAllocator>,
    b: Arc<dyn SegmentAllocator>,
    system: &str,
) {
    let k = key(system, "raise-race");
    a.create(&k, 0).await.unwrap();
    let mut allocs = Vec::new();
    for t in 0..6 {
        let alloc = if t % 2 == 0 { a.clone() } else { b.clone() };
        let k = k.clone();
        allocs.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..30 {
                got.push(alloc.allocate(&k, 5).await.expect("allocate while raising"));
            }
            got
        }));
    }
    let mut raises = Vec::new();
    for t in 0..4i64 {
        let alloc = if t % 2 == 0 { b.clone() } else { a.clone() };
        let k = k.clone();
        raises.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for r in 0..10i64 {
                // Targets interleave with what allocations reach, so some raise and some do not.
                let target = (r * 4 + t) * 40;
                let outcome = alloc
                    .raise_to(&k, target)
                    .await
                    .expect("raise while allocating");
                assert!(outcome.value() >= target);
                let after = alloc.allocate(&k, 1).await.expect("allocate after raise");
                assert!(
                    after.start > target,
                    "allocation {after:?} after raise to {target}"
                );
                got.push(after);
            }
            got
        }));
    }
    let mut segments = Vec::new();
    for h in allocs.into_iter().chain(raises) {
        segments.extend(h.await.expect("task"));
    }
    segments.sort_by_key(|s| s.start);
    for pair in segments.windows(2) {
        assert!(
            pair[0].end < pair[1].start,
            "{}: overlap {pair:?}",
            a.backend()
        );
    }
    let last = segments.last().expect("segments").end;
    let value = a.get(&k).await.unwrap().expect("counter exists");
    assert!(value >= last && value >= (9 * 4 + 3) * 40);
}

/// Batches of raises ([`SegmentAllocator::raise_many`]) that race with each other (both
/// creating the same counters) and with allocations never lower a counter; every outcome is
/// the one `raise_to` would give, and an allocation after a batch starts above it.
pub async fn raise_many_never_lowers_while_allocations_race(
    a: Arc<dyn SegmentAllocator>,
    b: Arc<dyn SegmentAllocator>,
    system: &str,
) {
    let keys = [key(system, "batch-race-1"), key(system, "batch-race-2")];
    let mut tasks = Vec::new();
    for t in 0..4i64 {
        let alloc = if t % 2 == 0 { a.clone() } else { b.clone() };
        let keys = keys.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for r in 0..10i64 {
                let target = (r * 4 + t) * 40;
                let items: Vec<_> = keys.iter().map(|k| (k.clone(), target)).collect();
                for outcome in alloc.raise_many(&items).await {
                    let outcome = outcome.expect("raise_many while allocating");
                    assert!(outcome.value() >= target, "{outcome:?} below {target}");
                }
                for (i, k) in keys.iter().enumerate() {
                    let after = alloc.allocate(k, 3).await.expect("allocate after raise");
                    assert!(after.start > target, "{after:?} after a batch to {target}");
                    got.push((i, after));
                }
            }
            got
        }));
    }
    for t in 0..4usize {
        let alloc = if t % 2 == 0 { b.clone() } else { a.clone() };
        let k = keys[t % 2].clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 20 {
                match alloc.allocate(&k, 7).await {
                    Ok(s) => got.push((t % 2, s)),
                    // The counters appear with the first batch.
                    Err(crate::Error::KeyNotFound { .. }) => tokio::task::yield_now().await,
                    Err(e) => panic!("allocate while batches raise: {e}"),
                }
            }
            got
        }));
    }
    let mut segments = [Vec::new(), Vec::new()];
    for task in tasks {
        for (i, s) in task.await.expect("task") {
            segments[i].push(s);
        }
    }
    for (k, mut got) in keys.iter().zip(segments) {
        got.sort_by_key(|s| s.start);
        for pair in got.windows(2) {
            assert!(
                pair[0].end < pair[1].start,
                "{}: overlap {pair:?}",
                a.backend()
            );
        }
        let value = a.get(k).await.unwrap().expect("counter exists");
        assert!(value >= got.last().expect("segments").end && value >= 39 * 40);
    }
}
