//! A double-buffered, prefetching ID generator for kxy-id segment keys.
//!
//! An [`IdGenerator`] serves the IDs of one key (system, database, table, field) from the
//! segment it holds, lock-free, and fetches the next segment in the background before the
//! current one runs out, so [`next_id`](IdGenerator::next_id) costs about one atomic
//! `fetch_add` and never waits for the network while the next segment is ready.
//!
//! # Layout
//!
//! - [`IdGenerator`] (`generator`): the public generator, its builder and [`Snapshot`].
//! - `shared`: what a generator and its refill task share; the slow path (claiming with waits,
//!   switching to the buffered segment, waiting with a deadline).
//! - `refill`: the background task that fetches the next segment (adaptive step, retries with
//!   backoff) and checks every segment before it is served.
//! - `buffer`: the lock-free current segment (a seqlock-published segment plus an atomic
//!   cursor) and the argument why no ID is handed out twice.
//! - [`IdBlock`] (`block`): blocks of IDs from [`IdGenerator::next_ids`].
//! - [`LocalIds`] (`local`): the opt-in per-thread leases ([`IdGenerator::local`]): one atomic
//!   per lease of 64 to 4,096 IDs instead of one per ID, giving up global order across threads.
//! - [`GeneratorConfig`] (`config`): the settings, and the retry bounds shared with
//!   [`HttpConfig`]; the step rule and backoff themselves are [`kxy_id::policy`]'s.
//! - [`SegmentSource`] (`source`): where segments come from; [`AllocatorSource`] (embedded, over
//!   any [`kxy_id::SegmentAllocator`]).
//! - [`HttpSource`] with [`HttpConfig`] (`http`, feature `http`): a kxy-id server, failover and
//!   retries, speaking [`kxy_id::wire`]; `envelope` turns the server's failures into [`Error`]s;
//!   `failover` keeps each server's health ([`ServerHealth`]): order, cooldowns, checks;
//!   `tls` is HTTPS (system roots or a CA file, client certificates, TLS failures in words).
//! - [`IdGeneratorFactory`] (`factory`): generators for many tables of one system and database.
//! - `background`: the runtime thread that runs fetches for synchronous users.
//! - [`Error`] (`error`): the one error type.
//!
//! # Guarantees
//!
//! - No ID is handed out twice: each comes from a segment the store handed out once, and the
//!   hot path never serves an offset of one segment with the bounds of another.
//! - One generator's IDs strictly increase per calling thread; they are not dense.
//! - In the steady state `next_id` takes no lock, allocates nothing, makes no system call and
//!   logs nothing. When both segments are used up it waits at most
//!   [`max_wait`](GeneratorConfig::max_wait) and then fails with [`Error::Unavailable`]; it
//!   recovers by itself when the source answers again.
//!
//! # Example: embedded, over an SQLite file
//!
//! ```
//! use std::sync::Arc;
//! use kxy_id::{SegmentAllocator, SqliteAllocator, SegmentKey};
//! use kxy_id_client::{AllocatorSource, IdGeneratorFactory};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("ids.db");
//! let store = tokio::runtime::Runtime::new()?.block_on(async {
//!     let store = SqliteAllocator::open(path).await?;
//!     // Seed the counter from the table's MAX(id) once; raise_to never lowers it.
//!     store.raise_to(&SegmentKey::new("shop", "orders", "t_order", "id")?, 0).await?;
//!     Ok::<_, kxy_id::Error>(store)
//! })?;
//! let factory = IdGeneratorFactory::new(
//!     Arc::new(AllocatorSource::new(Arc::new(store))),
//!     "shop",
//!     "orders",
//! )?;
//! let orders = factory.generator("t_order", "id")?;
//! let id = orders.next_id()?;
//! # let _ = id;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

mod background;
mod batching;
mod block;
mod buffer;
mod config;
#[cfg(feature = "http")]
mod envelope;
mod error;
mod factory;
#[cfg(feature = "http")]
mod failover;
mod generator;
#[cfg(feature = "http")]
mod http;
mod local;
mod refill;
mod shared;
mod source;
#[cfg(feature = "http")]
mod tls;

pub use batching::BatchingSource;
pub use block::IdBlock;
pub use config::GeneratorConfig;
pub use error::{Error, Result};
pub use factory::{IdGeneratorFactory, IdGeneratorFactoryBuilder};
#[cfg(feature = "http")]
pub use failover::ServerHealth;
pub use generator::{IdGenerator, IdGeneratorBuilder, MAX_BLOCK, Snapshot};
#[cfg(feature = "http")]
pub use http::{HttpConfig, HttpSource, failure_reason};
pub use local::{LocalIds, MAX_LEASE, MIN_LEASE};
pub use source::{AllocatorSource, SegmentSource};
