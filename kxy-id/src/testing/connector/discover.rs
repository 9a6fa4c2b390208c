//! The check of [`discover`], the scanner's read-only pass: every seedable table without a
//! counter listed with its `MAX`, and nothing written.

use super::MixedCase;
use super::fixture::{Expect, Fixture};
use crate::allocator::SegmentAllocator;
use crate::config::DatabaseConfig;
use crate::connector::DbConnector;
use crate::service::discovery::discover;

/// `discover` (the scanner's pass, [`IdService::scan_once`](crate::IdService::scan_once))
/// lists the seedable tables without a counter, with their `MAX`, and writes nothing.
pub async fn discover_never_writes(
    config: &DatabaseConfig,
    connector: &dyn DbConnector,
    allocator: &dyn SegmentAllocator,
    fixture: &Fixture,
) {
    // A counter exists for one seedable table: that table is not discovered.
    let counted = MixedCase::find(config, connector, fixture).await;
    allocator.create(&counted.key, 1).await.unwrap();
    let found = discover(config, connector, allocator)
        .await
        .expect("discover");
    for t in &fixture.tables {
        let listed = found.iter().find(|d| d.table == t.name);
        match &t.expect {
            Expect::Seedable { column, max } if t.name != counted.table.name => {
                let d = listed.unwrap_or_else(|| panic!("{} not discovered: {found:?}", t.name));
                assert_eq!(
                    (&d.database, &d.primary_key, d.max_id),
                    (&counted.db, column, (*max).max(0))
                );
            }
            _ => assert!(listed.is_none(), "{} must not be discovered", t.name),
        }
    }
    let json = serde_json::to_value(&found[0]).unwrap();
    let mut fields: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    fields.sort();
    assert_eq!(fields, ["database", "max_id", "primary_key", "table"]);
    let prefix = format!("{}:", config.system_code.to_lowercase());
    let counters = allocator.list(&prefix).await.unwrap();
    assert_eq!(counters.len(), 1, "discover wrote counters: {counters:?}");
    assert_eq!(allocator.get(&counted.key).await.unwrap(), Some(1));
}
