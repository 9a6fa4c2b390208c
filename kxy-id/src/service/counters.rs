//! Custom counters (keys that are no table's primary key) and counter listing.

use serde::{Deserialize, Serialize};

use super::IdService;
use crate::allocator::Counter;
use crate::error::{Error, Result};
use crate::key::SegmentKey;

/// A custom sequence created by [`IdService::add_custom_counter`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomCounter {
    /// The key created.
    pub segment_key: String,
    /// Its starting value.
    #[serde(deserialize_with = "crate::wire::deserialize_integer")]
    pub initial_value: i64,
}

impl IdService {
    /// Creates a counter for a key that is not a table's primary key, starting at `initial_value`.
    pub async fn add_custom_counter(
        &self,
        guid: &str,
        table_name: &str,
        field_name: &str,
        initial_value: i64,
    ) -> Result<CustomCounter> {
        let config = self.get_database(guid).await?;
        let db = config
            .database()
            .ok_or_else(|| Error::InvalidConfig("Database name not configured".into()))?;
        let key = SegmentKey::new(&config.system_code, db, table_name, field_name)?;
        match self.allocator.create(&key, initial_value).await {
            Ok(()) => Ok(CustomCounter {
                segment_key: key.to_string(),
                initial_value,
            }),
            Err(Error::AlreadyExists { .. }) => Err(Error::AlreadyExists {
                key: key.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// Counters whose key starts with `system:` / `system:db:` (all when `system` is `None`).
    pub async fn counters(
        &self,
        system: Option<&str>,
        database: Option<&str>,
    ) -> Result<Vec<Counter>> {
        let prefix = match (system, database) {
            (Some(s), Some(d)) => format!("{}:{}:", s.to_lowercase(), d.to_lowercase()),
            (Some(s), None) => format!("{}:", s.to_lowercase()),
            (None, _) => String::new(),
        };
        let mut counters = self.allocator.list(&prefix).await?;
        if let (None, Some(d)) = (system, database) {
            let d = d.to_lowercase();
            counters.retain(|c| SegmentKey::parse(&c.key).is_ok_and(|k| k.db_name() == d));
        }
        Ok(counters)
    }
}
