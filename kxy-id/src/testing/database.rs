//! [`TestDatabase`]: a database created for one test on a live MySQL/MariaDB or PostgreSQL
//! server, and removed afterwards (also when the test panics).
//!
//! Both servers are handled by the same code; [`Server`] holds what differs between them
//! (where the server is, how a name is quoted, how a database is created and dropped).

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, Executor};

use super::{service_url, unique_name, unreachable};

/// The kinds of server a test database can live on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    #[cfg(feature = "mysql")]
    MySql,
    #[cfg(feature = "postgres")]
    Postgres,
}

impl Server {
    /// The server's name in notices.
    fn label(self) -> &'static str {
        match self {
            #[cfg(feature = "mysql")]
            Server::MySql => "MySQL",
            #[cfg(feature = "postgres")]
            Server::Postgres => "PostgreSQL",
        }
    }

    /// The server URL (without a database) from the environment, or the local default.
    fn url(self) -> String {
        match self {
            #[cfg(feature = "mysql")]
            Server::MySql => service_url("KXY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306"),
            #[cfg(feature = "postgres")]
            Server::Postgres => service_url(
                "KXY_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/postgres",
            ),
        }
    }

    /// `CREATE DATABASE` with a full Unicode character set (fixtures use CJK comments).
    fn create_sql(self, name: &str) -> String {
        match self {
            #[cfg(feature = "mysql")]
            Server::MySql => {
                format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            }
            #[cfg(feature = "postgres")]
            Server::Postgres => {
                format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
            }
        }
    }

    /// `DROP DATABASE`; PostgreSQL refuses while sessions are open, so they are closed first.
    fn drop_sql(self, name: &str) -> String {
        match self {
            #[cfg(feature = "mysql")]
            Server::MySql => format!("DROP DATABASE IF EXISTS `{name}`"),
            #[cfg(feature = "postgres")]
            Server::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        }
    }

    /// Connects to `url` (giving up after `connect_timeout`, if any) and runs `statements`
    /// one by one.
    async fn execute(
        self,
        url: &str,
        connect_timeout: Option<Duration>,
        statements: &[String],
    ) -> Result<(), Failure> {
        match self {
            #[cfg(feature = "mysql")]
            Server::MySql => {
                execute_on::<sqlx::MySqlConnection>(url, connect_timeout, statements).await
            }
            #[cfg(feature = "postgres")]
            Server::Postgres => {
                execute_on::<sqlx::PgConnection>(url, connect_timeout, statements).await
            }
        }
    }
}

/// Why [`Server::execute`] failed.
#[derive(Debug)]
enum Failure {
    /// The server could not be reached (the reason in words).
    Connect(String),
    /// A statement failed.
    Statement(String, sqlx::Error),
}

/// [`Server::execute`] for one driver.
async fn execute_on<C>(
    url: &str,
    connect_timeout: Option<Duration>,
    statements: &[String],
) -> Result<(), Failure>
where
    C: Connection,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
{
    let connect = C::connect(url);
    let connected = match connect_timeout {
        Some(timeout) => tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| Failure::Connect("timed out".into()))?,
        None => connect.await,
    };
    let mut conn = connected.map_err(|e| Failure::Connect(e.to_string()))?;
    for sql in statements {
        sqlx::raw_sql(AssertSqlSafe(sql.clone()))
            .execute(&mut conn)
            .await
            .map_err(|e| Failure::Statement(sql.clone(), e))?;
    }
    let _ = conn.close().await;
    Ok(())
}

/// A database created for one test on a live MySQL/MariaDB or PostgreSQL server.
#[derive(Debug)]
pub struct TestDatabase {
    /// The server URL without a database (`mysql://root@127.0.0.1:3306`).
    pub server_url: String,
    /// The URL of the created database.
    pub url: String,
    /// The database's name.
    pub name: String,
    /// The server it lives on.
    server: Server,
    /// Set once the database was dropped on purpose; otherwise `Drop` removes it (a test that
    /// panicked before its cleanup leaves nothing behind).
    dropped: bool,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (server, server_url) = (self.server, self.server_url.clone());
        let sql = server.drop_sql(&self.name);
        // Drop runs inside a test's runtime; use a thread with a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let _ = rt.block_on(server.execute(&server_url, None, &[sql]));
        });
        let _ = cleanup.join();
    }
}

impl TestDatabase {
    /// Creates a fresh database on `server`, `None` (after a notice) when it is unreachable.
    async fn create(server: Server) -> Option<TestDatabase> {
        let server_url = server.url();
        let name = unique_name();
        let create = [server.create_sql(&name)];
        match server
            .execute(&server_url, Some(Duration::from_secs(5)), &create)
            .await
        {
            Ok(()) => {}
            Err(Failure::Connect(reason)) => {
                unreachable(server.label(), &server_url, reason);
                return None;
            }
            Err(Failure::Statement(_, e)) => panic!("create the test database: {e}"),
        }
        Some(TestDatabase {
            url: with_database(&server_url, &name),
            server_url,
            name,
            server,
            dropped: false,
        })
    }

    /// Runs statements in the test database, one by one (fixture DDL).
    pub async fn execute(&self, statements: &[String]) {
        match self.server.execute(&self.url, None, statements).await {
            Ok(()) => {}
            Err(Failure::Connect(e)) => panic!("connect to the test database: {e}"),
            Err(Failure::Statement(sql, e)) => panic!("fixture statement failed: {e}\n{sql}"),
        }
    }

    /// Drops the test database (on PostgreSQL closing other sessions on it first).
    pub async fn remove(mut self) {
        let sql = self.server.drop_sql(&self.name);
        match self.server.execute(&self.server_url, None, &[sql]).await {
            Ok(()) => {}
            Err(Failure::Connect(e)) => panic!("reconnect to drop: {e}"),
            Err(Failure::Statement(_, e)) => panic!("drop the test database: {e}"),
        }
        self.dropped = true;
    }
}

/// One constructor per server, and the per-server names callers use for
/// [`execute`](TestDatabase::execute) and [`remove`](TestDatabase::remove).
impl TestDatabase {
    /// Creates a fresh MySQL/MariaDB database, `None` (after a notice) when the server is unreachable.
    #[cfg(feature = "mysql")]
    pub async fn mysql() -> Option<TestDatabase> {
        Self::create(Server::MySql).await
    }

    /// Creates a fresh PostgreSQL database, `None` (after a notice) when the server is unreachable.
    #[cfg(feature = "postgres")]
    pub async fn postgres() -> Option<TestDatabase> {
        Self::create(Server::Postgres).await
    }

    /// Runs statements in the test database, one by one (fixture DDL); the same as
    /// [`execute`](Self::execute).
    #[cfg(feature = "mysql")]
    pub async fn execute_mysql(&self, statements: &[String]) {
        self.execute(statements).await;
    }

    /// Runs statements in the test database, one by one (fixture DDL); the same as
    /// [`execute`](Self::execute).
    #[cfg(feature = "postgres")]
    pub async fn execute_postgres(&self, statements: &[String]) {
        self.execute(statements).await;
    }

    /// Drops a MySQL test database; the same as [`remove`](Self::remove).
    #[cfg(feature = "mysql")]
    pub async fn drop_mysql(self) {
        self.remove().await;
    }

    /// Drops a PostgreSQL test database (closing other sessions on it first); the same as
    /// [`remove`](Self::remove).
    #[cfg(feature = "postgres")]
    pub async fn drop_postgres(self) {
        self.remove().await;
    }
}

/// The server URL with its path (if any) replaced by the database name, keeping the query.
fn with_database(server_url: &str, name: &str) -> String {
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

#[cfg(test)]
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
