//! HTTPS: allocation over TLS (HTTP/1.1 and HTTP/2 through ALPN), mutual TLS, a clear 400
//! for plain HTTP on the TLS port, certificate rotation without a restart (files replaced,
//! then a file-change poll or SIGHUP to the binary), and a failed reload keeping the old
//! certificate. Certificates are made in the test (`kxy_id::testing::pki`).

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kxy_id::testing::pki::{Issued, TestCa, Use};
use kxy_id_server::{Tls, TlsSettings, open_state, run_tls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// An in-process HTTPS server; stops when dropped.
struct TlsServer {
    addr: SocketAddr,
    tls: Arc<Tls>,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(settings: TlsSettings) -> TlsServer {
    let dir = tempfile::tempdir().unwrap();
    let state = open_state(&common::settings(dir.path(), None))
        .await
        .unwrap();
    let key = kxy_id::SegmentKey::new("tls", "d", "t", "id").unwrap();
    state.service.allocator().raise_to(&key, 0).await.unwrap();
    let tls = Tls::load(settings).expect("the TLS files load");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn({
        let tls = tls.clone();
        async move {
            run_tls(listener, state, tls, std::future::pending())
                .await
                .unwrap()
        }
    });
    TlsServer {
        addr,
        tls,
        _dir: dir,
        task,
    }
}

fn settings(server: &Issued) -> TlsSettings {
    TlsSettings {
        cert: server.cert.clone(),
        key: server.key.clone(),
        client_ca: None,
        http2: false,
    }
}

/// A TLS connection trusting `ca`, presenting `client` if given, offering `alpn`.
async fn connect(
    addr: SocketAddr,
    ca: &Path,
    client: Option<&Issued>,
    alpn: &[&[u8]],
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match client {
        Some(c) => builder
            .with_client_auth_cert(
                CertificateDer::pem_file_iter(&c.cert)
                    .unwrap()
                    .map(Result::unwrap)
                    .collect(),
                PrivateKeyDer::from_pem_file(&c.key).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut stream = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    // A TLS 1.3 server checks the client's certificate after the client's handshake ends:
    // a refusal arrives as an alert on the first read, so make one round trip here.
    stream.flush().await?;
    Ok(stream)
}

/// The certificate the server presents now.
async fn served(addr: SocketAddr, ca: &Path) -> std::io::Result<Vec<u8>> {
    let stream = connect(addr, ca, None, &[]).await?;
    Ok(stream.get_ref().1.peer_certificates().unwrap()[0].to_vec())
}

/// One allocation over `stream` (HTTP/2 when ALPN chose it): the envelope.
async fn allocate(stream: TlsStream<TcpStream>) -> Value {
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let body = serde_json::json!({"system_code": "tls", "db_name": "d", "table_name": "t", "field_name": "id", "segment_count": 10});
    let request = http::Request::post("https://127.0.0.1/api/segment/allocate")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let io = TokioIo::new(stream);
    let response = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        sender.send_request(request).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        sender.send_request(request).await.unwrap()
    };
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn allocation_over_https_with_http1_and_http2() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "main");
    let cert = ca.issue(dir.path(), "server", Use::Server);
    let server = start(TlsSettings {
        http2: true,
        ..settings(&cert)
    })
    .await;
    let http1 = connect(server.addr, &ca.cert, None, &[b"http/1.1"])
        .await
        .unwrap();
    assert_eq!(http1.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let first = allocate(http1).await;
    assert_eq!(first["code"], 0, "{first}");
    let h2 = connect(server.addr, &ca.cert, None, &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let second = allocate(h2).await;
    assert_eq!(second["code"], 0, "{second}");
    assert!(second["data"]["start"].as_i64() > first["data"]["end"].as_i64());

    // Without --tls-http2 the server does not offer h2.
    let server = start(settings(&cert)).await;
    let stream = connect(server.addr, &ca.cert, None, &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[tokio::test]
async fn plain_http_on_the_tls_port_gets_a_400_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "main");
    let server = start(settings(&ca.issue(dir.path(), "server", Use::Server))).await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"system_code":"tls","db_name":"d","table_name":"t","field_name":"id"}"#;
    tcp.write_all(
        format!(
            "POST /api/segment/allocate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("This port speaks HTTPS"), "{answer}");
    // The server still serves TLS afterwards.
    assert!(served(server.addr, &ca.cert).await.is_ok());
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "main");
    let clients = TestCa::new(dir.path(), "clients");
    let server = start(TlsSettings {
        client_ca: Some(clients.cert.clone()),
        ..settings(&ca.issue(dir.path(), "server", Use::Server))
    })
    .await;
    let good = clients.issue(dir.path(), "app", Use::Client);
    let stream = connect(server.addr, &ca.cert, Some(&good), &[])
        .await
        .unwrap();
    assert_eq!(allocate(stream).await["code"], 0);

    let stranger = ca.issue(dir.path(), "stranger", Use::Client);
    for client in [None, Some(&stranger)] {
        let refused = async {
            let mut stream = connect(server.addr, &ca.cert, client, &[]).await?;
            stream
                .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
                .await?;
            let mut buf = [0u8; 64];
            stream.read(&mut buf).await
        }
        .await;
        let err = refused
            .expect_err("the server refuses the client")
            .to_string();
        assert!(
            err.contains("CertificateRequired")
                || err.contains("UnknownCA")
                || err.contains("BadCertificate"),
            "{err}"
        );
    }
}

/// Waits (up to 30 s) until the server presents `der`.
async fn wait_for_certificate(addr: SocketAddr, ca: &Path, der: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if served(addr, ca).await.ok().as_deref() == Some(der) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Replaces the server's files with `new`'s contents.
fn replace(files: &Issued, new: &Issued) {
    std::fs::copy(&new.cert, &files.cert).unwrap();
    std::fs::copy(&new.key, &files.key).unwrap();
}

#[tokio::test]
async fn changed_files_are_served_without_a_restart_and_a_bad_reload_keeps_the_old() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "main");
    let files = ca.issue(dir.path(), "server", Use::Server);
    let server = start(settings(&files)).await;
    let _reloader = server.tls.spawn_reloader(Some(Duration::from_millis(200)));
    assert_eq!(served(server.addr, &ca.cert).await.unwrap(), files.der);

    let next = ca.issue(dir.path(), "next", Use::Server);
    replace(&files, &next);
    wait_for_certificate(server.addr, &ca.cert, &next.der).await;

    // A key that does not match the certificate: the reload fails, naming the files, and
    // the certificate in use stays.
    let other = ca.issue(dir.path(), "other", Use::Server);
    std::fs::copy(&other.key, &files.key).unwrap();
    let err = server.tls.reload().unwrap_err().to_string();
    assert!(
        err.contains("server.pem") && err.contains("server.key"),
        "{err}"
    );
    std::fs::write(&files.cert, "not a certificate").unwrap();
    let err = server.tls.reload().unwrap_err().to_string();
    assert!(
        err.contains("server.pem") && err.contains("no PEM certificate"),
        "{err}"
    );
    assert_eq!(served(server.addr, &ca.cert).await.unwrap(), next.der);
    assert_eq!(server.tls.reload().ok(), None);
}

#[test]
fn bad_tls_files_are_clear_errors_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "main");
    let good = ca.issue(dir.path(), "server", Use::Server);
    let other = ca.issue(dir.path(), "other", Use::Server);
    let missing = TlsSettings {
        cert: dir.path().join("missing.pem"),
        ..settings(&good)
    };
    let err = Tls::load(missing).unwrap_err().to_string();
    assert!(err.contains("missing.pem"), "{err}");
    let mismatched = TlsSettings {
        key: other.key.clone(),
        ..settings(&good)
    };
    let err = Tls::load(mismatched).unwrap_err().to_string();
    assert!(err.contains("other.key"), "{err}");
    let key_as_cert = TlsSettings {
        cert: good.key.clone(),
        ..settings(&good)
    };
    let err = Tls::load(key_as_cert).unwrap_err().to_string();
    assert!(err.contains("no PEM certificate"), "{err}");
}

/// The binary with `args`, killed on drop; stdout is read to the end by a thread (the server
/// prints more after its address). Also returns the address it prints after `scheme://`.
#[cfg(unix)]
struct Binary {
    child: std::process::Child,
    addr: SocketAddr,
}

#[cfg(unix)]
impl Binary {
    fn start(args: &[&std::ffi::OsStr], scheme: &str) -> Binary {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kxy-id-server"))
            .args(args)
            .env_remove("KXY_STORE")
            .env_remove("REDIS_HOST")
            .env_remove("KXY_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let marker = format!("listening on {scheme}://");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(addr) = line.split(&marker).nth(1) {
                    let _ = tx.send(addr.trim().parse::<SocketAddr>().unwrap());
                }
            }
        });
        // Built first, so that a binary that never prints its address is killed too.
        let mut binary = Binary {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        };
        binary.addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the binary prints its address");
        binary
    }

    fn hangup(&self) {
        assert_eq!(
            unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) },
            0
        );
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

#[cfg(unix)]
impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary with TLS from a config file: rotation through SIGHUP, with the poll turned off.
#[cfg(unix)]
#[tokio::test]
async fn sighup_makes_the_binary_serve_the_new_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), "main");
    let files = ca.issue(dir.path(), "server", Use::Server);
    // The TLS settings come from a config file: the file reaches the server, not only
    // `config check`.
    let config = dir.path().join("kxy-id.toml");
    let toml = format!(
        "listen = \"127.0.0.1:0\"\ndata-dir = {:?}\nscan-interval = 0\nbcrypt-cost = 10\n\
         tls-cert = {:?}\ntls-key = {:?}\ntls-reload-interval = 0\n",
        dir.path().join("data"),
        files.cert,
        files.key
    );
    std::fs::write(&config, toml).unwrap();
    let mut binary = Binary::start(&["--config".as_ref(), config.as_os_str()], "https");
    assert_eq!(served(binary.addr, &ca.cert).await.unwrap(), files.der);
    let next = ca.issue(dir.path(), "next", Use::Server);
    replace(&files, &next);
    // No poll: the old certificate stays until the signal.
    assert_eq!(served(binary.addr, &ca.cert).await.unwrap(), files.der);
    binary.hangup();
    wait_for_certificate(binary.addr, &ca.cert, &next.der).await;
    assert!(binary.running(), "SIGHUP does not stop the server");
}

/// Without TLS, SIGHUP (`systemctl reload`) is logged, and the server keeps serving.
#[cfg(unix)]
#[test]
fn sighup_without_tls_does_not_stop_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--scan-interval",
        "0",
        "--data-dir",
    ];
    let mut args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    args.push(dir.path().as_os_str());
    let mut binary = Binary::start(&args, "http");
    binary.hangup();
    // Unhandled, SIGHUP would have ended the process by now.
    std::thread::sleep(Duration::from_millis(300));
    assert!(binary.running(), "SIGHUP stopped the server");
    let addr = binary.addr.to_string();
    let (status, _) = common::raw_http::call(&addr, "GET", "/health", None, None).unwrap();
    assert_eq!(status, 200);
}
