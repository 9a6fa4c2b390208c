//! The Redis store: counters ([`RedisAllocator`]) and metadata ([`RedisMetaStore`]) in the old
//! Python service's key layout (`kxy:id:segment:{key}`, `kxy:id:db_config:{guid}`, ...), so a
//! server on this store takes over the old service's Redis without a gap or a repeat.
//!
//! - `connection.rs`: [`RedisConnection`], which reconnects by itself and notices when Redis is
//!   another process than before (restart, snapshot restore, failover); one node is
//!   `node.rs` (at a fixed address, or wherever `sentinel.rs` finds the master), a Redis
//!   Cluster is `cluster.rs` (routing by `slot.rs`'s hash slots; `topology_url.rs` parses
//!   the URLs that name several nodes).
//! - `guard.rs`: what keeps counters from repeating IDs when that happens (durable high-water
//!   marks, or refusal until an operator recovers).
//! - `allocator.rs`: the counters; the atomic steps are the Lua scripts `allocate.lua` and
//!   `raise.lua`, loaded with `include_str!` and called by their SHA.
//! - `readiness.rs`: before a key is used: its counter checked against its mark in this Redis
//!   incarnation (or refused), and `recover`.
//! - `scan.rs`: every key under a prefix, for listing.
//! - `meta.rs`: the metadata store over the same connection.
//! - `tls.rs`: the TLS options of a `rediss://` URL (CA file, client certificate).
//! - `durability.rs`: what the Redis's own persistence settings promise, for logs and `/health`.

mod allocator;
#[cfg(test)]
mod allocator_tests;
mod cluster;
#[cfg(test)]
mod cluster_tests;
mod connection;
mod durability;
mod guard;
mod meta;
mod node;
mod readiness;
mod scan;
mod sentinel;
mod slot;
mod tls;
#[cfg(test)]
mod tls_tests;
mod topology_url;

#[cfg(test)]
mod failover_load;
#[cfg(test)]
mod loss_tests;
#[cfg(test)]
mod sentinel_tests;

pub use allocator::{RedisAllocator, SEGMENT_KEY_PREFIX};
pub use connection::{Incarnation, RedisConnection};
pub use durability::{RedisDurability, redis_durability};
pub use meta::RedisMetaStore;
