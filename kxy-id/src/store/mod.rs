//! Where counters and metadata live: one folder per backend, and [`open`], the one place a
//! store URL becomes a [`Store`].
//!
//! A store is two halves over one backing service: a [`SegmentAllocator`] (the counters) and
//! a [`MetaStore`] (configurations, the admin account, locks, discovered tables). Both halves
//! of a store share one connection or pool, so a server needs one URL.
//!
//! | URL | backend | feature |
//! |---|---|---|
//! | `memory://` | [`MemoryAllocator`], [`MemoryMetaStore`] (gone at exit) | `memory` |
//! | `sqlite://PATH` | [`SqliteAllocator`], [`SqliteMetaStore`] (the embedded default) | `sqlite` |
//! | `redis://[:pw@]host:port/db`, `rediss://...?ca=PATH&cert=PATH&key=PATH` | [`RedisAllocator`], [`RedisMetaStore`] (the old service's layout) | `redis` |
//! | `redis+cluster://[:pw@]h1:p1,h2:p2`, `rediss+cluster://...` (needs a durable store) | the same over a Redis Cluster (counters as `kxy:id:segment:{key}`) | `redis` |
//! | `redis+sentinel://[:pw@]s1:26379,s2:26379/mymaster/db`, `rediss+sentinel://...` | the same on the master the sentinels name, followed across failovers | `redis` |
//! | `mysql://user:pw@host:3306/db`, `mariadb://...` | [`MySqlAllocator`], [`MySqlMetaStore`] | `mysql` |
//! | `postgres://user:pw@host:5432/db`, `postgresql://...` | [`PgAllocator`], [`PgMetaStore`] | `postgres` |
//!
//! # Layout
//!
//! - `meta.rs`: the [`MetaStore`] trait and the names ([`names`]) of what it holds.
//! - `memory.rs`: both halves in process memory.
//! - `sql/`: one generic SQL allocator and metadata store over a small dialect trait;
//!   `sqlite.rs`, `mysql.rs` and `postgres.rs` hold only what differs (DDL, the allocating
//!   statement, how to connect).
//! - `redis/`: both halves in the old service's key layout, with the Lua scripts as files.
//! - `reserve.rs`: [`ReservingAllocator`], which wraps any allocator and reserves blocks ahead.
//! - `coalesce.rs`: [`CoalescingAllocator`], which serves concurrent allocations of one key
//!   with one store call (stores opened without reservation).
//!
//! A new backend is one folder or file here, one arm in [`open`], and one call of the
//! conformance suites (`crate::testing::allocator::run_all`, `crate::testing::meta`).

use std::sync::Arc;
use std::time::Duration;

use crate::allocator::SegmentAllocator;
use crate::error::{Error, Result, redact_url};

mod coalesce;
#[cfg(feature = "memory")]
mod memory;
pub mod meta;
mod raise_log;
#[cfg(feature = "redis")]
mod redis;
mod reserve;
#[cfg(any(feature = "sqlite", feature = "mysql", feature = "postgres"))]
mod sql;
pub mod transfer;

pub use coalesce::{CoalesceStats, CoalescingAllocator};
#[cfg(feature = "memory")]
pub use memory::{MemoryAllocator, MemoryMetaStore};
pub use meta::{MetaStore, names};
#[cfg(feature = "redis")]
pub use redis::{
    Incarnation, RedisAllocator, RedisConnection, RedisDurability, RedisMetaStore,
    SEGMENT_KEY_PREFIX, redis_durability,
};
pub use reserve::{ReserveOptions, ReservingAllocator};
// Every public SQL item (the generic types, the dialect and the per-database aliases that
// this build's features turn on).
#[cfg(any(feature = "sqlite", feature = "mysql", feature = "postgres"))]
pub use sql::*;

/// The two halves of a store, opened by [`open`].
#[derive(Debug, Clone)]
pub struct Store {
    /// The counters (wrapped in a [`ReservingAllocator`] when [`OpenOptions::reserve`] asks for it).
    pub allocator: Arc<dyn SegmentAllocator>,
    /// Everything that is not a counter.
    pub meta: Arc<dyn MetaStore>,
    /// What the store promises when it crashes, for logs and health checks.
    pub durability: Durability,
    /// With coalescing ([`OpenOptions::coalesce`]): the allocations served and the store
    /// calls they cost.
    pub coalescing: Option<Arc<CoalesceStats>>,
}

/// What a store promises when it (or the machine under it) crashes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Durability {
    /// The backend of the counters (`sqlite`, `redis`, ...).
    pub store: &'static str,
    /// `per-write` (a SQL store commits before it answers), `durable-marks` (Redis with a
    /// durable store: a loss costs a gap), `refuse-on-loss` (Redis alone: a loss stops
    /// allocation until recovered) or `none` (memory).
    pub mode: &'static str,
    /// What a crash can cost, in words.
    pub on_crash: String,
}

/// How [`open`] connects.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenOptions {
    /// How long to wait for a networked store before giving up (default 5 s).
    pub connect_timeout: Duration,
    /// Reserve blocks of IDs ahead with these options; `None` (the default) allocates from
    /// the store on every call.
    pub reserve: Option<ReserveOptions>,
    /// With a Redis store: a SQL store URL (`sqlite://`, `mysql://`, `postgres://`) that keeps a
    /// durable high-water mark per key and all the metadata, so that losing Redis costs a gap,
    /// never a repeat and never the configuration. Refused with any other store.
    pub durable_store: Option<String>,
    /// The caller knows the store held data before (a server on a host where an admin
    /// existed): a Redis without a durable store that comes up without any metadata lost it,
    /// and allocation is refused until `recover`.
    pub expect_existing: bool,
    /// Without reservation: serve the allocations of one key that arrive while a store call
    /// for it is in flight with one call of their summed counts ([`CoalescingAllocator`];
    /// default `true`; the memory store never coalesces).
    pub coalesce: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            connect_timeout: Duration::from_secs(5),
            reserve: None,
            durable_store: None,
            expect_existing: false,
            coalesce: true,
        }
    }
}

impl OpenOptions {
    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`coalesce`](Self::coalesce).
    pub fn coalesce(mut self, coalesce: bool) -> Self {
        self.coalesce = coalesce;
        self
    }

    /// Sets [`durable_store`](Self::durable_store).
    pub fn durable_store(mut self, url: Option<String>) -> Self {
        self.durable_store = url.filter(|u| !u.is_empty());
        self
    }

    /// Sets [`expect_existing`](Self::expect_existing).
    pub fn expect_existing(mut self, expect: bool) -> Self {
        self.expect_existing = expect;
        self
    }

    /// Sets [`reserve`](Self::reserve).
    pub fn reserve(mut self, reserve: Option<ReserveOptions>) -> Self {
        self.reserve = reserve;
        self
    }
}

/// Opens the store a URL names (see the [module docs](self) for every scheme), creating its
/// tables or file when missing.
///
/// Errors: [`Error::InvalidConfig`] for an unknown scheme or one whose cargo feature is off
/// (the message shows the URL without its password), [`Error::Connect`] when the store
/// cannot be reached within [`OpenOptions::connect_timeout`].
///
/// ```
/// # #[cfg(feature = "memory")]
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use kxy_id::{SegmentKey, store};
///
/// let store = store::open("memory://", &store::OpenOptions::default()).await?;
/// let key = SegmentKey::new("shop", "orders", "t_order", "id")?;
/// store.allocator.raise_to(&key, 41).await?;
/// assert_eq!(store.allocator.allocate(&key, 10).await?.start, 42);
/// # Ok::<(), kxy_id::Error>(())
/// # }).unwrap();
/// ```
pub async fn open(url: &str, options: &OpenOptions) -> Result<Store> {
    let scheme = scheme(url);
    let redis = matches!(
        scheme.as_str(),
        "redis"
            | "rediss"
            | "redis+cluster"
            | "rediss+cluster"
            | "redis+sentinel"
            | "rediss+sentinel"
    );
    if options.durable_store.is_some() && !redis {
        return Err(Error::InvalidConfig(format!(
            "a durable store only applies to a Redis store; {} is durable on its own",
            redact_url(url)
        )));
    }
    let store = match scheme.as_str() {
        "memory" => open_memory()?,
        "sqlite" => open_sqlite(&url["sqlite://".len()..]).await?,
        _ if redis => open_redis(url, options).await?,
        "mysql" | "mariadb" => open_mysql(url, options.connect_timeout).await?,
        "postgres" | "postgresql" => open_postgres(url, options.connect_timeout).await?,
        _ => {
            return Err(Error::InvalidConfig(format!(
                "unsupported store {}: use sqlite://PATH, redis://host:port/db, \
                 mysql://user:pw@host:3306/db, postgres://user:pw@host:5432/db or memory://",
                redact_url(url)
            )));
        }
    };
    Ok(match &options.reserve {
        Some(reserve) => Store {
            allocator: Arc::new(
                ReservingAllocator::new(store.allocator, reserve.clone())
                    .with_raise_log(store.meta.clone()),
            ),
            ..store
        },
        None if options.coalesce && scheme != "memory" => {
            let coalescing = CoalescingAllocator::new(store.allocator);
            Store {
                coalescing: Some(coalescing.stats()),
                allocator: Arc::new(coalescing),
                ..store
            }
        }
        None => store,
    })
}

/// The lower-cased scheme of a URL (`""` without one).
fn scheme(url: &str) -> String {
    url.split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Opens the durable store of marks and metadata beside a Redis store: its counters are the
/// marks. Only SQL stores qualify: they commit before they answer.
#[allow(dead_code)]
async fn open_durable(url: &str, options: &OpenOptions) -> Result<Store> {
    if !matches!(
        scheme(url).as_str(),
        "sqlite" | "mysql" | "mariadb" | "postgres" | "postgresql"
    ) {
        return Err(Error::InvalidConfig(format!(
            "the durable store must be a SQL store (sqlite://, mysql://, postgres://), not {}",
            redact_url(url)
        )));
    }
    // The marks are raised, not allocated from: nothing to coalesce.
    let plain = OpenOptions::default()
        .connect_timeout(options.connect_timeout)
        .coalesce(false);
    Box::pin(open(url, &plain)).await
}

/// The error for a scheme whose backend this build leaves out.
#[allow(dead_code)]
fn not_built(scheme: &str, feature: &str) -> Error {
    Error::InvalidConfig(format!(
        "store {scheme}:// needs kxy-id built with the `{feature}` feature"
    ))
}

/// A store from its two halves; `mode` and `on_crash` as in [`Durability`].
#[allow(dead_code)]
fn store(
    allocator: impl SegmentAllocator + 'static,
    meta: impl MetaStore + 'static,
    mode: &'static str,
    on_crash: &str,
) -> Store {
    Store {
        durability: Durability {
            store: allocator.backend(),
            mode,
            on_crash: on_crash.to_owned(),
        },
        allocator: Arc::new(allocator),
        meta: Arc::new(meta),
        coalescing: None,
    }
}

/// What a SQL store promises.
#[allow(dead_code)]
const PER_WRITE: &str = "nothing: every allocation is committed before it is answered";

fn open_memory() -> Result<Store> {
    #[cfg(feature = "memory")]
    return Ok(store(
        MemoryAllocator::new(),
        MemoryMetaStore::new(),
        "none",
        "everything: counters live in this process only",
    ));
    #[cfg(not(feature = "memory"))]
    Err(not_built("memory", "memory"))
}

#[cfg_attr(not(feature = "sqlite"), allow(unused_variables))]
async fn open_sqlite(path: &str) -> Result<Store> {
    #[cfg(feature = "sqlite")]
    {
        let path = std::path::Path::new(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::InvalidConfig(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let allocator = SqliteAllocator::open(path).await?;
        let meta = SqliteMetaStore::new(allocator.pool().clone()).await?;
        Ok(store(allocator, meta, "per-write", PER_WRITE))
    }
    #[cfg(not(feature = "sqlite"))]
    Err(not_built("sqlite", "sqlite"))
}

#[cfg_attr(not(feature = "redis"), allow(unused_variables))]
async fn open_redis(url: &str, options: &OpenOptions) -> Result<Store> {
    #[cfg(feature = "redis")]
    {
        let allocator = RedisAllocator::connect(url, options.connect_timeout).await?;
        if allocator.connection().is_cluster() && options.durable_store.is_none() {
            return Err(Error::InvalidConfig(format!(
                "a Redis Cluster store ({}) needs --durable-store: a cluster fails over by \
                 design, and only durable high-water marks let a promoted replica that lacks \
                 the last increments continue without repeating an ID",
                redact_url(url)
            )));
        }
        let durability = redis_durability(&allocator.connection()).await;
        match &options.durable_store {
            Some(durable) => {
                let durable = open_durable(durable, options).await?;
                tracing::info!(
                    redis = %allocator.connection().target(),
                    "durable store configured: IDs are covered by durable marks, losing Redis costs a gap, never a repeat"
                );
                let meta = RedisMetaStore::new(allocator.connection());
                transfer::adopt_metadata(&meta, durable.meta.as_ref()).await?;
                Ok(Store {
                    allocator: Arc::new(allocator.with_marks(durable.allocator)),
                    meta: durable.meta,
                    coalescing: None,
                    durability: Durability {
                        store: "redis",
                        mode: "durable-marks",
                        on_crash: format!(
                            "a gap, never a repeat: Redis ({}) is checked against durable marks in the {} store",
                            durability.loss_window, durable.durability.store
                        ),
                    },
                })
            }
            None => {
                tracing::warn!(
                    redis = %allocator.connection().target(),
                    loss_window = %durability.loss_window,
                    "no durable store: a Redis restart or failover stops allocation until `kxy-id-server recover`; configure --durable-store to ride through it"
                );
                let meta = RedisMetaStore::new(allocator.connection());
                let emptied =
                    options.expect_existing && meta.get(meta::names::SYSTEM_INIT).await?.is_none();
                let allocator = if emptied {
                    tracing::error!(
                        redis = %allocator.connection().target(),
                        "Redis holds none of the metadata this host saw before: it lost data; allocation is refused until `kxy-id-server recover`"
                    );
                    allocator.refuse_until_recovered()
                } else {
                    allocator
                };
                let on_crash = format!(
                    "Redis can lose {}; a restart or failover stops allocation until `kxy-id-server recover`",
                    durability.loss_window
                );
                Ok(store(allocator, meta, "refuse-on-loss", &on_crash))
            }
        }
    }
    #[cfg(not(feature = "redis"))]
    Err(not_built("redis", "redis"))
}

#[cfg_attr(not(feature = "mysql"), allow(unused_variables))]
async fn open_mysql(url: &str, timeout: Duration) -> Result<Store> {
    #[cfg(feature = "mysql")]
    {
        // sqlx knows MariaDB by the MySQL scheme.
        let url = match url.split_once("://") {
            Some((_, rest)) => format!("mysql://{rest}"),
            None => url.to_owned(),
        };
        let allocator = MySqlAllocator::connect(&url, timeout).await?;
        let meta = MySqlMetaStore::new(allocator.pool().clone()).await?;
        Ok(store(allocator, meta, "per-write", PER_WRITE))
    }
    #[cfg(not(feature = "mysql"))]
    Err(not_built("mysql", "mysql"))
}

#[cfg_attr(not(feature = "postgres"), allow(unused_variables))]
async fn open_postgres(url: &str, timeout: Duration) -> Result<Store> {
    #[cfg(feature = "postgres")]
    {
        let allocator = PgAllocator::connect(url, timeout).await?;
        let meta = PgMetaStore::new(allocator.pool().clone()).await?;
        Ok(store(allocator, meta, "per-write", PER_WRITE))
    }
    #[cfg(not(feature = "postgres"))]
    Err(not_built("postgres", "postgres"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_schemes_are_refused_without_the_password() {
        let err = open("ftp://user:hunter2@host/x", &OpenOptions::default())
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::InvalidConfig(_)), "{msg}");
        assert!(msg.contains("ftp://user:***@host/x"), "{msg}");
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(open("no-scheme", &OpenOptions::default()).await.is_err());
    }

    #[cfg(feature = "memory")]
    #[tokio::test]
    async fn memory_url_opens_both_halves() {
        let store = open("memory://", &OpenOptions::default()).await.unwrap();
        assert_eq!(store.allocator.backend(), "memory");
        store.meta.set("a", "1", None).await.unwrap();
        assert_eq!(store.meta.get("a").await.unwrap().as_deref(), Some("1"));
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_url_creates_the_directory_and_reserves_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sub/kxy.db").display());
        let options = OpenOptions::default().reserve(Some(ReserveOptions::default()));
        let store = open(&url, &options).await.unwrap();
        assert_eq!(store.allocator.backend(), "sqlite");
        let key = crate::SegmentKey::new("s", "d", "t", "id").unwrap();
        store.allocator.raise_to(&key, 0).await.unwrap();
        assert_eq!(store.allocator.allocate(&key, 5).await.unwrap().end, 5);
        assert!(dir.path().join("sub/kxy.db").exists());
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn a_raise_through_one_server_reaches_another_servers_block_on_one_sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("kxy.db").display());
        let options = OpenOptions::default().reserve(Some(ReserveOptions {
            min_block: 1000,
            ..Default::default()
        }));
        // Two servers over one file, as two processes would open it.
        let a = open(&url, &options).await.unwrap();
        let b = open(&url, &options).await.unwrap();
        let key = crate::SegmentKey::new("s", "d", "t", "id").unwrap();
        a.allocator.raise_to(&key, 0).await.unwrap();
        assert_eq!(a.allocator.allocate(&key, 1).await.unwrap().start, 1);
        // Initialize through b finds MAX(pk) = 500 in the table: IDs up to 500 are taken.
        b.allocator.raise_to(&key, 500).await.unwrap();
        tokio::time::sleep(raise_log::POLL + Duration::from_millis(100)).await;
        let next = a.allocator.allocate(&key, 1).await.unwrap();
        assert!(next.start > 500, "{next:?} is at or below the raised value");
    }
}
