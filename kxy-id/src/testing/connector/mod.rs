//! The conformance suite every [`DbConnector`] runs, over a fixture schema.
//!
//! A [`Fixture`] is one dialect's DDL for the same set of tables (integer keys of every type,
//! an empty table, tables without a key or with a composite key, the UUID-keyed
//! `tp_keycloak_account` of the seed document, awkward names, a view, values near 2^53 and
//! 2^63) with what the connector must report for each. A test creates a fresh database,
//! runs the fixture's DDL in it, and calls [`run_all`] with a configuration scanning only that
//! database; plain `pub async fn` checks, so a failing one names itself. What differs between
//! databases is a parameter of the fixture (`exact_table_list`, `case_twins`, `not_listed`),
//! never a different check.
//!
//! - `fixture.rs` ([`Fixture`], [`Expect`]) and `schemas.rs` (one schema per dialect);
//! - `catalog.rs`: databases, tables, primary keys and `MAX` as the catalog reports them;
//! - `names.rs`: lookups in any case and hostile names;
//! - `initialize.rs`, `seed.rs`, `discover.rs`: the service's seeding over the connector;
//! - `unreachable.rs`: a server that does not answer.
//!
//! Compiled for this crate's tests and, for other crates, under the `test-util` feature.

use std::sync::Arc;

use crate::allocator::SegmentAllocator;
use crate::config::{DatabaseConfig, DbType};
use crate::connector::DbConnector;
use crate::key::SegmentKey;
use crate::service::scan::databases_to_scan;

mod catalog;
mod discover;
mod fixture;
mod initialize;
mod names;
mod schemas;
mod seed;
mod unreachable;

pub use catalog::{
    classifies_every_table, lists_base_tables_only, reads_every_max_exactly,
    schema_keys_match_table_keys, system_databases_are_hidden,
};
pub use discover::discover_never_writes;
pub use fixture::{Expect, Fixture, FixtureTable, NEAR_2_63, PAST_2_53};
pub use initialize::initialize_seeds_and_never_lowers;
pub use names::{hostile_names_are_refused, lookups_find_the_real_names};
pub use seed::seed_key_checks_before_writing;
pub use unreachable::unreachable_server_is_a_connect_error;

#[cfg(test)]
pub(crate) use unreachable::silent_server_is_a_connect_error;

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

/// `config` under a system code of its own (`{system}-{suffix}`), so that checks sharing an
/// allocator never see each other's counters.
fn with_system(config: &DatabaseConfig, suffix: &str) -> DatabaseConfig {
    DatabaseConfig {
        system_code: format!("{}-{suffix}", config.system_code),
        ..config.clone()
    }
}

/// The segment key of a fixture table under `config`'s system code.
fn key(config: &DatabaseConfig, db: &str, table: &str, column: &str) -> SegmentKey {
    SegmentKey::new(&config.system_code, db, table, column).expect("fixture keys are valid")
}

/// The fixture's `MixedCase` table (keyed by `Id`) in the database the configuration scans,
/// where the checks of seeding one key start.
struct MixedCase<'f> {
    /// The scanned database.
    db: String,
    /// The table.
    table: &'f FixtureTable,
    /// `MAX` of its key column.
    max: i64,
    /// Its segment key under the configuration's system code.
    key: SegmentKey,
}

impl<'f> MixedCase<'f> {
    /// Finds the scanned database (see [`the_database`]) and the table's key in it.
    async fn find(
        config: &DatabaseConfig,
        connector: &dyn DbConnector,
        fixture: &'f Fixture,
    ) -> MixedCase<'f> {
        let db = the_database(config, connector).await;
        let (table, column, max) = fixture.mixed_case_key();
        let key = key(config, &db, &table.name, column);
        MixedCase {
            db,
            table,
            max,
            key,
        }
    }
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
    schema_keys_match_table_keys(connector, &db, fixture).await;
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

/// Runs the suite on database `db_name` of the server of `server_url` (a test URL, see
/// [`database_config_from_url`](crate::testing::database_config_from_url)) where the fixture
/// was created: every check with a connector scanning only that database, then
/// [`system_databases_are_hidden`] with one scanning them all. Both connectors (built by `new`)
/// are returned for the caller to close before it drops the database.
#[cfg(all(test, any(feature = "mysql", feature = "postgres", feature = "mssql")))]
pub(crate) async fn conforms<C: DbConnector>(
    server_url: &str,
    db_name: &str,
    fixture: &Fixture,
    options: &crate::ConnectorOptions,
    new: impl Fn(&DatabaseConfig, &crate::ConnectorOptions) -> crate::Result<C>,
) -> [C; 2] {
    use crate::testing::database_config_from_url;
    let config = database_config_from_url(server_url, fixture.db_type, Some(db_name));
    let connector = new(&config, options).expect("a connector for the test database");
    let (allocators, _dir) = allocators_for_tests().await;
    run_all(&config, &connector, fixture, &allocators).await;
    // Without db_name every user database is visible and the system ones are not.
    let all = database_config_from_url(server_url, fixture.db_type, None);
    let wide = new(&all, options).expect("a connector for the test server");
    system_databases_are_hidden(&wide, db_name).await;
    [connector, wide]
}

/// [`conforms`] on `db`, a fresh [`TestDatabase`](crate::testing::TestDatabase) (`None` when
/// its server is unreachable: nothing runs): creates the fixture in it, runs the suite with
/// connectors built by `new`, hands them to `close` (which closes their connections), and
/// removes the database.
#[cfg(all(test, any(feature = "mysql", feature = "postgres")))]
pub(crate) async fn conforms_on_test_database<C: DbConnector>(
    db: Option<crate::testing::TestDatabase>,
    fixture: &Fixture,
    new: impl Fn(&DatabaseConfig, &crate::ConnectorOptions) -> crate::Result<C>,
    close: impl AsyncFnOnce([C; 2]),
) {
    let Some(db) = db else {
        return;
    };
    db.execute(&fixture.ddl).await;
    let options = crate::ConnectorOptions::default();
    let connectors = conforms(&db.server_url, &db.name, fixture, &options, new).await;
    close(connectors).await;
    db.remove().await;
}

/// Fresh allocators for [`run_all`]: memory and SQLite on a temporary file, where compiled
/// in. Keep the returned directory until the allocators are done.
#[cfg(all(
    test,
    any(
        feature = "mysql",
        feature = "postgres",
        feature = "mssql",
        feature = "oracle"
    )
))]
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
