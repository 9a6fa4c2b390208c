//! [`Fixture`]: a dialect's schema for the conformance suite and what its connector must
//! report for each table, with the pieces the dialects' schemas share.
//!
//! Every fixture holds the same kinds of tables: integer keys of every type, an empty table,
//! tables without a key or with a composite key, the UUID-keyed `tp_keycloak_account` of the
//! seed document, awkward names, a view, values near 2^53 and 2^63. The schemas themselves are
//! in `schemas.rs`.

use crate::config::DbType;

/// What the connector must report for one fixture table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// A single integer key column whose `MAX` is `max`.
    Seedable {
        /// The key column's real name.
        column: String,
        /// `MAX(column)`.
        max: i64,
    },
    /// A single integer key column whose `MAX` does not fit an `i64`.
    OutOfRange {
        /// The key column's real name.
        column: String,
    },
    /// No primary key.
    NoPrimaryKey,
    /// A composite key of these columns.
    Composite(Vec<String>),
    /// A non-integer key column whose type starts with `ty_prefix`.
    NonInteger {
        /// The key column's real name.
        column: String,
        /// The start of its type as the catalog spells it (`varchar(36)`).
        ty_prefix: String,
    },
}

/// One table of a fixture.
#[derive(Debug, Clone)]
pub struct FixtureTable {
    /// The table's real name.
    pub name: String,
    /// What the connector must report for it.
    pub expect: Expect,
}

/// A dialect's fixture schema and what the connector must report for it.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The dialect.
    pub db_type: DbType,
    /// Statements creating and filling the tables, run in order in a fresh database.
    pub ddl: Vec<String>,
    /// Every base table the DDL creates.
    pub tables: Vec<FixtureTable>,
    /// Objects that exist but must not be listed as tables (a view, a partition, ...).
    pub not_listed: Vec<String>,
    /// `true` when the scanned database holds nothing but the fixture, so the table list
    /// must match exactly.
    pub exact_table_list: bool,
    /// An integer column that is not the key: (table, column, `MAX`).
    pub non_key_integer: (String, String, i64),
    /// The UUID-keyed table and its key column: (table, column).
    pub uuid_table: (String, String),
    /// Whether `CaseTwin` and `casetwin` both exist (not on case-insensitive catalogs).
    pub case_twins: bool,
}

/// 2^53 + 1: the first integer a double cannot hold.
pub const PAST_2_53: i64 = 9_007_199_254_740_993;
/// Close to 2^63 − 1.
pub const NEAR_2_63: i64 = 9_223_372_036_854_775_000;

/// The account row's key.
const UUID_ACCOUNT: &str = "3f0c6a8e-2b1d-4c5e-9f7a-1d2e3f4a5b6c";
/// The Keycloak link row's key.
const UUID_KEYCLOAK: &str = "8c2e4b6a-0d1f-4e3a-8b5c-7d9e1f2a3b4c";

/// A table whose single integer key `column` has `MAX` `max`.
pub(super) fn seedable(name: &str, column: &str, max: i64) -> FixtureTable {
    FixtureTable {
        name: name.into(),
        expect: Expect::Seedable {
            column: column.into(),
            max,
        },
    }
}

/// A table the connector must report as `expect` says.
pub(super) fn table(name: &str, expect: Expect) -> FixtureTable {
    FixtureTable {
        name: name.into(),
        expect,
    }
}

/// A table whose single key `column` is not of an integer type; its type starts with `ty_prefix`.
pub(super) fn non_integer(name: &str, column: &str, ty_prefix: &str) -> FixtureTable {
    table(
        name,
        Expect::NonInteger {
            column: column.into(),
            ty_prefix: ty_prefix.into(),
        },
    )
}

/// The tables the MySQL, PostgreSQL and SQL Server fixtures share, as the connector must
/// report them. `account_key` is the key column of `tp_account` as created, `varchar36` how
/// the catalog spells `VARCHAR(36)`.
pub(super) fn shared_tables(account_key: &str, varchar36: &str) -> Vec<FixtureTable> {
    vec![
        seedable("t_smallint", "id", 32000),
        seedable("t_int", "id", 2_147_483_647),
        seedable("t_bigint", "id", PAST_2_53),
        seedable("t_near_max", "id", NEAR_2_63),
        seedable("t_empty", "id", 0),
        table("t_no_pk", Expect::NoPrimaryKey),
        table(
            "t_composite",
            Expect::Composite(vec!["a".into(), "b".into()]),
        ),
        non_integer("tp_account", account_key, varchar36),
        non_integer("tp_keycloak_account", "id", varchar36),
        seedable("with-dash", "id", 7),
        seedable("order", "select", 11),
        seedable("MixedCase", "Id", 13),
    ]
}

/// A fixture of the tables the MySQL, PostgreSQL and SQL Server schemas share, in a database
/// of its own (so the table list must match exactly), with case twins: `ddl` creates them, and
/// `tables` (with [`shared_tables`]) says what the connector must report. The view `v_accounts`
/// is not listed; `tp_keycloak_account`, as in the seed document, has a UUID key `id` and an
/// integer column `enabled` (not the key) holding 1. A dialect that differs overrides fields.
pub(super) fn shared_schema(
    db_type: DbType,
    ddl: Vec<String>,
    tables: Vec<FixtureTable>,
) -> Fixture {
    Fixture {
        db_type,
        ddl,
        tables,
        not_listed: vec!["v_accounts".into()],
        exact_table_list: true,
        non_key_integer: ("tp_keycloak_account".into(), "enabled".into(), 1),
        uuid_table: ("tp_keycloak_account".into(), "id".into()),
        case_twins: true,
    }
}

/// Two tables whose names differ only in case (`MAX` 100 and 5), keyed by `column`: on
/// catalogs that tell them apart, a lookup must prefer the exact spelling.
pub(super) fn case_twins(upper: &str, lower: &str, column: &str) -> Vec<FixtureTable> {
    vec![seedable(upper, column, 100), seedable(lower, column, 5)]
}

/// Statements creating the tables whose names need quoting, `quote` quoting a name: `with-dash`,
/// `order` keyed by `select` (reserved words), `MixedCase` keyed by `Id`, and with `twins`
/// `CaseTwin` and `casetwin` (see [`case_twins`]). `int` and `bigint` are the dialect's names
/// of those types.
pub(super) fn quoted_names_ddl(
    quote: fn(&str) -> String,
    int: &str,
    bigint: &str,
    twins: bool,
) -> Vec<String> {
    let mut tables = vec![
        ("with-dash", "id", int, 7),
        ("order", "select", bigint, 11),
        ("MixedCase", "Id", int, 13),
    ];
    if twins {
        tables.extend([("CaseTwin", "id", int, 100), ("casetwin", "id", int, 5)]);
    }
    let mut ddl = Vec::new();
    for (name, column, ty, max) in tables {
        let (name, column) = (quote(name), quote(column));
        ddl.push(format!("CREATE TABLE {name} ({column} {ty} PRIMARY KEY)"));
        ddl.push(format!("INSERT INTO {name} VALUES ({max})"));
    }
    ddl
}

/// A fixture's statements in order: the dialect's own `head`, then `quoted` (see
/// [`quoted_names_ddl`]), `tail`, and the rows of `tp_account` and `tp_keycloak_account`.
pub(super) fn statements(head: &[&str], quoted: Vec<String>, tail: &[&str]) -> Vec<String> {
    let mut ddl: Vec<String> = head.iter().map(|s| (*s).to_owned()).collect();
    ddl.extend(quoted);
    ddl.extend(tail.iter().map(|s| (*s).to_owned()));
    ddl.extend(uuid_rows("tp_account", "tp_keycloak_account"));
    ddl
}

/// Rows of the two account tables: one account and its Keycloak link.
pub(super) fn uuid_rows(account: &str, keycloak: &str) -> Vec<String> {
    vec![
        format!(
            "INSERT INTO {account} (ACCOUNT_ID, ACCOUNT_NAME) VALUES ('{UUID_ACCOUNT}', 'alice')"
        ),
        format!(
            "INSERT INTO {keycloak} (ID, ACCOUNT_ID, KC_USERNAME, ENABLED) VALUES ('{UUID_KEYCLOAK}', '{UUID_ACCOUNT}', 'alice', 1)"
        ),
    ]
}

impl Fixture {
    /// `CaseTwin` and `casetwin` (whatever their prefix), where both exist.
    pub(super) fn case_twin_names(&self) -> Option<(&str, &str)> {
        if !self.case_twins {
            return None;
        }
        let upper = self.tables.iter().find(|t| t.name.ends_with("CaseTwin"))?;
        let lower = self.tables.iter().find(|t| t.name.ends_with("casetwin"))?;
        Some((&upper.name, &lower.name))
    }

    /// The `MixedCase` table (keyed by `Id`), which every fixture has.
    pub(super) fn mixed_case(&self) -> &FixtureTable {
        self.tables
            .iter()
            .find(|t| t.name.ends_with("MixedCase"))
            .expect("every fixture has a MixedCase table")
    }

    /// The table named `name`.
    pub(super) fn find(&self, name: &str) -> &FixtureTable {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("fixture table {name}"))
    }

    /// The `MixedCase` table with its key column and `MAX`.
    pub(super) fn mixed_case_key(&self) -> (&FixtureTable, &str, i64) {
        let mixed = self.mixed_case();
        let Expect::Seedable { column, max } = &mixed.expect else {
            panic!("MixedCase is seedable");
        };
        (mixed, column, *max)
    }
}
