//! [`LocalIds`]: per-thread leases of IDs, the opt-in mode for many threads drawing from one
//! generator.
//!
//! With [`IdGenerator::next_id`] every call is one `fetch_add` on the generator's shared
//! cursor, so threads calling it at once take turns on one cache line. A [`LocalIds`] takes a
//! lease of consecutive IDs from that cursor with one `fetch_add` and then hands them out with
//! no shared write at all. Leases start at [`MIN_LEASE`] and double with each refill up to
//! [`MAX_LEASE`]: a handle that draws few IDs keeps few in hand (IDs left in a lease when the
//! handle is dropped are a gap, never handed out again).
//!
//! What each mode guarantees:
//!
//! | | `IdGenerator::next_id` (default) | `LocalIds::next_id` |
//! |---|---|---|
//! | unique (across threads, processes, servers) | yes | yes |
//! | increasing per thread / per handle | yes | yes (per handle; a thread that also calls `next_id` gets each increasing on its own) |
//! | increasing across threads in the order of the calls | yes, within a segment and across segments (a later call gets a larger ID than any call that returned before it started) | no: a handle serves its lease while other handles serve later ones |
//! | gaps | unused rests of segments | also the unused rests of leases |

use crate::error::Result;
use crate::generator::IdGenerator;

/// The first lease a handle takes.
pub const MIN_LEASE: u64 = 64;

/// The largest lease a handle takes.
pub const MAX_LEASE: u64 = 4_096;

/// A handle that serves IDs of one generator from leases of its own; see the module docs.
/// Not `Sync`: one per thread (or task).
///
/// ```
/// use std::sync::Arc;
/// use kxy_id::{MemoryAllocator, SegmentAllocator, SegmentKey};
/// use kxy_id_client::{AllocatorSource, GeneratorConfig, IdGenerator};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(MemoryAllocator::new());
/// let key = SegmentKey::new("shop", "orders", "t_order", "id")?;
/// tokio::runtime::Runtime::new()?.block_on(store.raise_to(&key, 0))?;
/// let ids = IdGenerator::new(Arc::new(AllocatorSource::new(store)), key, GeneratorConfig::default())?;
/// std::thread::scope(|s| {
///     for _ in 0..2 {
///         s.spawn(|| {
///             let mut local = ids.local();
///             let a = local.next_id().unwrap();
///             assert!(local.next_id().unwrap() > a);
///         });
///     }
/// });
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LocalIds<'g> {
    /// Where leases come from.
    generator: &'g IdGenerator,
    /// The next ID of the lease (meaningless when `left` is 0).
    next: i64,
    /// IDs left in the lease.
    left: u64,
    /// The size of the next lease.
    lease: u64,
}

impl<'g> LocalIds<'g> {
    /// A handle with no lease yet.
    pub(crate) fn new(generator: &'g IdGenerator) -> Self {
        LocalIds {
            generator,
            next: 0,
            left: 0,
            lease: MIN_LEASE,
        }
    }

    /// The next ID: from the lease when it has one left (no shared write), else from a new
    /// lease (one atomic on the generator, or the generator's wait when its segments are used
    /// up, with its errors).
    #[inline]
    pub fn next_id(&mut self) -> Result<i64> {
        if self.left > 0 {
            let id = self.next;
            self.left -= 1;
            // The lease ends at most at i64::MAX; `next` is not read once `left` is 0.
            self.next = id.wrapping_add(1);
            return Ok(id);
        }
        self.refill()
    }

    /// IDs left in the current lease (dropped as a gap with the handle).
    pub fn leased(&self) -> u64 {
        self.left
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> Result<i64> {
        let (first, count) = self.generator.lease(self.lease)?;
        self.lease = (self.lease * 2).min(MAX_LEASE);
        self.next = first.wrapping_add(1);
        self.left = count - 1;
        Ok(first)
    }
}
