//! Checks at the edges of the value range: overflow past `i64::MAX`, refused input, and
//! values a double cannot hold.

use super::{assert_counter, assert_raises, key};
use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::error::Error;
use crate::key::Segment;

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
        let steps = [
            (P53 + 2, RaiseOutcome::Raised { value: P53 + 2 }),
            (P53 + 1, RaiseOutcome::AlreadyAhead { current: P53 + 2 }),
            (P53 + 3, RaiseOutcome::Raised { value: P53 + 3 }),
        ];
        assert_raises(a, &k, &steps).await;
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
        let steps = [
            (P53 + 1, RaiseOutcome::Created { value: P53 + 1 }),
            (P53 + 2, RaiseOutcome::Raised { value: P53 + 2 }),
            (P53 + 1, RaiseOutcome::AlreadyAhead { current: P53 + 2 }),
        ];
        assert_raises(a, &kr, &steps).await;
        assert_eq!(a.allocate(&kr, 1).await.unwrap().start, P53 + 3);
    }

    let k2 = key(system, "near-max");
    a.raise_to(&k2, i64::MAX - 3).await.unwrap();
    let near_max = i64::MAX - 2;
    let steps = [
        (near_max, RaiseOutcome::Raised { value: near_max }),
        (
            near_max - 1,
            RaiseOutcome::AlreadyAhead { current: near_max },
        ),
    ];
    assert_raises(a, &k2, &steps).await;
    assert_eq!(
        a.allocate(&k2, 1).await.unwrap(),
        Segment {
            start: i64::MAX - 1,
            end: i64::MAX - 1
        }
    );
    assert_eq!(a.get(&k2).await.unwrap(), Some(i64::MAX - 1));
    assert_raises(
        a,
        &k2,
        &[(i64::MAX, RaiseOutcome::Raised { value: i64::MAX })],
    )
    .await;
}
