//! The check of [`seed_key`], lazy initialization's seeding of one key: the key's table and
//! column found in any case, and nothing written when they are missing or not integers.

use super::fixture::{Expect, Fixture};
use super::{MixedCase, key, with_system};
use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::config::DatabaseConfig;
use crate::connector::DbConnector;
use crate::error::Error;
use crate::service::seed::{missing_table_or_field_message, seed_key};

/// `seed_key` (lazy initialization of [`IdService::allocate`](crate::IdService::allocate))
/// finds tables and columns in any case, seeds from `MAX(column)` (also a
/// non-key integer column), and writes nothing for a missing table or column or a
/// non-integer column.
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

    for (table, field) in [
        ("no_such_table", "id"),
        (mixed.name.as_str(), "no_such_column"),
    ] {
        let k = key(config, &db, table, field);
        match seed_key(config, connector, allocator, &k).await {
            Err(Error::NotFound(msg)) => {
                assert_eq!(msg, missing_table_or_field_message(&k));
                assert!(
                    msg.starts_with(&format!(
                        "Table '{}' or field '{}'",
                        k.table_name(),
                        k.field_name()
                    )),
                    "{msg}"
                );
            }
            other => panic!("seed_key({k}) gave {other:?}"),
        }
        assert_eq!(allocator.get(&k).await.unwrap(), None);
    }
    for view in &fixture.not_listed {
        let k = key(config, &db, view, "id");
        assert!(matches!(
            seed_key(config, connector, allocator, &k).await,
            Err(Error::NotFound(_))
        ));
    }

    let (uuid_table, uuid_column) = &fixture.uuid_table;
    let k = key(config, &db, uuid_table, uuid_column);
    match seed_key(config, connector, allocator, &k).await {
        Err(Error::NotNumeric { table, column, ty }) => {
            assert_eq!((&table, &column), (uuid_table, uuid_column));
            assert!(
                ty.to_lowercase().contains("char") && ty.contains("36"),
                "{ty}"
            );
        }
        other => panic!("seed_key on the UUID key gave {other:?}"),
    }
    assert_eq!(
        allocator.get(&k).await.unwrap(),
        None,
        "nothing written for a UUID key"
    );

    let (table, column, max) = &fixture.non_key_integer;
    let k = key(config, &db, table, column);
    assert_eq!(
        seed_key(config, connector, allocator, &k).await.unwrap(),
        RaiseOutcome::Created { value: *max }
    );

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
            &key(config, &db, &mixed.name, column)
        )
        .await,
        Err(Error::InvalidConfig(_))
    ));
}
