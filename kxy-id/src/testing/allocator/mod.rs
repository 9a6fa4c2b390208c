//! The conformance suite every [`SegmentAllocator`] runs.
//!
//! Plain `pub async fn` checks over `&dyn SegmentAllocator` (or two `Arc`s of allocators that
//! share one backing store, standing in for two servers). A backend's tests call
//! [`run_all`]; each check only touches keys under the system code it is given and
//! [`run_all`] deletes them at the end, so runs on shared services do not collide.
//!
//! Compiled for this crate's tests and, for other crates, under the `test-util` feature.
//!
//! - `counters.rs`: one counter on its own (a missing key, `allocate`, `create`, `raise_to`,
//!   `raise_many`);
//! - `limits.rs`: overflow, refused input, values past 2^53 and near 2^63;
//! - `keys.rs`: unusual characters, case, `list` and `delete`;
//! - `concurrency.rs`: two allocators over one store, racing.

use std::sync::Arc;

use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::key::SegmentKey;

mod concurrency;
mod counters;
mod keys;
mod limits;

pub use concurrency::{
    allocations_never_overlap, raise_many_never_lowers_while_allocations_race,
    raise_never_lowers_while_allocations_race, second_instance_sees_the_same_counters,
};
pub use counters::{
    allocations_are_contiguous, create_refuses_an_existing_counter, missing_key_is_an_error,
    raise_many_is_raise_to_per_item, raise_never_lowers,
};
pub use keys::{keys_are_case_insensitive, list_and_delete, unusual_key_characters_work};
pub use limits::{
    bad_input_changes_nothing, overflow_changes_nothing, values_near_2_53_and_2_63_are_exact,
};

/// A system code no other test run uses: `kxyt-{pid}-{nanos}`.
pub fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("kxyt-{}-{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// Checks the stored counter: exactly `value`, or at least `value` when `exact` is false.
pub(crate) async fn assert_counter(
    a: &dyn SegmentAllocator,
    k: &SegmentKey,
    value: i64,
    exact: bool,
) {
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

/// Raises `k` to each value in turn, checking what each raise did: the checks of `raise_to`
/// are sequences of raises whose outcomes depend on the ones before.
pub(crate) async fn assert_raises(
    a: &dyn SegmentAllocator,
    k: &SegmentKey,
    steps: &[(i64, RaiseOutcome)],
) {
    for &(value, expected) in steps {
        assert_eq!(
            a.raise_to(k, value).await.unwrap(),
            expected,
            "{}: raise_to({value}) on {k}",
            a.backend()
        );
    }
}

#[cfg(test)]
/// Waits for `tasks` and checks that no two of the segments they returned overlap; all of
/// them, sorted by start.
pub(crate) async fn joined_disjoint(
    tasks: Vec<tokio::task::JoinHandle<Vec<crate::key::Segment>>>,
) -> Vec<crate::key::Segment> {
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort_by_key(|s| s.start);
    for pair in all.windows(2) {
        assert!(pair[0].end < pair[1].start, "overlap {pair:?}");
    }
    all
}

/// The key of a check's counter: table `table` under `system`.
pub(crate) fn key(system: &str, table: &str) -> SegmentKey {
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
    raise_many_is_raise_to_per_item(&*a, system).await;
    overflow_changes_nothing(&*a, system).await;
    bad_input_changes_nothing(&*a, system).await;
    values_near_2_53_and_2_63_are_exact(&*a, system, exact).await;
    unusual_key_characters_work(&*a, system, exact).await;
    keys_are_case_insensitive(&*a, system).await;
    list_and_delete(&*a, system).await;
    second_instance_sees_the_same_counters(&*a, &*b, system, exact).await;
    allocations_never_overlap(a.clone(), b.clone(), system, exact).await;
    raise_never_lowers_while_allocations_race(a.clone(), b.clone(), system).await;
    raise_many_never_lowers_while_allocations_race(a.clone(), b.clone(), system).await;
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
