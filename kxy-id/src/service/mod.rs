//! [`IdService`]: everything the HTTP server does, without HTTP.
//!
//! Database configurations, allocation with lazy initialization, initialize, custom
//! sequences, the scanner's discovery and approval, and counter listing. The server maps
//! requests onto these methods; an application can embed the same service without HTTP.
//!
//! One file per concern, each adding its methods to [`IdService`]:
//!
//! - `configs`: database configurations (passwords sealed with [`SecretBox`]) and which one
//!   seeds a key;
//! - `connectors`: one connector per configuration, reused while it is unchanged;
//! - `allocate`: allocation, seeding a counter on first use (single-flight across servers);
//! - `scan` and `seed`: reading business tables: which can seed a counter, and one key's
//!   source and `MAX`;
//! - `initialize`: seeding every table of a configuration at once;
//! - `discovery`: the scanner's pass, the tables it found and their approval;
//! - `counters`: custom counters and counter listing.

mod allocate;
#[cfg(all(test, feature = "memory"))]
mod allocate_tests;
mod configs;
mod connectors;
mod counters;
pub(crate) mod discovery;
pub(crate) mod initialize;
pub(crate) mod scan;
pub(crate) mod seed;
mod unknown;

pub use configs::DatabaseInput;
pub use counters::CustomCounter;
pub use discovery::{DiscoveredTable, ScanSummary};
pub use initialize::{AheadKey, InitReport, InitializeResult, SeededKey, SkippedTable, TableError};
pub use seed::KeySource;

use std::sync::Arc;
use std::time::Duration;

use crate::allocator::SegmentAllocator;
use crate::connector::ConnectorOptions;
use crate::secret::SecretBox;
use crate::store::meta::MetaStore;
use connectors::ConnectorCache;

/// How the service behaves; the defaults are the old service's.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// How long the table list of a business database is trusted to answer allocations for
    /// unknown tables without a round trip. 60 s.
    pub failure_ttl: Duration,
    /// How many lazy-initialization lookups per second may reach one business database. 50.
    pub lookups_per_second: u32,
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
            lookups_per_second: 50,
            init_wait: Duration::from_secs(3),
            lock_ttl: Duration::from_secs(10),
            connector: ConnectorOptions::default(),
        }
    }
}

/// The ID service: counters, metadata and business-database connectors together.
///
/// # Example: embedded, over the memory store
///
/// ```
/// # #[cfg(feature = "memory")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use kxy_id::{IdService, SecretBox, SegmentKey, ServiceOptions, store};
///
/// let store = store::open("memory://", &store::OpenOptions::default()).await?;
/// let service = IdService::new(
///     store.allocator.clone(),
///     store.meta,
///     SecretBox::new(&[7; 32]), // in production: SecretBox::from_text of a kept secret
///     ServiceOptions::default(),
/// );
/// // A custom counter needs no business database; a table key would be seeded from one.
/// let key = SegmentKey::new("shop", "orders", "t_order", "id")?;
/// store.allocator.raise_to(&key, 99).await?;
/// let segment = service.allocate(&key, 100).await?;
/// assert_eq!((segment.start, segment.end), (100, 199));
/// # Ok::<(), kxy_id::Error>(())
/// # }).unwrap();
/// ```
pub struct IdService {
    /// Where counters live.
    allocator: Arc<dyn SegmentAllocator>,
    /// Where configurations and markers live.
    meta: Arc<dyn MetaStore>,
    /// Encrypts database passwords at rest.
    secrets: SecretBox,
    /// Behaviour knobs.
    options: ServiceOptions,
    /// Connectors by configuration guid, reused while their configuration is unchanged.
    connectors: ConnectorCache,
    /// Table lists and lookup budgets of lazy initialization.
    unknown: unknown::UnknownKeys,
}

impl std::fmt::Debug for IdService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdService")
            .field("allocator", &self.allocator)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

impl IdService {
    /// A service over `allocator` and `meta`, encrypting passwords with `secrets`.
    pub fn new(
        allocator: Arc<dyn SegmentAllocator>,
        meta: Arc<dyn MetaStore>,
        secrets: SecretBox,
        options: ServiceOptions,
    ) -> Self {
        let unknown = unknown::UnknownKeys::new(options.failure_ttl, options.lookups_per_second);
        IdService {
            allocator,
            meta,
            secrets,
            options,
            connectors: ConnectorCache::default(),
            unknown,
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
}
