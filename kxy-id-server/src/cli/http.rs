//! [`Api`]: the admin endpoints over HTTP with hyper-util's client, one request per call.
//!
//! The transport is chosen in one place, [`connector`]: `kxy-id-client`'s, so that `http://`
//! and `https://` servers are reached with the same trust rules (a CA file or the system's
//! roots) and TLS failures read the same as in the client library.

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use http::{Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kxy_id::wire::{Answer, parse_answer};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::exit::{CliError, Exit};

/// The transport under the client.
type Connector = HttpsConnector<HttpConnector>;

/// The largest answer read (a long counter list is far below it).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One kxy-id server's admin API, with the token sent as `Authorization: Bearer`.
pub(crate) struct Api {
    base: String,
    token: Option<String>,
    timeout: Duration,
    client: Client<Connector, Full<Bytes>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base)
            .field("token", &crate::redact::secret(&self.token))
            .finish()
    }
}

/// The server's base URL without a trailing slash: `http://host:port` (with an optional path
/// prefix); a usage error for anything else.
fn base_url(server: &str) -> Result<String, CliError> {
    let base = server.trim().trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(base.to_owned()),
        _ => Err(CliError::new(
            Exit::Usage,
            format!("--server {server:?} is not a URL like http://127.0.0.1:5801"),
        )),
    }
}

/// The connector for `base`: HTTP or HTTPS, trusting `ca_file` (else the system's roots);
/// a local failure when the CA file cannot be read.
fn connector(base: &str, timeout: Duration, ca_file: Option<&Path>) -> Result<Connector, CliError> {
    let mut config = kxy_id_client::HttpConfig::new([base]).connect_timeout(timeout);
    if let Some(ca) = ca_file {
        config = config.tls_ca_file(ca);
    }
    config
        .connector()
        .map_err(|e| CliError::new(Exit::Local, e.to_string()))
}

impl Api {
    /// A client of the server at `server` (see [`base_url`]), without a token; `timeout`
    /// bounds connecting and each whole request; `ca_file` is the CA an `https://` server's
    /// certificate must come from (else the system's roots).
    pub(crate) fn new(
        server: &str,
        timeout: Duration,
        ca_file: Option<&Path>,
    ) -> Result<Api, CliError> {
        let base = base_url(server)?;
        let client =
            Client::builder(TokioExecutor::new()).build(connector(&base, timeout, ca_file)?);
        Ok(Api {
            base,
            token: None,
            timeout,
            client,
        })
    }

    /// The same client, sending `token` as `Authorization: Bearer`.
    pub(crate) fn with_token(self, token: String) -> Api {
        Api {
            token: Some(token),
            ..self
        }
    }

    /// The server's base URL.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`; the answer's `data`.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        Ok(self.send(Method::GET, path, None::<&()>).await?.data)
    }

    /// `POST path` with `body` as JSON (none: an empty body); the answer.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Answer<T>, CliError> {
        self.send(Method::POST, path, body).await
    }

    /// `PUT path` with `body` as JSON; the answer's `data`.
    pub(crate) async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, CliError> {
        Ok(self.send(Method::PUT, path, Some(body)).await?.data)
    }

    /// `DELETE path`; the answer's `data`.
    pub(crate) async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        Ok(self.send(Method::DELETE, path, None::<&()>).await?.data)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Answer<T>, CliError> {
        let url = format!("{}{path}", self.base);
        let body = match body {
            Some(body) => Bytes::from(serde_json::to_vec(body).expect("a request serializes")),
            None => Bytes::new(),
        };
        let mut request = Request::builder()
            .method(method)
            .uri(&url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("kxy-id-server-admin/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| CliError::new(Exit::Usage, format!("{url}: {e}")))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                let why = kxy_id_client::failure_reason(&e);
                CliError::new(Exit::Unreachable, format!("{url}: {why}"))
            })?;
            let status = response.status().as_u16();
            let bytes = Limited::new(response.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| CliError::new(Exit::Unreachable, format!("{url}: {e}")))?
                .to_bytes();
            Ok::<_, CliError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                CliError::new(
                    Exit::Unreachable,
                    format!("{url}: no answer within {} s", self.timeout.as_secs()),
                )
            })??;
        parse_answer(status, &bytes).map_err(|f| CliError::from_failure(&url, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked_and_trimmed() {
        assert_eq!(base_url("http://h:1/").unwrap(), "http://h:1");
        assert_eq!(base_url(" http://h:1/p ").unwrap(), "http://h:1/p");
        for bad in ["h:1", "ftp://h", "http://", ""] {
            assert_eq!(base_url(bad).unwrap_err().exit, Exit::Usage, "{bad}");
        }
        assert!(Api::new("https://h:1", Duration::from_secs(1), None).is_ok());
        let missing = Path::new("/nonexistent/ca.pem");
        let err = Api::new("https://h:1", Duration::from_secs(1), Some(missing)).unwrap_err();
        assert_eq!(err.exit, Exit::Local, "{}", err.message);
    }
}
