//! The metadata conformance suite: every [`MetaStore`] passes it.

use std::time::Duration;

use crate::store::meta::MetaStore;

/// Checks every [`MetaStore`] passes, over names under `prefix`.
pub async fn meta_store_conforms(store: &dyn MetaStore, prefix: &str) {
    let a = format!("{prefix}:a");
    assert_eq!(store.get(&a).await.unwrap(), None);
    store.set(&a, "1", None).await.unwrap();
    assert_eq!(store.get(&a).await.unwrap().as_deref(), Some("1"));
    assert!(!store.set_if_absent(&a, "2", None).await.unwrap());
    assert_eq!(store.get(&a).await.unwrap().as_deref(), Some("1"));
    assert!(!store.delete_if_equals(&a, "2").await.unwrap());
    assert!(store.delete_if_equals(&a, "1").await.unwrap());
    assert!(!store.delete(&a).await.unwrap());

    // Expiry: a value past its TTL is absent and can be taken over.
    let lock = format!("{prefix}:lock");
    assert!(
        store
            .set_if_absent(&lock, "t1", Some(Duration::from_millis(150)))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_if_absent(&lock, "t2", Some(Duration::from_secs(10)))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.get(&lock).await.unwrap(), None);
    assert!(
        store
            .set_if_absent(&lock, "t2", Some(Duration::from_secs(10)))
            .await
            .unwrap()
    );
    assert!(!store.delete_if_equals(&lock, "t1").await.unwrap());
    assert!(store.delete_if_equals(&lock, "t2").await.unwrap());

    // Only one of many concurrent takers gets a lock.
    let race = format!("{prefix}:race");
    let mut won = 0;
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let token = format!("t{i}");
            let race = race.clone();
            async move {
                store
                    .set_if_absent(&race, &token, Some(Duration::from_secs(10)))
                    .await
                    .unwrap()
            }
        })
        .collect();
    for got in futures_util::future::join_all(attempts).await {
        won += got as usize;
    }
    assert_eq!(won, 1);
    store.delete(&race).await.unwrap();

    // Scan by prefix, literally.
    let scan = format!("{prefix}:scan*:");
    store.set(&format!("{scan}b"), "B", None).await.unwrap();
    store.set(&format!("{scan}a"), "A", None).await.unwrap();
    store
        .set(&format!("{prefix}:scanx:c"), "C", None)
        .await
        .unwrap();
    let got = store.scan(&scan).await.unwrap();
    assert_eq!(
        got,
        vec![
            (format!("{scan}a"), "A".into()),
            (format!("{scan}b"), "B".into())
        ]
    );
    for (n, _) in store.scan(&format!("{prefix}:")).await.unwrap() {
        store.delete(&n).await.unwrap();
    }
    assert!(store.scan(&format!("{prefix}:")).await.unwrap().is_empty());

    // Sets.
    let set = format!("{prefix}:set");
    assert!(store.members(&set).await.unwrap().is_empty());
    store
        .replace_members(&set, &["y".into(), "x".into()])
        .await
        .unwrap();
    assert_eq!(
        store.members(&set).await.unwrap(),
        vec!["x".to_string(), "y".to_string()]
    );
    assert!(store.remove_member(&set, "x").await.unwrap());
    assert!(!store.remove_member(&set, "x").await.unwrap());
    assert_eq!(store.members(&set).await.unwrap(), vec!["y".to_string()]);
    store.replace_members(&set, &[]).await.unwrap();
    assert!(store.members(&set).await.unwrap().is_empty());
}
