//! What every connector does with what a catalog answers: sorted names without the system
//! databases, columns rebuilt from catalog text, primary keys in key order, and the text of
//! `MAX(column)` read as an ID.
//!
//! Catalogs differ per dialect; what is done with their rows does not, so it lives here once.
//! Helpers only some dialects use are kept compiled (and tested) in every build.

use super::{Column, DbConnector, PrimaryKey};
use crate::error::{Error, Result};

/// Sorts and removes duplicates (catalog queries of some dialects may list a name twice).
pub(crate) fn sorted(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = names.into_iter().collect();
    names.sort();
    names.dedup();
    names
}

/// The sorted databases of `names` without the dialect's `system` ones, matched ignoring case
/// (MySQL and SQL Server compare database names without case on most installations).
#[cfg_attr(not(any(feature = "mysql", feature = "mssql")), allow(dead_code))]
pub(crate) fn user_databases(
    names: impl IntoIterator<Item = String>,
    system: &[&str],
) -> Vec<String> {
    sorted(
        names
            .into_iter()
            .filter(|n| !system.iter().any(|s| s.eq_ignore_ascii_case(n))),
    )
}

/// The one text value of each row of a one-column catalog query (rows holding NULL are
/// skipped): the shape in which the drivers without typed rows return names.
#[cfg_attr(not(any(feature = "mssql", feature = "oracle")), allow(dead_code))]
pub(crate) fn single_column(rows: Vec<Vec<Option<String>>>) -> impl Iterator<Item = String> {
    rows.into_iter().filter_map(|mut row| row.pop().flatten())
}

/// A column's type as a catalog describes it: the data type and the fields that complete it
/// (which of them a dialect uses, and how, is up to its [`TypeName`]).
#[cfg_attr(not(any(feature = "mssql", feature = "oracle")), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CatalogType<'a> {
    /// The data type: `varchar`, `NUMBER`, ...
    pub(crate) data_type: &'a str,
    /// The declared length of a character or binary type.
    pub(crate) char_length: Option<&'a str>,
    /// The precision of a numeric type.
    pub(crate) precision: Option<&'a str>,
    /// The scale of a numeric type.
    pub(crate) scale: Option<&'a str>,
}

#[cfg(test)]
#[cfg_attr(not(any(feature = "mssql", feature = "oracle")), allow(dead_code))]
impl<'a> CatalogType<'a> {
    /// A catalog type from its fields, in the order of [`column_from_row`].
    pub(crate) fn new(
        data_type: &'a str,
        char_length: Option<&'a str>,
        precision: Option<&'a str>,
        scale: Option<&'a str>,
    ) -> Self {
        CatalogType {
            data_type,
            char_length,
            precision,
            scale,
        }
    }
}

/// The signature of a dialect's rebuilding of a declared type (`varchar(36)`) from its
/// catalog fields.
#[cfg_attr(not(any(feature = "mssql", feature = "oracle")), allow(dead_code))]
pub(crate) type TypeName = fn(&CatalogType<'_>) -> String;

/// A column from catalog text `[name, data type, character length, precision, scale]` (the
/// order every dialect's column query selects), its declared type rebuilt by the dialect's
/// `type_name`. `None` when the name or the data type is NULL.
#[cfg_attr(not(any(feature = "mssql", feature = "oracle")), allow(dead_code))]
pub(crate) fn column_from_row(row: &[Option<String>], type_name: TypeName) -> Option<Column> {
    let [name, data_type, char_length, precision, scale] = row else {
        return None;
    };
    Some(Column {
        name: name.clone()?,
        ty: type_name(&CatalogType {
            data_type: data_type.as_deref()?,
            char_length: char_length.as_deref(),
            precision: precision.as_deref(),
            scale: scale.as_deref(),
        }),
    })
}

/// [`DbConnector::primary_key`] from the table's columns (as `connector` lists them) and the
/// names of its key columns in key order (read by `key_names`, called only when the table
/// exists).
///
/// A table without columns does not exist: [`Error::NotFound`], before the key is read.
/// Key names are matched exactly against the columns, which give them their types.
pub(crate) async fn primary_key_of<C: DbConnector>(
    connector: &C,
    database: &str,
    table: &str,
    key_names: impl AsyncFnOnce(&C, &str, &str) -> Result<Vec<String>>,
) -> Result<PrimaryKey> {
    let columns = connector.list_columns(database, table).await?;
    if columns.is_empty() {
        return Err(table_not_found(database, table));
    }
    let names = key_names(connector, database, table).await?;
    Ok(PrimaryKey {
        columns: names
            .into_iter()
            .filter_map(|n| columns.iter().find(|c| c.name == n).cloned())
            .collect(),
    })
}

/// [`DbConnector::primary_keys`] from the tables of a database (sorted) and the key columns of
/// all its tables as `(table, column)` rows in key order within each table (rows of other
/// tables are ignored; table names are matched exactly, so tables differing only in case keep
/// their own keys).
pub(crate) fn keys_by_table(
    tables: Vec<String>,
    key_columns: impl IntoIterator<Item = (String, Column)>,
) -> Vec<(String, Result<PrimaryKey>)> {
    let mut keys: std::collections::HashMap<String, Vec<Column>> =
        tables.iter().map(|t| (t.clone(), Vec::new())).collect();
    for (table, column) in key_columns {
        if let Some(columns) = keys.get_mut(&table) {
            columns.push(column);
        }
    }
    tables
        .into_iter()
        .map(|t| {
            let columns = keys.remove(&t).unwrap_or_default();
            (t, Ok(PrimaryKey { columns }))
        })
        .collect()
}

/// The message of [`Error::NotFound`] for a table that does not exist.
pub(crate) fn table_not_found(database: &str, table: &str) -> Error {
    Error::NotFound(format!(
        "table '{table}' does not exist in database '{database}'"
    ))
}

/// Reads the text of `MAX(column)` (every connector casts it to text, so any integer type
/// and any size arrives exactly): `None` (empty table) is 0, an integer outside `i64` is
/// [`Error::OutOfRange`], anything else a backend error.
pub(crate) fn parse_max(
    backend: &'static str,
    text: Option<&str>,
    database: &str,
    table: &str,
    column: &str,
) -> Result<i64> {
    let Some(text) = text.map(str::trim) else {
        return Ok(0);
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::backend_msg(
            backend,
            format!("MAX({column}) of {database}.{table} is {text:?}, which is not an integer"),
        ));
    }
    text.parse::<i64>().map_err(|_| {
        Error::OutOfRange(format!(
            "MAX({column}) of table {database}.{table} is {text}, outside the range of IDs \
             (-9223372036854775808 to 9223372036854775807); a counter cannot be seeded from it"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_text_is_read_exactly() {
        let p = |t: Option<&str>| parse_max("test", t, "db", "t", "id");
        assert_eq!(p(None).unwrap(), 0);
        assert_eq!(p(Some("0")).unwrap(), 0);
        assert_eq!(p(Some("-5")).unwrap(), -5);
        assert_eq!(p(Some("9007199254740993")).unwrap(), 9_007_199_254_740_993);
        assert_eq!(p(Some("9223372036854775807")).unwrap(), i64::MAX);
        match p(Some("18446744073709551000")) {
            Err(Error::OutOfRange(msg)) => {
                assert!(msg.contains("18446744073709551000"), "{msg}");
                assert!(msg.contains("db.t") && msg.contains("MAX(id)"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p(Some("9223372036854775808")),
            Err(Error::OutOfRange(_))
        ));
        assert!(matches!(p(Some("1.5")), Err(Error::Backend { .. })));
        assert!(matches!(p(Some("abc")), Err(Error::Backend { .. })));
        assert!(matches!(p(Some("")), Err(Error::Backend { .. })));
    }

    #[test]
    fn key_columns_are_grouped_by_exact_table_name_in_order() {
        let col = |n: &str| Column {
            name: n.into(),
            ty: "int".into(),
        };
        let rows = [
            ("T", col("a")),
            ("t", col("x")),
            ("T", col("b")),
            ("other_schema_or_view", col("z")),
        ]
        .map(|(t, c)| (t.to_owned(), c));
        let keys = keys_by_table(vec!["T".into(), "none".into(), "t".into()], rows);
        let names: Vec<(&str, Vec<&str>)> = keys
            .iter()
            .map(|(t, k)| {
                let k = k.as_ref().unwrap();
                (
                    t.as_str(),
                    k.columns.iter().map(|c| c.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [("T", vec!["a", "b"]), ("none", vec![]), ("t", vec!["x"])]
        );
    }
}
