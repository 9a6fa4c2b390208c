//! [`IdService`]: everything the HTTP server does, without HTTP.
//!
//! Database configurations, allocation with lazy initialization, initialize, custom
//! sequences, the scanner's discovery and approval, and counter listing. The server maps
//! requests onto these methods; an application can embed the same service without HTTP.

pub(crate) mod initialize;

pub use initialize::{
    AheadKey, DiscoveredTable, InitReport, KeySource, SeededKey, SkippedTable, TableError,
};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::allocator::{Counter, RaiseOutcome, SegmentAllocator};
use crate::config::DatabaseConfig;
use crate::connector::{ConnectorOptions, DbConnector, connector_for};
use crate::error::{Error, Result};
use crate::key::{Segment, SegmentKey};
use crate::secret::SecretBox;
use crate::store::meta::{MetaStore, names};

/// How the service behaves; the defaults are the old service's.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// How long a failed lazy initialization is remembered (no database round trip meanwhile). 60 s.
    pub failure_ttl: Duration,
    /// How long a request waits for another request's initialization of the same key. 3 s.
    pub init_wait: Duration,
    /// How long an initialization lock lives if its holder dies. 10 s.
    pub lock_ttl: Duration,
    /// Options of the connectors to business databases.
    pub connector: ConnectorOptions,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            failure_ttl: Duration::from_secs(60),
            init_wait: Duration::from_secs(3),
            lock_ttl: Duration::from_secs(10),
            connector: ConnectorOptions::default(),
        }
    }
}

/// What a client sends to add or update a database configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseInput {
    /// The system code (first part of every key).
    pub system_code: String,
    /// `mysql`, `postgresql`, `sqlserver` or `oracle`.
    pub db_type: crate::config::DbType,
    /// `host[:port]`.
    pub db_address: String,
    /// The user name.
    pub db_user: String,
    /// The password; on update, empty keeps the stored one.
    pub db_password: String,
    /// The database to scan (optional).
    pub db_name: Option<String>,
}

/// The result of [`IdService::initialize`]: the old service's fields plus the full report.
#[derive(Debug, Clone, Serialize)]
pub struct InitializeResult {
    /// How many keys now have a counter at least at their table's `MAX(pk)` (`segments.len()`).
    pub initialized_count: usize,
    /// Those keys: the ones set (created or raised), then the ones already ahead.
    pub segments: Vec<String>,
    /// Everything that happened, table by table.
    #[serde(flatten)]
    pub report: InitReport,
}

/// A custom sequence created by [`IdService::add_custom_counter`].
#[derive(Debug, Clone, Serialize)]
pub struct CustomCounter {
    /// The key created.
    pub segment_key: String,
    /// Its starting value.
    pub initial_value: i64,
}

/// Counts of what the scanner did in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Configurations scanned successfully.
    pub scanned: usize,
    /// Configurations whose database failed.
    pub failed: usize,
    /// Tables recorded as discovered in all.
    pub discovered: usize,
}

/// A connector with the configuration it was built from.
type CachedConnector = (DatabaseConfig, Arc<dyn DbConnector>);

/// The ID service: counters, metadata and business-database connectors together.
pub struct IdService {
    /// Where counters live.
    allocator: Arc<dyn SegmentAllocator>,
    /// Where configurations and markers live.
    meta: Arc<dyn MetaStore>,
    /// Encrypts database passwords at rest.
    secrets: SecretBox,
    /// Behaviour knobs.
    options: ServiceOptions,
    /// Connectors by configuration guid, with the configuration they were built from.
    connectors: Mutex<HashMap<String, CachedConnector>>,
}

impl std::fmt::Debug for IdService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdService")
            .field("allocator", &self.allocator)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

fn config_name(guid: &str) -> String {
    format!("{}{guid}", names::DB_CONFIG_PREFIX)
}

fn discovered_name(guid: &str) -> String {
    format!("{}{guid}", names::DISCOVERED_PREFIX)
}

fn not_found(guid: &str) -> Error {
    Error::NotFound(format!("Database config with guid {guid} not found"))
}

impl IdService {
    /// A service over `allocator` and `meta`, encrypting passwords with `secrets`.
    pub fn new(
        allocator: Arc<dyn SegmentAllocator>,
        meta: Arc<dyn MetaStore>,
        secrets: SecretBox,
        options: ServiceOptions,
    ) -> Self {
        IdService {
            allocator,
            meta,
            secrets,
            options,
            connectors: Mutex::new(HashMap::new()),
        }
    }

    /// The counter store.
    pub fn allocator(&self) -> &Arc<dyn SegmentAllocator> {
        &self.allocator
    }

    /// The metadata store.
    pub fn meta(&self) -> &Arc<dyn MetaStore> {
        &self.meta
    }

    // ---- configurations -------------------------------------------------------------

    /// Every configuration (passwords decrypted), sorted by system code, database and guid.
    pub async fn list_databases(&self) -> Result<Vec<DatabaseConfig>> {
        let mut out = Vec::new();
        for (name, json) in self.meta.scan(names::DB_CONFIG_PREFIX).await? {
            match self.decode(&json) {
                Ok(config) => out.push(config),
                Err(e) => {
                    tracing::warn!(name, error = %e, "skipping an unreadable database configuration")
                }
            }
        }
        out.sort_by(|a, b| {
            (a.system_code.to_lowercase(), a.db_name.clone(), &a.guid).cmp(&(
                b.system_code.to_lowercase(),
                b.db_name.clone(),
                &b.guid,
            ))
        });
        Ok(out)
    }

    /// One configuration (password decrypted).
    pub async fn get_database(&self, guid: &str) -> Result<DatabaseConfig> {
        let json = self
            .meta
            .get(&config_name(guid))
            .await?
            .ok_or_else(|| not_found(guid))?;
        self.decode(&json)
    }

    fn decode(&self, json: &str) -> Result<DatabaseConfig> {
        let mut config: DatabaseConfig = serde_json::from_str(json).map_err(|e| {
            Error::InvalidConfig(format!(
                "a stored database configuration is not valid JSON: {e}"
            ))
        })?;
        config.db_password = self.secrets.open(&config.db_password)?;
        Ok(config)
    }

    async fn store(&self, config: &DatabaseConfig) -> Result<()> {
        let mut sealed = config.clone();
        sealed.db_password = self.secrets.seal(&config.db_password);
        let json = serde_json::to_string(&sealed).expect("a configuration serializes");
        self.meta.set(&config_name(&config.guid), &json, None).await
    }

    fn check_input(input: &DatabaseInput) -> Result<()> {
        let probe = DatabaseConfig {
            guid: String::new(),
            system_code: input.system_code.clone(),
            db_type: input.db_type,
            db_address: input.db_address.clone(),
            db_user: input.db_user.clone(),
            db_password: String::new(),
            db_name: input.db_name.clone(),
        };
        probe.endpoint()?;
        // The system code and database name become key parts: they must make valid keys.
        SegmentKey::new(
            &input.system_code,
            probe.database().unwrap_or("x"),
            "x",
            "x",
        )?;
        Ok(())
    }

    /// Refuses a second configuration for the same system code and database name (ignoring
    /// case): lazy initialization must know which database seeds a key.
    async fn check_unique(&self, input: &DatabaseInput, except_guid: Option<&str>) -> Result<()> {
        let norm = |s: Option<&str>| {
            s.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_lowercase)
        };
        let db = norm(input.db_name.as_deref());
        let clash = self.list_databases().await?.into_iter().any(|c| {
            Some(c.guid.as_str()) != except_guid
                && c.system_code.to_lowercase() == input.system_code.to_lowercase()
                && norm(c.database()) == db
        });
        if clash {
            return Err(Error::AlreadyExists {
                key: format!(
                    "system_code {}, db_name {}",
                    input.system_code,
                    input.db_name.as_deref().unwrap_or("(none)")
                ),
            });
        }
        Ok(())
    }

    /// Adds a configuration with a new guid (a UUID v4).
    pub async fn add_database(&self, input: DatabaseInput) -> Result<DatabaseConfig> {
        Self::check_input(&input)?;
        self.check_unique(&input, None).await?;
        let config = DatabaseConfig {
            guid: uuid::Uuid::new_v4().to_string(),
            system_code: input.system_code,
            db_type: input.db_type,
            db_address: input.db_address,
            db_user: input.db_user,
            db_password: input.db_password,
            db_name: input.db_name.filter(|n| !n.trim().is_empty()),
        };
        self.store(&config).await?;
        Ok(config)
    }

    /// Replaces a configuration; an empty password keeps the stored one.
    pub async fn update_database(
        &self,
        guid: &str,
        input: DatabaseInput,
    ) -> Result<DatabaseConfig> {
        Self::check_input(&input)?;
        let old = self.get_database(guid).await?;
        self.check_unique(&input, Some(guid)).await?;
        let config = DatabaseConfig {
            guid: old.guid.clone(),
            system_code: input.system_code,
            db_type: input.db_type,
            db_address: input.db_address,
            db_user: input.db_user,
            db_password: if input.db_password.is_empty() {
                old.db_password
            } else {
                input.db_password
            },
            db_name: input.db_name.filter(|n| !n.trim().is_empty()),
        };
        self.store(&config).await?;
        self.forget_connector(guid);
        Ok(config)
    }

    /// Deletes a configuration and its discovered tables. Its counters are kept unless
    /// `purge_counters`: a counter dropped and later re-seeded from `MAX(pk)` can repeat IDs
    /// that were handed out but never inserted. Returns the number of counters purged.
    pub async fn delete_database(&self, guid: &str, purge_counters: bool) -> Result<usize> {
        let config = self.get_database(guid).await?;
        let mut purged = 0;
        if purge_counters {
            let others: Vec<DatabaseConfig> = self
                .list_databases()
                .await?
                .into_iter()
                .filter(|c| {
                    c.guid != guid
                        && c.system_code.to_lowercase() == config.system_code.to_lowercase()
                })
                .collect();
            let prefix = match config.database() {
                Some(db) => format!(
                    "{}:{}:",
                    config.system_code.to_lowercase(),
                    db.to_lowercase()
                ),
                None => format!("{}:", config.system_code.to_lowercase()),
            };
            for counter in self.allocator.list(&prefix).await? {
                let key = SegmentKey::parse(&counter.key)?;
                // Without a database name this configuration covers every database of its
                // system except those another configuration names.
                let owned_by_other = config.database().is_none()
                    && others.iter().any(|o| {
                        o.database()
                            .is_some_and(|d| d.to_lowercase() == key.db_name())
                    });
                if !owned_by_other && self.allocator.delete(&key).await? {
                    purged += 1;
                }
            }
        }
        self.meta.delete(&config_name(guid)).await?;
        self.meta
            .replace_members(&discovered_name(guid), &[])
            .await?;
        self.forget_connector(guid);
        Ok(purged)
    }

    fn forget_connector(&self, guid: &str) {
        self.connectors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(guid);
    }

    /// The connector of a configuration, reused while the configuration is unchanged.
    pub fn connector(&self, config: &DatabaseConfig) -> Result<Arc<dyn DbConnector>> {
        let mut cache = self.connectors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached, connector)) = cache.get(&config.guid)
            && same_connection(cached, config)
        {
            return Ok(connector.clone());
        }
        let connector = connector_for(config, &self.options.connector)?;
        cache.insert(config.guid.clone(), (config.clone(), connector.clone()));
        Ok(connector)
    }

    // ---- allocation -----------------------------------------------------------------

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
        match initialize::seed_key(&config, &*connector, &*self.allocator, key).await {
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

    /// The configuration that seeds `key`: the one whose system code and database name match
    /// (ignoring case), else one of the same system without a database name.
    pub async fn config_for_key(&self, key: &SegmentKey) -> Result<Option<DatabaseConfig>> {
        let configs = self.list_databases().await?;
        let same_system = |c: &&DatabaseConfig| c.system_code.to_lowercase() == key.system_code();
        if let Some(c) = configs.iter().filter(same_system).find(|c| {
            c.database()
                .is_some_and(|d| d.to_lowercase() == key.db_name())
        }) {
            return Ok(Some(c.clone()));
        }
        Ok(configs
            .iter()
            .filter(same_system)
            .find(|c| c.database().is_none())
            .cloned())
    }

    // ---- initialize, custom counters, discovery ---------------------------------------

    /// Seeds every integer-keyed table of a configuration's database(s); counters only rise.
    pub async fn initialize(&self, guid: &str) -> Result<InitializeResult> {
        let config = self.get_database(guid).await?;
        let connector = self.connector(&config)?;
        let report = initialize::initialize(&config, &*connector, &*self.allocator).await?;
        // Everything seeded is no longer "discovered".
        self.prune_discovered(guid).await?;
        let segments = report.seeded_keys();
        Ok(InitializeResult {
            initialized_count: segments.len(),
            segments,
            report,
        })
    }

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

    /// The tables the scanner found with an integer key and no counter yet.
    pub async fn discovered_tables(&self, guid: &str) -> Result<Vec<DiscoveredTable>> {
        self.get_database(guid).await?;
        self.prune_discovered(guid).await
    }

    /// Reads the discovered set, drops entries whose counter exists now, returns the rest.
    async fn prune_discovered(&self, guid: &str) -> Result<Vec<DiscoveredTable>> {
        let config = self.get_database(guid).await?;
        let name = discovered_name(guid);
        let mut out = Vec::new();
        for member in self.meta.members(&name).await? {
            let Ok(table) = serde_json::from_str::<DiscoveredTable>(&member) else {
                continue;
            };
            let key = SegmentKey::new(
                &config.system_code,
                &table.database,
                &table.table,
                &table.primary_key,
            );
            match key {
                Ok(key) if self.allocator.get(&key).await?.is_some() => {
                    self.meta.remove_member(&name, &member).await?;
                }
                _ => out.push(table),
            }
        }
        out.sort_by(|a, b| (&a.database, &a.table).cmp(&(&b.database, &b.table)));
        Ok(out)
    }

    /// Approves one discovered table: seeds its counter from `MAX(pk)` now (never lowering).
    pub async fn approve_discovered(
        &self,
        guid: &str,
        database: &str,
        table: &str,
    ) -> Result<RaiseOutcome> {
        let config = self.get_database(guid).await?;
        let found = self
            .prune_discovered(guid)
            .await?
            .into_iter()
            .find(|t| {
                t.database.eq_ignore_ascii_case(database) && t.table.eq_ignore_ascii_case(table)
            })
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "Table {database}.{table} is not among the discovered tables"
                ))
            })?;
        let key = SegmentKey::new(
            &config.system_code,
            &found.database,
            &found.table,
            &found.primary_key,
        )?;
        let connector = self.connector(&config)?;
        let mut scoped = config.clone();
        scoped.db_name = Some(found.database.clone());
        let outcome = initialize::seed_key(&scoped, &*connector, &*self.allocator, &key).await?;
        self.prune_discovered(guid).await?;
        Ok(outcome)
    }

    /// One scanner pass: for every configuration, record its integer-keyed tables without a
    /// counter as discovered. Never writes counters; a database that fails is logged and skipped.
    pub async fn scan_once(&self) -> Result<ScanSummary> {
        let mut summary = ScanSummary::default();
        for config in self.list_databases().await? {
            let connector = match self.connector(&config) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(guid = %config.guid, error = %e, "scanner: no connector");
                    summary.failed += 1;
                    continue;
                }
            };
            match initialize::discover(&config, &*connector, &*self.allocator).await {
                Ok(tables) => {
                    let members: Vec<String> = tables
                        .iter()
                        .map(|t| serde_json::to_string(t).expect("a discovered table serializes"))
                        .collect();
                    self.meta
                        .replace_members(&discovered_name(&config.guid), &members)
                        .await?;
                    summary.scanned += 1;
                    summary.discovered += tables.len();
                }
                Err(e) => {
                    tracing::warn!(guid = %config.guid, system = %config.system_code, error = %e, "scanner: database failed");
                    summary.failed += 1;
                }
            }
        }
        Ok(summary)
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

/// `true` when two configurations connect to the same place the same way.
fn same_connection(a: &DatabaseConfig, b: &DatabaseConfig) -> bool {
    a.db_type == b.db_type
        && a.db_address == b.db_address
        && a.db_user == b.db_user
        && a.db_password == b.db_password
        && a.db_name == b.db_name
}
