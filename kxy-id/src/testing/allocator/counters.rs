//! Checks of one counter on its own: a missing key, contiguous allocations, `create` and
//! `raise_to`.

use super::{assert_counter, assert_raises, key};
use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::error::Error;
use crate::key::Segment;

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
    let steps = [
        (100, RaiseOutcome::Created { value: 100 }),
        (50, RaiseOutcome::AlreadyAhead { current: 100 }),
        (100, RaiseOutcome::AlreadyAhead { current: 100 }),
        (0, RaiseOutcome::AlreadyAhead { current: 100 }),
        (200, RaiseOutcome::Raised { value: 200 }),
    ];
    assert_raises(a, &k, &steps).await;
    assert_eq!(a.get(&k).await.unwrap(), Some(200));
    assert_eq!(
        a.allocate(&k, 1).await.unwrap(),
        Segment {
            start: 201,
            end: 201
        }
    );
    let k0 = key(system, "raise-zero");
    assert_raises(a, &k0, &[(0, RaiseOutcome::Created { value: 0 })]).await;
    assert_eq!(
        a.allocate(&k0, 3).await.unwrap(),
        Segment { start: 1, end: 3 }
    );
}

/// `raise_many` gives, item by item, what `raise_to` would: created, raised, already ahead
/// (also for a key named twice), and a refused value that changes nothing.
pub async fn raise_many_is_raise_to_per_item(a: &dyn SegmentAllocator, system: &str) {
    let (absent, below, ahead) = (
        key(system, "many-1"),
        key(system, "many-2"),
        key(system, "many-3"),
    );
    a.create(&below, 100).await.unwrap();
    a.create(&ahead, 500).await.unwrap();
    let items = [
        (absent.clone(), 10),
        (below.clone(), 200),
        (ahead.clone(), 300),
        (absent.clone(), 5),
    ];
    let outcomes: Vec<_> = a
        .raise_many(&items)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outcomes,
        [
            RaiseOutcome::Created { value: 10 },
            RaiseOutcome::Raised { value: 200 },
            RaiseOutcome::AlreadyAhead { current: 500 },
            RaiseOutcome::AlreadyAhead { current: 10 },
        ],
        "{}: raise_many",
        a.backend()
    );
    let refused = key(system, "many-4");
    let outcomes = a
        .raise_many(&[(refused.clone(), -1), (below.clone(), 300)])
        .await;
    assert!(
        matches!(outcomes[0], Err(Error::InvalidValue { .. })),
        "{}: raise_many of -1 gave {:?}",
        a.backend(),
        outcomes[0]
    );
    assert_eq!(
        outcomes[1].as_ref().ok(),
        Some(&RaiseOutcome::Raised { value: 300 })
    );
    assert_eq!(a.get(&refused).await.unwrap(), None);
    assert_eq!(a.raise_many(&[]).await.len(), 0);
    for (k, value) in [(&absent, 10), (&below, 300), (&ahead, 500)] {
        assert_eq!(a.get(k).await.unwrap(), Some(value), "{}: {k}", a.backend());
    }
    assert!(a.allocate(&below, 1).await.unwrap().start > 300);
}
