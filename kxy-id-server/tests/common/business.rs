//! Business databases for the server to read: the MariaDB fixture tables, the configuration
//! request that points the server at a test database, and a server set up over both.

use kxy_id::testing::TestDatabase;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::{TestServer, settings};

/// Creates `t_order` (MAX(id) 1234), a UUID-keyed pair of tables with a foreign key, `t_log`
/// (no primary key), then runs `extra`.
pub async fn mysql_tables(db: &TestDatabase, extra: &[&str]) {
    let mut statements: Vec<String> = [
        "CREATE TABLE t_order (id BIGINT PRIMARY KEY, note VARCHAR(20))",
        "INSERT INTO t_order VALUES (41, 'a'), (1234, 'b')",
        "CREATE TABLE tp_account (ACCOUNT_ID VARCHAR(36) PRIMARY KEY)",
        "CREATE TABLE tp_keycloak_account (id VARCHAR(36) NOT NULL PRIMARY KEY, account_id VARCHAR(36) NOT NULL UNIQUE, \
         CONSTRAINT fk_kc FOREIGN KEY (account_id) REFERENCES tp_account (ACCOUNT_ID) ON DELETE CASCADE ON UPDATE CASCADE)",
        "INSERT INTO tp_account VALUES ('0b7e8c1a-2f7d-4c55-9a55-6b1e7b0b9d11')",
        "INSERT INTO tp_keycloak_account VALUES ('5f0c0b7e-8c1a-4f7d-9c55-9a556b1e7b0b', '0b7e8c1a-2f7d-4c55-9a55-6b1e7b0b9d11')",
        "CREATE TABLE t_log (ts INT)",
    ]
    .map(String::from)
    .into();
    statements.extend(extra.iter().map(|s| s.to_string()));
    db.execute_mysql(&statements).await;
}

/// The tables the API tests expect: [`mysql_tables`] and `t_empty` (an integer key, no rows).
pub async fn mysql_fixture(db: &TestDatabase) {
    mysql_tables(db, &["CREATE TABLE t_empty (id INT PRIMARY KEY)"]).await;
}

/// `POST /api/database/add` for system `Shop` and the MariaDB test database `db`, with the
/// account of the server URL.
pub fn db_request(db: &TestDatabase) -> Value {
    let account = Account::of(db);
    json!({"system_code": "Shop", "db_type": "mysql", "db_address": account.address, "db_user": account.user, "db_password": account.password, "db_name": db.name})
}

/// How the server reaches a test database: the address, user and password of its server URL
/// (`mysql://root@127.0.0.1:3306`, `postgres://postgres@127.0.0.1:5432/postgres`).
pub struct Account {
    pub address: String,
    pub user: String,
    pub password: String,
}

impl Account {
    pub fn of(db: &TestDatabase) -> Account {
        let url = db.server_url.split_once("://").map_or("", |(_, rest)| rest);
        let (userinfo, host) = url.rsplit_once('@').unwrap_or(("root", url));
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        Account {
            address: host.split(['/', '?']).next().unwrap_or(host).to_owned(),
            user: user.to_owned(),
            password: password.to_owned(),
        }
    }
}

/// Whether some entry of the JSON array `list` has `field` equal to `value`.
pub fn has(list: &Value, field: &str, value: &str) -> bool {
    list.as_array()
        .is_some_and(|a| a.iter().any(|e| e[field] == value))
}

/// A server on the embedded store, its admin logged in, with [`mysql_fixture`] in a fresh
/// MariaDB database added as the configuration of system `Shop`: `(db, server, token, guid,
/// data_dir)`; keep `data_dir` until the server is dropped. `None` (the test passes without
/// running) when MariaDB is unreachable.
pub async fn over_mariadb() -> Option<(TestDatabase, TestServer, String, String, TempDir)> {
    let db = TestDatabase::mysql().await?;
    mysql_fixture(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&settings(dir.path(), None)).await;
    let token = server.admin_token().await;
    let guid = server.add_database(&token, db_request(&db)).await;
    Some((db, server, token, guid, dir))
}

/// [`over_mariadb`] for tests that only fan requests out over tasks: the database, the server
/// shared with the tasks, and the data directory.
pub async fn over_mariadb_shared() -> Option<(TestDatabase, std::sync::Arc<TestServer>, TempDir)> {
    let (db, server, _token, _guid, dir) = over_mariadb().await?;
    Some((db, std::sync::Arc::new(server), dir))
}

/// The shared Redis's URL and a fresh MariaDB database with [`mysql_fixture`]; `None` (the
/// test passes without running) when either is unreachable.
pub async fn redis_and_mariadb() -> Option<(String, TestDatabase)> {
    let url = kxy_id::testing::redis_url().await?;
    let db = TestDatabase::mysql().await?;
    mysql_fixture(&db).await;
    Some((url, db))
}
