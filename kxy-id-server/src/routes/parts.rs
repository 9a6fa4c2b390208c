//! The fields of one allocation borrowed from the request body, and the keys built from them,
//! kept for reuse: the common request is answered without building a JSON tree or a key of
//! its own.

use std::sync::Mutex;

use kxy_id::SegmentKey;
use kxy_id::wire::{AllocateRequest, DEFAULT_SEGMENT_COUNT, MAX_FIELD_CHARS};
use serde::Deserialize;

/// One allocation's fields, as the caller wrote them.
///
/// The serde names are those of [`kxy_id::wire::field`] (a test keeps them in step): this is
/// the borrowed reading of [`AllocateRequest`], not a second contract.
#[derive(Debug, Deserialize)]
pub(crate) struct Parts<'a> {
    #[serde(borrow)]
    pub(crate) system_code: &'a str,
    #[serde(borrow)]
    pub(crate) db_name: &'a str,
    #[serde(borrow)]
    pub(crate) table_name: &'a str,
    #[serde(borrow)]
    pub(crate) field_name: &'a str,
    #[serde(default = "default_count")]
    pub(crate) segment_count: i64,
}

fn default_count() -> i64 {
    DEFAULT_SEGMENT_COUNT
}

impl<'a> Parts<'a> {
    /// The fields of a request read the general way.
    pub(crate) fn of(request: &'a AllocateRequest) -> Self {
        Parts {
            system_code: &request.system_code,
            db_name: &request.db_name,
            table_name: &request.table_name,
            field_name: &request.field_name,
            segment_count: request.segment_count,
        }
    }

    /// The body read directly into borrowed fields, when it is the plain form the general
    /// reading would accept as it is: strings without escapes of 1 to [`MAX_FIELD_CHARS`]
    /// characters and an integer count of at least 1. `None` for anything else (escapes, a
    /// count written as a string, a missing field, a duplicate key): the general reading then
    /// accepts it or names every problem.
    pub(crate) fn read(body: &'a [u8]) -> Option<Self> {
        let parts: Parts<'a> = serde_json::from_slice(body).ok()?;
        let fits = |s: &str| {
            !s.is_empty() && s.len() <= MAX_FIELD_CHARS * 4 && {
                let n = s.chars().count();
                (1..=MAX_FIELD_CHARS).contains(&n)
            }
        };
        let all = [
            parts.system_code,
            parts.db_name,
            parts.table_name,
            parts.field_name,
        ];
        (all.into_iter().all(fits) && parts.segment_count >= 1).then_some(parts)
    }

    /// The segment key of these fields, in a key kept for reuse.
    pub(crate) fn key(&self) -> Result<PooledKey, kxy_id::Error> {
        let mut key = PooledKey::take();
        key.0.as_mut().expect("present until dropped").set(
            self.system_code,
            self.db_name,
            self.table_name,
            self.field_name,
        )?;
        Ok(key)
    }
}

/// Keys waiting for reuse, at most [`POOL`].
static KEYS: Mutex<Vec<SegmentKey>> = Mutex::new(Vec::new());

/// The most keys kept: about one per request in flight on a busy server.
const POOL: usize = 1024;

/// A key taken from the pool; it goes back when dropped (also when the request is abandoned).
pub(crate) struct PooledKey(Option<SegmentKey>);

impl PooledKey {
    fn take() -> Self {
        let kept = KEYS.lock().unwrap_or_else(|p| p.into_inner()).pop();
        PooledKey(Some(kept.unwrap_or_else(|| {
            SegmentKey::new("k", "k", "k", "k").expect("a valid key")
        })))
    }
}

impl std::ops::Deref for PooledKey {
    type Target = SegmentKey;
    fn deref(&self) -> &SegmentKey {
        self.0.as_ref().expect("present until dropped")
    }
}

impl Drop for PooledKey {
    fn drop(&mut self) {
        let mut keys = KEYS.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() < POOL
            && let Some(key) = self.0.take()
        {
            keys.push(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kxy_id::wire::field;

    #[test]
    fn the_names_are_those_of_the_wire_contract() {
        let body = serde_json::json!({
            field::SYSTEM_CODE: "s", field::DB_NAME: "d", field::TABLE_NAME: "t",
            field::FIELD_NAME: "f", field::SEGMENT_COUNT: 7,
        })
        .to_string();
        let p = Parts::read(body.as_bytes()).expect("the plain form");
        assert_eq!(
            (
                p.system_code,
                p.db_name,
                p.table_name,
                p.field_name,
                p.segment_count
            ),
            ("s", "d", "t", "f", 7)
        );
    }

    #[test]
    fn anything_but_the_plain_form_goes_the_general_way() {
        let long = "x".repeat(MAX_FIELD_CHARS + 1);
        let plain = r#"{"system_code":"s","db_name":"d","table_name":"t","field_name":"f"}"#;
        let p = Parts::read(plain.as_bytes()).expect("count defaults");
        assert_eq!(p.segment_count, DEFAULT_SEGMENT_COUNT);
        for body in [
            r#"{"system_code":"s\u0041","db_name":"d","table_name":"t","field_name":"f"}"#.to_owned(),
            r#"{"system_code":"s","db_name":"d","table_name":"t","field_name":"f","segment_count":"5"}"#.to_owned(),
            r#"{"system_code":"s","db_name":"d","table_name":"t","field_name":"f","segment_count":0}"#.to_owned(),
            r#"{"system_code":"s","db_name":"d","table_name":"t","field_name":"f","segment_count":null}"#.to_owned(),
            r#"{"system_code":"s","db_name":"d","table_name":"t"}"#.to_owned(),
            r#"{"system_code":"","db_name":"d","table_name":"t","field_name":"f"}"#.to_owned(),
            r#"{"system_code":"s","system_code":"s","db_name":"d","table_name":"t","field_name":"f"}"#.to_owned(),
            format!(r#"{{"system_code":"{long}","db_name":"d","table_name":"t","field_name":"f"}}"#),
            "[1]".to_owned(),
        ] {
            assert!(Parts::read(body.as_bytes()).is_none(), "{body}");
        }
    }

    #[test]
    fn keys_are_reused_and_equal_to_new_ones() {
        let body = br#"{"system_code":"Shop","db_name":"DB","table_name":"T","field_name":"Id"}"#;
        let p = Parts::read(body).unwrap();
        let first = p.key().unwrap();
        assert_eq!(*first, SegmentKey::new("Shop", "DB", "T", "Id").unwrap());
        drop(first);
        let again = p.key().unwrap();
        assert_eq!(again.as_str(), "shop:db:t:id");
    }
}
