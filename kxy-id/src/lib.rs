//! Segment ("号段") ID allocation.
//!
//! A counter per key holds the largest ID handed out so far; callers take IDs in
//! ranges (segments) of any size, so a service that needs a million IDs makes a
//! hundred calls, not a million. Counters live in a store shared by every server;
//! each store is one implementation of [`SegmentAllocator`], and [`store::open`] turns a
//! URL (`sqlite://kxy-id.db`, `redis://...`, `mysql://...`, `postgres://...`, `memory://`)
//! into one.
//!
//! # Layout
//!
//! - [`SegmentAllocator`] (`allocator.rs`): the trait and its guarantees (atomic, never
//!   overlapping, never moving backwards); [`SegmentKey`] and [`Segment`] (`key.rs`).
//! - [`store`]: where counters and metadata live, a folder per backend: [`MemoryAllocator`]
//!   (`memory`), [`SqliteAllocator`] (`sqlite`, the embedded default), [`RedisAllocator`]
//!   (`redis`, the old service's key layout), [`MySqlAllocator`] (`mysql`), [`PgAllocator`]
//!   (`postgres`), their metadata stores ([`MetaStore`]), the [`ReservingAllocator`] wrapper
//!   and [`store::open`].
//! - [`connector`]: business databases only: [`DbConnector`] reads a database's catalog and
//!   `MAX(pk)`s; [`MySqlConnector`], [`PgConnector`], [`MssqlConnector`], [`OracleConnector`]
//!   (one cargo feature each); [`connector_for`] picks one for a [`DatabaseConfig`].
//! - [`service`]: [`IdService`], what the HTTP server does without HTTP: configurations,
//!   allocation with lazy initialization, initialize and discovery, custom counters.
//! - [`wire`]: the HTTP contract (requests, the envelope, error codes, big integers as
//!   strings) that the server answers with and the client asks with.
//! - [`policy`]: the step rule (Leaf's) and retry backoff, shared by server and client.
//! - [`Error`] (`error.rs`): the one error type of the crate.
//! - `testing` (feature `test-util`): the conformance suites every allocator, metadata store
//!   and connector passes, and helpers that reach live services or skip.
//!
//! What may depend on what: `store` and `connector` know nothing of each other or of
//! `service`; `service` uses both; `wire` and `policy` depend on nothing but `key` and `error`.
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
pub mod connector;
mod error;
mod key;
pub mod policy;
mod secret;
pub mod service;
pub mod store;
pub mod wire;

#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use allocator::{Counter, RaiseOutcome, SegmentAllocator};
pub use config::{DatabaseConfig, DbType, Endpoint};
pub use connector::{ConnectorOptions, DbConnector, connector_for};
pub use error::{Error, Result, redact_url};
pub use key::{Segment, SegmentKey};
pub use secret::SecretBox;
pub use service::{DatabaseInput, IdService, ServiceOptions};
pub use store::{CoalescingAllocator, MetaStore, ReserveOptions, ReservingAllocator, Store};

#[cfg(feature = "mssql")]
pub use connector::MssqlConnector;
#[cfg(feature = "mysql")]
pub use connector::MySqlConnector;
#[cfg(feature = "oracle")]
pub use connector::OracleConnector;
#[cfg(feature = "postgres")]
pub use connector::PgConnector;
#[cfg(feature = "mysql")]
pub use store::MySqlAllocator;
#[cfg(feature = "postgres")]
pub use store::PgAllocator;
#[cfg(feature = "redis")]
pub use store::RedisAllocator;
#[cfg(feature = "sqlite")]
pub use store::SqliteAllocator;
#[cfg(feature = "memory")]
pub use store::{MemoryAllocator, MemoryMetaStore};
