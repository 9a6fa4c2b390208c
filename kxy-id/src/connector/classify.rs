//! Which tables can seed a counter: a single primary key column of an integer type.
//!
//! Each dialect reports column types in its own words; one pure function per dialect
//! decides whether a type is an integer type.

use std::fmt;

use serde::Serialize;

use crate::config::DbType;

/// A column and its declared type, as the database's catalog spells them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The column's real name.
    pub name: String,
    /// Its declared type (`bigint(20) unsigned`, `character varying(36)`, `NUMBER(10,0)`, ...).
    pub ty: String,
}

/// The primary key of a table: its columns in key order (empty when the table has none).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct PrimaryKey {
    /// The key's columns, in key order.
    pub columns: Vec<Column>,
}

/// Whether a table can seed a counter, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableClass {
    /// The table has a single integer primary key column; its `MAX` seeds the counter.
    Seedable {
        /// The key column's real name.
        column: String,
        /// Its declared type.
        ty: String,
    },
    /// The table is left alone.
    Skipped(SkipReason),
}

/// Why a table cannot seed a counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The table has no primary key.
    NoPrimaryKey,
    /// The primary key has more than one column.
    CompositeKey {
        /// The key's columns, in key order.
        columns: Vec<String>,
    },
    /// The single key column is not of an integer type (a UUID string, a decimal, ...).
    NonInteger {
        /// The key column.
        column: String,
        /// Its declared type.
        ty: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NoPrimaryKey => f.write_str("the table has no primary key"),
            SkipReason::CompositeKey { columns } => write!(
                f,
                "the primary key has {} columns ({}); only a single-column key can be seeded",
                columns.len(),
                columns.join(", ")
            ),
            SkipReason::NonInteger { column, ty } => write!(
                f,
                "primary key column {column} has type {ty}, not an integer type"
            ),
        }
    }
}

/// Classifies a table of a `db_type` database by its primary key.
pub(crate) fn classify(db_type: DbType, key: &PrimaryKey) -> TableClass {
    match key.columns.as_slice() {
        [] => TableClass::Skipped(SkipReason::NoPrimaryKey),
        [column] if is_integer_type(db_type, &column.ty) => TableClass::Seedable {
            column: column.name.clone(),
            ty: column.ty.clone(),
        },
        [column] => TableClass::Skipped(SkipReason::NonInteger {
            column: column.name.clone(),
            ty: column.ty.clone(),
        }),
        columns => TableClass::Skipped(SkipReason::CompositeKey {
            columns: columns.iter().map(|c| c.name.clone()).collect(),
        }),
    }
}

/// `true` when `ty`, as the dialect's catalog reports it, is an integer type.
pub(crate) fn is_integer_type(db_type: DbType, ty: &str) -> bool {
    match db_type {
        DbType::MySql => mysql_is_integer(ty),
        DbType::Postgres => postgres_is_integer(ty),
        DbType::SqlServer => mssql_is_integer(ty),
        DbType::Oracle => oracle_is_integer(ty),
    }
}

/// The lower-cased type with a display width or precision `(...)` and the words after it
/// split off: `"BIGINT(20) UNSIGNED ZEROFILL"` → (`"bigint"`, `Some("20")`, `["unsigned", "zerofill"]`).
fn split_type(ty: &str) -> (String, Option<String>, Vec<String>) {
    let lower = ty.trim().to_lowercase();
    let (base, args, rest) = match lower.find('(') {
        Some(open) => {
            let close = lower[open..].find(')').map(|i| i + open);
            match close {
                Some(close) => (
                    lower[..open].trim().to_owned(),
                    Some(lower[open + 1..close].trim().to_owned()),
                    lower[close + 1..].to_owned(),
                ),
                None => (lower.clone(), None, String::new()),
            }
        }
        None => {
            let mut words = lower.splitn(2, ' ');
            let base = words.next().unwrap_or_default().to_owned();
            (base, None, words.next().unwrap_or_default().to_owned())
        }
    };
    let rest = rest.split_whitespace().map(str::to_owned).collect();
    (base, args, rest)
}

/// MySQL / MariaDB `COLUMN_TYPE`: `tinyint`, `smallint`, `mediumint`, `int`, `integer`,
/// `bigint`, each with an optional display width and `signed`/`unsigned`/`zerofill`; `serial`.
fn mysql_is_integer(ty: &str) -> bool {
    let (base, args, rest) = split_type(ty);
    let base_ok = matches!(
        base.as_str(),
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint"
    ) || (base == "serial" && args.is_none());
    let args_ok = args.is_none_or(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
    let rest_ok = rest
        .iter()
        .all(|w| matches!(w.as_str(), "signed" | "unsigned" | "zerofill"));
    base_ok && args_ok && rest_ok
}

/// PostgreSQL `format_type()` or `information_schema` names: `smallint`, `integer`, `bigint`
/// (serial, bigserial, smallserial and identity columns report these), `int2`/`int4`/`int8`,
/// and the `serial` names themselves.
fn postgres_is_integer(ty: &str) -> bool {
    let lower = ty.trim().to_lowercase();
    matches!(
        lower.as_str(),
        "smallint"
            | "integer"
            | "int"
            | "bigint"
            | "int2"
            | "int4"
            | "int8"
            | "smallserial"
            | "serial"
            | "bigserial"
            | "serial2"
            | "serial4"
            | "serial8"
    )
}

/// SQL Server `DATA_TYPE`: `tinyint`, `smallint`, `int`, `bigint`.
fn mssql_is_integer(ty: &str) -> bool {
    let lower = ty.trim().to_lowercase();
    matches!(lower.as_str(), "tinyint" | "smallint" | "int" | "bigint")
}

/// Oracle: `NUMBER(p,0)`, `NUMBER(p)`, `NUMBER(*,0)` (what `INTEGER` becomes in the catalog)
/// and the ANSI names `INTEGER`, `INT`, `SMALLINT`. A bare `NUMBER` (any scale) is not.
fn oracle_is_integer(ty: &str) -> bool {
    let (base, args, rest) = split_type(ty);
    if !rest.is_empty() {
        return false;
    }
    match (base.as_str(), args) {
        ("integer" | "int" | "smallint", None) => true,
        ("number" | "numeric" | "decimal", Some(args)) => {
            let mut parts = args.split(',').map(str::trim);
            let precision = parts.next().unwrap_or_default();
            let scale = parts.next();
            // NUMBER(p) is NUMBER(p,0); NUMBER(*) names no scale and is a floating NUMBER.
            let precision_ok = (precision == "*" && scale.is_some())
                || (!precision.is_empty() && precision.bytes().all(|b| b.is_ascii_digit()));
            let scale = scale.unwrap_or("0");
            precision_ok && scale == "0" && parts.next().is_none()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk(columns: &[(&str, &str)]) -> PrimaryKey {
        PrimaryKey {
            columns: columns
                .iter()
                .map(|(n, t)| Column {
                    name: (*n).into(),
                    ty: (*t).into(),
                })
                .collect(),
        }
    }

    /// Asserts that `is_integer` accepts every type of `integers` and refuses every one of `others`.
    fn check(is_integer: fn(&str) -> bool, integers: &[&str], others: &[&str]) {
        for ty in integers {
            assert!(is_integer(ty), "{ty}");
        }
        for ty in others {
            assert!(!is_integer(ty), "{ty}");
        }
    }

    #[test]
    fn mysql_integer_types() {
        check(
            mysql_is_integer,
            &[
                "tinyint",
                "tinyint(4)",
                "tinyint(1)",
                "smallint(6)",
                "mediumint(9)",
                "mediumint unsigned",
                "int",
                "int(11)",
                "int(10) unsigned",
                "INTEGER",
                "bigint",
                "bigint(20)",
                "bigint(20) unsigned",
                "bigint unsigned zerofill",
                "serial",
            ],
            &[
                "varchar(36)",
                "char(36)",
                "decimal(20,0)",
                "double",
                "float",
                "bit(1)",
                "year",
                "datetime",
                "binary(16)",
                "text",
                "bigint(20) unsigned generated",
                "int(x)",
                "intx",
            ],
        );
    }

    #[test]
    fn postgres_integer_types() {
        check(
            postgres_is_integer,
            &[
                "smallint",
                "integer",
                "bigint",
                "int2",
                "int4",
                "int8",
                "serial",
                "bigserial",
                "smallserial",
                "Integer",
            ],
            &[
                "character varying(36)",
                "uuid",
                "numeric(10,0)",
                "numeric",
                "real",
                "double precision",
                "text",
                "oid",
                "integer[]",
            ],
        );
    }

    #[test]
    fn sql_server_integer_types() {
        check(
            mssql_is_integer,
            &["tinyint", "smallint", "int", "bigint", "BIGINT"],
            &[
                "uniqueidentifier",
                "varchar(36)",
                "nvarchar(max)",
                "decimal(18,0)",
                "numeric(10,0)",
                "bit",
                "money",
                "float",
            ],
        );
    }

    #[test]
    fn oracle_integer_types() {
        check(
            oracle_is_integer,
            &[
                "NUMBER(10,0)",
                "NUMBER(19, 0)",
                "NUMBER(38)",
                "NUMBER(*,0)",
                "number(9,0)",
                "INTEGER",
                "INT",
                "SMALLINT",
            ],
            &[
                "NUMBER",
                "NUMBER(10,2)",
                "NUMBER(*)",
                "NUMBER(,0)",
                "NUMBER(10,-2)",
                "FLOAT(126)",
                "BINARY_DOUBLE",
                "VARCHAR2(36)",
                "RAW(16)",
                "CHAR(36)",
            ],
        );
    }

    #[test]
    fn classification_by_primary_key() {
        assert_eq!(
            classify(DbType::MySql, &pk(&[("id", "bigint(20) unsigned")])),
            TableClass::Seedable {
                column: "id".into(),
                ty: "bigint(20) unsigned".into()
            }
        );
        assert_eq!(
            classify(DbType::Postgres, &pk(&[])),
            TableClass::Skipped(SkipReason::NoPrimaryKey)
        );
        assert_eq!(
            classify(DbType::SqlServer, &pk(&[("a", "int"), ("b", "int")])),
            TableClass::Skipped(SkipReason::CompositeKey {
                columns: vec!["a".into(), "b".into()]
            })
        );
        assert_eq!(
            classify(DbType::Oracle, &pk(&[("ID", "NUMBER(*,0)")])),
            TableClass::Seedable {
                column: "ID".into(),
                ty: "NUMBER(*,0)".into()
            }
        );
        // The real table of the seed document: a UUID string key.
        let uuid = classify(DbType::MySql, &pk(&[("id", "varchar(36)")]));
        assert_eq!(
            uuid,
            TableClass::Skipped(SkipReason::NonInteger {
                column: "id".into(),
                ty: "varchar(36)".into()
            })
        );
        // A type name is dialect specific: NUMBER(10,0) is no MySQL type.
        assert!(matches!(
            classify(DbType::MySql, &pk(&[("id", "NUMBER(10,0)")])),
            TableClass::Skipped(SkipReason::NonInteger { .. })
        ));
    }

    #[test]
    fn skip_reasons_read_as_sentences() {
        assert_eq!(
            SkipReason::NonInteger {
                column: "id".into(),
                ty: "varchar(36)".into()
            }
            .to_string(),
            "primary key column id has type varchar(36), not an integer type"
        );
        assert_eq!(
            SkipReason::NoPrimaryKey.to_string(),
            "the table has no primary key"
        );
        assert_eq!(
            SkipReason::CompositeKey {
                columns: vec!["a".into(), "b".into()]
            }
            .to_string(),
            "the primary key has 2 columns (a, b); only a single-column key can be seeded"
        );
    }
}
