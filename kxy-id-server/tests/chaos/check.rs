//! The verdict of a run: IDs handed out more than once, and per-client sequences that move
//! backwards. Ranges are inclusive `[start, end]`.

/// The number of IDs in `ranges` covered more than once (each extra cover of an ID counts once).
/// Sorts `ranges`.
pub fn repeats(ranges: &mut [(i64, i64)]) -> u64 {
    ranges.sort_unstable();
    let mut repeated = 0u64;
    // The largest ID covered so far; an ID is repeated when a later range starts at or below it.
    let mut covered: Option<i64> = None;
    for &(start, end) in ranges.iter() {
        assert!(start <= end, "a range [{start}, {end}] is empty");
        if let Some(top) = covered
            && start <= top
        {
            repeated += (end.min(top) - start + 1) as u64;
        }
        covered = Some(covered.map_or(end, |top| top.max(end)));
    }
    repeated
}

/// The number of ranges in one client's sequence (for one key, in the order it received them)
/// that do not start above every ID it received before.
pub fn backwards(sequence: &[(i64, i64)]) -> u64 {
    let mut top: Option<i64> = None;
    let mut count = 0;
    for &(start, end) in sequence {
        if top.is_some_and(|t| start <= t) {
            count += 1;
        }
        top = Some(top.map_or(end, |t| t.max(end)));
    }
    count
}

/// The number of IDs in `ranges`.
pub fn ids(ranges: &[(i64, i64)]) -> u64 {
    ranges.iter().map(|&(s, e)| (e - s + 1) as u64).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjoint_ranges_repeat_nothing_in_any_order() {
        let mut r = vec![(201, 300), (1, 100), (101, 200), (1000, 1000)];
        assert_eq!(repeats(&mut r), 0);
        assert_eq!(ids(&r), 301);
        // A gap is no repeat.
        assert_eq!(repeats(&mut [(1, 10), (20, 30)]), 0);
    }

    #[test]
    fn overlaps_are_counted_id_by_id() {
        // 5..=10 twice.
        assert_eq!(repeats(&mut [(1, 10), (5, 15)]), 6);
        // The same range twice: all of it.
        assert_eq!(repeats(&mut [(1, 100), (1, 100)]), 100);
        // Nested: the inner range is repeated.
        assert_eq!(repeats(&mut [(1, 100), (40, 49)]), 10);
        // A range overlapping an earlier long one past its neighbour.
        assert_eq!(repeats(&mut [(1, 100), (10, 20), (50, 60)]), 22);
        // Touching ends share one ID.
        assert_eq!(repeats(&mut [(1, 10), (10, 20)]), 1);
        // A counter moved back after a restart: the second run repeats 1..=50.
        let mut restarted: Vec<(i64, i64)> = (0..10).map(|i| (i * 10 + 1, i * 10 + 10)).collect();
        restarted.extend((0..5).map(|i| (i * 10 + 1, i * 10 + 10)));
        assert_eq!(repeats(&mut restarted), 50);
    }

    #[test]
    fn sequences_moving_backwards_are_found() {
        assert_eq!(backwards(&[(1, 10), (11, 20), (100, 200)]), 0);
        assert_eq!(backwards(&[(1, 10), (11, 20), (5, 8)]), 1);
        assert_eq!(backwards(&[(100, 200), (1, 10), (11, 20)]), 2);
        assert_eq!(backwards(&[(1, 10), (10, 12)]), 1);
    }
}
