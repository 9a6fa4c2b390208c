//! Checks of keys: unusual characters, case, and listing and deleting under a prefix.

use super::{assert_counter, cleanup};
use crate::allocator::SegmentAllocator;
use crate::error::Error;
use crate::key::{Segment, SegmentKey};

/// Keys with unicode, `-`, `:`, quotes, glob and SQL characters are distinct counters.
pub async fn unusual_key_characters_work(a: &dyn SegmentAllocator, system: &str, exact: bool) {
    let tables = [
        "订单表",
        "with-dash",
        "with:colon",
        "with space",
        "quote'single",
        "quote\"double",
        "back\\slash",
        "glob*star",
        "glob?mark",
        "glob[set]",
        "percent%_under",
        "'; drop table kxy_id_segments; --",
        "emoji🦀",
    ];
    for (i, table) in tables.iter().enumerate() {
        let k = SegmentKey::new(system, "odd", table, "id").unwrap();
        a.create(&k, (i as i64) * 1000).await.unwrap();
        let seg = a.allocate(&k, 3).await.unwrap();
        assert_eq!(seg.start, (i as i64) * 1000 + 1, "{}: key {k}", a.backend());
        assert_counter(a, &k, (i as i64) * 1000 + 3, exact).await;
    }
    let prefix = format!("{}:odd:", system.to_lowercase());
    let listed = a.list(&prefix).await.unwrap();
    assert_eq!(listed.len(), tables.len(), "{}: {listed:?}", a.backend());
    // A prefix with glob characters matches literally.
    let glob_prefix = format!("{}:odd:glob*", system.to_lowercase());
    let listed = a.list(&glob_prefix).await.unwrap();
    assert_eq!(listed.len(), 1, "{}: {listed:?}", a.backend());
    assert_eq!(
        listed[0].key,
        format!("{}:odd:glob*star:id", system.to_lowercase())
    );
    let percent = format!("{}:odd:percent%", system.to_lowercase());
    assert_eq!(a.list(&percent).await.unwrap().len(), 1);
    let underscore = format!("{}:odd:quote_", system.to_lowercase());
    assert_eq!(
        a.list(&underscore).await.unwrap().len(),
        0,
        "{}: `_` must not be a wildcard",
        a.backend()
    );
}

/// Keys differing only in case name the same counter.
pub async fn keys_are_case_insensitive(a: &dyn SegmentAllocator, system: &str) {
    let upper = SegmentKey::new(&system.to_uppercase(), "DB", "Case", "ID").unwrap();
    let lower = SegmentKey::new(system, "db", "case", "id").unwrap();
    a.create(&upper, 41).await.unwrap();
    assert_eq!(
        a.allocate(&lower, 1).await.unwrap(),
        Segment { start: 42, end: 42 }
    );
    assert!(matches!(
        a.create(&lower, 1).await,
        Err(Error::AlreadyExists { .. })
    ));
}

/// `list` returns sorted counters under a prefix; `delete` forgets one.
pub async fn list_and_delete(a: &dyn SegmentAllocator, system: &str) {
    let sys = format!("{system}-list");
    let keys: Vec<_> = ["c", "a", "b"]
        .iter()
        .map(|t| SegmentKey::new(&sys, "db", t, "id").unwrap())
        .collect();
    for (i, k) in keys.iter().enumerate() {
        a.create(k, i as i64 + 1).await.unwrap();
    }
    let prefix = format!("{}:", sys.to_lowercase());
    let listed = a.list(&prefix).await.unwrap();
    let names: Vec<_> = listed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(
        names,
        [
            format!("{prefix}db:a:id"),
            format!("{prefix}db:b:id"),
            format!("{prefix}db:c:id")
        ],
        "{}",
        a.backend()
    );
    assert_eq!(listed[0].value, 2);
    assert!(
        a.list(&format!("{prefix}nothing"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(a.delete(&keys[0]).await.unwrap());
    assert!(!a.delete(&keys[0]).await.unwrap());
    assert_eq!(a.get(&keys[0]).await.unwrap(), None);
    assert!(matches!(
        a.allocate(&keys[0], 1).await,
        Err(Error::KeyNotFound { .. })
    ));
    assert_eq!(a.list(&prefix).await.unwrap().len(), 2);
    cleanup(a, &sys).await;
}
