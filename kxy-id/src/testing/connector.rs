//! The conformance suite every [`DbConnector`] runs, over a fixture schema.
//!
//! A [`Fixture`] is one dialect's DDL for the same set of tables (integer keys of every type,
//! an empty table, tables without a key or with a composite key, the UUID-keyed
//! `tp_keycloak_account` of the seed document, awkward names, a view, values near 2^53 and
//! 2^63) with what the connector must report for each. A test creates a fresh database,
//! runs the fixture's DDL in it, and calls [`run_all`] with a configuration scanning only that
//! database; plain `pub async fn` checks, so a failing one names itself.
//!
//! Compiled for this crate's tests and, for other crates, under the `test-util` feature.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::allocator::{RaiseOutcome, SegmentAllocator};
use crate::config::{DatabaseConfig, DbType};
use crate::connector::{DbConnector, SkipReason, TableClass, closing_quote, is_integer_type};
use crate::error::Error;
use crate::key::SegmentKey;
use crate::service::discovery::discover;
use crate::service::initialize::initialize;
use crate::service::scan::databases_to_scan;
use crate::service::seed::{missing_table_or_field_message, seed_key};

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

fn seedable(name: &str, column: &str, max: i64) -> FixtureTable {
    FixtureTable {
        name: name.into(),
        expect: Expect::Seedable {
            column: column.into(),
            max,
        },
    }
}

fn table(name: &str, expect: Expect) -> FixtureTable {
    FixtureTable {
        name: name.into(),
        expect,
    }
}

fn non_integer(name: &str, column: &str, ty_prefix: &str) -> FixtureTable {
    table(
        name,
        Expect::NonInteger {
            column: column.into(),
            ty_prefix: ty_prefix.into(),
        },
    )
}

/// 2^53 + 1: the first integer a double cannot hold.
pub const PAST_2_53: i64 = 9_007_199_254_740_993;
/// Close to 2^63 − 1.
pub const NEAR_2_63: i64 = 9_223_372_036_854_775_000;

const UUID_ACCOUNT: &str = "3f0c6a8e-2b1d-4c5e-9f7a-1d2e3f4a5b6c";
const UUID_KEYCLOAK: &str = "8c2e4b6a-0d1f-4e3a-8b5c-7d9e1f2a3b4c";

impl Fixture {
    /// MySQL / MariaDB (needs `lower_case_table_names = 0`, the Linux default).
    pub fn mysql() -> Fixture {
        let ddl = [
            "CREATE TABLE t_tinyint (id TINYINT PRIMARY KEY, note VARCHAR(10))",
            "INSERT INTO t_tinyint (id) VALUES (1), (127)",
            "CREATE TABLE t_smallint (id SMALLINT PRIMARY KEY)",
            "INSERT INTO t_smallint VALUES (-3), (32000)",
            "CREATE TABLE t_mediumint (id MEDIUMINT AUTO_INCREMENT PRIMARY KEY)",
            "INSERT INTO t_mediumint VALUES (8388607)",
            "CREATE TABLE t_int (id INT PRIMARY KEY)",
            "INSERT INTO t_int VALUES (1), (2147483647)",
            "CREATE TABLE t_bigint (id BIGINT PRIMARY KEY)",
            "INSERT INTO t_bigint VALUES (9007199254740992), (9007199254740993)",
            "CREATE TABLE t_near_max (id BIGINT PRIMARY KEY)",
            "INSERT INTO t_near_max VALUES (9223372036854775000)",
            "CREATE TABLE t_unsigned (id BIGINT UNSIGNED PRIMARY KEY)",
            "INSERT INTO t_unsigned VALUES (42)",
            "CREATE TABLE t_unsigned_huge (id BIGINT UNSIGNED PRIMARY KEY)",
            "INSERT INTO t_unsigned_huge VALUES (1), (18446744073709551000)",
            "CREATE TABLE t_empty (id BIGINT AUTO_INCREMENT PRIMARY KEY, note TEXT)",
            "CREATE TABLE t_negative (id INT PRIMARY KEY)",
            "INSERT INTO t_negative VALUES (-7), (-5)",
            "CREATE TABLE t_no_pk (id INT, name VARCHAR(20), UNIQUE KEY (id))",
            "INSERT INTO t_no_pk VALUES (5, 'x')",
            "CREATE TABLE t_composite (a INT, b INT, PRIMARY KEY (a, b))",
            "INSERT INTO t_composite VALUES (1, 2)",
            "CREATE TABLE tp_account (
                ACCOUNT_ID VARCHAR(36) NOT NULL,
                account_name VARCHAR(100) NULL,
                PRIMARY KEY (ACCOUNT_ID)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
            // As in the seed document (tp_keycloak_account 表结构文档).
            "CREATE TABLE tp_keycloak_account (
                id VARCHAR(36) NOT NULL COMMENT '主键ID（UUID格式）',
                account_id VARCHAR(36) NOT NULL COMMENT '关联账号ID',
                kc_client_id VARCHAR(100) NULL,
                kc_client_secret VARCHAR(500) NULL,
                kc_grant_type VARCHAR(50) NULL DEFAULT 'password',
                kc_username VARCHAR(150) NULL,
                kc_user_id VARCHAR(100) NULL,
                kc_password VARCHAR(500) NULL,
                kc_refresh_token TEXT NULL,
                kc_access_token TEXT NULL,
                kc_token_expires_at DATETIME NULL,
                kc_refresh_expires_at DATETIME NULL,
                kc_post_logout_redirect_uri VARCHAR(500) NULL,
                kc_realm VARCHAR(100) NULL DEFAULT 'master',
                kc_server_url VARCHAR(500) NULL,
                enabled TINYINT(1) NULL DEFAULT 1,
                last_login_time DATETIME NULL,
                last_token_refresh_time DATETIME NULL,
                create_time VARCHAR(14) NULL,
                update_time VARCHAR(14) NULL,
                creator VARCHAR(36) NULL,
                updater VARCHAR(36) NULL,
                tenant_id VARCHAR(36) NULL,
                extend01 VARCHAR(150) NULL,
                extend02 VARCHAR(150) NULL,
                extend03 VARCHAR(150) NULL,
                PRIMARY KEY (id),
                UNIQUE KEY uk_account_id (account_id),
                KEY idx_kc_client_id (kc_client_id),
                KEY idx_kc_username (kc_username),
                KEY idx_tenant_id (tenant_id),
                KEY idx_enabled (enabled),
                KEY idx_create_time (create_time),
                CONSTRAINT fk_tp_keycloak_account_account_id FOREIGN KEY (account_id)
                    REFERENCES tp_account (ACCOUNT_ID) ON DELETE CASCADE ON UPDATE CASCADE
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Keycloak账号关联表'",
            "CREATE TABLE `with-dash` (id INT PRIMARY KEY)",
            "INSERT INTO `with-dash` VALUES (7)",
            "CREATE TABLE `order` (`select` BIGINT PRIMARY KEY)",
            "INSERT INTO `order` VALUES (11)",
            "CREATE TABLE `MixedCase` (`Id` INT PRIMARY KEY)",
            "INSERT INTO `MixedCase` VALUES (13)",
            "CREATE TABLE `CaseTwin` (id INT PRIMARY KEY)",
            "INSERT INTO `CaseTwin` VALUES (100)",
            "CREATE TABLE `casetwin` (id INT PRIMARY KEY)",
            "INSERT INTO `casetwin` VALUES (5)",
            "CREATE TABLE `dq\"name` (id INT PRIMARY KEY)",
            "INSERT INTO `dq\"name` VALUES (3)",
            "CREATE VIEW v_accounts AS SELECT ACCOUNT_ID FROM tp_account",
        ];
        let mut ddl: Vec<String> = ddl.iter().map(|s| (*s).to_owned()).collect();
        ddl.extend(uuid_rows("tp_account", "tp_keycloak_account"));
        Fixture {
            db_type: DbType::MySql,
            ddl,
            tables: vec![
                seedable("t_tinyint", "id", 127),
                seedable("t_smallint", "id", 32000),
                seedable("t_mediumint", "id", 8_388_607),
                seedable("t_int", "id", 2_147_483_647),
                seedable("t_bigint", "id", PAST_2_53),
                seedable("t_near_max", "id", NEAR_2_63),
                seedable("t_unsigned", "id", 42),
                table(
                    "t_unsigned_huge",
                    Expect::OutOfRange {
                        column: "id".into(),
                    },
                ),
                seedable("t_empty", "id", 0),
                seedable("t_negative", "id", -5),
                table("t_no_pk", Expect::NoPrimaryKey),
                table(
                    "t_composite",
                    Expect::Composite(vec!["a".into(), "b".into()]),
                ),
                non_integer("tp_account", "ACCOUNT_ID", "varchar(36)"),
                non_integer("tp_keycloak_account", "id", "varchar(36)"),
                seedable("with-dash", "id", 7),
                seedable("order", "select", 11),
                seedable("MixedCase", "Id", 13),
                seedable("CaseTwin", "id", 100),
                seedable("casetwin", "id", 5),
                seedable("dq\"name", "id", 3),
            ],
            not_listed: vec!["v_accounts".into()],
            exact_table_list: true,
            non_key_integer: ("tp_keycloak_account".into(), "enabled".into(), 1),
            uuid_table: ("tp_keycloak_account".into(), "id".into()),
            case_twins: true,
        }
    }

    /// PostgreSQL (tables of schema `public`).
    pub fn postgres() -> Fixture {
        let ddl = [
            "CREATE TABLE t_smallint (id smallint PRIMARY KEY)",
            "INSERT INTO t_smallint VALUES (-3), (32000)",
            "CREATE TABLE t_int (id integer PRIMARY KEY)",
            "INSERT INTO t_int VALUES (1), (2147483647)",
            "CREATE TABLE t_bigint (id bigint PRIMARY KEY)",
            "INSERT INTO t_bigint VALUES (9007199254740992), (9007199254740993)",
            "CREATE TABLE t_near_max (id int8 PRIMARY KEY)",
            "INSERT INTO t_near_max VALUES (9223372036854775000)",
            "CREATE TABLE t_serial (id serial PRIMARY KEY, note text)",
            "INSERT INTO t_serial (note) VALUES ('a'), ('b'), ('c')",
            "CREATE TABLE t_bigserial (id bigserial PRIMARY KEY, note text)",
            "INSERT INTO t_bigserial VALUES (5000000000, 'a')",
            "CREATE TABLE t_smallserial (id smallserial PRIMARY KEY, note text)",
            "INSERT INTO t_smallserial (note) VALUES ('a'), ('b')",
            "CREATE TABLE t_identity (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)",
            "INSERT INTO t_identity (note) VALUES ('a'), ('b')",
            "CREATE TABLE t_empty (id bigint PRIMARY KEY, note text)",
            "CREATE TABLE t_negative (id integer PRIMARY KEY)",
            "INSERT INTO t_negative VALUES (-7), (-5)",
            "CREATE TABLE t_numeric (id numeric(20,0) PRIMARY KEY)",
            "INSERT INTO t_numeric VALUES (12)",
            "CREATE TABLE t_no_pk (id integer UNIQUE, name text)",
            "INSERT INTO t_no_pk VALUES (5, 'x')",
            "CREATE TABLE t_composite (a integer, b integer, PRIMARY KEY (a, b))",
            "INSERT INTO t_composite VALUES (1, 2)",
            "CREATE TABLE t_partitioned (id bigint NOT NULL, PRIMARY KEY (id)) PARTITION BY RANGE (id)",
            "CREATE TABLE t_partitioned_p1 PARTITION OF t_partitioned FOR VALUES FROM (0) TO (1000)",
            "INSERT INTO t_partitioned VALUES (999)",
            "CREATE TABLE tp_account (account_id varchar(36) PRIMARY KEY, account_name varchar(100))",
            "CREATE TABLE tp_keycloak_account (
                id varchar(36) NOT NULL PRIMARY KEY,
                account_id varchar(36) NOT NULL,
                kc_client_id varchar(100),
                kc_client_secret varchar(500),
                kc_grant_type varchar(50) DEFAULT 'password',
                kc_username varchar(150),
                kc_user_id varchar(100),
                kc_password varchar(500),
                kc_refresh_token text,
                kc_access_token text,
                kc_token_expires_at timestamp,
                kc_refresh_expires_at timestamp,
                kc_post_logout_redirect_uri varchar(500),
                kc_realm varchar(100) DEFAULT 'master',
                kc_server_url varchar(500),
                enabled smallint DEFAULT 1,
                last_login_time timestamp,
                last_token_refresh_time timestamp,
                create_time varchar(14),
                update_time varchar(14),
                creator varchar(36),
                updater varchar(36),
                tenant_id varchar(36),
                extend01 varchar(150),
                extend02 varchar(150),
                extend03 varchar(150),
                CONSTRAINT uk_account_id UNIQUE (account_id),
                CONSTRAINT fk_tp_keycloak_account_account_id FOREIGN KEY (account_id)
                    REFERENCES tp_account (account_id) ON DELETE CASCADE ON UPDATE CASCADE
            )",
            "CREATE INDEX idx_kc_username ON tp_keycloak_account (kc_username)",
            "CREATE TABLE \"with-dash\" (id integer PRIMARY KEY)",
            "INSERT INTO \"with-dash\" VALUES (7)",
            "CREATE TABLE \"order\" (\"select\" bigint PRIMARY KEY)",
            "INSERT INTO \"order\" VALUES (11)",
            "CREATE TABLE \"MixedCase\" (\"Id\" integer PRIMARY KEY)",
            "INSERT INTO \"MixedCase\" VALUES (13)",
            "CREATE TABLE \"CaseTwin\" (id integer PRIMARY KEY)",
            "INSERT INTO \"CaseTwin\" VALUES (100)",
            "CREATE TABLE casetwin (id integer PRIMARY KEY)",
            "INSERT INTO casetwin VALUES (5)",
            "CREATE TABLE \"bq`name\" (id integer PRIMARY KEY)",
            "INSERT INTO \"bq`name\" VALUES (3)",
            "CREATE VIEW v_accounts AS SELECT account_id FROM tp_account",
            "CREATE SCHEMA other",
            "CREATE TABLE other.t_other_schema (id integer PRIMARY KEY)",
            "INSERT INTO other.t_other_schema VALUES (1)",
        ];
        let mut ddl: Vec<String> = ddl.iter().map(|s| (*s).to_owned()).collect();
        ddl.extend(uuid_rows("tp_account", "tp_keycloak_account"));
        Fixture {
            db_type: DbType::Postgres,
            ddl,
            tables: vec![
                seedable("t_smallint", "id", 32000),
                seedable("t_int", "id", 2_147_483_647),
                seedable("t_bigint", "id", PAST_2_53),
                seedable("t_near_max", "id", NEAR_2_63),
                seedable("t_serial", "id", 3),
                seedable("t_bigserial", "id", 5_000_000_000),
                seedable("t_smallserial", "id", 2),
                seedable("t_identity", "id", 2),
                seedable("t_empty", "id", 0),
                seedable("t_negative", "id", -5),
                non_integer("t_numeric", "id", "numeric(20,0)"),
                table("t_no_pk", Expect::NoPrimaryKey),
                table(
                    "t_composite",
                    Expect::Composite(vec!["a".into(), "b".into()]),
                ),
                seedable("t_partitioned", "id", 999),
                non_integer("tp_account", "account_id", "character varying(36)"),
                non_integer("tp_keycloak_account", "id", "character varying(36)"),
                seedable("with-dash", "id", 7),
                seedable("order", "select", 11),
                seedable("MixedCase", "Id", 13),
                seedable("CaseTwin", "id", 100),
                seedable("casetwin", "id", 5),
                seedable("bq`name", "id", 3),
            ],
            not_listed: vec![
                "v_accounts".into(),
                "t_partitioned_p1".into(),
                "t_other_schema".into(),
            ],
            exact_table_list: true,
            non_key_integer: ("tp_keycloak_account".into(), "enabled".into(), 1),
            uuid_table: ("tp_keycloak_account".into(), "id".into()),
            case_twins: true,
        }
    }

    /// SQL Server (tables of schema `dbo`; the default collation is case-insensitive, so
    /// there are no case twins).
    pub fn mssql() -> Fixture {
        let ddl = [
            "CREATE TABLE t_tinyint (id TINYINT PRIMARY KEY)",
            "INSERT INTO t_tinyint VALUES (1), (255)",
            "CREATE TABLE t_smallint (id SMALLINT PRIMARY KEY)",
            "INSERT INTO t_smallint VALUES (-3), (32000)",
            "CREATE TABLE t_int (id INT IDENTITY(1,1) PRIMARY KEY, note NVARCHAR(10))",
            "SET IDENTITY_INSERT t_int ON; INSERT INTO t_int (id) VALUES (2147483647); SET IDENTITY_INSERT t_int OFF",
            "CREATE TABLE t_bigint (id BIGINT PRIMARY KEY)",
            "INSERT INTO t_bigint VALUES (9007199254740992), (9007199254740993)",
            "CREATE TABLE t_near_max (id BIGINT PRIMARY KEY)",
            "INSERT INTO t_near_max VALUES (9223372036854775000)",
            "CREATE TABLE t_decimal_huge (id DECIMAL(38,0) PRIMARY KEY)",
            "INSERT INTO t_decimal_huge VALUES (100000000000000000000)",
            "CREATE TABLE t_empty (id BIGINT PRIMARY KEY)",
            "CREATE TABLE t_no_pk (id INT, name NVARCHAR(20))",
            "INSERT INTO t_no_pk VALUES (5, 'x')",
            "CREATE TABLE t_composite (a INT, b INT, PRIMARY KEY (a, b))",
            "CREATE TABLE tp_account (ACCOUNT_ID VARCHAR(36) NOT NULL PRIMARY KEY, account_name NVARCHAR(100))",
            "CREATE TABLE tp_keycloak_account (
                id VARCHAR(36) NOT NULL PRIMARY KEY,
                account_id VARCHAR(36) NOT NULL CONSTRAINT uk_account_id UNIQUE
                    CONSTRAINT fk_tp_keycloak_account_account_id REFERENCES tp_account (ACCOUNT_ID)
                    ON DELETE CASCADE ON UPDATE CASCADE,
                kc_username NVARCHAR(150) NULL,
                enabled TINYINT NULL DEFAULT 1
            )",
            "CREATE TABLE [with-dash] (id INT PRIMARY KEY)",
            "INSERT INTO [with-dash] VALUES (7)",
            "CREATE TABLE [order] ([select] BIGINT PRIMARY KEY)",
            "INSERT INTO [order] VALUES (11)",
            "CREATE TABLE [MixedCase] ([Id] INT PRIMARY KEY)",
            "INSERT INTO [MixedCase] VALUES (13)",
            "CREATE VIEW v_accounts AS SELECT ACCOUNT_ID FROM tp_account",
        ];
        let mut ddl: Vec<String> = ddl.iter().map(|s| (*s).to_owned()).collect();
        ddl.extend(uuid_rows("tp_account", "tp_keycloak_account"));
        Fixture {
            db_type: DbType::SqlServer,
            ddl,
            tables: vec![
                seedable("t_tinyint", "id", 255),
                seedable("t_smallint", "id", 32000),
                seedable("t_int", "id", 2_147_483_647),
                seedable("t_bigint", "id", PAST_2_53),
                seedable("t_near_max", "id", NEAR_2_63),
                non_integer("t_decimal_huge", "id", "decimal(38,0)"),
                seedable("t_empty", "id", 0),
                table("t_no_pk", Expect::NoPrimaryKey),
                table(
                    "t_composite",
                    Expect::Composite(vec!["a".into(), "b".into()]),
                ),
                non_integer("tp_account", "ACCOUNT_ID", "varchar(36)"),
                non_integer("tp_keycloak_account", "id", "varchar(36)"),
                seedable("with-dash", "id", 7),
                seedable("order", "select", 11),
                seedable("MixedCase", "Id", 13),
            ],
            not_listed: vec!["v_accounts".into()],
            exact_table_list: true,
            non_key_integer: ("tp_keycloak_account".into(), "enabled".into(), 1),
            uuid_table: ("tp_keycloak_account".into(), "id".into()),
            case_twins: false,
        }
    }

    /// Oracle (tables of the connecting user's schema; unquoted names are upper case).
    /// Table names carry the prefix `KXYT_` so that [`Fixture::oracle_drop`] removes only them.
    pub fn oracle() -> Fixture {
        let ddl = [
            "CREATE TABLE KXYT_INT (ID NUMBER(10,0) PRIMARY KEY)",
            "INSERT INTO KXYT_INT VALUES (2147483647)",
            "CREATE TABLE KXYT_INTEGER (ID INTEGER PRIMARY KEY)",
            "INSERT INTO KXYT_INTEGER VALUES (9007199254740993)",
            "CREATE TABLE KXYT_NEAR_MAX (ID NUMBER(19) PRIMARY KEY)",
            "INSERT INTO KXYT_NEAR_MAX VALUES (9223372036854775000)",
            "CREATE TABLE KXYT_HUGE (ID NUMBER(38,0) PRIMARY KEY)",
            "INSERT INTO KXYT_HUGE VALUES (100000000000000000000000000000)",
            "CREATE TABLE KXYT_FLOATING (ID NUMBER PRIMARY KEY)",
            "CREATE TABLE KXYT_EMPTY (ID NUMBER(19,0) PRIMARY KEY)",
            "CREATE TABLE KXYT_NO_PK (ID NUMBER(10), NAME VARCHAR2(20))",
            "CREATE TABLE KXYT_COMPOSITE (A NUMBER(10), B NUMBER(10), PRIMARY KEY (A, B))",
            "CREATE TABLE KXYT_TP_ACCOUNT (ACCOUNT_ID VARCHAR2(36) PRIMARY KEY, ACCOUNT_NAME VARCHAR2(100))",
            "CREATE TABLE KXYT_TP_KEYCLOAK_ACCOUNT (
                ID VARCHAR2(36) NOT NULL PRIMARY KEY,
                ACCOUNT_ID VARCHAR2(36) NOT NULL CONSTRAINT KXYT_UK_ACCOUNT_ID UNIQUE
                    CONSTRAINT KXYT_FK_ACCOUNT REFERENCES KXYT_TP_ACCOUNT (ACCOUNT_ID) ON DELETE CASCADE,
                KC_USERNAME VARCHAR2(150),
                ENABLED NUMBER(1) DEFAULT 1
            )",
            "CREATE TABLE \"KXYT_with-dash\" (ID NUMBER(10) PRIMARY KEY)",
            "INSERT INTO \"KXYT_with-dash\" VALUES (7)",
            "CREATE TABLE \"KXYT_MixedCase\" (\"Id\" NUMBER(10) PRIMARY KEY)",
            "INSERT INTO \"KXYT_MixedCase\" VALUES (13)",
            "CREATE TABLE \"KXYT_CaseTwin\" (ID NUMBER(10) PRIMARY KEY)",
            "INSERT INTO \"KXYT_CaseTwin\" VALUES (100)",
            "CREATE TABLE \"kxyt_casetwin\" (ID NUMBER(10) PRIMARY KEY)",
            "INSERT INTO \"kxyt_casetwin\" VALUES (5)",
            "CREATE VIEW KXYT_V_ACCOUNTS AS SELECT ACCOUNT_ID FROM KXYT_TP_ACCOUNT",
        ];
        let mut ddl: Vec<String> = ddl.iter().map(|s| (*s).to_owned()).collect();
        ddl.extend(uuid_rows("KXYT_TP_ACCOUNT", "KXYT_TP_KEYCLOAK_ACCOUNT"));
        ddl.push("COMMIT".into());
        Fixture {
            db_type: DbType::Oracle,
            ddl,
            tables: vec![
                seedable("KXYT_INT", "ID", 2_147_483_647),
                seedable("KXYT_INTEGER", "ID", PAST_2_53),
                seedable("KXYT_NEAR_MAX", "ID", NEAR_2_63),
                table(
                    "KXYT_HUGE",
                    Expect::OutOfRange {
                        column: "ID".into(),
                    },
                ),
                non_integer("KXYT_FLOATING", "ID", "NUMBER"),
                seedable("KXYT_EMPTY", "ID", 0),
                table("KXYT_NO_PK", Expect::NoPrimaryKey),
                table(
                    "KXYT_COMPOSITE",
                    Expect::Composite(vec!["A".into(), "B".into()]),
                ),
                non_integer("KXYT_TP_ACCOUNT", "ACCOUNT_ID", "VARCHAR2(36)"),
                non_integer("KXYT_TP_KEYCLOAK_ACCOUNT", "ID", "VARCHAR2(36)"),
                seedable("KXYT_with-dash", "ID", 7),
                seedable("KXYT_MixedCase", "Id", 13),
                seedable("KXYT_CaseTwin", "ID", 100),
                seedable("kxyt_casetwin", "ID", 5),
            ],
            not_listed: vec!["KXYT_V_ACCOUNTS".into()],
            exact_table_list: false,
            non_key_integer: ("KXYT_TP_KEYCLOAK_ACCOUNT".into(), "ENABLED".into(), 1),
            uuid_table: ("KXYT_TP_KEYCLOAK_ACCOUNT".into(), "ID".into()),
            case_twins: true,
        }
    }

    /// Statements that drop the Oracle fixture's objects (errors for missing ones are ignored
    /// by the caller).
    pub fn oracle_drop(&self) -> Vec<String> {
        let mut out = vec!["DROP VIEW KXYT_V_ACCOUNTS".to_owned()];
        out.push("DROP TABLE KXYT_TP_KEYCLOAK_ACCOUNT PURGE".to_owned());
        for t in &self.tables {
            if t.name != "KXYT_TP_KEYCLOAK_ACCOUNT" {
                out.push(format!("DROP TABLE \"{}\" PURGE", t.name));
            }
        }
        out
    }

    fn case_twin_names(&self) -> Option<(&str, &str)> {
        if !self.case_twins {
            return None;
        }
        let upper = self.tables.iter().find(|t| t.name.ends_with("CaseTwin"))?;
        let lower = self.tables.iter().find(|t| t.name.ends_with("casetwin"))?;
        Some((&upper.name, &lower.name))
    }

    fn mixed_case(&self) -> &FixtureTable {
        self.tables
            .iter()
            .find(|t| t.name.ends_with("MixedCase"))
            .expect("every fixture has a MixedCase table")
    }

    fn find(&self, name: &str) -> &FixtureTable {
        self.tables
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("fixture table {name}"))
    }
}

/// Rows of the two account tables: one account and its Keycloak link.
fn uuid_rows(account: &str, keycloak: &str) -> Vec<String> {
    vec![
        format!(
            "INSERT INTO {account} (ACCOUNT_ID, ACCOUNT_NAME) VALUES ('{UUID_ACCOUNT}', 'alice')"
        ),
        format!(
            "INSERT INTO {keycloak} (ID, ACCOUNT_ID, KC_USERNAME, ENABLED) VALUES ('{UUID_KEYCLOAK}', '{UUID_ACCOUNT}', 'alice', 1)"
        ),
    ]
}

/// A configuration for tests (guid and system code fixed).
pub fn config(
    db_type: DbType,
    address: &str,
    user: &str,
    password: &str,
    db_name: Option<&str>,
) -> DatabaseConfig {
    DatabaseConfig {
        guid: "00000000-0000-4000-8000-000000000000".into(),
        system_code: "kxy-test".into(),
        db_type,
        db_address: address.into(),
        db_user: user.into(),
        db_password: password.into(),
        db_name: db_name.map(str::to_owned),
    }
}

fn with_system(config: &DatabaseConfig, suffix: &str) -> DatabaseConfig {
    DatabaseConfig {
        system_code: format!("{}-{suffix}", config.system_code),
        ..config.clone()
    }
}

fn key(config: &DatabaseConfig, db: &str, table: &str, column: &str) -> SegmentKey {
    SegmentKey::new(&config.system_code, db, table, column).expect("fixture keys are valid")
}

/// Runs every check. `config` must scan only the fixture's database and use a system code no
/// other run uses; each allocator must be empty under that system code. Allocators are only
/// written under system codes derived from `config.system_code`.
pub async fn run_all(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    fixture: &Fixture,
    allocators: &[Arc<dyn SegmentAllocator>],
) {
    assert_eq!(connector.db_type(), fixture.db_type);
    let db = the_database(config, connector).await;
    lists_base_tables_only(connector, &db, fixture).await;
    classifies_every_table(connector, &db, fixture).await;
    reads_every_max_exactly(connector, &db, fixture).await;
    lookups_find_the_real_names(connector, &db, fixture).await;
    hostile_names_are_refused(connector, &db, fixture).await;
    for (i, allocator) in allocators.iter().enumerate() {
        let cfg = with_system(config, &format!("init{i}"));
        initialize_seeds_and_never_lowers(&cfg, connector, &**allocator, fixture).await;
        let cfg = with_system(config, &format!("seed{i}"));
        seed_key_checks_before_writing(&cfg, connector, &**allocator, fixture).await;
        let cfg = with_system(config, &format!("discover{i}"));
        discover_never_writes(&cfg, connector, &**allocator, fixture).await;
    }
}

/// The one database the configuration scans; it is also found in any case.
pub async fn the_database(config: &DatabaseConfig, connector: &dyn DbConnector) -> String {
    let dbs = databases_to_scan(config, connector)
        .await
        .expect("databases to scan");
    assert_eq!(dbs.len(), 1, "{dbs:?}");
    let db = dbs.into_iter().next().expect("one database");
    assert!(
        connector.list_databases().await.unwrap().contains(&db),
        "list_databases misses {db}"
    );
    assert_eq!(
        connector.find_database(&db.to_uppercase()).await.unwrap(),
        Some(db.clone())
    );
    db
}

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

/// Exact lookups match the real name only; `find_*` find it from any case and prefer the
/// exact spelling when two names differ only in case.
pub async fn lookups_find_the_real_names(connector: &dyn DbConnector, db: &str, fixture: &Fixture) {
    let mixed = fixture.mixed_case();
    let Expect::Seedable { column, .. } = &mixed.expect else {
        panic!("MixedCase is seedable");
    };
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

/// [`initialize`] seeds every integer-keyed table, skips the others (writing nothing for
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

/// [`seed_key`] finds tables and columns in any case, seeds from `MAX(column)` (also a
/// non-key integer column), and writes nothing for a missing table or column or a
/// non-integer column.
pub async fn seed_key_checks_before_writing(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
    fixture: &Fixture,
) {
    let db = the_database(config, connector).await;
    let mixed = fixture.mixed_case();
    let Expect::Seedable { column, max } = &mixed.expect else {
        panic!("MixedCase is seedable");
    };
    let k = key(config, &db, &mixed.name, column);
    assert_eq!(k.table_name(), mixed.name.to_lowercase());
    assert_eq!(
        seed_key(config, connector, allocator, &k).await.unwrap(),
        RaiseOutcome::Created { value: *max }
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

/// [`discover`] lists the seedable tables without a counter, with their `MAX`, and writes nothing.
pub async fn discover_never_writes(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
    fixture: &Fixture,
) {
    let db = the_database(config, connector).await;
    let counted = fixture.mixed_case();
    let Expect::Seedable { column, .. } = &counted.expect else {
        panic!("MixedCase is seedable");
    };
    let counted_key = key(config, &db, &counted.name, column);
    allocator.create(&counted_key, 1).await.unwrap();
    let found = discover(config, connector, allocator)
        .await
        .expect("discover");
    for t in &fixture.tables {
        let listed = found.iter().find(|d| d.table == t.name);
        match &t.expect {
            Expect::Seedable { column, max } if t.name != counted.name => {
                let d = listed.unwrap_or_else(|| panic!("{} not discovered: {found:?}", t.name));
                assert_eq!(
                    (&d.database, &d.primary_key, d.max_id),
                    (&db, column, (*max).max(0))
                );
            }
            _ => assert!(listed.is_none(), "{} must not be discovered", t.name),
        }
    }
    let json = serde_json::to_value(&found[0]).unwrap();
    let mut fields: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(fields, ["database", "max_id", "primary_key", "table"]);
    let prefix = format!("{}:", config.system_code.to_lowercase());
    let counters = allocator.list(&prefix).await.unwrap();
    assert_eq!(counters.len(), 1, "discover wrote counters: {counters:?}");
    assert_eq!(allocator.get(&counted_key).await.unwrap(), Some(1));
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

/// A connector to a server that does not answer fails with [`Error::Connect`] naming
/// `target`, without the password, on every operation.
pub async fn unreachable_server_is_a_connect_error(
    connector: &dyn DbConnector,
    target: &str,
    password: &str,
) {
    let results = [
        connector.list_databases().await.map(|_| ()),
        connector.list_tables("db").await.map(|_| ()),
        connector.max_value("db", "t", "id").await.map(|_| ()),
    ];
    for result in results {
        let err = result.expect_err("nothing listens there");
        let msg = err.to_string();
        assert!(matches!(err, Error::Connect { .. }), "{msg}");
        assert!(msg.contains(target), "{msg}");
        assert!(!msg.contains(password), "{msg}");
    }
    assert!(!format!("{connector:?}").contains(password));
}

/// Fresh allocators for [`run_all`]: memory and SQLite on a temporary file, where compiled
/// in. Keep the returned directory until the allocators are done.
#[cfg(test)]
pub(crate) async fn allocators_for_tests() -> (Vec<Arc<dyn SegmentAllocator>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    #[allow(unused_mut)]
    let mut out: Vec<Arc<dyn SegmentAllocator>> = Vec::new();
    #[cfg(feature = "memory")]
    out.push(Arc::new(crate::MemoryAllocator::new()));
    #[cfg(feature = "sqlite")]
    out.push(Arc::new(
        crate::SqliteAllocator::open(dir.path().join("counters.db"))
            .await
            .expect("open SQLite"),
    ));
    (out, dir)
}
