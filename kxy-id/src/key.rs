//! Segment keys and segments.

use std::fmt;

use crate::error::{Error, Result};

/// The longest a key part (system code, database, table or field name) may be, in characters.
///
/// Every backend stores keys of `4 * MAX_PART_CHARS + 3` characters.
pub const MAX_PART_CHARS: usize = 128;

/// The longest a whole key (`system:db:table:field`) may be, in characters.
pub const MAX_KEY_CHARS: usize = 4 * MAX_PART_CHARS + 3;

/// Names one counter: `{system_code}:{db_name}:{table_name}:{field_name}`, lower-cased.
///
/// Lower-casing follows the old service, so `Shop:Orders:T:ID` and `shop:orders:t:id`
/// are the same counter. Parts may contain any printable character (unicode, `-`, `:`,
/// spaces); control characters and empty parts are refused.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentKey {
    /// The whole key, `system:db:table:field`, lower-cased.
    full: String,
    /// Byte lengths of the four parts inside `full`, so the parts can be borrowed back.
    lens: [usize; 4],
}

impl SegmentKey {
    /// Builds and validates a key from its four parts.
    pub fn new(
        system_code: &str,
        db_name: &str,
        table_name: &str,
        field_name: &str,
    ) -> Result<Self> {
        let mut key = SegmentKey {
            full: String::with_capacity(
                system_code.len() + db_name.len() + table_name.len() + field_name.len() + 3,
            ),
            lens: [0; 4],
        };
        key.set(system_code, db_name, table_name, field_name)?;
        Ok(key)
    }

    /// Makes this key the one [`new`](Self::new) would build from the parts, reusing its
    /// memory: a server that keeps keys for reuse builds one per request without allocating.
    /// On an error the key is left empty (no valid key).
    pub fn set(
        &mut self,
        system_code: &str,
        db_name: &str,
        table_name: &str,
        field_name: &str,
    ) -> Result<()> {
        let parts = [
            ("system_code", system_code),
            ("db_name", db_name),
            ("table_name", table_name),
            ("field_name", field_name),
        ];
        self.full.clear();
        self.lens = [0; 4];
        for (i, (what, part)) in parts.iter().enumerate() {
            if i > 0 {
                self.full.push(':');
            }
            let start = self.full.len();
            if part.is_ascii() {
                self.full
                    .extend(part.chars().map(|c| c.to_ascii_lowercase()));
            } else {
                // Full Unicode lower-casing depends on context (a final sigma): as `new` did.
                self.full.push_str(&part.to_lowercase());
            }
            if let Err(e) = validate_part(what, &self.full[start..]) {
                self.full.clear();
                self.lens = [0; 4];
                return Err(e);
            }
            self.lens[i] = self.full.len() - start;
        }
        Ok(())
    }

    /// Parses a stored key string (`system:db:table:field`) back into a key.
    ///
    /// Parts may themselves contain `:`; the first three colons separate the parts and the
    /// rest belongs to the field name. The result's [`as_str`](Self::as_str) equals the
    /// lower-cased input, so a key read from [`SegmentAllocator::list`](crate::SegmentAllocator::list)
    /// names exactly the counter it was read from.
    pub fn parse(key: &str) -> Result<Self> {
        let mut it = key.splitn(4, ':');
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(s), Some(d), Some(t), Some(f)) => SegmentKey::new(s, d, t, f),
            _ => Err(Error::InvalidKey {
                reason: format!("{key:?} is not of the form system:db:table:field"),
            }),
        }
    }

    /// The whole key, `system:db:table:field`, as the stores keep it.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    fn part(&self, index: usize) -> &str {
        let start: usize = self.lens[..index].iter().sum::<usize>() + index;
        &self.full[start..start + self.lens[index]]
    }

    /// The system code, lower-cased.
    pub fn system_code(&self) -> &str {
        self.part(0)
    }

    /// The database name, lower-cased.
    pub fn db_name(&self) -> &str {
        self.part(1)
    }

    /// The table name, lower-cased.
    pub fn table_name(&self) -> &str {
        self.part(2)
    }

    /// The field name, lower-cased.
    pub fn field_name(&self) -> &str {
        self.part(3)
    }
}

fn validate_part(what: &str, part: &str) -> Result<()> {
    if part.trim().is_empty() {
        return Err(Error::InvalidKey {
            reason: format!("{what} must not be empty"),
        });
    }
    let chars = part.chars().count();
    if chars > MAX_PART_CHARS {
        return Err(Error::InvalidKey {
            reason: format!(
                "{what} is {chars} characters long; at most {MAX_PART_CHARS} are allowed"
            ),
        });
    }
    if part.trim() != part {
        return Err(Error::InvalidKey {
            reason: format!("{what} must not start or end with white space"),
        });
    }
    if part.chars().any(char::is_control) {
        return Err(Error::InvalidKey {
            reason: format!("{what} must not contain control characters"),
        });
    }
    Ok(())
}

impl fmt::Display for SegmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

impl fmt::Debug for SegmentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SegmentKey({:?})", self.full)
    }
}

/// A range of IDs handed out together: every integer in `start..=end` belongs to one caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    /// The first ID of the range.
    pub start: i64,
    /// The last ID of the range (inclusive).
    pub end: i64,
}

impl Segment {
    /// The segment that ends at `end` and holds `count` IDs.
    ///
    /// `count` must be at least 1 and `end - count + 1` must not underflow; allocators
    /// only call this with the value they just stored, which guarantees both.
    pub fn ending_at(end: i64, count: i64) -> Segment {
        Segment {
            start: end - count + 1,
            end,
        }
    }

    /// How many IDs the segment holds.
    pub fn len(&self) -> u64 {
        (self.end as i128 - self.start as i128 + 1) as u64
    }

    /// `true` when the segment holds no ID (never the case for allocated segments).
    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }
}

/// Checks an allocation count (`1..=i64::MAX`).
pub(crate) fn check_count(count: i64) -> Result<()> {
    if count < 1 {
        return Err(Error::InvalidCount { count });
    }
    Ok(())
}

/// Checks a counter value (`0..=i64::MAX`).
pub(crate) fn check_value(value: i64) -> Result<()> {
    if value < 0 {
        return Err(Error::InvalidValue { value });
    }
    Ok(())
}

/// The largest counter value from which `count` more IDs can still be handed out.
// Only the memory and SQL stores use it; a build may leave them out.
#[allow(dead_code)]
pub(crate) fn ceiling_for(count: i64) -> i64 {
    i64::MAX - count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the four parts of `key`, in order.
    fn assert_parts(key: &SegmentKey, [system, db, table, field]: [&str; 4]) {
        assert_eq!(key.system_code(), system);
        assert_eq!(key.db_name(), db);
        assert_eq!(key.table_name(), table);
        assert_eq!(key.field_name(), field);
    }

    #[test]
    fn key_is_lower_cased_and_displayed_with_colons() {
        let key = SegmentKey::new("Shop", "Orders-DB", "T_Order", "ID").unwrap();
        assert_eq!(key.to_string(), "shop:orders-db:t_order:id");
        assert_parts(&key, ["shop", "orders-db", "t_order", "id"]);
    }

    #[test]
    fn unicode_parts_keep_their_boundaries() {
        let key = SegmentKey::new("系统", "ÄÖ", "a:b", "Ω").unwrap();
        assert_eq!(key.as_str(), "系统:äö:a:b:ω");
        assert_parts(&key, ["系统", "äö", "a:b", "ω"]);
    }

    #[test]
    fn parse_round_trips_stored_keys() {
        let key = SegmentKey::new("s", "d", "t", "a:b").unwrap();
        assert_eq!(SegmentKey::parse(key.as_str()).unwrap(), key);
        assert!(SegmentKey::parse("s:d:t").is_err());
    }

    #[test]
    fn empty_long_and_control_parts_are_refused() {
        let long = "x".repeat(MAX_PART_CHARS + 1);
        let refused = [
            ["", "d", "t", "f"],
            ["s", "  ", "t", "f"],
            ["s", "d", &long, "f"],
            ["s", "d", "t\0", "f"],
            ["s", "d", "t", "f\n"],
            ["s", "d", "t ", "f"],
        ];
        for [system, db, table, field] in refused {
            assert!(
                matches!(
                    SegmentKey::new(system, db, table, field),
                    Err(Error::InvalidKey { .. })
                ),
                "{:?}",
                [system, db, table, field]
            );
        }
        assert!(SegmentKey::new("s", "d", &"x".repeat(MAX_PART_CHARS), "f").is_ok());
        assert!(SegmentKey::new("s", "d", "t t", "f").is_ok());
    }

    #[test]
    fn segment_arithmetic() {
        let s = Segment::ending_at(10_000, 10_000);
        assert_eq!((s.start, s.end, s.len()), (1, 10_000, 10_000));
        let s = Segment::ending_at(i64::MAX, i64::MAX);
        assert_eq!((s.start, s.len()), (1, i64::MAX as u64));
    }

    #[test]
    fn set_builds_what_new_builds_in_the_same_memory() {
        let mut key = SegmentKey::new("a", "b", "c", "d").unwrap();
        let cases = [
            ["Shop", "Orders", "T_Order", "ID"],
            ["ΣΊΣΥΦΟΣ", "Straße", "表", "Id"],
            ["x", "y", "z", "w"],
        ];
        for parts in cases {
            let [s, d, t, f] = parts;
            key.set(s, d, t, f).unwrap();
            assert_eq!(key, SegmentKey::new(s, d, t, f).unwrap());
            assert_eq!(
                key.table_name(),
                SegmentKey::new(s, d, t, f).unwrap().table_name()
            );
        }
        let capacity = key.full.capacity();
        key.set("shop", "orders", "t", "id").unwrap();
        assert_eq!(
            key.full.capacity(),
            capacity,
            "no new memory for a shorter key"
        );
        for bad in [
            ["", "b", "c", "d"],
            ["a", " b", "c", "d"],
            ["a", "b", "c\n", "d"],
        ] {
            let [s, d, t, f] = bad;
            let from_new = SegmentKey::new(s, d, t, f).unwrap_err().to_string();
            assert_eq!(key.set(s, d, t, f).unwrap_err().to_string(), from_new);
            assert_eq!(key.as_str(), "");
        }
    }
}
