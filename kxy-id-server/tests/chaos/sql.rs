//! The SQL side of the suite: test databases, business tables, and cutting a store's connections.

use kxy_id::testing::TestDatabase;
use sqlx::Connection;

/// Runs `future` on a runtime of its own (the suite is synchronous).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// A fresh MariaDB database, `None` after a NOTICE when MariaDB is unreachable.
pub fn mysql() -> Option<TestDatabase> {
    block_on(TestDatabase::mysql())
}

/// A fresh PostgreSQL database, `None` after a NOTICE when PostgreSQL is unreachable.
pub fn postgres() -> Option<TestDatabase> {
    block_on(TestDatabase::postgres())
}

/// Creates business tables `t0..t{n}` with a BIGINT primary key whose MAX is `max_id`.
pub fn business_tables(db: &TestDatabase, n: usize, max_id: i64) {
    let mut statements = Vec::new();
    for i in 0..n {
        statements.push(format!(
            "CREATE TABLE t{i} (id BIGINT PRIMARY KEY, note VARCHAR(20))"
        ));
        statements.push(format!(
            "INSERT INTO t{i} (id, note) VALUES (1, 'first'), ({max_id}, 'last')"
        ));
    }
    block_on(db.execute_mysql(&statements));
}

/// MariaDB: `KILL` every connection to the database `db` but this one; how many.
pub fn kill_mysql_connections(db: &TestDatabase) -> usize {
    block_on(end_sessions::<sqlx::MySqlConnection>(
        db,
        "MariaDB",
        "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
        |id| format!("KILL {id}"),
    ))
}

/// PostgreSQL: `pg_terminate_backend` of every session on the database `db` but this one; how many.
pub fn terminate_postgres_connections(db: &TestDatabase) -> usize {
    block_on(end_sessions::<sqlx::PgConnection>(
        db,
        "PostgreSQL",
        "SELECT pid::BIGINT FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        // `pg_terminate_backend` answers false for a session that is gone already: an error
        // here, so that only the sessions it ended count.
        |pid| {
            format!(
                "DO $$ BEGIN IF NOT pg_terminate_backend({pid}) THEN RAISE 'session {pid} not terminated'; END IF; END $$"
            )
        },
    ))
}

/// Connects to the server of `db` (`server` names it), lists the sessions on the database `db`
/// but this one with `list` (the database name bound to its one parameter), and ends each with
/// the statement `end` gives; how many of those succeeded.
async fn end_sessions<C>(
    db: &TestDatabase,
    server: &str,
    list: &'static str,
    end: impl Fn(i64) -> String,
) -> usize
where
    C: Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
    <C::Database as sqlx::Database>::Arguments: sqlx::IntoArguments<C::Database>,
    (i64,): for<'r> sqlx::FromRow<'r, <C::Database as sqlx::Database>::Row>,
    for<'q> &'q str: sqlx::Encode<'q, C::Database> + sqlx::Type<C::Database>,
{
    let mut conn = C::connect(&db.server_url)
        .await
        .unwrap_or_else(|e| panic!("connect to {server}: {e}"));
    let ids: Vec<i64> = sqlx::query_scalar(list)
        .bind(db.name.as_str())
        .fetch_all(&mut conn)
        .await
        .expect("list the connections");
    let mut ended = 0;
    for id in ids {
        if sqlx::query(sqlx::AssertSqlSafe(end(id)))
            .execute(&mut conn)
            .await
            .is_ok()
        {
            ended += 1;
        }
    }
    let _ = conn.close().await;
    ended
}
