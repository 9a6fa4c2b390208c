//! Helpers for tests that use the live services of a test machine.
//!
//! Service URLs come from environment variables with the local defaults:
//!
//! | variable | default |
//! |---|---|
//! | `KXY_TEST_REDIS_URL` | `redis://127.0.0.1:6379/` |
//! | `KXY_TEST_MYSQL_URL` | `mysql://root@127.0.0.1:3306` |
//! | `KXY_TEST_POSTGRES_URL` | `postgres://postgres@127.0.0.1:5432/postgres` |
//! | `KXY_TEST_MSSQL_URL` | none: SQL Server tests run only when set (`mssql://sa:password@127.0.0.1:1433`) |
//! | `KXY_TEST_ORACLE_URL` | none: Oracle tests run only when set (`oracle://user:password@127.0.0.1:1521/FREEPDB1`) |
//!
//! A test that cannot reach its service prints a notice and passes (skips), unless
//! `KXY_TEST_REQUIRE_SERVICES=1`, when it fails. Each test creates its own uniquely named
//! database (or key prefix) and removes it at the end.

pub mod allocator;
pub mod connector;
pub mod meta;
pub mod redis_server;

/// `true` when `KXY_TEST_REQUIRE_SERVICES=1`: unreachable services fail tests instead of skipping them.
pub fn services_required() -> bool {
    std::env::var("KXY_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The URL of a service: the environment variable `env` or `default`.
pub fn service_url(env: &str, default: &str) -> String {
    std::env::var(env)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Reports an unreachable service: panics when services are required, otherwise prints a
/// notice so the caller can skip.
pub fn unreachable(service: &str, url: &str, error: impl std::fmt::Display) {
    let url = crate::redact_url(url);
    if services_required() {
        panic!(
            "{service} at {url} is required (KXY_TEST_REQUIRE_SERVICES=1) but unreachable: {error}"
        );
    }
    eprintln!("NOTICE: skipping, {service} at {url} is unreachable: {error}");
}

/// A name no other test run uses, usable as a database name: `kxy_test_{pid}_{nanos}`.
pub fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "kxy_test_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

/// A [`DatabaseConfig`](crate::DatabaseConfig) for the server of a test URL
/// (`scheme://user[:password]@host[:port][/...]`, percent-escapes decoded), scanning `db_name`.
pub fn database_config_from_url(
    url: &str,
    db_type: crate::DbType,
    db_name: Option<&str>,
) -> crate::DatabaseConfig {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let (userinfo, address) = match authority.rsplit_once('@') {
        Some((u, a)) => (u, a),
        None => ("", authority),
    };
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    crate::DatabaseConfig {
        guid: "00000000-0000-4000-8000-000000000000".into(),
        system_code: allocator::unique_prefix(),
        db_type,
        db_address: address.to_owned(),
        db_user: percent_decode(user),
        db_password: percent_decode(password),
        db_name: db_name.map(str::to_owned),
    }
}

/// Decodes `%XX` escapes of a URL part.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The Redis URL for tests, `None` (after a notice) when Redis is unreachable.
#[cfg(feature = "redis")]
pub async fn redis_url() -> Option<String> {
    let url = service_url("KXY_TEST_REDIS_URL", "redis://127.0.0.1:6379/");
    let probe = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), probe).await {
        Ok(Ok(_)) => Some(url),
        Ok(Err(e)) => {
            unreachable("Redis", &url, e);
            None
        }
        Err(_) => {
            unreachable("Redis", &url, "timed out");
            None
        }
    }
}

/// A database created for one test on a live MySQL/MariaDB or PostgreSQL server.
#[cfg(any(feature = "mysql", feature = "postgres"))]
#[derive(Debug)]
pub struct TestDatabase {
    /// The server URL without a database (`mysql://root@127.0.0.1:3306`).
    pub server_url: String,
    /// The URL of the created database.
    pub url: String,
    /// The database's name.
    pub name: String,
    /// Set once the database was dropped on purpose; otherwise `Drop` removes it (a test that
    /// panicked before its cleanup leaves nothing behind).
    dropped: bool,
}

#[cfg(any(feature = "mysql", feature = "postgres"))]
impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        // Drop runs inside a test's runtime; use a thread with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                #[cfg(feature = "mysql")]
                if server_url.starts_with("mysql:") {
                    if let Ok(mut conn) = sqlx::MySqlConnection::connect(&server_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS `{name}`");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .execute(&mut conn)
                            .await;
                    }
                    return;
                }
                #[cfg(feature = "postgres")]
                if let Ok(mut conn) = sqlx::PgConnection::connect(&server_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

#[cfg(any(feature = "mysql", feature = "postgres"))]
fn with_database(server_url: &str, name: &str) -> String {
    // Replace the path of the URL (if any) with the database name, keeping the query.
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..]
        .find('/')
        .map(|i| i + after_scheme)
        .unwrap_or(base.len());
    let mut url = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

#[cfg(feature = "mysql")]
impl TestDatabase {
    /// Creates a fresh MySQL/MariaDB database, `None` (after a notice) when the server is unreachable.
    pub async fn mysql() -> Option<TestDatabase> {
        use sqlx::Connection;
        let server_url = service_url("KXY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306");
        let name = unique_name();
        let connect = sqlx::MySqlConnection::connect(&server_url);
        let mut conn = match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                unreachable("MySQL", &server_url, e);
                return None;
            }
            Err(_) => {
                unreachable("MySQL", &server_url, "timed out");
                return None;
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )))
        .execute(&mut conn)
        .await
        .expect("create the test database");
        let _ = conn.close().await;
        Some(TestDatabase {
            url: with_database(&server_url, &name),
            server_url,
            name,
            dropped: false,
        })
    }

    /// Runs statements in the test database, one by one (fixture DDL).
    pub async fn execute_mysql(&self, statements: &[String]) {
        use sqlx::Connection;
        let mut conn = sqlx::MySqlConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        for sql in statements {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("fixture statement failed: {e}\n{sql}"));
        }
        let _ = conn.close().await;
    }

    /// Drops a MySQL test database.
    pub async fn drop_mysql(mut self) {
        use sqlx::Connection;
        let mut conn = sqlx::MySqlConnection::connect(&self.server_url)
            .await
            .expect("reconnect to drop");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS `{}`",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("drop the test database");
        let _ = conn.close().await;
        self.dropped = true;
    }
}

#[cfg(feature = "postgres")]
impl TestDatabase {
    /// Creates a fresh PostgreSQL database, `None` (after a notice) when the server is unreachable.
    pub async fn postgres() -> Option<TestDatabase> {
        use sqlx::Connection;
        let server_url = service_url(
            "KXY_TEST_POSTGRES_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        );
        let name = unique_name();
        let connect = sqlx::PgConnection::connect(&server_url);
        let mut conn = match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                unreachable("PostgreSQL", &server_url, e);
                return None;
            }
            Err(_) => {
                unreachable("PostgreSQL", &server_url, "timed out");
                return None;
            }
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0"
        )))
        .execute(&mut conn)
        .await
        .expect("create the test database");
        let _ = conn.close().await;
        Some(TestDatabase {
            url: with_database(&server_url, &name),
            server_url,
            name,
            dropped: false,
        })
    }

    /// Runs statements in the test database, one by one (fixture DDL).
    pub async fn execute_postgres(&self, statements: &[String]) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        for sql in statements {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("fixture statement failed: {e}\n{sql}"));
        }
        let _ = conn.close().await;
    }

    /// Drops a PostgreSQL test database (closing other sessions on it first).
    pub async fn drop_postgres(mut self) {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.server_url)
            .await
            .expect("reconnect to drop");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("drop the test database");
        let _ = conn.close().await;
        self.dropped = true;
    }
}

#[cfg(test)]
mod url_tests {
    use super::database_config_from_url;
    use crate::DbType;

    #[test]
    fn test_urls_become_configurations() {
        let c =
            database_config_from_url("mssql://sa:p%40ss@db.local:1444", DbType::SqlServer, None);
        assert_eq!(
            (
                c.db_user.as_str(),
                c.db_password.as_str(),
                c.db_address.as_str()
            ),
            ("sa", "p@ss", "db.local:1444")
        );
        let c = database_config_from_url(
            "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
            DbType::Postgres,
            Some("x"),
        );
        assert_eq!(
            (
                c.db_user.as_str(),
                c.db_password.as_str(),
                c.db_address.as_str()
            ),
            ("postgres", "", "127.0.0.1:5432")
        );
        assert_eq!(c.db_name.as_deref(), Some("x"));
        let c =
            database_config_from_url("oracle://kxy:pw@[::1]:1521/FREEPDB1", DbType::Oracle, None);
        assert_eq!(c.endpoint().unwrap().port, 1521);
        assert_eq!(c.db_password, "pw");
    }
}

#[cfg(all(test, any(feature = "mysql", feature = "postgres")))]
mod tests {
    use super::with_database;

    #[test]
    fn database_replaces_the_url_path() {
        assert_eq!(
            with_database("mysql://root@h:3306", "x"),
            "mysql://root@h:3306/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
