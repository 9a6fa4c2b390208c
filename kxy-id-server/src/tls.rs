//! HTTPS: the certificate, key and optional client CA, read from PEM files and reloaded
//! without a restart (on SIGHUP and when the files change), and the handshake of each
//! connection, which answers a plain HTTP request with a clear 400 instead of a TLS alert.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Where the TLS material is, and what to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The certificate chain (PEM, leaf first).
    pub cert: PathBuf,
    /// The private key of the leaf certificate (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by one of these CAs (PEM).
    pub client_ca: Option<PathBuf>,
    /// Offer HTTP/2 through ALPN besides HTTP/1.1.
    pub http2: bool,
}

/// The TLS configuration in effect: swapped whole by a successful reload, kept by a failed one.
pub struct Tls {
    /// The files.
    settings: TlsSettings,
    /// The configuration new connections get, and a digest of the files it came from.
    current: RwLock<(Arc<ServerConfig>, [u8; 32])>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads the files of `settings`; an error names the file and what is wrong with it.
    pub fn load(settings: TlsSettings) -> Result<Arc<Tls>, kxy_id::Error> {
        let files = read_files(&settings)?;
        let config = build(&settings, &files)?;
        Ok(Arc::new(Tls {
            current: RwLock::new((Arc::new(config), files.digest())),
            settings,
        }))
    }

    /// Reads the files again. `Ok(true)`: they changed and new connections use them;
    /// `Ok(false)`: unchanged; an error keeps the configuration in effect.
    pub fn reload(&self) -> Result<bool, kxy_id::Error> {
        let files = read_files(&self.settings)?;
        let digest = files.digest();
        if self.current.read().expect("tls lock").1 == digest {
            return Ok(false);
        }
        let config = build(&self.settings, &files)?;
        *self.current.write().expect("tls lock") = (Arc::new(config), digest);
        Ok(true)
    }

    /// The settings this was loaded from.
    pub fn settings(&self) -> &TlsSettings {
        &self.settings
    }

    /// The configuration for a new connection.
    fn config(&self) -> Arc<ServerConfig> {
        self.current.read().expect("tls lock").0.clone()
    }

    /// The handshake of one connection. A client that speaks plain HTTP gets a 400 that says
    /// to use https:// (and the error here says the same).
    pub(crate) async fn accept(&self, stream: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        let mut first = [0u8; 1];
        if stream.peek(&mut first).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before the TLS handshake",
            ));
        }
        // Every TLS connection starts with a handshake record (content type 22).
        if first[0] != 0x16 {
            refuse_plain_http(stream).await;
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a plain HTTP request on the HTTPS port was refused",
            ));
        }
        TlsAcceptor::from(self.config()).accept(stream).await
    }

    /// Reloads on SIGHUP (logging the outcome either way) and, every `poll` when given, when
    /// the files' contents changed (logging a failure once per distinct error). Stops when
    /// the guard is dropped.
    pub fn spawn_reloader(self: &Arc<Self>, poll: Option<Duration>) -> ReloaderGuard {
        let tls = self.clone();
        // Installed before this returns: a SIGHUP right after start reloads, never kills.
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let task = tokio::spawn(async move {
            let mut ticker = poll.map(|every| {
                let mut t = tokio::time::interval(every);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            let mut last_error: Option<String> = None;
            loop {
                #[cfg(unix)]
                let signal = async {
                    match hangup.as_mut() {
                        Some(h) => {
                            h.recv().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let signal = std::future::pending::<()>();
                let tick = async {
                    match ticker.as_mut() {
                        Some(t) => {
                            t.tick().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                let asked = tokio::select! {
                    _ = signal => true,
                    _ = tick => false,
                };
                match tls.reload() {
                    Ok(true) => {
                        last_error = None;
                        tracing::info!(cert = %tls.settings.cert.display(), "TLS certificate reloaded");
                    }
                    Ok(false) if asked => {
                        tracing::info!(cert = %tls.settings.cert.display(), "TLS files unchanged");
                    }
                    Ok(false) => {}
                    Err(e) => {
                        let text = e.to_string();
                        if asked || last_error.as_deref() != Some(text.as_str()) {
                            tracing::warn!(error = %text, "TLS reload failed; the previous certificate stays in use");
                        }
                        last_error = Some(text);
                    }
                }
            }
        });
        ReloaderGuard { task }
    }
}

/// Stops the reloader when dropped.
#[derive(Debug)]
pub struct ReloaderGuard {
    /// The reloader task.
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ReloaderGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The contents of the files, read together.
struct Files {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Files {
    /// What a reload compares: an unchanged digest means nothing to do.
    fn digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        for part in [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()] {
            let part = part.map(Vec::as_slice).unwrap_or_default();
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        hash.finalize().into()
    }
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> kxy_id::Error {
    kxy_id::Error::InvalidConfig(format!("{}: {why}", path.display()))
}

fn read_files(settings: &TlsSettings) -> Result<Files, kxy_id::Error> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| invalid(path, e));
    Ok(Files {
        cert: read(&settings.cert)?,
        key: read(&settings.key)?,
        client_ca: settings.client_ca.as_deref().map(read).transpose()?,
    })
}

/// Certificates of a PEM file; at least one.
fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, kxy_id::Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(path, format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(invalid(
            path,
            "holds no PEM certificate (BEGIN CERTIFICATE)",
        ));
    }
    Ok(certs)
}

/// A rustls configuration from the files' contents.
fn build(settings: &TlsSettings, files: &Files) -> Result<ServerConfig, kxy_id::Error> {
    let certs = certificates(&settings.cert, &files.cert)?;
    // The key's own error text never includes the key.
    let key = PrivateKeyDer::from_pem_slice(&files.key)
        .map_err(|e| invalid(&settings.key, format!("not a PEM private key ({e})")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| kxy_id::Error::InvalidConfig(format!("TLS: {e}")))?;
    let builder = match (&settings.client_ca, &files.client_ca) {
        (Some(path), Some(pem)) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(path, pem)? {
                roots.add(cert).map_err(|e| invalid(path, e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| invalid(path, e))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|e| {
        kxy_id::Error::InvalidConfig(format!(
            "{} with {}: {e}",
            settings.cert.display(),
            settings.key.display()
        ))
    })?;
    config.alpn_protocols = if settings.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// Answers a plain HTTP request on the TLS port with a 400 saying so, then closes.
async fn refuse_plain_http(mut stream: TcpStream) {
    const BODY: &str =
        "This port speaks HTTPS: a plain HTTP request was sent to it. Use https://.\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        // Read what arrived first: closing with unread data would reset the connection
        // before the client reads the answer.
        let mut buf = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        while stream.read(&mut buf).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}
