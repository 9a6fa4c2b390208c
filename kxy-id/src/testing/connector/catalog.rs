//! Checks of what a connector reads from the catalog: the databases and base tables, every
//! table's primary key and its classification, and exact `MAX` values.

use super::fixture::{Expect, Fixture};
use crate::connector::{DbConnector, SkipReason, TableClass, is_integer_type};
use crate::error::Error;

/// Every fixture table is listed, views, partitions and other schemas' tables are not.
pub async fn lists_base_tables_only(connector: &dyn DbConnector, db: &str, fixture: &Fixture) {
    let listed = connector.list_tables(db).await.expect("list tables");
    let mut sorted_listed = listed.clone();
    sorted_listed.sort();
    assert_eq!(listed, sorted_listed, "tables are sorted");
    let mut expected: Vec<String> = fixture.tables.iter().map(|t| t.name.clone()).collect();
    expected.sort();
    if fixture.exact_table_list {
        assert_eq!(listed, expected);
    } else {
        for t in &expected {
            assert!(listed.contains(t), "{t} missing from {listed:?}");
        }
    }
    for hidden in &fixture.not_listed {
        assert!(!listed.contains(hidden), "{hidden} must not be listed");
    }
}

/// Each table's primary key is read and classified as the fixture says.
pub async fn classifies_every_table(connector: &dyn DbConnector, db: &str, fixture: &Fixture) {
    for t in &fixture.tables {
        let pk = connector
            .primary_key(db, &t.name)
            .await
            .unwrap_or_else(|e| panic!("primary key of {}: {e}", t.name));
        let class = connector.classify(&pk);
        let ok = match (&t.expect, &class) {
            (
                Expect::Seedable { column, .. } | Expect::OutOfRange { column },
                TableClass::Seedable { column: c, ty },
            ) => c == column && is_integer_type(fixture.db_type, ty),
            (Expect::NoPrimaryKey, TableClass::Skipped(SkipReason::NoPrimaryKey)) => true,
            (
                Expect::Composite(cols),
                TableClass::Skipped(SkipReason::CompositeKey { columns }),
            ) => cols == columns,
            (
                Expect::NonInteger { column, ty_prefix },
                TableClass::Skipped(SkipReason::NonInteger { column: c, ty }),
            ) => c == column && ty.starts_with(ty_prefix.as_str()),
            _ => false,
        };
        assert!(
            ok,
            "{}: expected {:?}, got {class:?} from {pk:?}",
            t.name, t.expect
        );
    }
    assert!(matches!(
        connector.primary_key(db, "no_such_table").await,
        Err(Error::NotFound(_))
    ));
}

/// The keys of the whole database read at once ([`DbConnector::primary_keys`]) are the ones
/// read table by table: same tables in the same order, same columns and types (composite,
/// non-integer and missing keys included).
pub async fn schema_keys_match_table_keys(
    connector: &dyn DbConnector,
    db: &str,
    fixture: &Fixture,
) {
    let all = connector
        .primary_keys(db)
        .await
        .expect("keys of the schema");
    let tables: Vec<&str> = all.iter().map(|(t, _)| t.as_str()).collect();
    let listed = connector.list_tables(db).await.expect("list tables");
    assert_eq!(tables, listed, "same tables, same order");
    for (table, key) in &all {
        let key = key
            .as_ref()
            .unwrap_or_else(|e| panic!("key of {table}: {e}"));
        let one = connector.primary_key(db, table).await.expect("primary key");
        assert_eq!(key, &one, "{table}");
    }
    for t in &fixture.tables {
        assert!(tables.contains(&t.name.as_str()), "{} missing", t.name);
    }
}

/// `MAX` of every integer key is exact (past 2^53 and near 2^63), 0 for an empty table, and a
/// value outside `i64` is [`Error::OutOfRange`].
pub async fn reads_every_max_exactly(connector: &dyn DbConnector, db: &str, fixture: &Fixture) {
    for t in &fixture.tables {
        match &t.expect {
            Expect::Seedable { column, max } => {
                let got = connector
                    .max_value(db, &t.name, column)
                    .await
                    .unwrap_or_else(|e| panic!("MAX of {}: {e}", t.name));
                assert_eq!(got, *max, "MAX({column}) of {}", t.name);
            }
            Expect::OutOfRange { column } => match connector.max_value(db, &t.name, column).await {
                Err(Error::OutOfRange(msg)) => {
                    assert!(msg.contains(&t.name) && msg.contains(column), "{msg}")
                }
                other => panic!("MAX of {} gave {other:?}", t.name),
            },
            _ => {}
        }
    }
    let (table, column, max) = &fixture.non_key_integer;
    assert_eq!(connector.max_value(db, table, column).await.unwrap(), *max);
}

/// Without `db_name`, the fixture's database is listed and no system database is.
pub async fn system_databases_are_hidden(connector: &dyn DbConnector, db: &str) {
    let all = connector.list_databases().await.expect("list databases");
    assert!(all.iter().any(|d| d == db), "{db} missing from {all:?}");
    for system in [
        "information_schema",
        "mysql",
        "performance_schema",
        "sys",
        "postgres",
        "template0",
        "template1",
        "master",
        "tempdb",
        "model",
        "msdb",
    ] {
        assert!(
            !all.iter().any(|d| d.eq_ignore_ascii_case(system)),
            "system database {system} listed: {all:?}"
        );
    }
}
