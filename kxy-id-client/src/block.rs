//! [`IdBlock`]: a block of IDs handed out together.

use kxy_id::Segment;

/// A block of IDs from [`IdGenerator::next_ids`](crate::IdGenerator::next_ids): one or more
/// ranges in increasing order (more than one when the block spans segments).
///
/// Iterating yields the IDs one by one without materializing them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdBlock {
    /// The ranges, increasing and non-adjacent.
    ranges: Vec<Segment>,
}

impl IdBlock {
    /// Appends `count` (>= 1) IDs starting at `first`, merging with the last range when adjacent.
    pub(crate) fn push(&mut self, first: i64, count: u64) {
        // count IDs from first stay within a segment, so the end cannot overflow.
        let end = first + (count - 1) as i64;
        if let Some(last) = self.ranges.last_mut()
            && last.end.checked_add(1) == Some(first)
        {
            last.end = end;
            return;
        }
        self.ranges.push(Segment { start: first, end });
    }

    /// The ranges of the block, in increasing order.
    pub fn ranges(&self) -> &[Segment] {
        &self.ranges
    }

    /// The number of IDs in the block.
    pub fn len(&self) -> u64 {
        self.ranges.iter().map(Segment::len).sum()
    }

    /// `true` for a block of no IDs.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The IDs, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        self.ranges.iter().flat_map(|r| r.start..=r.end)
    }
}

impl IntoIterator for IdBlock {
    type Item = i64;
    type IntoIter = std::iter::FlatMap<
        std::vec::IntoIter<Segment>,
        std::ops::RangeInclusive<i64>,
        fn(Segment) -> std::ops::RangeInclusive<i64>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        fn ids(r: Segment) -> std::ops::RangeInclusive<i64> {
            r.start..=r.end
        }
        self.ranges.into_iter().flat_map(ids as fn(Segment) -> _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacent_pushes_merge_and_gaps_start_new_ranges() {
        let mut block = IdBlock::default();
        assert!(block.is_empty());
        block.push(1, 3);
        block.push(4, 2);
        block.push(10, 1);
        assert_eq!(
            block.ranges(),
            [Segment { start: 1, end: 5 }, Segment { start: 10, end: 10 }]
        );
        assert_eq!(block.len(), 6);
        assert_eq!(block.iter().collect::<Vec<_>>(), [1, 2, 3, 4, 5, 10]);
        assert_eq!(block.into_iter().collect::<Vec<_>>(), [1, 2, 3, 4, 5, 10]);
    }

    #[test]
    fn range_ending_at_i64_max() {
        let mut block = IdBlock::default();
        block.push(i64::MAX - 1, 2);
        block.push(5, 1);
        assert_eq!(block.len(), 3);
    }
}
