//! The fixture schema of each dialect: the same kinds of tables (see [`Fixture`]), in the
//! dialect's types and quoting, with what its connector must report for each.

use super::fixture::{
    Expect, Fixture, NEAR_2_63, PAST_2_53, case_twins, non_integer, quoted_names_ddl, seedable,
    shared_schema, shared_tables, statements, table, uuid_rows,
};
use crate::config::DbType;

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
        ];
        let rest = [
            "CREATE TABLE `dq\"name` (id INT PRIMARY KEY)",
            "INSERT INTO `dq\"name` VALUES (3)",
            "CREATE VIEW v_accounts AS SELECT ACCOUNT_ID FROM tp_account",
        ];
        let quoted = quoted_names_ddl(|n| format!("`{n}`"), "INT", "BIGINT", true);
        let tables = [
            vec![seedable("t_tinyint", "id", 127)],
            shared_tables("ACCOUNT_ID", "varchar(36)"),
            vec![
                seedable("t_mediumint", "id", 8_388_607),
                seedable("t_unsigned", "id", 42),
                table(
                    "t_unsigned_huge",
                    Expect::OutOfRange {
                        column: "id".into(),
                    },
                ),
                seedable("t_negative", "id", -5),
                seedable("dq\"name", "id", 3),
            ],
            case_twins("CaseTwin", "casetwin", "id"),
        ]
        .concat();
        shared_schema(DbType::MySql, statements(&ddl, quoted, &rest), tables)
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
        ];
        let rest = [
            "CREATE TABLE \"bq`name\" (id integer PRIMARY KEY)",
            "INSERT INTO \"bq`name\" VALUES (3)",
            "CREATE VIEW v_accounts AS SELECT account_id FROM tp_account",
            "CREATE SCHEMA other",
            "CREATE TABLE other.t_other_schema (id integer PRIMARY KEY)",
            "INSERT INTO other.t_other_schema VALUES (1)",
        ];
        let quoted = quoted_names_ddl(|n| format!("\"{n}\""), "integer", "bigint", true);
        let tables = [
            shared_tables("account_id", "character varying(36)"),
            vec![
                seedable("t_serial", "id", 3),
                seedable("t_bigserial", "id", 5_000_000_000),
                seedable("t_smallserial", "id", 2),
                seedable("t_identity", "id", 2),
                seedable("t_negative", "id", -5),
                non_integer("t_numeric", "id", "numeric(20,0)"),
                seedable("t_partitioned", "id", 999),
                seedable("bq`name", "id", 3),
            ],
            case_twins("CaseTwin", "casetwin", "id"),
        ]
        .concat();
        let mut fixture = shared_schema(DbType::Postgres, statements(&ddl, quoted, &rest), tables);
        // A partition is part of its parent table, and only schema `public` is read.
        fixture
            .not_listed
            .extend(["t_partitioned_p1".into(), "t_other_schema".into()]);
        fixture
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
        ];
        let rest = ["CREATE VIEW v_accounts AS SELECT ACCOUNT_ID FROM tp_account"];
        // The default collation is case-insensitive: no case twins.
        let quoted = quoted_names_ddl(|n| format!("[{n}]"), "INT", "BIGINT", false);
        let tables = [
            vec![seedable("t_tinyint", "id", 255)],
            shared_tables("ACCOUNT_ID", "varchar(36)"),
            vec![non_integer("t_decimal_huge", "id", "decimal(38,0)")],
        ]
        .concat();
        Fixture {
            case_twins: false,
            ..shared_schema(DbType::SqlServer, statements(&ddl, quoted, &rest), tables)
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
            ]
            .into_iter()
            .chain(case_twins("KXYT_CaseTwin", "kxyt_casetwin", "ID"))
            .collect(),
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
}
