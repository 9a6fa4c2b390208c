//! The conformance suite every [`SegmentAllocator`] runs.
//!
//! Plain `pub async fn` checks over `&dyn SegmentAllocator` (or two `Arc`s of allocators that
//! share one backing store, standing in for two servers). A backend's tests call
//! [`run_all`]; each check only touches keys under the system code it is given and
//! [`run_all`] deletes them at the end, so runs on shared services do not collide.
//!
//! Compiled for this crate's tests and, for other crates, under the `test-util` feature.

use std::sync::Arc;

use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::error::Error;
use crate::key::{Segment, SegmentKey};

/// A system code no other test run uses: `kxyt-{pid}-{nanos}`.
pub fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("kxyt-{}-{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// Checks the stored counter: exactly `value`, or at least `value` when `exact` is false.
async fn assert_counter(a: &dyn SegmentAllocator, k: &SegmentKey, value: i64, exact: bool) {
    let got = a.get(k).await.unwrap().expect("the counter exists");
    if exact {
        assert_eq!(got, value, "{}: counter of {k}", a.backend());
    } else {
        assert!(
            got >= value,
            "{}: counter of {k} is {got}, below {value}",
            a.backend()
        );
    }
}

fn key(system: &str, table: &str) -> SegmentKey {
    SegmentKey::new(system, "db", table, "id").expect("test keys are valid")
}

/// Runs every check against `a` and `b`, two allocators over the same backing store
/// (they may be the same instance), then deletes every counter under `system`.
pub async fn run_all(a: Arc<dyn SegmentAllocator>, b: Arc<dyn SegmentAllocator>, system: &str) {
    run_suite(a, b, system, true).await;
}

/// [`run_all`] for allocators that reserve IDs ahead of what they hand out (such as
/// [`ReservingAllocator`](crate::ReservingAllocator)): the stored counter may be ahead of the
/// last ID handed out and two instances leave gaps between each other's blocks, so those
/// checks ask for "at least" and "disjoint" instead of "exactly" and "contiguous".
pub async fn run_all_reserving(
    a: Arc<dyn SegmentAllocator>,
    b: Arc<dyn SegmentAllocator>,
    system: &str,
) {
    run_suite(a, b, system, false).await;
}

async fn run_suite(
    a: Arc<dyn SegmentAllocator>,
    b: Arc<dyn SegmentAllocator>,
    system: &str,
    exact: bool,
) {
    missing_key_is_an_error(&*a, system).await;
    allocations_are_contiguous(&*a, system, exact).await;
    create_refuses_an_existing_counter(&*a, system).await;
    raise_never_lowers(&*a, system).await;
    overflow_changes_nothing(&*a, system).await;
    bad_input_changes_nothing(&*a, system).await;
    values_near_2_53_and_2_63_are_exact(&*a, system, exact).await;
    unusual_key_characters_work(&*a, system, exact).await;
    keys_are_case_insensitive(&*a, system).await;
    list_and_delete(&*a, system).await;
    second_instance_sees_the_same_counters(&*a, &*b, system, exact).await;
    allocations_never_overlap(a.clone(), b.clone(), system, exact).await;
    raise_never_lowers_while_allocations_race(a.clone(), b.clone(), system).await;
    cleanup(&*a, system).await;
}

/// Deletes every counter under `system`.
pub async fn cleanup(a: &dyn SegmentAllocator, system: &str) {
    let prefix = format!("{}:", system.to_lowercase());
    for counter in a.list(&prefix).await.expect("list for cleanup") {
        let key = SegmentKey::parse(&counter.key).expect("listed keys parse");
        a.delete(&key).await.expect("delete for cleanup");
    }
    assert!(
        a.list(&prefix)
            .await
            .expect("list after cleanup")
            .is_empty()
    );
}

/// Allocating for a key without a counter fails, names the key and creates nothing.
pub async fn missing_key_is_an_error(a: &dyn SegmentAllocator, system: &str) {
    let k = key(system, "missing");
    match a.allocate(&k, 10).await {
        Err(Error::KeyNotFound { key }) => assert_eq!(key, k.to_string()),
        other => panic!("{}: allocate on a missing key gave {other:?}", a.backend()),
    }
    assert_eq!(a.get(&k).await.unwrap(), None);
    assert!(!a.delete(&k).await.unwrap());
}

/// Consecutive allocations follow each other without gaps.
pub async fn allocations_are_contiguous(a: &dyn SegmentAllocator, system: &str, exact: bool) {
    let k = key(system, "contiguous");
    a.create(&k, 0).await.unwrap();
    for (count, start, end) in [(10, 1, 10), (5, 11, 15), (1, 16, 16)] {
        assert_eq!(
            a.allocate(&k, count).await.unwrap(),
            Segment { start, end },
            "{}: allocate({count})",
            a.backend()
        );
    }
    assert_counter(a, &k, 16, exact).await;
}

/// `create` writes only absent counters.
pub async fn create_refuses_an_existing_counter(a: &dyn SegmentAllocator, system: &str) {
    let k = key(system, "create");
    a.create(&k, 5).await.unwrap();
    match a.create(&k, 100).await {
        Err(Error::AlreadyExists { key }) => assert_eq!(key, k.to_string()),
        other => panic!("{}: second create gave {other:?}", a.backend()),
    }
    match a.create(&k, 0).await {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("{}: create lower gave {other:?}", a.backend()),
    }
    assert_eq!(a.get(&k).await.unwrap(), Some(5));
}

/// `raise_to` creates, raises, and never lowers.
pub async fn raise_never_lowers(a: &dyn SegmentAllocator, system: &str) {
    let k = key(system, "raise");
    for (value, expected) in [
        (100, RaiseOutcome::Created { value: 100 }),
        (50, RaiseOutcome::AlreadyAhead { current: 100 }),
        (100, RaiseOutcome::AlreadyAhead { current: 100 }),
        (0, RaiseOutcome::AlreadyAhead { current: 100 }),
        (200, RaiseOutcome::Raised { value: 200 }),
    ] {
        assert_eq!(
            a.raise_to(&k, value).await.unwrap(),
            expected,
            "{}: raise_to({value})",
            a.backend()
        );
    }
    assert_eq!(a.get(&k).await.unwrap(), Some(200));
    assert_eq!(
        a.allocate(&k, 1).await.unwrap(),
        Segment {
            start: 201,
            end: 201
        }
    );
    let k0 = key(system, "raise-zero");
    assert_eq!(
        a.raise_to(&k0, 0).await.unwrap(),
        RaiseOutcome::Created { value: 0 }
    );
    assert_eq!(
        a.allocate(&k0, 3).await.unwrap(),
        Segment { start: 1, end: 3 }
    );
}

/// An allocation that would pass `i64::MAX` is refused and leaves the counter as it was.
pub async fn overflow_changes_nothing(a: &dyn SegmentAllocator, system: &str) {
    let k = key(system, "overflow");
    a.create(&k, i64::MAX - 10).await.unwrap();
    match a.allocate(&k, 11).await {
        Err(Error::Overflow {
            key,
            current,
            count,
        }) => {
            assert_eq!(key, k.to_string());
            assert_eq!(current, i64::MAX - 10);
            assert_eq!(count, 11);
        }
        other => panic!("{}: overflowing allocate gave {other:?}", a.backend()),
    }
    assert!(matches!(
        a.allocate(&k, i64::MAX).await,
        Err(Error::Overflow { .. })
    ));
    assert_eq!(a.get(&k).await.unwrap(), Some(i64::MAX - 10));
    assert_eq!(
        a.allocate(&k, 10).await.unwrap(),
        Segment {
            start: i64::MAX - 9,
            end: i64::MAX
        }
    );
    assert!(matches!(
        a.allocate(&k, 1).await,
        Err(Error::Overflow { .. })
    ));
    assert_eq!(a.get(&k).await.unwrap(), Some(i64::MAX));

    let k2 = key(system, "overflow-big");
    a.create(&k2, 1).await.unwrap();
    assert!(matches!(
        a.allocate(&k2, i64::MAX).await,
        Err(Error::Overflow { .. })
    ));
    assert_eq!(a.get(&k2).await.unwrap(), Some(1));
    let k3 = key(system, "overflow-full");
    a.create(&k3, 0).await.unwrap();
    assert_eq!(
        a.allocate(&k3, i64::MAX).await.unwrap(),
        Segment {
            start: 1,
            end: i64::MAX
        }
    );
}

/// Counts below 1, negative values and invalid keys are refused and change nothing.
pub async fn bad_input_changes_nothing(a: &dyn SegmentAllocator, system: &str) {
    let k = key(system, "bad-input");
    a.create(&k, 7).await.unwrap();
    for count in [0, -1, i64::MIN] {
        match a.allocate(&k, count).await {
            Err(Error::InvalidCount { count: c }) => assert_eq!(c, count),
            other => panic!("{}: allocate({count}) gave {other:?}", a.backend()),
        }
    }
    assert!(matches!(
        a.raise_to(&k, -1).await,
        Err(Error::InvalidValue { value: -1 })
    ));
    assert!(matches!(
        a.raise_to(&k, i64::MIN).await,
        Err(Error::InvalidValue { .. })
    ));
    assert_eq!(a.get(&k).await.unwrap(), Some(7));

    let fresh = key(system, "bad-input-fresh");
    assert!(matches!(
        a.create(&fresh, -5).await,
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        a.raise_to(&fresh, -5).await,
        Err(Error::InvalidValue { .. })
    ));
    assert!(matches!(
        a.allocate(&fresh, 0).await,
        Err(Error::InvalidCount { .. })
    ));
    assert_eq!(a.get(&fresh).await.unwrap(), None);
}

/// Values that a double cannot hold exactly (past 2^53) and values at 2^63 − 1 stay exact.
pub async fn values_near_2_53_and_2_63_are_exact(
    a: &dyn SegmentAllocator,
    system: &str,
    exact: bool,
) {
    const P53: i64 = 1 << 53;
    let k = key(system, "big");
    a.create(&k, P53 - 1).await.unwrap();
    assert_eq!(
        a.allocate(&k, 2).await.unwrap(),
        Segment {
            start: P53,
            end: P53 + 1
        }
    );
    assert_counter(a, &k, P53 + 1, exact).await;
    if exact {
        // 2^53 + 2 and 2^53 + 3 are one double apart; a float comparison would get this wrong.
        assert_eq!(
            a.raise_to(&k, P53 + 2).await.unwrap(),
            RaiseOutcome::Raised { value: P53 + 2 }
        );
        assert_eq!(
            a.raise_to(&k, P53 + 1).await.unwrap(),
            RaiseOutcome::AlreadyAhead { current: P53 + 2 }
        );
        assert_eq!(
            a.raise_to(&k, P53 + 3).await.unwrap(),
            RaiseOutcome::Raised { value: P53 + 3 }
        );
        assert_eq!(
            a.allocate(&k, 1).await.unwrap(),
            Segment {
                start: P53 + 4,
                end: P53 + 4
            }
        );
    } else {
        // The stored counter is ahead of what was handed out: check the raise on a fresh key.
        let kr = key(system, "big-raise");
        assert_eq!(
            a.raise_to(&kr, P53 + 1).await.unwrap(),
            RaiseOutcome::Created { value: P53 + 1 }
        );
        assert_eq!(
            a.raise_to(&kr, P53 + 2).await.unwrap(),
            RaiseOutcome::Raised { value: P53 + 2 }
        );
        assert_eq!(
            a.raise_to(&kr, P53 + 1).await.unwrap(),
            RaiseOutcome::AlreadyAhead { current: P53 + 2 }
        );
        assert_eq!(a.allocate(&kr, 1).await.unwrap().start, P53 + 3);
    }

    let k2 = key(system, "near-max");
    a.raise_to(&k2, i64::MAX - 3).await.unwrap();
    assert_eq!(
        a.raise_to(&k2, i64::MAX - 2).await.unwrap(),
        RaiseOutcome::Raised {
            value: i64::MAX - 2
        }
    );
    assert_eq!(
        a.raise_to(&k2, i64::MAX - 3).await.unwrap(),
        RaiseOutcome::AlreadyAhead {
            current: i64::MAX - 2
        }
    );
    assert_eq!(
        a.allocate(&k2, 1).await.unwrap(),
        Segment {
            start: i64::MAX - 1,
            end: i64::MAX - 1
        }
    );
    assert_eq!(a.get(&k2).await.unwrap(), Some(i64::MAX - 1));
    assert_eq!(
        a.raise_to(&k2, i64::MAX).await.unwrap(),
        RaiseOutcome::Raised { value: i64::MAX }
    );
}

/// Keys with unicode, `-`, `:`, quotes, glob and SQL characters are distinct counters.
pub async fn unusual_key_characters_work(a: &dyn SegmentAllocator, system: &str, exact: bool) {
    let tables = [
        "订单表",
        "with-dash",
        "with:colon",
        "with space",
        "quote'single",
        "quote\"double",
        "back\\slash",
        "glob*star",
        "glob?mark",
        "glob[set]",
        "percent%_under",
        "'; drop table kxy_id_segments; --",
        "emoji🦀",
    ];
    for (i, table) in tables.iter().enumerate() {
        let k = SegmentKey::new(system, "odd", table, "id").unwrap();
        a.create(&k, (i as i64) * 1000).await.unwrap();
        let seg = a.allocate(&k, 3).await.unwrap();
        assert_eq!(seg.start, (i as i64) * 1000 + 1, "{}: key {k}", a.backend());
        assert_counter(a, &k, (i as i64) * 1000 + 3, exact).await;
    }
    let prefix = format!("{}:odd:", system.to_lowercase());
    let listed = a.list(&prefix).await.unwrap();
    assert_eq!(listed.len(), tables.len(), "{}: {listed:?}", a.backend());
    // A prefix with glob characters matches literally.
    let glob_prefix = format!("{}:odd:glob*", system.to_lowercase());
    let listed = a.list(&glob_prefix).await.unwrap();
    assert_eq!(listed.len(), 1, "{}: {listed:?}", a.backend());
    assert_eq!(
        listed[0].key,
        format!("{}:odd:glob*star:id", system.to_lowercase())
    );
    let percent = format!("{}:odd:percent%", system.to_lowercase());
    assert_eq!(a.list(&percent).await.unwrap().len(), 1);
    let underscore = format!("{}:odd:quote_", system.to_lowercase());
    assert_eq!(
        a.list(&underscore).await.unwrap().len(),
        0,
        "{}: `_` must not be a wildcard",
        a.backend()
    );
}

/// Keys differing only in case name the same counter.
pub async fn keys_are_case_insensitive(a: &dyn SegmentAllocator, system: &str) {
    let upper = SegmentKey::new(&system.to_uppercase(), "DB", "Case", "ID").unwrap();
    let lower = SegmentKey::new(system, "db", "case", "id").unwrap();
    a.create(&upper, 41).await.unwrap();
    assert_eq!(
        a.allocate(&lower, 1).await.unwrap(),
        Segment { start: 42, end: 42 }
    );
    assert!(matches!(
        a.create(&lower, 1).await,
        Err(Error::AlreadyExists { .. })
    ));
}

/// `list` returns sorted counters under a prefix; `delete` forgets one.
pub async fn list_and_delete(a: &dyn SegmentAllocator, system: &str) {
    let sys = format!("{system}-list");
    let keys: Vec<_> = ["c", "a", "b"]
        .iter()
        .map(|t| SegmentKey::new(&sys, "db", t, "id").unwrap())
        .collect();
    for (i, k) in keys.iter().enumerate() {
        a.create(k, i as i64 + 1).await.unwrap();
    }
    let prefix = format!("{}:", sys.to_lowercase());
    let listed = a.list(&prefix).await.unwrap();
    let names: Vec<_> = listed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        names,
        [
            format!("{prefix}db:a:id"),
            format!("{prefix}db:b:id"),
            format!("{prefix}db:c:id")
        ],
        "{}",
        a.backend()
    );
    assert_eq!(listed[0].value, 2);
    assert!(
        a.list(&format!("{prefix}nothing"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(a.delete(&keys[0]).await.unwrap());
    assert!(!a.delete(&keys[0]).await.unwrap());
    assert_eq!(a.get(&keys[0]).await.unwrap(), None);
    assert!(matches!(
        a.allocate(&keys[0], 1).await,
        Err(Error::KeyNotFound { .. })
    ));
    assert_eq!(a.list(&prefix).await.unwrap().len(), 2);
    cleanup(a, &sys).await;
}

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
