//! Checks of names: lookups find the real spelling from any case (the exact one first), and
//! names that could break the dialect's quoting are refused everywhere.

use super::fixture::Fixture;
use crate::connector::{DbConnector, closing_quote, is_integer_type};
use crate::error::Error;

/// Exact lookups match the real name only; `find_*` find it from any case and prefer the
/// exact spelling when two names differ only in case.
pub async fn lookups_find_the_real_names(connector: &dyn DbConnector, db: &str, fixture: &Fixture) {
    let (mixed, column, _) = fixture.mixed_case_key();
    let lower_table = mixed.name.to_lowercase();
    let lower_column = column.to_lowercase();
    assert_eq!(
        connector.find_table(db, &lower_table).await.unwrap(),
        Some(mixed.name.clone())
    );
    let found = connector
        .find_column(db, &mixed.name, &lower_column)
        .await
        .unwrap()
        .expect("column found in any case");
    assert_eq!(&found.name, column);
    assert!(is_integer_type(fixture.db_type, &found.ty), "{found:?}");
    let ty = connector
        .column_type(db, &mixed.name, column)
        .await
        .unwrap();
    assert_eq!(ty.as_deref(), Some(found.ty.as_str()));
    assert_eq!(
        connector
            .column_type(db, &mixed.name, &lower_column)
            .await
            .unwrap(),
        None,
        "column_type matches the real name exactly"
    );
    assert_eq!(
        connector
            .column_type(db, &lower_table, column)
            .await
            .unwrap(),
        None,
        "column_type matches the real table name exactly"
    );
    assert_eq!(
        connector
            .column_type(db, "no_such_table", "id")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        connector.find_table(db, "no_such_table").await.unwrap(),
        None
    );
    assert_eq!(
        connector
            .find_column(db, &mixed.name, "no_such_column")
            .await
            .unwrap(),
        None
    );
    if let Some((upper, lower)) = fixture.case_twin_names() {
        assert_eq!(
            connector.find_table(db, lower).await.unwrap().as_deref(),
            Some(lower)
        );
        assert_eq!(
            connector.find_table(db, upper).await.unwrap().as_deref(),
            Some(upper)
        );
    }
    // A view is not a table.
    for hidden in &fixture.not_listed {
        assert_eq!(connector.find_table(db, hidden).await.unwrap(), None);
    }
}

/// Names that could break the dialect's quoting are refused with
/// [`Error::InvalidIdentifier`] by every operation; other dialects' quote characters are plain
/// characters (the lookup runs and finds nothing). Nothing is dropped.
pub async fn hostile_names_are_refused(connector: &dyn DbConnector, db: &str, fixture: &Fixture) {
    let before = connector.list_tables(db).await.unwrap();
    let quote = closing_quote(fixture.db_type);
    let some_table = &fixture.mixed_case().name;
    let names = [
        "a`; DROP TABLE x; --",
        "x\"y",
        "x\"; DROP TABLE t_int; --",
        "a]b",
        "a]; DROP TABLE t_int; --",
        "",
        "a\0b",
        "line\nbreak",
    ];
    for name in names {
        let must_refuse =
            name.is_empty() || name.contains(quote) || name.contains(char::is_control);
        let results = [
            ("list_tables", connector.list_tables(name).await.map(|_| ())),
            (
                "list_columns",
                connector.list_columns(db, name).await.map(|_| ()),
            ),
            (
                "primary_key",
                connector.primary_key(db, name).await.map(|_| ()),
            ),
            (
                "column_type(table)",
                connector.column_type(db, name, "id").await.map(|_| ()),
            ),
            (
                "column_type(column)",
                connector
                    .column_type(db, some_table, name)
                    .await
                    .map(|_| ()),
            ),
            (
                "max_value(table)",
                connector.max_value(db, name, "id").await.map(|_| ()),
            ),
            (
                "max_value(column)",
                connector.max_value(db, some_table, name).await.map(|_| ()),
            ),
            (
                "find_database",
                connector.find_database(name).await.map(|_| ()),
            ),
            (
                "find_table",
                connector.find_table(db, name).await.map(|_| ()),
            ),
            (
                "find_column",
                connector
                    .find_column(db, some_table, name)
                    .await
                    .map(|_| ()),
            ),
        ];
        for (op, result) in results {
            let refused = matches!(result, Err(Error::InvalidIdentifier { .. }));
            assert_eq!(
                refused, must_refuse,
                "{}: {op}({name:?}) gave {result:?}",
                fixture.db_type
            );
        }
    }
    assert_eq!(connector.list_tables(db).await.unwrap(), before);
}
