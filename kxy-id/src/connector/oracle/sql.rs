//! The statements the Oracle connector runs and how their text rows are read: catalog views of
//! the connecting user's schema (`USER_*`), names bound as values, and `MAX` with quoted names.

use oracle::Connection;
use oracle::sql_type::ToSql;

use crate::config::DbType;
use crate::connector::catalog::CatalogType;
use crate::connector::ident::quote_identifier;
use crate::error::Result;

pub(crate) const TABLES_SQL: &str = "SELECT TABLE_NAME FROM USER_TABLES \
     WHERE NESTED = 'NO' AND SECONDARY = 'N' AND DROPPED = 'NO' \
     AND (IOT_TYPE IS NULL OR IOT_TYPE = 'IOT')";
/// Every value as text, in the order of [`column_from_row`](crate::connector::catalog::column_from_row).
pub(crate) const COLUMNS_SQL: &str = "SELECT c.COLUMN_NAME, c.DATA_TYPE, TO_CHAR(c.CHAR_LENGTH), \
     TO_CHAR(c.DATA_PRECISION), TO_CHAR(c.DATA_SCALE) \
     FROM USER_TAB_COLUMNS c JOIN USER_TABLES t ON t.TABLE_NAME = c.TABLE_NAME \
     WHERE c.TABLE_NAME = :1 ORDER BY c.COLUMN_ID";
pub(crate) const PRIMARY_KEY_SQL: &str = "SELECT cc.COLUMN_NAME FROM USER_CONSTRAINTS c \
     JOIN USER_CONS_COLUMNS cc ON cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND cc.TABLE_NAME = c.TABLE_NAME \
     WHERE c.CONSTRAINT_TYPE = 'P' AND c.TABLE_NAME = :1 ORDER BY cc.POSITION";

/// The key columns of every table of the user's schema with their types, in key order within
/// a table: the table, then the columns of [`COLUMNS_SQL`].
pub(crate) const SCHEMA_KEYS_SQL: &str = "SELECT cc.TABLE_NAME, cc.COLUMN_NAME, c.DATA_TYPE, \
     TO_CHAR(c.CHAR_LENGTH), TO_CHAR(c.DATA_PRECISION), TO_CHAR(c.DATA_SCALE) \
     FROM USER_CONSTRAINTS k \
     JOIN USER_CONS_COLUMNS cc ON cc.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND cc.TABLE_NAME = k.TABLE_NAME \
     JOIN USER_TAB_COLUMNS c ON c.TABLE_NAME = cc.TABLE_NAME AND c.COLUMN_NAME = cc.COLUMN_NAME \
     WHERE k.CONSTRAINT_TYPE = 'P' ORDER BY cc.TABLE_NAME, cc.POSITION";

/// `SELECT TO_CHAR(MAX("column")) FROM "table"` (the user's schema).
pub(crate) fn max_sql(table: &str, column: &str) -> Result<String> {
    let (t, c) = (
        quote_identifier(DbType::Oracle, table)?,
        quote_identifier(DbType::Oracle, column)?,
    );
    Ok(format!("SELECT TO_CHAR(MAX({c})) FROM {t}"))
}

/// A column type as declared: `NUMBER(10,0)`, `NUMBER(*,0)` (INTEGER), `NUMBER`, `VARCHAR2(36)`.
pub(crate) fn type_name(t: &CatalogType<'_>) -> String {
    let CatalogType {
        data_type,
        char_length,
        precision,
        scale,
    } = *t;
    match data_type {
        "NUMBER" => match (precision, scale) {
            (Some(p), Some(s)) => format!("NUMBER({p},{s})"),
            (None, Some(s)) => format!("NUMBER(*,{s})"),
            (Some(p), None) => format!("NUMBER({p})"),
            (None, None) => "NUMBER".to_owned(),
        },
        "FLOAT" => match precision {
            Some(p) => format!("FLOAT({p})"),
            None => "FLOAT".to_owned(),
        },
        "VARCHAR2" | "NVARCHAR2" | "CHAR" | "NCHAR" => match char_length {
            Some(n) => format!("{data_type}({n})"),
            None => data_type.to_owned(),
        },
        other => other.to_owned(),
    }
}

/// Rows of a query as text (`ncols` columns each).
pub(crate) fn text_rows(
    conn: &Connection,
    sql: &str,
    params: &[String],
    ncols: usize,
) -> oracle::Result<Vec<Vec<Option<String>>>> {
    let params: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
    let mut out = Vec::new();
    for row in conn.query(sql, &params)? {
        let row = row?;
        let mut values = Vec::with_capacity(ncols);
        for i in 0..ncols {
            values.push(row.get::<usize, Option<String>>(i)?);
        }
        out.push(values);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn statements_quote_names_and_bind_values() {
        assert_eq!(
            max_sql("MixedCase", "Id").unwrap(),
            "SELECT TO_CHAR(MAX(\"Id\")) FROM \"MixedCase\""
        );
        assert_eq!(
            max_sql("with-dash", "select").unwrap(),
            "SELECT TO_CHAR(MAX(\"select\")) FROM \"with-dash\""
        );
        assert!(COLUMNS_SQL.contains("c.TABLE_NAME = :1"));
        assert!(
            PRIMARY_KEY_SQL.contains("CONSTRAINT_TYPE = 'P'") && PRIMARY_KEY_SQL.contains(":1")
        );
        assert!(PRIMARY_KEY_SQL.ends_with("ORDER BY cc.POSITION"));
        assert!(SCHEMA_KEYS_SQL.contains("CONSTRAINT_TYPE = 'P'"));
        assert!(SCHEMA_KEYS_SQL.ends_with("ORDER BY cc.TABLE_NAME, cc.POSITION"));
        assert!(TABLES_SQL.starts_with("SELECT TABLE_NAME FROM USER_TABLES"));
        for bad in ["x\"y", "x\"; DROP TABLE t; --", "", "a\0b"] {
            assert!(matches!(
                max_sql(bad, "id"),
                Err(Error::InvalidIdentifier { .. })
            ));
            assert!(matches!(
                max_sql("t", bad),
                Err(Error::InvalidIdentifier { .. })
            ));
        }
        assert_eq!(
            max_sql("a]b", "a`b").unwrap(),
            "SELECT TO_CHAR(MAX(\"a`b\")) FROM \"a]b\""
        );
    }

    #[test]
    fn declared_types_are_rebuilt_and_classified() {
        let cases = [
            (
                ("NUMBER", Some("10"), Some("0"), None),
                "NUMBER(10,0)",
                true,
            ),
            (("NUMBER", None, Some("0"), None), "NUMBER(*,0)", true),
            (("NUMBER", None, None, None), "NUMBER", false),
            (
                ("NUMBER", Some("10"), Some("2"), None),
                "NUMBER(10,2)",
                false,
            ),
            (("VARCHAR2", None, None, Some("36")), "VARCHAR2(36)", false),
            (("FLOAT", Some("126"), None, None), "FLOAT(126)", false),
            (("RAW", None, None, None), "RAW", false),
        ];
        for ((t, p, s, l), shown, integer) in cases {
            let ty = type_name(&CatalogType::new(t, l, p, s));
            assert_eq!(ty, shown);
            assert_eq!(
                crate::connector::classify::is_integer_type(DbType::Oracle, &ty),
                integer,
                "{ty}"
            );
        }
    }
}
