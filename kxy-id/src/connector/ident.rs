//! Database, table and column names: validation, quoting and case-insensitive lookup.
//!
//! Names come from users (segment keys, configurations) and from catalogs. Every name a
//! connector puts into SQL text is first checked here and then quoted for its dialect; values
//! (including names compared against catalog columns) are always bind parameters.

use crate::config::DbType;
use crate::error::{Error, Result};

/// The longest database, table or column name accepted, in characters.
pub(crate) const MAX_IDENTIFIER_CHARS: usize = 128;

/// The character that closes a quoted identifier in the dialect: `` ` `` for MySQL,
/// `"` for PostgreSQL and Oracle, `]` for SQL Server.
pub(crate) fn closing_quote(db_type: DbType) -> char {
    match db_type {
        DbType::MySql => '`',
        DbType::Postgres | DbType::Oracle => '"',
        DbType::SqlServer => ']',
    }
}

/// Checks a database, table or column name for use in the dialect.
///
/// Refused with [`Error::InvalidIdentifier`]: an empty name, a name longer than
/// [`MAX_IDENTIFIER_CHARS`], one with NUL or another control character, and one holding the
/// dialect's closing quote character (so a quoted name can never end early, whatever follows).
/// Everything else (unicode, `-`, spaces, reserved words, mixed case) is allowed.
pub(crate) fn validate_identifier(db_type: DbType, name: &str) -> Result<()> {
    let refuse = |reason: String| {
        Err(Error::InvalidIdentifier {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("a name must not be empty".into());
    }
    let chars = name.chars().count();
    if chars > MAX_IDENTIFIER_CHARS {
        return refuse(format!(
            "it is {chars} characters long; at most {MAX_IDENTIFIER_CHARS} are allowed"
        ));
    }
    if name.chars().any(char::is_control) {
        return refuse("a name must not contain NUL or other control characters".into());
    }
    let quote = closing_quote(db_type);
    if name.contains(quote) {
        return refuse(format!(
            "a {} name must not contain the quote character {quote}",
            dialect_name(db_type)
        ));
    }
    Ok(())
}

/// Validates `name` and returns it quoted for the dialect: `` `name` ``, `"name"` or `[name]`.
pub(crate) fn quote_identifier(db_type: DbType, name: &str) -> Result<String> {
    validate_identifier(db_type, name)?;
    Ok(match db_type {
        DbType::MySql => format!("`{name}`"),
        DbType::Postgres | DbType::Oracle => format!("\"{name}\""),
        DbType::SqlServer => format!("[{name}]"),
    })
}

/// Picks the real spelling of `wanted` among names read from a catalog: the exact name if it
/// is there, otherwise the one name equal to it ignoring case. `None` when nothing matches, or
/// when several names match ignoring case and none exactly (the choice would be a guess).
pub(crate) fn pick_name<'a, I>(candidates: I, wanted: &str) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let wanted_lower = wanted.to_lowercase();
    let mut found = None;
    let mut ambiguous = false;
    for name in candidates {
        if name == wanted {
            return Some(name);
        }
        if name.to_lowercase() == wanted_lower {
            ambiguous |= found.is_some_and(|f| f != name);
            found = Some(name);
        }
    }
    if ambiguous { None } else { found }
}

fn dialect_name(db_type: DbType) -> &'static str {
    match db_type {
        DbType::MySql => "MySQL",
        DbType::Postgres => "PostgreSQL",
        DbType::SqlServer => "SQL Server",
        DbType::Oracle => "Oracle",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_per_dialect() {
        let cases = [
            (DbType::MySql, "order", "`order`"),
            (DbType::Postgres, "with-dash", "\"with-dash\""),
            (DbType::Oracle, "MixedCase", "\"MixedCase\""),
            (DbType::SqlServer, "with space", "[with space]"),
            // Another dialect's quote character is an ordinary character.
            (DbType::MySql, "x\"y", "`x\"y`"),
            (DbType::Postgres, "a`b", "\"a`b\""),
            (DbType::SqlServer, "a`\"b", "[a`\"b]"),
            (DbType::Oracle, "a]b", "\"a]b\""),
        ];
        for (t, name, quoted) in cases {
            assert_eq!(quote_identifier(t, name).unwrap(), quoted, "{t}: {name:?}");
        }
    }

    #[test]
    fn names_that_could_break_quoting_are_refused() {
        let cases = [
            (DbType::MySql, "a`; DROP TABLE x; --"),
            (DbType::Postgres, "x\"y"),
            (DbType::Postgres, "x\"; DROP TABLE y; --"),
            (DbType::Oracle, "x\"y"),
            (DbType::SqlServer, "a]b"),
            (DbType::SqlServer, "a]; DROP TABLE x; --"),
        ];
        for (t, name) in cases {
            match quote_identifier(t, name) {
                Err(Error::InvalidIdentifier { name: n, reason }) => {
                    assert_eq!(n, name);
                    assert!(reason.contains(closing_quote(t)), "{reason}");
                }
                other => panic!("{t}: {name:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn empty_long_and_control_names_are_refused_everywhere() {
        let long = "x".repeat(MAX_IDENTIFIER_CHARS + 1);
        for t in DbType::ALL {
            for name in ["", "a\0b", "a\nb", "tab\tname", long.as_str()] {
                assert!(
                    matches!(
                        validate_identifier(t, name),
                        Err(Error::InvalidIdentifier { .. })
                    ),
                    "{t}: {name:?}"
                );
            }
            assert!(validate_identifier(t, &"é".repeat(MAX_IDENTIFIER_CHARS)).is_ok());
            assert!(validate_identifier(t, "订单 表-1").is_ok());
        }
    }

    #[test]
    fn lookup_prefers_the_exact_name_then_a_unique_case_insensitive_one() {
        let names = ["MixedCase", "CaseTwin", "casetwin", "TP_ACCOUNT"];
        let pick = |w| pick_name(names.iter().copied(), w);
        assert_eq!(pick("mixedcase"), Some("MixedCase"));
        assert_eq!(pick("MixedCase"), Some("MixedCase"));
        assert_eq!(pick("casetwin"), Some("casetwin"));
        assert_eq!(pick("CaseTwin"), Some("CaseTwin"));
        assert_eq!(pick("CASETWIN"), None, "two candidates, neither exact");
        assert_eq!(pick("tp_account"), Some("TP_ACCOUNT"));
        assert_eq!(pick("missing"), None);
        let dup = ["A", "A"];
        assert_eq!(pick_name(dup.iter().copied(), "a"), Some("A"));
    }
}
