//! The check of [`initialize`]: every integer-keyed table seeded, the others skipped or
//! reported, and no counter ever lowered.

use std::collections::BTreeMap;

use super::fixture::{Expect, Fixture, FixtureTable, NEAR_2_63};
use super::{key, the_database};
use crate::allocator::SegmentAllocator;
use crate::config::DatabaseConfig;
use crate::connector::DbConnector;
use crate::key::SegmentKey;
use crate::service::initialize::initialize;

/// `initialize` ([`IdService::initialize`](crate::IdService::initialize)) seeds every
/// integer-keyed table, skips the others (writing nothing for
/// them), reports failing tables, and never lowers a counter, neither on a second run nor
/// after allocations nor for counters that were ahead already.
pub async fn initialize_seeds_and_never_lowers(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
    fixture: &Fixture,
) {
    let db = the_database(config, connector).await;
    let key_of = |t: &FixtureTable, column: &str| key(config, &db, &t.name, column);
    // A counter below its table and one far ahead of it, before the first run.
    let below = fixture.find(&fixture.tables[0].name);
    let Expect::Seedable { column, .. } = &below.expect else {
        panic!("the first fixture table is seedable");
    };
    allocator.create(&key_of(below, column), 0).await.unwrap();
    let ahead = fixture
        .tables
        .iter()
        .find(|t| {
            matches!(&t.expect, Expect::Seedable { max, .. } if *max > 0 && *max < NEAR_2_63)
                && t.name != below.name
        })
        .expect("a second seedable table");
    let Expect::Seedable {
        column: ahead_column,
        max: ahead_max,
    } = &ahead.expect
    else {
        unreachable!()
    };
    let ahead_key = key_of(ahead, ahead_column);
    allocator
        .create(&ahead_key, ahead_max + 1_000)
        .await
        .unwrap();

    // The counter each key must hold: the largest MAX of the tables mapping to it (tables
    // differing only in case share a key), at least 0, or what was ahead already.
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for t in &fixture.tables {
        if let Expect::Seedable { column, max } = &t.expect {
            let e = expected.entry(key_of(t, column).to_string()).or_insert(0);
            *e = (*e).max((*max).max(0));
        }
    }
    expected.insert(ahead_key.to_string(), ahead_max + 1_000);

    let report = initialize(config, connector, allocator)
        .await
        .expect("initialize");
    for (k, v) in &expected {
        let key = SegmentKey::parse(k).unwrap();
        assert_eq!(allocator.get(&key).await.unwrap(), Some(*v), "counter {k}");
        assert!(
            report.seeded_keys().contains(k),
            "{k} not reported: {report:?}"
        );
    }
    assert!(
        report
            .set
            .iter()
            .any(|s| s.key == key_of(below, column).to_string()),
        "a counter below its table is raised: {report:?}"
    );
    assert!(
        report
            .already_ahead
            .iter()
            .any(|a| a.key == ahead_key.to_string()
                && a.current == ahead_max + 1_000
                && a.max_id == *ahead_max)
    );
    for t in &fixture.tables {
        match &t.expect {
            Expect::NoPrimaryKey | Expect::Composite(_) | Expect::NonInteger { .. } => {
                let s = report
                    .skipped
                    .iter()
                    .find(|s| s.table == t.name)
                    .unwrap_or_else(|| panic!("{} not skipped: {report:?}", t.name));
                assert_eq!(s.database, db);
                if let Expect::NonInteger { column, ty_prefix } = &t.expect {
                    assert!(
                        s.reason.starts_with(&format!(
                            "primary key column {column} has type {ty_prefix}"
                        )) && s.reason.ends_with("not an integer type"),
                        "{}",
                        s.reason
                    );
                    // Nothing is written for a table that cannot seed a counter.
                    assert_eq!(allocator.get(&key_of(t, column)).await.unwrap(), None);
                }
            }
            Expect::OutOfRange { column } => {
                let e = report
                    .errors
                    .iter()
                    .find(|e| e.table == t.name)
                    .unwrap_or_else(|| panic!("{} not an error: {report:?}", t.name));
                assert!(e.error.contains("outside the range"), "{}", e.error);
                assert_eq!(allocator.get(&key_of(t, column)).await.unwrap(), None);
            }
            Expect::Seedable { .. } => {}
        }
    }
    let reported = report.set.len() + report.already_ahead.len();
    let seedable = fixture
        .tables
        .iter()
        .filter(|t| matches!(t.expect, Expect::Seedable { .. }))
        .count();
    assert_eq!(reported, seedable, "{report:?}");
    assert_eq!(
        report.errors.len(),
        fixture
            .tables
            .iter()
            .filter(|t| matches!(t.expect, Expect::OutOfRange { .. }))
            .count(),
        "{report:?}"
    );
    let prefix = format!("{}:", config.system_code.to_lowercase());
    assert_eq!(allocator.list(&prefix).await.unwrap().len(), expected.len());

    // Hand out IDs, then initialize again: nothing moves back, nothing is set.
    let grown = key_of(below, column);
    let before = allocator.get(&grown).await.unwrap().unwrap();
    let segment = allocator.allocate(&grown, 10).await.unwrap();
    assert_eq!(segment.start, before + 1);
    let again = initialize(config, connector, allocator)
        .await
        .expect("initialize again");
    assert!(
        again.set.is_empty(),
        "a second run only finds counters ahead: {again:?}"
    );
    assert_eq!(again.already_ahead.len(), seedable);
    assert_eq!(allocator.get(&grown).await.unwrap(), Some(before + 10));
    for (k, v) in &expected {
        let now = allocator
            .get(&SegmentKey::parse(k).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(now >= *v, "{k} went back from {v} to {now}");
    }
    let next = allocator.allocate(&grown, 1).await.unwrap();
    assert_eq!(next.start, before + 11, "no ID is handed out twice");
}
