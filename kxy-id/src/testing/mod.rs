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
pub mod certs;
pub mod connector;
#[cfg(any(feature = "mysql", feature = "postgres"))]
mod database;
pub mod meta;
#[cfg(feature = "test-util")]
pub mod pki;
pub mod redis_cluster;
pub mod redis_sentinel;
pub mod redis_server;

#[cfg(any(feature = "mysql", feature = "postgres"))]
pub use database::TestDatabase;

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
