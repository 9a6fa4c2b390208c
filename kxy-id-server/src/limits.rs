//! Bounds on allocation, the only unauthenticated write: how many IDs one request may take
//! (`--max-segment-count`) and, when set, how many one key may hand out per minute
//! (`--max-ids-per-minute`). Off, the per-minute bound costs nothing on the allocate path;
//! on, it costs one short lock and a map lookup.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use kxy_id::SegmentKey;

use crate::error::ApiError;

/// Keys tracked at most; past it, counts of earlier minutes are dropped.
const MAX_KEYS: usize = 100_000;

/// The allocation bounds of a server.
#[derive(Debug)]
pub struct AllocationLimits {
    /// The most IDs one request may take.
    pub max_segment_count: i64,
    /// IDs per key and minute, when bounded.
    per_minute: Option<PerMinute>,
}

/// IDs handed out per key in the current minute.
#[derive(Debug)]
struct PerMinute {
    /// The bound.
    limit: u64,
    /// Where minutes are counted from.
    epoch: Instant,
    /// (minute, IDs in it) per key.
    counts: Mutex<HashMap<String, (u64, u64)>>,
}

impl Default for AllocationLimits {
    fn default() -> Self {
        AllocationLimits::new(1_000_000, None)
    }
}

impl AllocationLimits {
    /// At most `max_segment_count` IDs per request and, if set, `per_minute` per key.
    pub fn new(max_segment_count: i64, per_minute: Option<u64>) -> Self {
        AllocationLimits {
            max_segment_count,
            per_minute: per_minute.map(|limit| PerMinute {
                limit,
                epoch: Instant::now(),
                counts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Refuses a request past the bounds (400 for its size, 429 for the key's minute), else
    /// counts it against its key.
    pub(crate) fn admit(&self, key: &SegmentKey, count: i64) -> Result<(), ApiError> {
        if count > self.max_segment_count {
            return Err(ApiError::handled(
                400,
                format!(
                    "segment_count {count} is more than this server hands out in one request \
                     (at most {})",
                    self.max_segment_count
                ),
            ));
        }
        let Some(per) = &self.per_minute else {
            return Ok(());
        };
        let elapsed = per.epoch.elapsed().as_secs();
        let minute = elapsed / 60;
        let count = count as u64;
        let mut counts = per.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= MAX_KEYS && !counts.contains_key(key.as_str()) {
            counts.retain(|_, (m, _)| *m == minute);
        }
        let slot = match counts.get_mut(key.as_str()) {
            Some(slot) => slot,
            None => counts.entry(key.as_str().to_owned()).or_insert((minute, 0)),
        };
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1.saturating_add(count) > per.limit {
            return Err(ApiError::TooManyRequests {
                msg: format!(
                    "Key {key} has handed out its {} IDs for this minute; retry later.",
                    per.limit
                ),
                retry_after: 60 - elapsed % 60,
            });
        }
        slot.1 += count;
        Ok(())
    }
}
