//! The Redis store: counters ([`RedisAllocator`]) and metadata ([`RedisMetaStore`]) in the old
//! Python service's key layout (`kxy:id:segment:{key}`, `kxy:id:db_config:{guid}`, ...), so a
//! server on this store takes over the old service's Redis without a gap or a repeat.
//!
//! - `allocator.rs`: the counters; the atomic steps are the Lua scripts `allocate.lua` and
//!   `raise.lua`, loaded with `include_str!` and called by their SHA.
//! - `meta.rs`: the metadata store over the same connection.

mod allocator;
mod meta;

pub use allocator::{RedisAllocator, SEGMENT_KEY_PREFIX};
pub use meta::RedisMetaStore;
