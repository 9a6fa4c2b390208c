//! [`IdGeneratorFactory`]: generators for the tables of one system and database.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use kxy_id::SegmentKey;
use tokio::runtime::Handle;

use crate::background::Background;
use crate::batching::BatchingSource;
use crate::config::GeneratorConfig;
use crate::error::{Error, Result};
use crate::generator::{IdGenerator, Snapshot};
use crate::source::SegmentSource;

/// Generators for many keys of one system and database, created on first use and shared.
///
/// Like the Python client's `IdGeneratorFactory`: `factory.generator("t_order", "id")` returns
/// the same `Arc<IdGenerator>` on every call for the same table and field (names compare
/// case-insensitively, as segment keys do). All generators of a factory share one background
/// runtime thread (or the caller's runtime) and one source; with a source that batches (an
/// [`HttpSource`](crate::HttpSource)), refills that fall due together go out as one request
/// ([`IdGeneratorFactoryBuilder::batch_refills`]).
///
/// Keep the `Arc<IdGenerator>` for hot paths: [`generator`](Self::generator) and
/// [`next_id`](Self::next_id) build a key and look it up on every call.
///
/// Dropping the factory drops its references; a generator still held elsewhere keeps working
/// (and keeps the background thread) until it is dropped too.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
/// use kxy_id::{MemoryAllocator, SegmentAllocator, SegmentKey};
/// use kxy_id_client::{AllocatorSource, IdGeneratorFactory};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(MemoryAllocator::new());
/// let runtime = tokio::runtime::Runtime::new()?;
/// for table in ["t_order", "t_refund"] {
///     runtime.block_on(store.raise_to(&SegmentKey::new("shop", "orders", table, "id")?, 0))?;
/// }
/// let factory = IdGeneratorFactory::new(Arc::new(AllocatorSource::new(store)), "shop", "orders")?;
/// let orders = factory.generator("t_order", "id")?;
/// assert!(Arc::ptr_eq(&orders, &factory.generator("T_ORDER", "ID")?));
/// let (a, b) = (orders.next_id()?, orders.next_id()?);
/// assert!(b > a);
/// assert!(factory.next_id("t_refund", "id")? >= 1);
/// # Ok(())
/// # }
/// ```
pub struct IdGeneratorFactory {
    /// What every generator is made from.
    settings: Settings,
    /// Generators by key.
    generators: RwLock<HashMap<SegmentKey, Arc<IdGenerator>>>,
    /// The runtime shared by the generators.
    background: Arc<Background>,
}

impl std::fmt::Debug for IdGeneratorFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = &self.settings;
        f.debug_struct("IdGeneratorFactory")
            .field("system_code", &settings.system_code)
            .field("db_name", &settings.db_name)
            .field("source", &settings.source)
            .field("table_steps", &settings.table_steps)
            .finish_non_exhaustive()
    }
}

/// What the generators of a factory are made from, as the builder collects it.
#[derive(Debug)]
struct Settings {
    /// Where segments come from.
    source: Arc<dyn SegmentSource>,
    /// The system code of every key.
    system_code: String,
    /// The database name of every key.
    db_name: String,
    /// Settings of every generator, before per-table overrides.
    config: GeneratorConfig,
    /// Initial steps per lower-cased table name.
    table_steps: HashMap<String, i64>,
    /// Group refills that fall due together ([`BatchingSource`]).
    batch_refills: bool,
}

impl Settings {
    /// Checks the names and every generator's settings.
    fn validate(&self) -> Result<()> {
        // A key with placeholder table and field checks the system code and database name.
        SegmentKey::new(&self.system_code, &self.db_name, "t", "f")?;
        self.config.validate()?;
        for (table, step) in &self.table_steps {
            table_config(&self.config, *step)
                .validate()
                .map_err(|e| Error::InvalidConfig(format!("step of table {table}: {e}")))?;
        }
        Ok(())
    }

    /// The settings of the generator for `key`.
    fn config_for(&self, key: &SegmentKey) -> GeneratorConfig {
        match self.table_steps.get(key.table_name()) {
            Some(step) => table_config(&self.config, *step),
            None => self.config.clone(),
        }
    }
}

/// Builds an [`IdGeneratorFactory`]; see [`IdGeneratorFactory::builder`].
#[derive(Debug)]
pub struct IdGeneratorFactoryBuilder {
    /// What every generator is made from.
    settings: Settings,
    /// A caller's runtime, if any.
    runtime: Option<Handle>,
}

impl IdGeneratorFactoryBuilder {
    /// Settings for every generator (default: [`GeneratorConfig::default`]).
    pub fn config(mut self, config: GeneratorConfig) -> Self {
        self.settings.config = config;
        self
    }

    /// The initial step for one table (for example a table that takes many more IDs).
    pub fn table_step(mut self, table_name: &str, step: i64) -> Self {
        self.settings
            .table_steps
            .insert(table_name.to_lowercase(), step);
        self
    }

    /// Whether refills of several generators that fall due together go out as one batch
    /// ([`BatchingSource`], one round trip to the server's batch endpoint) when the source
    /// [batches](SegmentSource::batches). Default `true`.
    pub fn batch_refills(mut self, batch: bool) -> Self {
        self.settings.batch_refills = batch;
        self
    }

    /// Runs background fetches on a caller's runtime; see [`IdGeneratorBuilder::runtime`](crate::IdGeneratorBuilder::runtime).
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Checks the names and settings and returns the factory (no generator exists yet).
    pub fn build(mut self) -> Result<IdGeneratorFactory> {
        self.settings.validate()?;
        if self.settings.batch_refills && self.settings.source.batches() {
            let source = self.settings.source.clone();
            self.settings.source = Arc::new(BatchingSource::new(source));
        }
        let background = match self.runtime {
            Some(handle) => Background::on(handle),
            None => Background::start("kxy-id-prefetch")?,
        };
        Ok(IdGeneratorFactory {
            settings: self.settings,
            generators: RwLock::new(HashMap::new()),
            background,
        })
    }
}

/// The settings of a table with its own initial step.
fn table_config(base: &GeneratorConfig, step: i64) -> GeneratorConfig {
    let mut config = base.clone().step(step);
    if config.min_step.is_some_and(|min| min > step) {
        config.min_step = Some(step);
    }
    config
}

impl IdGeneratorFactory {
    /// A builder for the keys `{system_code}:{db_name}:{table}:{field}`.
    pub fn builder(
        source: Arc<dyn SegmentSource>,
        system_code: &str,
        db_name: &str,
    ) -> IdGeneratorFactoryBuilder {
        IdGeneratorFactoryBuilder {
            settings: Settings {
                source,
                system_code: system_code.to_owned(),
                db_name: db_name.to_owned(),
                config: GeneratorConfig::default(),
                table_steps: HashMap::new(),
                batch_refills: true,
            },
            runtime: None,
        }
    }

    /// A factory with default settings.
    pub fn new(
        source: Arc<dyn SegmentSource>,
        system_code: &str,
        db_name: &str,
    ) -> Result<IdGeneratorFactory> {
        Self::builder(source, system_code, db_name).build()
    }

    /// The generator of `table_name.field_name`, created (and its first fetch started) on first use.
    pub fn generator(&self, table_name: &str, field_name: &str) -> Result<Arc<IdGenerator>> {
        let settings = &self.settings;
        let key = SegmentKey::new(
            &settings.system_code,
            &settings.db_name,
            table_name,
            field_name,
        )?;
        if let Some(generator) = self
            .generators
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(generator.clone());
        }
        let mut generators = self
            .generators
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(generator) = generators.get(&key) {
            return Ok(generator.clone());
        }
        let generator = Arc::new(
            IdGenerator::builder(settings.source.clone(), key.clone())
                .config(settings.config_for(&key))
                .background(self.background.clone())
                .build()?,
        );
        generators.insert(key, generator.clone());
        Ok(generator)
    }

    /// The next ID of `table_name.field_name`; see [`IdGenerator::next_id`].
    pub fn next_id(&self, table_name: &str, field_name: &str) -> Result<i64> {
        self.generator(table_name, field_name)?.next_id()
    }

    /// The next ID of `table_name.field_name`, awaiting; see [`IdGenerator::next_id_async`].
    pub async fn next_id_async(&self, table_name: &str, field_name: &str) -> Result<i64> {
        self.generator(table_name, field_name)?
            .next_id_async()
            .await
    }

    /// Snapshots of every generator created so far, sorted by key.
    pub fn snapshots(&self) -> Vec<Snapshot> {
        let mut snapshots: Vec<Snapshot> = self
            .generators
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|g| g.snapshot())
            .collect();
        snapshots.sort_by(|a, b| a.key.cmp(&b.key));
        snapshots
    }
}
