//! `HttpSource` over HTTPS against the real server (`kxy_id_server::run_tls`, in-process):
//! allocation with a given CA, mutual TLS, and a clear error for each way TLS goes wrong (an
//! unknown CA, an expired certificate, plain HTTP against the TLS port and the reverse, a
//! missing client certificate). Certificates are made in the test (`kxy_id::testing::pki`).

use std::net::SocketAddr;
use std::time::Duration;

use kxy_id::SegmentKey;
use kxy_id::testing::pki::{Issued, TestCa, Use};
use kxy_id_client::{Error, HttpConfig, HttpSource, SegmentSource};
use kxy_id_server::{Tls, TlsSettings};

/// An in-process server (HTTPS with `tls`, else plain HTTP) with a counter for [`key`].
struct Server {
    addr: SocketAddr,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn key() -> SegmentKey {
    SegmentKey::new("shop", "orders", "t_tls", "id").unwrap()
}

async fn start(tls: Option<TlsSettings>) -> Server {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let settings = kxy_id_server::Settings::try_parse_from([
        "kxy-id-server",
        "--data-dir",
        &dir.path().display().to_string(),
        "--bcrypt-cost",
        "10",
        "--reserve",
        "0",
        "--secret-key",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ])
    .unwrap();
    let state = kxy_id_server::open_state(&settings).await.unwrap();
    state.service.allocator().raise_to(&key(), 0).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let never = std::future::pending();
    let task = match tls {
        Some(tls) => {
            let tls = Tls::load(tls).unwrap();
            tokio::spawn(async move {
                kxy_id_server::run_tls(listener, state, tls, never)
                    .await
                    .unwrap()
            })
        }
        None => {
            tokio::spawn(async move { kxy_id_server::run(listener, state, never).await.unwrap() })
        }
    };
    Server {
        addr,
        _dir: dir,
        task,
    }
}

fn server_tls(cert: &Issued, client_ca: Option<&TestCa>) -> TlsSettings {
    TlsSettings {
        cert: cert.cert.clone(),
        key: cert.key.clone(),
        client_ca: client_ca.map(|ca| ca.cert.clone()),
        http2: false,
    }
}

/// One fetch with `config` (one attempt, short timeouts): the error text, or the segment.
async fn fetch(config: HttpConfig) -> Result<kxy_id::Segment, Error> {
    let config = config.attempts(1).request_timeout(Duration::from_secs(10));
    HttpSource::new(config)?.fetch(&key(), 10).await
}

fn text(result: Result<kxy_id::Segment, Error>) -> String {
    result.expect_err("the fetch fails").to_string()
}

#[tokio::test]
async fn https_allocation_with_a_given_ca_and_clear_errors_for_each_tls_mistake() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "main");
    let server = start(Some(server_tls(
        &ca.issue(dir.path(), "server", Use::Server),
        None,
    )))
    .await;
    let https = format!("https://{}", server.addr);

    let segment = fetch(HttpConfig::new([https.clone()]).tls_ca_file(&ca.cert))
        .await
        .unwrap();
    assert_eq!((segment.start, segment.end), (1, 10));

    // A CA that did not sign the server's certificate; the system roots did not either.
    let other = TestCa::new(dir.path(), "other");
    let err = text(fetch(HttpConfig::new([https.clone()]).tls_ca_file(&other.cert)).await);
    assert!(
        err.contains("not signed by a CA this client trusts"),
        "{err}"
    );
    let err = text(fetch(HttpConfig::new([https.clone()])).await);
    assert!(
        err.contains("not signed by a CA this client trusts"),
        "{err}"
    );

    // Plain HTTP against the TLS port: the server's 400 says what to do.
    let err = text(fetch(HttpConfig::new([format!("http://{}", server.addr)])).await);
    assert!(
        err.contains("HTTP 400") && err.contains("This port speaks HTTPS"),
        "{err}"
    );

    // An expired certificate.
    let expired = start(Some(server_tls(
        &ca.issue(dir.path(), "old", Use::ExpiredServer),
        None,
    )))
    .await;
    let url = format!("https://{}", expired.addr);
    let err = text(fetch(HttpConfig::new([url]).tls_ca_file(&ca.cert)).await);
    assert!(
        err.contains("the server's certificate has expired"),
        "{err}"
    );

    // HTTPS against a plain HTTP server.
    let plain = start(None).await;
    let url = format!("https://{}", plain.addr);
    let err = text(fetch(HttpConfig::new([url]).tls_ca_file(&ca.cert)).await);
    assert!(err.contains("did not answer with TLS"), "{err}");

    // A CA file that is not one.
    let err = text(fetch(HttpConfig::new([https]).tls_ca_file(dir.path().join("nope.pem"))).await);
    assert!(err.contains("nope.pem"), "{err}");
}

#[tokio::test]
async fn mutual_tls_with_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "main");
    let clients = TestCa::new(dir.path(), "clients");
    let cert = ca.issue(dir.path(), "server", Use::Server);
    let server = start(Some(server_tls(&cert, Some(&clients)))).await;
    let https = format!("https://{}", server.addr);
    let app = clients.issue(dir.path(), "app", Use::Client);

    let config = HttpConfig::new([https.clone()])
        .tls_ca_file(&ca.cert)
        .tls_client_cert(&app.cert, &app.key);
    let segment = fetch(config).await.unwrap();
    assert_eq!((segment.start, segment.end), (1, 10));

    let err = text(fetch(HttpConfig::new([https.clone()]).tls_ca_file(&ca.cert)).await);
    assert!(err.contains("may require a client certificate"), "{err}");
    let stranger = ca.issue(dir.path(), "stranger", Use::Client);
    let config = HttpConfig::new([https])
        .tls_ca_file(&ca.cert)
        .tls_client_cert(&stranger.cert, &stranger.key);
    let err = text(fetch(config).await);
    assert!(err.contains("may require a client certificate"), "{err}");
}
