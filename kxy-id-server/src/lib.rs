//! The kxy-id HTTP server: the old kxy-open-id service's API over [`kxy_id::IdService`].
//!
//! # Layout
//!
//! A request goes `run` → `router` → one handler in `routes::*` → `response` or `error`.
//! Every module, and what it holds:
//!
//! - this file: [`run`] serves HTTP on a listener until a shutdown future completes (the
//!   binary and every test start the server through it), [`run_tls`] HTTPS; [`open_state`] builds the shared
//!   [`AppState`] from [`Settings`] (stores, secrets, auth); [`spawn_scanner`] runs the
//!   background table scanner, stopped when its guard is dropped.
//! - `limits`: [`AllocationLimits`], IDs per request and per key and minute; `tokens`:
//!   [`AllocationTokens`], the optional bearer tokens of allocation (`routes::tokens` manages
//!   them).
//! - `brake`: the login brake (429 after repeated failures, per user name and address);
//!   `hash_gate`: the bound on concurrent bcrypt hashes.
//! - `data_dir`: the data directory's permissions (0700, files 0600).
//! - `settings`: [`Settings`], the command line and environment, and the operator's
//!   [`Command`]s; `commands`: [`run_command`] runs them (`recover`, `export`, `import`,
//!   `reopen-init`, `config check`); `config_file`: the TOML file of `--config`, every
//!   option's value as a default under flags and environment.
//! - [`cli`]: the admin CLI (`kxy-id-server admin ...`), the admin API over HTTP for scripts;
//!   [`run_admin`] runs it.
//! - `state`: [`AppState`], what every handler shares.
//! - `tls`: [`Tls`], HTTPS for [`run_tls`]: PEM files reloaded on SIGHUP and on change, the
//!   handshake, and a clear 400 for plain HTTP on the TLS port.
//! - [`auth`]: the admin account, passwords (bcrypt, and the old service's DES) and tokens.
//! - `router`: the route table, one `match` from method and path to a handler and its
//!   [`Route`].
//! - `route`: [`Route`], the name of every endpoint, a label in `/metrics`.
//! - `request`: reading a request: its body, query parameters and bearer token.
//! - `routes::*`: one handler per endpoint, a file per area (`auth`, `database`, `ops`,
//!   `segment`).
//! - `response`: the envelope, JSON helpers and big integers as strings.
//! - `error`: [`ApiError`] and how it becomes the envelope and status codes of the API.
//! - `validate`: request bodies checked field by field into 422 bodies.
//! - `metrics`: [`Metrics`], lock-free counters rendered for Prometheus.
//! - `redact`: how secrets look in `Debug` output (never their value).
//! - `ui`: the embedded admin UI (`ui/`), served at `/` and every client-side route.
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

pub mod auth;
mod brake;
pub mod cli;
mod commands;
mod config_file;
mod data_dir;
mod error;
mod hash_gate;
mod limits;
mod metrics;
mod redact;
mod request;
mod response;
mod route;
mod router;
mod routes;
mod settings;
mod state;
mod tls;
mod tokens;
mod ui;
mod validate;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use kxy_id::{IdService, SecretBox, ServiceOptions};
use tokio::net::TcpListener;

pub use auth::{Auth, AuthSettings};
pub use cli::run_admin;
pub use commands::run_command;
pub use config_file::LoadError;
pub use error::ApiError;
pub use limits::AllocationLimits;
pub use metrics::Metrics;
pub use route::Route;
pub use settings::{Command, ConfigAction, Settings};
pub use state::AppState;
pub use tls::{ReloaderGuard, Tls, TlsSettings};
pub use tokens::{AllocationTokens, TokenRecord};

/// Serves HTTP on `listener` until `shutdown` completes, then lets open requests finish
/// (for up to 10 s).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(listener, state, None, shutdown).await
}

/// [`run`] over TLS: HTTPS with the certificate `tls` holds at each handshake (HTTP/2 too
/// when its settings offer it).
pub async fn run_tls(
    listener: TcpListener,
    state: AppState,
    tls: Arc<Tls>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(listener, state, Some(tls), shutdown).await
}

/// The accept loop of [`run`] and [`run_tls`].
async fn serve(
    listener: TcpListener,
    state: AppState,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let watcher = graceful.watcher();
                let state = state.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let result = match tls {
                        None => serve_connection(TokioIo::new(stream), state, peer, false, watcher).await,
                        Some(tls) => {
                            // The handshake gets as long as the request head would.
                            match tokio::time::timeout(state.header_timeout, tls.accept(stream)).await {
                                Ok(Ok(stream)) => {
                                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                                    serve_connection(TokioIo::new(stream), state, peer, h2, watcher).await
                                }
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            }
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(10)) => tracing::warn!("closing connections still open after 10 s"),
    }
    Ok(())
}

/// Serves one connection with HTTP/1.1, or HTTP/2 when ALPN chose it.
async fn serve_connection<I>(
    io: TokioIo<I>,
    state: AppState,
    peer: std::net::SocketAddr,
    h2: bool,
    watcher: hyper_util::server::graceful::Watcher,
) -> hyper::Result<()>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = state.header_timeout;
    // Shared by the connection's requests: cloning the state itself would copy its settings
    // (heap memory) for every request.
    let state = Arc::new(state);
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(router::handle(state, req, Some(peer.ip())).await) }
    });
    if h2 {
        let conn = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service);
        watcher.watch(conn).await
    } else {
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(io, service);
        watcher.watch(conn).await
    }
}

/// Opens the stores named by `settings` and builds the shared state.
///
/// The data directory is created with mode 0700 and its files kept at 0600 (checked before
/// and after the store opens; looser modes are fixed with a warning).
pub async fn open_state(settings: &Settings) -> Result<AppState, kxy_id::Error> {
    let data_dir_error = |e: std::io::Error| {
        kxy_id::Error::InvalidConfig(format!("{}: {e}", settings.data_dir.display()))
    };
    data_dir::create(&settings.data_dir).map_err(data_dir_error)?;
    data_dir::secure(&settings.data_dir).map_err(data_dir_error)?;
    let timeout = Duration::from_secs(settings.connect_timeout.max(1));
    let reserve = settings.reserve_block();
    let options = kxy_id::store::OpenOptions::default()
        .connect_timeout(timeout)
        .durable_store(settings.durable_store_url())
        .expect_existing(settings.admin_marker().exists())
        .coalesce(settings.coalesce)
        .reserve((reserve > 0).then(|| kxy_id::ReserveOptions {
            min_block: reserve,
            max_block: reserve.saturating_mul(1000),
            ..Default::default()
        }));
    let kxy_id::Store {
        allocator,
        meta,
        durability,
        coalescing,
    } = kxy_id::store::open(&settings.store_url(), &options).await?;
    let secrets = secret_box(settings)?;
    let options = ServiceOptions {
        connector: kxy_id::ConnectorOptions {
            connect_timeout: timeout,
            max_connections: settings.db_max_connections,
            ..Default::default()
        },
        ..Default::default()
    };
    let service = Arc::new(IdService::new(allocator, meta.clone(), secrets, options));
    let algorithm = match settings.jwt_algorithm.to_ascii_uppercase().as_str() {
        "HS256" => jsonwebtoken::Algorithm::HS256,
        "HS384" => jsonwebtoken::Algorithm::HS384,
        "HS512" => jsonwebtoken::Algorithm::HS512,
        other => {
            return Err(kxy_id::Error::InvalidConfig(format!(
                "JWT_ALGORITHM {other} is not supported: use HS256, HS384 or HS512"
            )));
        }
    };
    let auth = Auth::new(
        meta,
        AuthSettings {
            jwt_secret: settings.jwt_secret_key.clone(),
            jwt_algorithm: algorithm,
            jwt_expiry: Duration::from_secs(settings.jwt_expire_hours.max(1) * 3600),
            des_key: settings.des_key.clone(),
            bcrypt_cost: settings.bcrypt_cost,
            admin_marker: Some(settings.admin_marker()),
            login_attempts: settings.login_attempts,
            hash_permits: 0,
        },
    )
    .await?;
    data_dir::secure(&settings.data_dir).map_err(data_dir_error)?;
    let tokens = AllocationTokens::new(service.meta().clone(), settings.require_allocation_tokens);
    let mut state = AppState::new(service, auth);
    state.durability = Some(durability);
    state.limits = Arc::new(AllocationLimits::new(
        settings.max_segment_count,
        settings.max_ids_per_minute,
    ));
    state.tokens = Arc::new(tokens);
    if let Some(stats) = coalescing {
        state.metrics.watch_coalescing(stats);
    }
    Ok(state)
}

/// The key that encrypts database passwords: `KXY_SECRET_KEY`, else `<data-dir>/secret.key`
/// (generated with mode 0600 on first start).
fn secret_box(settings: &Settings) -> Result<SecretBox, kxy_id::Error> {
    if let Some(text) = settings.secret_key.as_deref().filter(|s| !s.is_empty()) {
        return SecretBox::from_text(text);
    }
    let path = settings.data_dir.join("secret.key");
    let io = |e: std::io::Error| kxy_id::Error::InvalidConfig(format!("{}: {e}", path.display()));
    if !path.exists() {
        data_dir::create(&settings.data_dir).map_err(io)?;
        // Write a complete file under a private name, then link it into place: a server
        // starting at the same moment either wins or reads the winner's whole key.
        let tmp = settings
            .data_dir
            .join(format!(".secret.key.{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        std::io::Write::write_all(&mut file, SecretBox::generate_key_text().as_bytes())
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    SecretBox::from_text(&std::fs::read_to_string(&path).map_err(io)?)
}

/// Stops the scanner when dropped.
#[derive(Debug)]
pub struct ScannerGuard {
    /// The scanner task.
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScannerGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the background scanner: every `every`, records integer-keyed tables without a
/// counter as discovered. A database that is down is logged and retried on the next pass.
pub fn spawn_scanner(state: AppState, every: Duration) -> ScannerGuard {
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match state.service.scan_once().await {
                Ok(summary) => {
                    state.metrics.scanned(summary.failed as u64);
                    tracing::debug!(?summary, "scanner pass");
                }
                Err(e) => {
                    state.metrics.scanned(1);
                    tracing::warn!(error = %e, "scanner pass failed");
                }
            }
        }
    });
    ScannerGuard { task }
}
