//! Allocation with lazy initialization: a key without a counter is seeded from its business
//! table's single-column integer primary key on first use, by one server at a time (a lock in
//! the metadata store). Keys of tables that do not exist are answered from a table list read
//! once per database and TTL, and lookups of the business database are budgeted per
//! database (`unknown`), so a misconfigured or hostile client costs neither the business
//! database nor rows in the store.

use std::time::{Duration, Instant};

use super::IdService;
use super::seed;
use super::unknown::Known;
use crate::allocator::RaiseOutcome;
use crate::config::DatabaseConfig;
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey};
use crate::store::meta::names;

impl IdService {
    /// Hands out `count` IDs of `key`, seeding its counter from the business table on first use
    /// (the old service's lazy initialization, single-flight across servers sharing the store).
    ///
    /// A counter found negative (written by hand into a shared Redis) is refused as
    /// [`Error::CorruptCounter`].
    pub async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        let segment = match self.allocator.allocate_now(key, count) {
            Some(done) => done?,
            None => match self.allocator.allocate(key, count).await {
                Err(Error::KeyNotFound { .. }) => {
                    self.lazy_initialize(key).await?;
                    self.allocator.allocate(key, count).await?
                }
                done => done?,
            },
        };
        if segment.start < 1 {
            return Err(Error::CorruptCounter {
                key: key.to_string(),
                value: (segment.start - 1).to_string(),
            });
        }
        Ok(segment)
    }

    /// Seeds `key` unless another request does (waits for it) or it cannot be seeded.
    async fn lazy_initialize(&self, key: &SegmentKey) -> Result<()> {
        let config = self
            .config_for_key(key)
            .await?
            .ok_or_else(|| Error::NoConfig {
                system_code: key.system_code().to_owned(),
                db_name: key.db_name().to_owned(),
            })?;
        if self
            .unknown
            .lookup(&config.guid, key.db_name(), key.table_name())
            == Known::Missing
        {
            return Err(no_source(key));
        }
        let lock = format!("{}{key}", names::LOCK_PREFIX);
        let token = uuid::Uuid::new_v4().to_string();
        let deadline = Instant::now() + self.options.init_wait;
        loop {
            if self
                .meta
                .set_if_absent(&lock, &token, Some(self.options.lock_ttl))
                .await?
            {
                break;
            }
            // Someone else is initializing: done when the counter appears.
            tokio::time::sleep(Duration::from_millis(25)).await;
            if self.allocator.get(key).await?.is_some() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Busy(format!(
                    "Failed to initialize segment cache for key: {key}. System is busy, please retry later."
                )));
            }
        }
        let result = self.seed_locked(key, &config).await;
        if let Err(e) = self.meta.delete_if_equals(&lock, &token).await {
            tracing::warn!(%key, error = %e, "could not release an initialization lock; it expires by itself");
        }
        result.map(|_| ())
    }

    /// Seeds `key` while holding its lock: nothing when its counter appeared meanwhile.
    async fn seed_locked(
        &self,
        key: &SegmentKey,
        config: &DatabaseConfig,
    ) -> Result<Option<RaiseOutcome>> {
        if self.allocator.get(key).await?.is_some() {
            return Ok(None);
        }
        let connector = self.connector(config)?;
        let (guid, db) = (config.guid.as_str(), key.db_name());
        if self.unknown.lookup(guid, db, key.table_name()) == Known::Stale {
            self.admit(guid, db)?;
            let tables = match connector.find_database(db).await? {
                Some(real) => Some(connector.list_tables(&real).await?),
                None => None,
            };
            self.unknown.store(guid, db, tables);
        }
        if self.unknown.lookup(guid, db, key.table_name()) != Known::Exists {
            return Err(no_source(key));
        }
        self.admit(guid, db)?;
        let outcome = seed::seed_key(config, &*connector, &*self.allocator, key).await?;
        tracing::info!(%key, value = outcome.value(), "counter seeded on first allocation");
        Ok(Some(outcome))
    }

    /// Takes one business-database lookup from the budget of `db`.
    fn admit(&self, guid: &str, db: &str) -> Result<()> {
        if self.unknown.admit(guid, db) {
            Ok(())
        } else {
            Err(Error::Busy(format!(
                "Too many first allocations of keys without a counter for database {db}; please retry later."
            )))
        }
    }
}

/// The one answer for a key that lazy initialization may not seed.
fn no_source(key: &SegmentKey) -> Error {
    Error::NoSource {
        key: key.to_string(),
    }
}
