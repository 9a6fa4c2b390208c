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
    block_on(async {
        let mut conn = sqlx::MySqlConnection::connect(&db.server_url)
            .await
            .expect("connect to MariaDB");
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT CAST(ID AS SIGNED) FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
        )
        .bind(&db.name)
        .fetch_all(&mut conn)
        .await
        .expect("list the connections");
        let mut killed = 0;
        for id in ids {
            let sql = format!("KILL {id}");
            if sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .is_ok()
            {
                killed += 1;
            }
        }
        let _ = conn.close().await;
        killed
    })
}

/// PostgreSQL: `pg_terminate_backend` of every session on the database `db` but this one; how many.
pub fn terminate_postgres_connections(db: &TestDatabase) -> usize {
    block_on(async {
        let mut conn = sqlx::PgConnection::connect(&db.server_url)
            .await
            .expect("connect to PostgreSQL");
        let done: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&db.name)
        .fetch_all(&mut conn)
        .await
        .expect("terminate the sessions");
        let _ = conn.close().await;
        done.into_iter().filter(|d| *d).count()
    })
}
