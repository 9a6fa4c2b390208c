//! A `rediss://` store against a `redis-server` with a TLS port and certificates the test makes:
//! the conformance suites pass, and a wrong CA or a missing client certificate is refused.

use std::sync::Arc;
use std::time::Duration;

use crate::RedisAllocator;
use crate::error::Error;
use crate::store::{OpenOptions, RedisMetaStore};
use crate::testing::allocator as conformance;
use crate::testing::certs::TestCerts;
use crate::testing::redis_server::RedisServer;

/// The TLS URL of `redis` with the options naming `ca` and, when `client`, the client certificate.
fn url(redis: &RedisServer, certs: &TestCerts, ca: &str, client: bool) -> String {
    let mut url = format!("{}?ca={}", redis.tls_url(), certs.path(ca).display());
    if client {
        url.push_str(&format!(
            "&cert={}&key={}",
            certs.path("client.pem").display(),
            certs.path("client.key").display()
        ));
    }
    url
}

async fn connect(url: &str) -> crate::Result<RedisAllocator> {
    RedisAllocator::connect(url, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_store_conforms_and_refuses_a_wrong_ca() {
    let Some(certs) = TestCerts::generate() else {
        return;
    };
    let Some(redis) = RedisServer::start_tls(&certs) else {
        return;
    };
    let good = url(&redis, &certs, "ca.pem", true);

    let a = connect(&good).await.unwrap();
    let b = connect(&good).await.unwrap();
    let meta = RedisMetaStore::new(a.connection());
    conformance::run_all(Arc::new(a), Arc::new(b), &conformance::unique_prefix()).await;
    crate::testing::meta::meta_store_conforms(&meta, &conformance::unique_prefix()).await;

    // Through `open`, as the server opens its store.
    let store = crate::store::open(&good, &OpenOptions::default())
        .await
        .unwrap();
    assert_eq!(store.allocator.backend(), "redis");

    // A CA that did not sign the server's certificate.
    let err = connect(&url(&redis, &certs, "other-ca.pem", true))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Connect { .. }), "{msg}");
    assert!(
        msg.contains("TLS: the server's certificate is not trusted"),
        "{msg}"
    );
    // No CA at all: the system's trust store does not know the test CA either.
    let err = connect(&redis.tls_url()).await.unwrap_err().to_string();
    assert!(err.contains("not trusted"), "{err}");
    // The server demands a client certificate.
    let err = connect(&url(&redis, &certs, "ca.pem", false)).await;
    assert!(err.is_err(), "connected without a client certificate");
}
