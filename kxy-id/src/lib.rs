//! Segment ("号段") ID allocation.
//!
//! A counter per key holds the largest ID handed out so far; callers take IDs in
//! ranges (segments) of any size, so a service that needs a million IDs makes a
//! hundred calls, not a million. Counters live in a store shared by every server;
//! each store is one implementation of [`SegmentAllocator`].
//!
//! # Layout
//!
//! - [`key`](SegmentKey): [`SegmentKey`] (`system:db:table:field`, lower-cased) and [`Segment`].
//! - [`SegmentAllocator`]: the trait and its guarantees (atomic, never overlapping,
//!   never moving backwards), [`RaiseOutcome`], [`Counter`].
//! - Backends, one per cargo feature:
//!   [`MemoryAllocator`] (`memory`), [`SqliteAllocator`] (`sqlite`, the embedded default),
//!   [`RedisAllocator`] (`redis`, the old service's key layout),
//!   [`MySqlAllocator`] (`mysql`) and [`PgAllocator`] (`postgres`).
//! - [`Error`]: the one error type of the crate.
//! - [`config`](DatabaseConfig): [`DatabaseConfig`] (a business database, the old service's
//!   JSON), [`DbType`], [`Endpoint`].
//! - [`DbConnector`]: reads a business database's catalog and `MAX(id)`s, one per cargo feature:
//!   [`MySqlConnector`] (`mysql`), [`PgConnector`] (`postgres`), [`MssqlConnector`] (`mssql`)
//!   and [`OracleConnector`] (`oracle`); [`connector_for`] picks one for a configuration;
//!   [`classify`] decides which tables can seed a counter ([`TableClass`], [`SkipReason`]);
//!   names are checked and quoted by [`quote_identifier`].
//! - [`init`](initialize): [`initialize`] (seed every table, never lowering a counter),
//!   [`seed_key`] (lazy init of one key), [`discover`] (tables without a counter yet).
//! - [`ReservingAllocator`]: wraps any allocator and reserves blocks ahead (Leaf), serving
//!   requests from memory; a crash leaves gaps, never repeats.
//! - [`IdService`]: what the HTTP server does, without HTTP: configurations (passwords sealed
//!   by [`SecretBox`]), allocation with lazy initialization, initialize, custom counters,
//!   discovery and approval.
//! - [`meta`]: [`MetaStore`], where a server keeps everything that is not a counter, in the old
//!   service's key names: [`MemoryMetaStore`], `SqliteMetaStore`/`MySqlMetaStore`/`PgMetaStore`
//!   (one generic SQL implementation) and `RedisMetaStore`.
//! - `conformance` and `conformance_connector` (tests and the `test-util` feature): the checks
//!   every allocator and every connector passes; [`meta`] has the same for metadata stores, and
//!   `testing` the helpers that reach live services or skip.
//!
//! # Example
//!
//! ```
//! # #[cfg(feature = "memory")]
//! # tokio_test_block_on(async {
//! use kxy_id::{MemoryAllocator, SegmentAllocator, SegmentKey};
//!
//! let store = MemoryAllocator::new();
//! let key = SegmentKey::new("shop", "orders", "t_order", "id")?;
//! store.raise_to(&key, 41).await?; // e.g. MAX(id) of the table
//! let segment = store.allocate(&key, 10_000).await?;
//! assert_eq!((segment.start, segment.end), (42, 10_041));
//! # Ok::<(), kxy_id::Error>(())
//! # }).unwrap();
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod allocator;
mod config;
mod connector;
mod error;
mod init;
mod key;
pub mod meta;
mod reserve;
mod secret;
mod service;

#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "sqlite", feature = "mysql", feature = "postgres"))]
mod sql;
#[cfg(any(feature = "sqlite", feature = "mysql", feature = "postgres"))]
mod sql_meta;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(any(test, feature = "test-util"))]
pub mod conformance;
#[cfg(any(test, feature = "test-util"))]
pub mod conformance_connector;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use allocator::{Counter, RaiseOutcome, SegmentAllocator};
pub use config::{DatabaseConfig, DbType, Endpoint};
pub use connector::{
    Column, ConnectorOptions, DbConnector, MAX_IDENTIFIER_CHARS, PrimaryKey, SkipReason,
    TableClass, classify, closing_quote, connector_for, is_integer_type, mssql_is_integer,
    mysql_is_integer, oracle_is_integer, pick_name, postgres_is_integer, quote_identifier,
    validate_identifier,
};
pub use error::{Error, Result, redact_url};
pub use init::{
    AheadKey, DiscoveredTable, InitReport, KeySource, SeededKey, SkippedTable, TableError,
    databases_to_scan, discover, initialize, missing_table_or_field_message, resolve_key, seed_key,
};
pub use key::{MAX_KEY_CHARS, MAX_PART_CHARS, Segment, SegmentKey};
pub use meta::{MemoryMetaStore, MetaStore};
pub use reserve::{ReserveOptions, ReservingAllocator};
pub use secret::SecretBox;
pub use service::{
    CustomCounter, DatabaseInput, IdService, InitializeResult, ScanSummary, ServiceOptions,
};

#[cfg(feature = "mssql")]
pub use connector::MssqlConnector;
#[cfg(feature = "mysql")]
pub use connector::MySqlConnector;
#[cfg(feature = "oracle")]
pub use connector::OracleConnector;
#[cfg(feature = "postgres")]
pub use connector::PgConnector;
#[cfg(feature = "memory")]
pub use memory::MemoryAllocator;
#[cfg(feature = "mysql")]
pub use mysql::MySqlAllocator;
#[cfg(feature = "postgres")]
pub use postgres::PgAllocator;
#[cfg(feature = "redis")]
pub use redis::{RedisAllocator, SEGMENT_KEY_PREFIX};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteAllocator;
