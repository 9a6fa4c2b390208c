//! [`CurrentSegment`]: the segment being served, readable and claimable without a lock.
//!
//! # How an ID is claimed
//!
//! The segment's bounds (`start`, `len`) are published under a sequence number (a seqlock) and
//! IDs are claimed with one `fetch_add` on an offset cursor:
//!
//! 1. read `seq` (acquire); an odd value means a new segment is being published: retry;
//! 2. read `start`, `len` and `prefetch_at`;
//! 3. `off = used.fetch_add(1)`;
//! 4. acquire fence, read `seq` again;
//! 5. if `seq` is unchanged and `off < len`, the ID is `start + off`.
//!
//! The publisher (one at a time, under the generator's mutex) makes `seq` odd, issues a release
//! fence, resets `used` to 0, stores the new bounds and makes `seq` even again (release).
//!
//! # Why an ID can never be handed out twice
//!
//! * Within one publication (one value of `seq`), `fetch_add` gives every caller a different
//!   offset, and `start + off` for `off < len` are different IDs of one segment.
//! * A claim is kept only when both reads of `seq` saw the same even value `s`. If step 3 had
//!   landed on the cursor of a later publication (after its reset of `used`), the release fence
//!   before that reset synchronizes with the acquire fence of step 4, so step 4 sees `seq > s`
//!   and the claim is dropped (the offset becomes a gap, never a duplicate). If step 2 had read
//!   bounds of a later publication, the same fences make step 4 see the change. The first read
//!   of `seq` (acquire, reading the release store that ended publication `s`) makes step 3 land
//!   on or after the reset of publication `s`. So a kept claim is an offset of publication `s`
//!   checked against the bounds of publication `s`.
//! * `seq` is a `u64` that only grows by 2 per segment: it cannot wrap, so there is no ABA.
//!   The cursor is a `u64` offset that starts at 0 for every segment and grows by at most the
//!   block size per call, so it cannot wrap either; an offset past `len` is simply refused.
//! * Every published segment comes from the store and lies above the previous one, so IDs of
//!   different publications differ, and `start + off <= end <= i64::MAX` never overflows.
//!
//! Per calling thread the IDs strictly increase: a thread's later reads of `seq` never see an
//! older value (read-read coherence), its later `fetch_add`s on one cursor return larger
//! offsets, and later segments lie above earlier ones.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering, fence};

use kxy_id::Segment;

/// The outcome of one attempt to claim IDs from the current segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// IDs `first..first + count` (`count >= 1`) are the caller's.
    Ids {
        /// The first claimed ID.
        first: i64,
        /// How many consecutive IDs were claimed (at most the number asked for).
        count: u64,
        /// `true` when the claim reached the point where the next segment should be fetched.
        past_prefetch_point: bool,
    },
    /// The segment published under `seq` has no ID left.
    Exhausted {
        /// The publication that was found exhausted.
        seq: u64,
    },
    /// A new segment was being published concurrently; try again.
    Retry,
}

/// The segment being served.
///
/// The bounds (read by every claim, written once per segment) and the cursor (written by every
/// claim) live on separate cache lines: under contention only the cursor's line moves between
/// cores, as with a bare `fetch_add`, while the bounds stay shared in every core's cache.
#[derive(Debug)]
pub(crate) struct CurrentSegment {
    /// Read-mostly: the published segment.
    bounds: Bounds,
    /// Written by every claim.
    cursor: Cursor,
}

/// The published segment, under a sequence number.
#[derive(Debug)]
#[repr(align(128))]
struct Bounds {
    /// Publication number: even while a segment is served, odd while one is being replaced.
    seq: AtomicU64,
    /// First ID of the segment.
    start: AtomicI64,
    /// Number of IDs in the segment (0 before the first segment).
    len: AtomicU64,
    /// Offset from which a claim asks for the next segment to be fetched.
    prefetch_at: AtomicU64,
    /// Set by the first claim past `prefetch_at` (or by the slow path): the next segment is
    /// wanted. Cleared when a segment is published.
    prefetch_requested: AtomicBool,
}

/// The claim cursor, alone on its cache line (128 bytes: adjacent-line prefetchers pair lines).
#[derive(Debug)]
#[repr(align(128))]
struct Cursor {
    /// Next offset to hand out. Reset to 0 for each segment; runs past `len` once exhausted.
    used: AtomicU64,
}

impl CurrentSegment {
    /// An empty segment: every claim finds it exhausted.
    pub(crate) fn empty() -> Self {
        CurrentSegment {
            bounds: Bounds {
                seq: AtomicU64::new(0),
                start: AtomicI64::new(0),
                len: AtomicU64::new(0),
                prefetch_at: AtomicU64::new(0),
                prefetch_requested: AtomicBool::new(false),
            },
            cursor: Cursor {
                used: AtomicU64::new(0),
            },
        }
    }

    /// Claims up to `want` (>= 1) consecutive IDs.
    ///
    /// Lock-free: one `fetch_add` plus plain loads. `want` must be far below `u64::MAX`
    /// (callers pass at most [`MAX_BLOCK`](crate::MAX_BLOCK)).
    #[inline]
    pub(crate) fn claim(&self, want: u64) -> Claim {
        let seq = self.bounds.seq.load(Ordering::Acquire);
        if seq & 1 != 0 {
            return Claim::Retry;
        }
        let start = self.bounds.start.load(Ordering::Relaxed);
        let len = self.bounds.len.load(Ordering::Relaxed);
        let prefetch_at = self.bounds.prefetch_at.load(Ordering::Relaxed);
        let off = self.cursor.used.fetch_add(want, Ordering::Relaxed);
        fence(Ordering::Acquire);
        if self.bounds.seq.load(Ordering::Relaxed) != seq {
            return Claim::Retry;
        }
        if off >= len {
            return Claim::Exhausted { seq };
        }
        let count = want.min(len - off);
        Claim::Ids {
            // off < len and start + len - 1 <= i64::MAX, so this cannot overflow.
            first: start + off as i64,
            count,
            past_prefetch_point: off + count > prefetch_at,
        }
    }

    /// Marks the next segment as wanted; `true` for the one caller that set the flag.
    #[inline]
    pub(crate) fn request_prefetch(&self) -> bool {
        !self.bounds.prefetch_requested.load(Ordering::Relaxed)
            && !self.bounds.prefetch_requested.swap(true, Ordering::AcqRel)
    }

    /// Whether the next segment has been asked for since the current one was published.
    pub(crate) fn prefetch_requested(&self) -> bool {
        self.bounds.prefetch_requested.load(Ordering::Acquire)
    }

    /// The current publication number.
    pub(crate) fn seq(&self) -> u64 {
        self.bounds.seq.load(Ordering::Acquire)
    }

    /// `true` when no ID of the current segment is left. Exact only for the publisher
    /// (which holds the generator's mutex, so no publication runs concurrently).
    pub(crate) fn is_exhausted(&self) -> bool {
        self.cursor.used.load(Ordering::Acquire) >= self.bounds.len.load(Ordering::Relaxed)
    }

    /// Replaces the segment. Callers must serialize publications (the generator's mutex).
    ///
    /// `prefetch_share` (0..=1) of the segment is served before the next one is asked for.
    pub(crate) fn publish(&self, segment: Segment, prefetch_share: f64) {
        let len = segment.len();
        // Round down so that a share above 0 still leaves the last ID to trigger the fetch.
        let prefetch_at = ((len as f64) * prefetch_share) as u64;
        let prefetch_at = prefetch_at.min(len.saturating_sub(1));
        let seq = self.bounds.seq.load(Ordering::Relaxed);
        self.bounds.seq.store(seq + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.cursor.used.store(0, Ordering::Relaxed);
        self.bounds.start.store(segment.start, Ordering::Relaxed);
        self.bounds.len.store(len, Ordering::Relaxed);
        self.bounds
            .prefetch_at
            .store(prefetch_at, Ordering::Relaxed);
        self.bounds
            .prefetch_requested
            .store(false, Ordering::Relaxed);
        self.bounds.seq.store(seq + 2, Ordering::Release);
    }

    /// A consistent view of the segment: `(start, len, used)` with `used` capped at `len`.
    pub(crate) fn view(&self) -> (i64, u64, u64) {
        loop {
            let seq = self.bounds.seq.load(Ordering::Acquire);
            if seq & 1 != 0 {
                std::hint::spin_loop();
                continue;
            }
            let start = self.bounds.start.load(Ordering::Relaxed);
            let len = self.bounds.len.load(Ordering::Relaxed);
            let used = self.cursor.used.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.bounds.seq.load(Ordering::Relaxed) == seq {
                return (start, len, used.min(len));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(claim: Claim) -> (i64, u64) {
        match claim {
            Claim::Ids { first, count, .. } => (first, count),
            other => panic!("expected IDs, got {other:?}"),
        }
    }

    #[test]
    fn empty_segment_is_exhausted() {
        let current = CurrentSegment::empty();
        assert_eq!(current.claim(1), Claim::Exhausted { seq: 0 });
        assert!(current.is_exhausted());
    }

    #[test]
    fn claims_walk_through_the_segment_then_report_exhaustion() {
        let current = CurrentSegment::empty();
        current.publish(Segment { start: 10, end: 14 }, 0.2);
        assert_eq!(ids(current.claim(1)), (10, 1));
        assert_eq!(ids(current.claim(2)), (11, 2));
        // A block is cut at the end of the segment.
        assert_eq!(ids(current.claim(5)), (13, 2));
        assert_eq!(current.claim(1), Claim::Exhausted { seq: 2 });
        assert!(current.is_exhausted());
        current.publish(Segment { start: 20, end: 20 }, 0.2);
        assert_eq!(ids(current.claim(1)), (20, 1));
        assert_eq!(current.claim(1), Claim::Exhausted { seq: 4 });
    }

    #[test]
    fn prefetch_point_is_reported_from_the_configured_share() {
        let current = CurrentSegment::empty();
        current.publish(Segment { start: 1, end: 10 }, 0.2);
        let past: Vec<bool> = (0..10)
            .map(|_| match current.claim(1) {
                Claim::Ids {
                    past_prefetch_point,
                    ..
                } => past_prefetch_point,
                other => panic!("{other:?}"),
            })
            .collect();
        // Offsets 0 and 1 are the first 20 %; from offset 2 on the next segment is wanted.
        assert_eq!(
            past,
            [false, false, true, true, true, true, true, true, true, true]
        );
        assert!(current.request_prefetch());
        assert!(!current.request_prefetch());
        current.publish(Segment { start: 11, end: 11 }, 0.2);
        assert!(!current.prefetch_requested());
    }

    #[test]
    fn segment_ending_at_i64_max_does_not_overflow() {
        let current = CurrentSegment::empty();
        current.publish(
            Segment {
                start: i64::MAX - 1,
                end: i64::MAX,
            },
            0.5,
        );
        assert_eq!(ids(current.claim(1)), (i64::MAX - 1, 1));
        assert_eq!(ids(current.claim(1)), (i64::MAX, 1));
        for _ in 0..1000 {
            assert!(matches!(current.claim(1), Claim::Exhausted { .. }));
        }
        assert_eq!(current.view(), (i64::MAX - 1, 2, 2));
    }

    #[test]
    fn whole_i64_range_as_one_segment() {
        let current = CurrentSegment::empty();
        current.publish(
            Segment {
                start: 1,
                end: i64::MAX,
            },
            0.2,
        );
        assert_eq!(ids(current.claim(3)), (1, 3));
    }
}
