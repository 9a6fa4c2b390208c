//! Moving a store's contents: [`export`] and [`import`] (the server's `export` / `import`
//! commands, a JSON backup for stores without a durable copy), and moving the old service's
//! metadata out of Redis into a durable store the first time one is configured.
//!
//! What moves: database configurations (their passwords stay encrypted as stored), the admin
//! account (its password hash), discovered tables and every counter. What does not: expiring
//! entries (initialization locks, failure markers) and the generated JWT secret, which is a
//! secret in the clear; a store without one generates a new one (admins log in again).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::{MetaStore, names};
use crate::allocator::{Counter, SegmentAllocator};
use crate::error::{Error, Result};
use crate::key::SegmentKey;

/// The format version [`export`] writes and [`import`] reads.
pub const FORMAT: u32 = 1;

/// A store's contents, as [`export`] writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// [`FORMAT`].
    pub format: u32,
    /// Metadata values by name (the old service's key names).
    pub values: BTreeMap<String, String>,
    /// Metadata sets by name (discovered tables).
    pub sets: BTreeMap<String, Vec<String>>,
    /// Every counter.
    pub counters: Vec<Counter>,
}

/// Whether a metadata name is moved (expiring entries and the JWT secret are not).
fn moves(name: &str) -> bool {
    !(name.starts_with(names::LOCK_PREFIX)
        || name.starts_with(names::FAILURE_PREFIX)
        || name == names::JWT_SECRET)
}

/// The metadata of `meta` that moves: values and the discovered-table sets of every configuration.
async fn metadata(
    meta: &dyn MetaStore,
) -> Result<(BTreeMap<String, String>, BTreeMap<String, Vec<String>>)> {
    let mut values = BTreeMap::new();
    for (name, value) in meta.scan("kxy:id:").await? {
        if moves(&name) && !name.starts_with(names::DISCOVERED_PREFIX) {
            values.insert(name, value);
        }
    }
    let mut sets = BTreeMap::new();
    for name in values.keys() {
        if let Some(guid) = name.strip_prefix(names::DB_CONFIG_PREFIX) {
            let set = format!("{}{guid}", names::DISCOVERED_PREFIX);
            let members = meta.members(&set).await?;
            if !members.is_empty() {
                sets.insert(set, members);
            }
        }
    }
    Ok((values, sets))
}

/// Reads everything that moves out of a store.
pub async fn export(allocator: &dyn SegmentAllocator, meta: &dyn MetaStore) -> Result<Export> {
    let (values, sets) = metadata(meta).await?;
    Ok(Export {
        format: FORMAT,
        values,
        sets,
        counters: allocator.list("").await?,
    })
}

/// Writes an export into a store: metadata values and sets are replaced, counters are only
/// ever raised (an import never moves a counter back). Every key is checked before anything
/// is written, so a bad file changes nothing.
pub async fn import(
    allocator: &dyn SegmentAllocator,
    meta: &dyn MetaStore,
    export: &Export,
) -> Result<()> {
    if export.format != FORMAT {
        return Err(Error::InvalidConfig(format!(
            "export format {} is not supported (this build reads format {FORMAT})",
            export.format
        )));
    }
    let keys = export
        .counters
        .iter()
        .map(|c| {
            crate::key::check_value(c.value)?;
            SegmentKey::parse(&c.key)
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(name) = export
        .values
        .keys()
        .chain(export.sets.keys())
        .find(|n| !n.starts_with("kxy:id:") || !moves(n))
    {
        return Err(Error::InvalidConfig(format!(
            "the export holds {name:?}, which is not metadata this server keeps"
        )));
    }
    for (name, value) in &export.values {
        meta.set(name, value, None).await?;
    }
    for (name, members) in &export.sets {
        meta.replace_members(name, members).await?;
    }
    for (key, counter) in keys.iter().zip(&export.counters) {
        allocator.raise_to(key, counter.value).await?;
    }
    Ok(())
}

/// The first time a durable store is configured beside a Redis that holds the old service's
/// metadata, copies that metadata into the durable store (which from then on is the one the
/// server reads). Does nothing when the durable store already has an admin or a configuration.
/// Counters need no copy: each key's first allocation raises its durable mark.
#[allow(dead_code)]
pub(crate) async fn adopt_metadata(redis: &dyn MetaStore, durable: &dyn MetaStore) -> Result<()> {
    let has_own = durable.get(names::SYSTEM_INIT).await?.is_some()
        || !durable.scan(names::DB_CONFIG_PREFIX).await?.is_empty();
    if has_own {
        return Ok(());
    }
    let (values, sets) = metadata(redis).await?;
    if values.is_empty() {
        return Ok(());
    }
    tracing::info!(
        entries = values.len(),
        "copying the metadata kept in Redis into the durable store"
    );
    for (name, value) in &values {
        durable.set(name, value, None).await?;
    }
    for (name, members) in &sets {
        durable.replace_members(name, members).await?;
    }
    Ok(())
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use super::*;
    use crate::store::{MemoryAllocator, MemoryMetaStore};
    use std::time::Duration;

    async fn filled() -> (MemoryAllocator, MemoryMetaStore) {
        let allocator = MemoryAllocator::new();
        let meta = MemoryMetaStore::new();
        let key = SegmentKey::new("shop", "orders", "t_order", "id").unwrap();
        allocator.raise_to(&key, 4200).await.unwrap();
        meta.set("kxy:id:db_config:g1", r#"{"guid":"g1"}"#, None)
            .await
            .unwrap();
        meta.set(names::SYSTEM_INIT, "1", None).await.unwrap();
        meta.set(names::JWT_SECRET, "jwt-secret-value", None)
            .await
            .unwrap();
        meta.set(
            "kxy:id:lock:segment:x",
            "token",
            Some(Duration::from_secs(60)),
        )
        .await
        .unwrap();
        meta.replace_members("kxy:id:discovered_tables:g1", &["t1".into()])
            .await
            .unwrap();
        (allocator, meta)
    }

    #[tokio::test]
    async fn export_then_import_moves_metadata_and_counters_but_no_secret() {
        let (allocator, meta) = filled().await;
        let export = export(&allocator, &meta).await.unwrap();
        assert!(!export.values.contains_key(names::JWT_SECRET));
        assert!(!export.values.keys().any(|k| k.contains(":lock:")));
        assert_eq!(export.counters.len(), 1);
        let json = serde_json::to_string(&export).unwrap();
        assert!(!json.contains("jwt-secret-value"));

        let (to_alloc, to_meta) = (MemoryAllocator::new(), MemoryMetaStore::new());
        let key = SegmentKey::new("shop", "orders", "t_order", "id").unwrap();
        to_alloc.raise_to(&key, 9000).await.unwrap();
        import(&to_alloc, &to_meta, &serde_json::from_str(&json).unwrap())
            .await
            .unwrap();
        assert_eq!(
            to_alloc.get(&key).await.unwrap(),
            Some(9000),
            "never lowered"
        );
        assert_eq!(
            to_meta.get("kxy:id:db_config:g1").await.unwrap().as_deref(),
            Some(r#"{"guid":"g1"}"#)
        );
        assert_eq!(
            to_meta
                .members("kxy:id:discovered_tables:g1")
                .await
                .unwrap(),
            vec!["t1".to_string()]
        );
    }

    #[tokio::test]
    async fn a_bad_import_changes_nothing() {
        let (to_alloc, to_meta) = (MemoryAllocator::new(), MemoryMetaStore::new());
        let mut bad = Export {
            format: FORMAT,
            ..Default::default()
        };
        bad.values.insert("kxy:id:db_config:g".into(), "{}".into());
        bad.counters.push(Counter {
            key: "not a key".into(),
            value: 5,
        });
        assert!(import(&to_alloc, &to_meta, &bad).await.is_err());
        bad.counters.clear();
        bad.values.insert("other:key".into(), "x".into());
        assert!(import(&to_alloc, &to_meta, &bad).await.is_err());
        assert!(to_meta.scan("").await.unwrap().is_empty());
        let future = Export {
            format: FORMAT + 1,
            ..Default::default()
        };
        assert!(import(&to_alloc, &to_meta, &future).await.is_err());
    }

    #[tokio::test]
    async fn metadata_is_adopted_once_and_never_over_the_durable_stores_own() {
        let (_, redis) = filled().await;
        let durable = MemoryMetaStore::new();
        adopt_metadata(&redis, &durable).await.unwrap();
        assert_eq!(
            durable.get(names::SYSTEM_INIT).await.unwrap().as_deref(),
            Some("1")
        );
        assert_eq!(durable.get(names::JWT_SECRET).await.unwrap(), None);
        redis.set("kxy:id:db_config:g2", "{}", None).await.unwrap();
        adopt_metadata(&redis, &durable).await.unwrap();
        assert_eq!(durable.get("kxy:id:db_config:g2").await.unwrap(), None);
    }
}
