//! Allocation with lazy initialization: a key without a counter is seeded from its business
//! table on first use, by one server at a time (a lock in the metadata store), and a key that
//! cannot be seeded is remembered for a while so that a misconfigured client does not send
//! every request to the business database.

use std::time::{Duration, Instant};

use super::IdService;
use super::seed;
use crate::allocator::RaiseOutcome;
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey};
use crate::store::meta::names;

impl IdService {
    /// Hands out `count` IDs of `key`, seeding its counter from the business table on first use
    /// (the old service's lazy initialization, single-flight across servers sharing the store).
    pub async fn allocate(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        match self.allocator.allocate(key, count).await {
            Err(Error::KeyNotFound { .. }) => {}
            done => return done,
        }
        self.lazy_initialize(key).await?;
        self.allocator.allocate(key, count).await
    }

    /// Seeds `key` unless another request does (waits for it) or it failed recently.
    async fn lazy_initialize(&self, key: &SegmentKey) -> Result<()> {
        let failure = format!("{}{key}", names::FAILURE_PREFIX);
        if self.meta.get(&failure).await?.is_some() {
            return Err(Error::NotFound(format!(
                "Table or field does not exist for key: {key}. Please check your database configuration."
            )));
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
            if self.meta.get(&failure).await?.is_some() {
                return Err(Error::NotFound(format!(
                    "Table or field does not exist for key: {key}. Please check your database configuration."
                )));
            }
            if Instant::now() >= deadline {
                return Err(Error::Busy(format!(
                    "Failed to initialize segment cache for key: {key}. System is busy, please retry later."
                )));
            }
        }
        let result = self.seed_locked(key, &failure).await;
        if let Err(e) = self.meta.delete_if_equals(&lock, &token).await {
            tracing::warn!(%key, error = %e, "could not release an initialization lock; it expires by itself");
        }
        result.map(|_| ())
    }

    /// Seeds `key` while holding its lock: nothing when its counter appeared meanwhile; a
    /// missing table or column is remembered for [`ServiceOptions::failure_ttl`].
    ///
    /// [`ServiceOptions::failure_ttl`]: super::ServiceOptions::failure_ttl
    async fn seed_locked(&self, key: &SegmentKey, failure: &str) -> Result<Option<RaiseOutcome>> {
        if self.allocator.get(key).await?.is_some() {
            return Ok(None);
        }
        let config = self.config_for_key(key).await?.ok_or_else(|| {
            Error::NotFound(format!(
                "Database configuration not found for system_code: {}, db_name: {}. Please add database configuration first.",
                key.system_code(),
                key.db_name()
            ))
        })?;
        let connector = self.connector(&config)?;
        match seed::seed_key(&config, &*connector, &*self.allocator, key).await {
            Ok(outcome) => {
                tracing::info!(%key, value = outcome.value(), "counter seeded on first allocation");
                Ok(Some(outcome))
            }
            Err(e @ Error::NotFound(_)) => {
                self.meta
                    .set(failure, "1", Some(self.options.failure_ttl))
                    .await?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}
