//! Allocation against fakes: a business database that counts what it is asked (unknown
//! tables cost one catalog read per database and TTL, other columns are never read, the
//! lookups that do reach the database are budgeted), and a store that returns a negative
//! counter.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use super::{DatabaseInput, IdService, ServiceOptions};
use crate::config::DbType;
use crate::connector::{Column, DbConnector, PrimaryKey};
use crate::error::{Error, Result};
use crate::key::SegmentKey;
use crate::secret::SecretBox;
use crate::store::{MemoryAllocator, MemoryMetaStore};

/// One database `shop` with `t_order (id BIGINT PRIMARY KEY, salary_cents BIGINT)`.
#[derive(Debug)]
struct Counting {
    server: crate::connector::DbServer,
    tables: AtomicUsize,
    max_reads: AtomicUsize,
    other: AtomicUsize,
}

#[async_trait]
impl DbConnector for Counting {
    fn server(&self) -> &crate::connector::DbServer {
        &self.server
    }
    async fn list_databases(&self) -> Result<Vec<String>> {
        self.other.fetch_add(1, Ordering::Relaxed);
        Ok(vec!["shop".into()])
    }
    async fn list_tables(&self, _database: &str) -> Result<Vec<String>> {
        self.tables.fetch_add(1, Ordering::Relaxed);
        Ok(vec!["t_order".into()])
    }
    async fn list_columns(&self, _database: &str, _table: &str) -> Result<Vec<Column>> {
        self.other.fetch_add(1, Ordering::Relaxed);
        Ok(vec![
            Column {
                name: "id".into(),
                ty: "bigint".into(),
            },
            Column {
                name: "salary_cents".into(),
                ty: "bigint".into(),
            },
        ])
    }
    async fn primary_key(&self, _database: &str, _table: &str) -> Result<PrimaryKey> {
        self.other.fetch_add(1, Ordering::Relaxed);
        Ok(PrimaryKey {
            columns: vec![Column {
                name: "id".into(),
                ty: "bigint".into(),
            }],
        })
    }
    async fn max_value(&self, _database: &str, _table: &str, column: &str) -> Result<i64> {
        self.max_reads.fetch_add(1, Ordering::Relaxed);
        assert_eq!(column, "id", "only the primary key is ever read");
        Ok(41)
    }
}

async fn service(lookups_per_second: u32) -> (IdService, Arc<Counting>) {
    let svc = IdService::new(
        Arc::new(MemoryAllocator::new()),
        Arc::new(MemoryMetaStore::new()),
        SecretBox::from_text(&SecretBox::generate_key_text()).unwrap(),
        ServiceOptions {
            lookups_per_second,
            ..Default::default()
        },
    );
    let config = svc
        .add_database(DatabaseInput {
            system_code: "sys".into(),
            db_type: DbType::MySql,
            db_address: "fake:3306".into(),
            db_user: "u".into(),
            db_password: "p".into(),
            db_name: Some("shop".into()),
        })
        .await
        .unwrap();
    let counting = Arc::new(Counting {
        server: crate::connector::DbServer {
            db_type: DbType::MySql,
            endpoint: crate::Endpoint {
                host: "fake".into(),
                port: 3306,
            },
        },
        tables: AtomicUsize::new(0),
        max_reads: AtomicUsize::new(0),
        other: AtomicUsize::new(0),
    });
    svc.use_connector(&config, counting.clone());
    (svc, counting)
}

fn key(table: &str, field: &str) -> SegmentKey {
    SegmentKey::new("sys", "shop", table, field).unwrap()
}

#[tokio::test]
async fn a_thousand_unknown_tables_cost_one_catalog_read() {
    let (svc, db) = service(50).await;
    for i in 0..1000 {
        let e = svc
            .allocate(&key(&format!("t_{i}"), "id"), 1)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::NoSource { .. }), "{e:?}");
    }
    assert_eq!(db.tables.load(Ordering::Relaxed), 1);
    assert_eq!(db.max_reads.load(Ordering::Relaxed), 0);
    assert!(
        svc.meta()
            .scan("kxy:id:")
            .await
            .unwrap()
            .iter()
            .all(|(n, _)| n.starts_with("kxy:id:db_config:"))
    );
}

#[tokio::test]
async fn other_columns_are_never_read_and_lookups_are_budgeted() {
    let (svc, db) = service(3).await;
    let e = svc
        .allocate(&key("t_order", "salary_cents"), 1)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NoSource { .. }), "{e:?}");
    assert_eq!(
        svc.allocator()
            .get(&key("t_order", "salary_cents"))
            .await
            .unwrap(),
        None
    );
    let mut busy = 0;
    for i in 0..20 {
        match svc.allocate(&key("t_order", &format!("c{i}")), 1).await {
            Err(Error::Busy(_)) => busy += 1,
            Err(Error::NoSource { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(busy >= 15, "{busy} refused within the second");
    assert_eq!(db.max_reads.load(Ordering::Relaxed), 0);
}

/// A store whose counter was written negative by another program (as a shared Redis can be).
#[derive(Debug)]
struct NegativeCounter;

#[async_trait]
impl crate::allocator::SegmentAllocator for NegativeCounter {
    fn backend(&self) -> &'static str {
        "negative"
    }
    async fn allocate(&self, _key: &SegmentKey, count: i64) -> Result<crate::key::Segment> {
        Ok(crate::key::Segment::ending_at(-50 + count, count))
    }
    async fn raise_to(
        &self,
        _key: &SegmentKey,
        value: i64,
    ) -> Result<crate::allocator::RaiseOutcome> {
        Ok(crate::allocator::RaiseOutcome::Created { value })
    }
    async fn create(&self, _key: &SegmentKey, _value: i64) -> Result<()> {
        Ok(())
    }
    async fn get(&self, _key: &SegmentKey) -> Result<Option<i64>> {
        Ok(Some(-50))
    }
    async fn list(&self, _prefix: &str) -> Result<Vec<crate::allocator::Counter>> {
        Ok(Vec::new())
    }
    async fn delete(&self, _key: &SegmentKey) -> Result<bool> {
        Ok(false)
    }
}

#[tokio::test]
async fn a_negative_counter_is_refused_as_corrupt() {
    let svc = IdService::new(
        Arc::new(NegativeCounter),
        Arc::new(MemoryMetaStore::new()),
        SecretBox::from_text(&SecretBox::generate_key_text()).unwrap(),
        ServiceOptions::default(),
    );
    match svc.allocate(&key("t", "id"), 10).await {
        Err(Error::CorruptCounter { value, .. }) => assert_eq!(value, "-50"),
        other => panic!("{other:?}"),
    }
}
