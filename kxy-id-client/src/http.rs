//! [`HttpSource`]: segments from kxy-id servers over HTTP, with failover and retries.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http::Uri;
use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kxy_id::wire::{
    ALLOCATE_BATCH_PATH, ALLOCATE_PATH, AllocateBatchRequest, AllocateRequest, MAX_BATCH_ITEMS,
    parse_allocate_answer, parse_allocate_batch_answer,
};
use kxy_id::{Segment, SegmentKey};

use crate::config::RetryBackoff;
use crate::envelope::answer_error;
use crate::error::{Error, Result};
use crate::failover::{Failover, ServerHealth};
use crate::source::SegmentSource;
use crate::tls::{TlsOptions, client_config, explain};

/// Settings of an [`HttpSource`].
///
/// | setting | default |
/// |---|---|
/// | base URLs | required, at least one (`http://host:port` or `https://host:port`, optionally with a path prefix) |
/// | [`connect_timeout`](Self::connect_timeout) | 2 s |
/// | [`request_timeout`](Self::request_timeout) | 5 s (per attempt: sending, waiting, reading the body) |
/// | [`attempts`](Self::attempts) | 4 per fetch, over all base URLs |
/// | [`retry_backoff`](Self::retry_backoff) | 50 ms .. 1 s, doubling, with jitter |
/// | [`pool_idle_timeout`](Self::pool_idle_timeout) | 90 s (keep-alive connections are reused) |
/// | [`allocation_token`](Self::allocation_token) | none (sent as `Authorization: Bearer`) |
/// | [`tls_ca_file`](Self::tls_ca_file) | none: `https://` URLs are checked against the system's roots |
/// | [`tls_client_cert`](Self::tls_client_cert) | none (for servers that require client certificates) |
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The servers, tried in turn.
    base_urls: Vec<String>,
    /// Limit on opening a connection.
    connect_timeout: Duration,
    /// Limit on one attempt.
    request_timeout: Duration,
    /// Attempts per fetch.
    attempts: u32,
    /// Pauses between rounds of attempts.
    backoff: RetryBackoff,
    /// How long an idle keep-alive connection is kept.
    pool_idle_timeout: Duration,
    /// Largest body read.
    max_body_bytes: usize,
    /// The allocation token sent as `Authorization: Bearer ...`, if any.
    token: Option<Token>,
    /// What `https://` URLs trust and present.
    tls: TlsOptions,
}

/// An allocation token: never shown by `Debug`.
#[derive(Clone)]
struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl HttpConfig {
    /// Settings for the servers at `base_urls` (for example `["http://10.0.0.1:5801"]`).
    pub fn new<I, S>(base_urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        HttpConfig {
            base_urls: base_urls.into_iter().map(Into::into).collect(),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            attempts: 4,
            backoff: RetryBackoff::new(Duration::from_millis(50), Duration::from_secs(1)),
            pool_idle_timeout: Duration::from_secs(90),
            max_body_bytes: 64 * 1024,
            token: None,
            tls: TlsOptions::default(),
        }
    }

    /// Trusts only the CAs in this PEM file for `https://` URLs, instead of the system's
    /// roots (for a private CA). Read by [`HttpSource::new`].
    pub fn tls_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls.ca_file = Some(path.into());
        self
    }

    /// Presents this client certificate chain (PEM, leaf first) and private key (PEM) to
    /// `https://` servers that require one (`kxy-id-server --tls-client-ca`). Read by
    /// [`HttpSource::new`].
    pub fn tls_client_cert(
        mut self,
        cert: impl Into<std::path::PathBuf>,
        key: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// Sends `token` as `Authorization: Bearer <token>` with every allocation: an allocation
    /// token the server's admin created for this system code (`POST /api/tokens`), needed
    /// when the server runs with `--require-allocation-tokens`. Never shown by `Debug`.
    pub fn allocation_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Token(token.into()));
        self
    }

    /// The connector an [`HttpSource`] of these settings uses: `http://` and `https://` with
    /// the same trust (CA file or system roots), client certificate and connect timeout. For
    /// other requests to the same servers (the server's admin CLI uses it).
    ///
    /// Errors: [`Error::InvalidConfig`] for TLS files that cannot be read.
    pub fn connector(&self) -> Result<HttpsConnector<HttpConnector>> {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(self.connect_timeout));
        connector.set_nodelay(true);
        connector.set_keepalive(Some(Duration::from_secs(60)));
        // The TLS layer below takes https:// URLs; plain ones pass through.
        connector.enforce_http(false);
        let https = self.base_urls.iter().any(|u| u.starts_with("https://"));
        Ok(hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(client_config(&self.tls, https)?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector))
    }

    /// The limit on opening a TCP connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The limit on one attempt (sending the request and reading the whole answer).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Attempts per fetch (at least 1). Each attempt after a retryable failure goes to the next
    /// base URL; after every round over all URLs the source pauses (backoff with jitter).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// The pause after a round of failed attempts: starts at `min`, doubles up to `max`, and is
    /// drawn between half and all of that.
    pub fn retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = RetryBackoff::new(min, max);
        self
    }

    /// How long an idle keep-alive connection is kept for reuse.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }
}

/// One server.
#[derive(Debug)]
struct Endpoint {
    /// The full URL of the allocation endpoint, for messages.
    url: String,
    /// The same, parsed.
    uri: Uri,
    /// Its health check, `GET {base}/health`.
    health: Uri,
    /// The full URL of the batch allocation endpoint.
    batch_url: String,
    /// The same, parsed.
    batch_uri: Uri,
}

/// Which endpoint a request goes to.
#[derive(Debug, Clone, Copy)]
enum Call {
    /// `POST /api/segment/allocate`.
    Single,
    /// `POST /api/segment/allocate-batch`.
    Batch,
}

/// Segments from kxy-id servers: `POST {base}/api/segment/allocate` with the JSON body of the
/// HTTP contract.
///
/// * One hyper client with keep-alive connections, a connect timeout and a per-attempt timeout.
/// * Several base URLs: a failure that another server might not have (connection refused,
///   timeout, HTTP 5xx, an unexpected status or body, envelope codes 500 and 503) moves to the
///   next URL and leaves the failed server out for a cooldown (1 s, doubling per consecutive
///   failure up to 30 s) until a background health check (`GET /health`) finds it answering
///   again; the URL that answered last is tried first, servers that are down only after every
///   other one failed. After each round over all URLs the source pauses with exponential
///   backoff and jitter, up to the configured attempts. [`HttpSource::servers`] reports
///   what the source knows of each server.
/// * Answers the server gives on purpose and that every server would repeat (envelope codes
///   400, 401, 404, 409, HTTP 422) are returned at once, as typed errors.
/// * `start` and `end` are read as JSON numbers or decimal strings.
///
/// `https://` URLs are checked against the system's roots or
/// [`tls_ca_file`](HttpConfig::tls_ca_file), with an optional client certificate
/// ([`tls_client_cert`](HttpConfig::tls_client_cert)); a TLS failure says what went wrong in
/// words (an unknown CA, an expired certificate, a server speaking plain HTTP).
/// Requests must run inside a tokio runtime (the generator's background runtime does that).
pub struct HttpSource {
    /// The shared connection pool.
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// The servers.
    endpoints: Arc<Vec<Endpoint>>,
    /// Their health: the order of attempts, cooldowns, checks.
    failover: Arc<Failover>,
    /// Settings.
    config: HttpConfig,
}

impl std::fmt::Debug for HttpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSource")
            .field(
                "endpoints",
                &self.endpoints.iter().map(|e| &e.url).collect::<Vec<_>>(),
            )
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpSource {
    /// A source for the servers and settings of `config`.
    ///
    /// Errors: [`Error::InvalidConfig`] for no URL, a URL that is not
    /// `http[s]://host[:port][/prefix]`, zero attempts or timeouts, or TLS files that cannot be
    /// read.
    pub fn new(config: HttpConfig) -> Result<HttpSource> {
        if config.base_urls.is_empty() {
            return Err(Error::InvalidConfig(
                "at least one base URL is needed".to_owned(),
            ));
        }
        if config.attempts == 0 {
            return Err(Error::InvalidConfig(
                "attempts must be at least 1".to_owned(),
            ));
        }
        if config.connect_timeout.is_zero() || config.request_timeout.is_zero() {
            return Err(Error::InvalidConfig(
                "timeouts must be above zero".to_owned(),
            ));
        }
        config.backoff.validate()?;
        let endpoints = config
            .base_urls
            .iter()
            .map(|base| endpoint(base))
            .collect::<Result<Vec<_>>>()?;
        let connector = config.connector()?;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(8)
            .build(connector);
        Ok(HttpSource {
            client,
            failover: Arc::new(Failover::new(endpoints.len())),
            endpoints: Arc::new(endpoints),
            config,
        })
    }

    /// What the source knows of each server, in the configured order: whether fetches go to
    /// it, and how many times in a row it failed.
    pub fn servers(&self) -> Vec<ServerHealth> {
        self.failover
            .report(self.endpoints.iter().map(|e| e.url.as_str()))
    }

    /// Starts a health check of each down server whose cooldown is over, in the background.
    fn check_due_servers(&self) {
        let due = self.failover.due_for_check();
        if due.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            due.into_iter()
                .for_each(|i| self.failover.checked(i, false));
            return;
        };
        for i in due {
            let (client, endpoints) = (self.client.clone(), self.endpoints.clone());
            let (failover, limit) = (self.failover.clone(), self.config.request_timeout);
            runtime.spawn(async move {
                let check = async {
                    let request = http::Request::get(endpoints[i].health.clone())
                        .header(
                            USER_AGENT,
                            concat!("kxy-id-client/", env!("CARGO_PKG_VERSION")),
                        )
                        .body(Full::new(Bytes::new()))
                        .ok()?;
                    let response = client.request(request).await.ok()?;
                    let ok = response.status() == http::StatusCode::OK;
                    // Read the body so that the connection can be reused.
                    let _ = Limited::new(response.into_body(), 64 * 1024)
                        .collect()
                        .await;
                    Some(ok)
                };
                let passed = matches!(tokio::time::timeout(limit, check).await, Ok(Some(true)));
                tracing::debug!(url = %endpoints[i].url, passed, "health check");
                failover.checked(i, passed);
            });
        }
    }

    /// One exchange with one endpoint: the status and the body.
    async fn exchange(
        &self,
        endpoint: &Endpoint,
        call: Call,
        body: &Bytes,
    ) -> Result<(u16, Bytes)> {
        let (url, uri) = match call {
            Call::Single => (&endpoint.url, &endpoint.uri),
            Call::Batch => (&endpoint.batch_url, &endpoint.batch_uri),
        };
        let mut request = http::Request::post(uri.clone());
        if let Some(Token(token)) = &self.config.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("kxy-id-client/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(body.clone()))
            .map_err(|e| Error::InvalidConfig(format!("cannot build a request: {e}")))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| transport(url, &e))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), self.config.max_body_bytes)
                .collect()
                .await
                .map_err(|e| Error::Transport {
                    url: url.clone(),
                    reason: format!("reading the body failed: {e}"),
                })?
                .to_bytes();
            Ok::<_, Error>((status, body))
        };
        tokio::time::timeout(self.config.request_timeout, exchange)
            .await
            .map_err(|_| Error::Timeout {
                url: url.clone(),
                after: self.config.request_timeout,
            })?
    }

    /// Sends `body` to the `call` endpoint of the servers in turn (failover, backoff after
    /// each round) until `read` accepts an answer or gives an error that another server would
    /// repeat.
    async fn post<T>(
        &self,
        call: Call,
        body: Bytes,
        read: impl Fn(&str, u16, &[u8]) -> Result<T> + Send + Sync,
    ) -> Result<T> {
        self.check_due_servers();
        let n = self.endpoints.len();
        let mut backoff = self.config.backoff.start();
        let mut last_error = None;
        let mut order = self.failover.order();
        for attempt in 0..self.config.attempts as usize {
            if attempt > 0 && attempt % n == 0 {
                // A whole round failed: pause before trying the servers again.
                tokio::time::sleep(backoff.next_pause()).await;
                order = self.failover.order();
            }
            let index = order[attempt % n];
            let endpoint = &self.endpoints[index];
            let answer = self
                .exchange(endpoint, call, &body)
                .await
                .and_then(|(status, bytes)| read(&endpoint.url, status, &bytes));
            match answer {
                Ok(answer) => {
                    self.failover.answered(index);
                    return Ok(answer);
                }
                Err(e) if e.is_retryable() => {
                    tracing::debug!(url = %endpoint.url, error = %e, "allocation attempt failed");
                    self.failover.failed(index);
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| Error::InvalidConfig("no attempt was made".to_owned())))
    }
}

#[async_trait]
impl SegmentSource for HttpSource {
    async fn fetch(&self, key: &SegmentKey, count: i64) -> Result<Segment> {
        let request = AllocateRequest::new(key, count);
        let body = Bytes::from(serde_json::to_vec(&request).expect("a request serializes"));
        self.post(Call::Single, body, |url, status, bytes| {
            parse_allocate_answer(status, bytes).map_err(|failure| answer_error(url, failure))
        })
        .await
    }

    /// One request to the batch endpoint per 1,000 keys. A failure of a whole request (no
    /// server answered, 5xx) is retried like a single fetch; a failure of one item is that
    /// item's result.
    async fn fetch_many(&self, requests: &[(SegmentKey, i64)]) -> Result<Vec<Result<Segment>>> {
        let mut out = Vec::with_capacity(requests.len());
        for chunk in requests.chunks(MAX_BATCH_ITEMS) {
            let request = AllocateBatchRequest {
                items: chunk
                    .iter()
                    .map(|(key, count)| AllocateRequest::new(key, *count))
                    .collect(),
            };
            let body = Bytes::from(serde_json::to_vec(&request).expect("a request serializes"));
            let answers = self
                .post(Call::Batch, body, |url, status, bytes| {
                    let items = parse_allocate_batch_answer(status, bytes, chunk.len())
                        .map_err(|failure| answer_error(url, failure))?;
                    Ok(items
                        .into_iter()
                        .map(|item| item.map_err(|failure| answer_error(url, failure)))
                        .collect::<Vec<_>>())
                })
                .await?;
            out.extend(answers);
        }
        Ok(out)
    }

    fn batches(&self) -> bool {
        true
    }
}

/// Parses a base URL into the allocation endpoint's URI.
fn endpoint(base: &str) -> Result<Endpoint> {
    let bad = |why: &str| Error::InvalidConfig(format!("base URL {base:?} {why}"));
    let base_uri: Uri = base.parse().map_err(|_| bad("is not a URL"))?;
    match base_uri.scheme_str() {
        Some("http" | "https") => {}
        Some(_) => return Err(bad("must start with http:// or https://")),
        None => return Err(bad("needs a scheme (http:// or https://)")),
    }
    if base_uri.authority().is_none() {
        return Err(bad("needs a host"));
    }
    if base_uri.query().is_some() {
        return Err(bad("must not have a query"));
    }
    let base = base.trim_end_matches('/');
    let url = format!("{base}{ALLOCATE_PATH}");
    let uri = url.parse().map_err(|_| bad("is not a URL"))?;
    let health = format!("{base}/health")
        .parse()
        .map_err(|_| bad("is not a URL"))?;
    let batch_url = format!("{base}{ALLOCATE_BATCH_PATH}");
    let batch_uri = batch_url.parse().map_err(|_| bad("is not a URL"))?;
    Ok(Endpoint {
        url,
        uri,
        health,
        batch_url,
        batch_uri,
    })
}

/// Why a request failed, in words: `error` with its causes (hyper's own messages are terse),
/// led by what a TLS failure among them means ("the server's certificate is not signed by a
/// CA this client trusts", ...). For other HTTP clients of kxy-id servers (the server's admin
/// CLI uses it).
pub fn failure_reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    match explain(error) {
        Some(meaning) => format!("TLS: {meaning} ({reason})"),
        None => reason,
    }
}

/// A transport error naming `url`.
fn transport(url: &str, error: &hyper_util::client::legacy::Error) -> Error {
    Error::Transport {
        url: url.to_owned(),
        reason: failure_reason(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked() {
        assert_eq!(
            endpoint("http://127.0.0.1:5801").unwrap().url,
            "http://127.0.0.1:5801/api/segment/allocate"
        );
        assert_eq!(
            endpoint("http://ids.internal/prefix/").unwrap().url,
            "http://ids.internal/prefix/api/segment/allocate"
        );
        assert_eq!(
            endpoint("https://ids.internal").unwrap().url,
            "https://ids.internal/api/segment/allocate"
        );
        for bad in [
            "127.0.0.1:5801",
            "ftp://x",
            "http://",
            "not a url",
            "http://h/?q=1",
        ] {
            assert!(endpoint(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(HttpSource::new(HttpConfig::new(Vec::<String>::new())).is_err());
        assert!(HttpSource::new(HttpConfig::new(["http://h"]).attempts(0)).is_err());
        assert!(
            HttpSource::new(HttpConfig::new(["http://h"]).request_timeout(Duration::ZERO)).is_err()
        );
        assert!(HttpSource::new(HttpConfig::new(["http://h"])).is_ok());
    }
}
