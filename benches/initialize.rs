//! `initialize` of a business database with many tables: seconds per 1,000 tables.
//!
//! `cargo bench --bench initialize` creates 500 one-row tables (`KXY_BENCH_TABLES` sets the
//! number; the long mode is `KXY_BENCH_TABLES=10000 cargo bench --bench initialize`) in a fresh
//! MariaDB and PostgreSQL database (`KXY_TEST_MYSQL_URL`, `KXY_TEST_POSTGRES_URL`; a server
//! that is unreachable is skipped with a notice), then times the first `initialize` of a
//! configuration scanning it, with the server's default store (SQLite, reserving ahead) on a
//! temporary file, after the scanner's pass over the same database (catalog and `MAX` reads
//! without writes, timed on its own row). Creating the tables is not timed. `KXY_BENCH_DB_CONNECTIONS` sets the
//! connections the connector may open (the server's `--db-max-connections`, default 4).

use std::time::{Duration, Instant};

use kxy_id::testing::TestDatabase;
mod support;
use support::{bench_runtime, env_number};

use kxy_id::{ConnectorOptions, DatabaseInput, DbType, IdService, SecretBox, ServiceOptions};

/// Statements per round trip while the tables are created.
const CHUNK: usize = 200;

/// `CREATE TABLE` and one row for table `i`, in the dialect's quoting.
fn table_ddl(db_type: DbType, i: usize) -> String {
    let name = format!("t_{i:05}");
    match db_type {
        DbType::MySql => format!(
            "CREATE TABLE `{name}` (id BIGINT PRIMARY KEY, v INT); INSERT INTO `{name}` VALUES ({i}, 0);"
        ),
        _ => format!(
            "CREATE TABLE \"{name}\" (id BIGINT PRIMARY KEY, v INT); INSERT INTO \"{name}\" VALUES ({i}, 0);"
        ),
    }
}

/// The statements creating `tables` tables, several a round trip.
fn ddl(db_type: DbType, tables: usize) -> Vec<String> {
    (0..tables)
        .collect::<Vec<_>>()
        .chunks(CHUNK)
        .map(|chunk| chunk.iter().map(|&i| table_ddl(db_type, i)).collect())
        .collect()
}

/// `host:port` and user of a test server URL (`mysql://root@127.0.0.1:3306`).
fn address_and_user(server_url: &str) -> (String, String) {
    let rest = server_url.split("://").nth(1).unwrap_or(server_url);
    let (userinfo, host) = rest.split_once('@').unwrap_or(("", rest));
    let host = host.split('/').next().unwrap_or(host).to_owned();
    let user = userinfo.split(':').next().unwrap_or("").to_owned();
    (host, user)
}

/// Creates the tables in `db`, times `initialize` over them and prints the row.
async fn run(label: &str, db_type: DbType, db: TestDatabase, tables: usize, connections: u32) {
    let started = Instant::now();
    db.execute(&ddl(db_type, tables)).await;
    eprintln!(
        "{label}: created {tables} tables in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().expect("a temp dir");
    let store_url = format!("sqlite://{}", dir.path().join("counters.db").display());
    let options = kxy_id::store::OpenOptions::default()
        .connect_timeout(Duration::from_secs(5))
        .reserve(Some(kxy_id::ReserveOptions {
            min_block: 100_000,
            max_block: 100_000_000,
            ..Default::default()
        }));
    let store = kxy_id::store::open(&store_url, &options)
        .await
        .expect("open the store");
    let service = IdService::new(
        store.allocator,
        store.meta,
        SecretBox::from_text(&SecretBox::generate_key_text()).expect("a key"),
        ServiceOptions {
            connector: ConnectorOptions {
                max_connections: connections,
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let (address, user) = address_and_user(&db.server_url);
    let config = service
        .add_database(DatabaseInput {
            system_code: "bench".into(),
            db_type,
            db_address: address,
            db_user: user,
            db_password: String::new(),
            db_name: Some(db.name.clone()),
        })
        .await
        .expect("add the configuration");
    // The scanner's pass reads the same catalog and MAX values but writes no counter.
    let started = Instant::now();
    let summary = service.scan_once().await.expect("scan");
    let scan_seconds = started.elapsed().as_secs_f64();
    assert_eq!(summary.discovered, tables, "every table is discovered");
    let started = Instant::now();
    let result = service.initialize(&config.guid).await.expect("initialize");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(result.initialized_count, tables, "every table is seeded");
    assert!(
        result.report.errors.is_empty(),
        "{:?}",
        result.report.errors
    );
    let per_1000 = |s: f64| s * 1000.0 / tables as f64;
    println!(
        "| {label} | {tables} | {connections} | {scan_seconds:.2} s ({:.2} s) | {seconds:.2} s ({:.2} s) |",
        per_1000(scan_seconds),
        per_1000(seconds),
    );
    drop(service);
    db.remove().await;
}

fn main() {
    let Some(rt) = bench_runtime() else {
        return;
    };
    let tables = env_number("KXY_BENCH_TABLES", 500) as usize;
    let connections = env_number("KXY_BENCH_DB_CONNECTIONS", 4) as u32;
    rt.block_on(async {
        println!(
            "| database | tables | connections | scanner pass (per 1,000 tables) | initialize (per 1,000 tables) |"
        );
        println!("|---|---|---|---|---|");
        if let Some(db) = TestDatabase::mysql().await {
            run("MariaDB", DbType::MySql, db, tables, connections).await;
        }
        if let Some(db) = TestDatabase::postgres().await {
            run("PostgreSQL", DbType::Postgres, db, tables, connections).await;
        }
    });
}
