//! The check of [`seed_key`], lazy initialization's seeding of one key: the key's table found
//! in any case, its single-column integer primary key seeded, and nothing written (with one
//! message that tells nothing about the schema) for anything else.

use super::fixture::{Expect, Fixture};
use super::{MixedCase, key, with_system};
use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::config::DatabaseConfig;
use crate::connector::DbConnector;
use crate::error::Error;
use crate::service::seed::seed_key;

/// `seed_key` (lazy initialization of [`IdService::allocate`](crate::IdService::allocate))
/// finds tables and columns in any case, seeds from `MAX(pk)`, and writes nothing for a
/// missing table or column, a non-key integer column (`salary_cents`) or a non-integer key,
/// answering all of them with the same [`Error::NoSource`].
pub async fn seed_key_checks_before_writing(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
    fixture: &Fixture,
) {
    let MixedCase {
        db,
        table: mixed,
        max,
        key: k,
    } = MixedCase::find(config, connector, fixture).await;
    // The key is lower case; the lookup must find the table as the catalog spells it.
    assert_eq!(k.table_name(), mixed.name.to_lowercase());
    assert_eq!(
        seed_key(config, connector, allocator, &k).await.unwrap(),
        RaiseOutcome::Created { value: max }
    );
    allocator.allocate(&k, 5).await.unwrap();
    assert_eq!(
        seed_key(config, connector, allocator, &k).await.unwrap(),
        RaiseOutcome::AlreadyAhead { current: max + 5 }
    );

    let (uuid_table, uuid_column) = &fixture.uuid_table;
    let (non_key_table, non_key_column, _) = &fixture.non_key_integer;
    for (table, field) in [
        ("no_such_table", "id"),
        (mixed.name.as_str(), "no_such_column"),
        (non_key_table.as_str(), non_key_column.as_str()),
        (uuid_table.as_str(), uuid_column.as_str()),
    ] {
        let k = key(config, &db, table, field);
        match seed_key(config, connector, allocator, &k).await {
            Err(Error::NoSource { key }) => assert_eq!(key, k.to_string()),
            other => panic!("seed_key({k}) gave {other:?}"),
        }
        assert_eq!(
            allocator.get(&k).await.unwrap(),
            None,
            "nothing written for {k}"
        );
    }
    for view in &fixture.not_listed {
        let k = key(config, &db, view, "id");
        assert!(matches!(
            seed_key(config, connector, allocator, &k).await,
            Err(Error::NoSource { .. })
        ));
    }

    for t in &fixture.tables {
        if let Expect::OutOfRange { column } = &t.expect {
            let k = key(config, &db, &t.name, column);
            assert!(matches!(
                seed_key(config, connector, allocator, &k).await,
                Err(Error::OutOfRange(_))
            ));
            assert_eq!(allocator.get(&k).await.unwrap(), None);
        }
    }
    if let Some((upper, lower)) = fixture.case_twin_names() {
        let expect = |name: &str| match &fixture.find(name).expect {
            Expect::Seedable { max, .. } => *max,
            _ => panic!("twins are seedable"),
        };
        let k = key(config, &db, lower, "id");
        assert_eq!(
            seed_key(config, connector, allocator, &k)
                .await
                .unwrap()
                .value(),
            expect(lower),
            "the exact spelling wins over {upper}"
        );
    }
    let other_system = with_system(config, "other");
    assert!(matches!(
        seed_key(
            &other_system,
            connector,
            allocator,
            &key(config, &db, &mixed.name, non_key_column)
        )
        .await,
        Err(Error::InvalidConfig(_))
    ));
}
