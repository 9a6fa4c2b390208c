//! TLS options of a Redis URL: `rediss://host:port/db?ca=/ca.pem&cert=/client.pem&key=/client.key`.
//!
//! The `redis` crate reads `rediss://` (and `#insecure`, which skips the host name check) but
//! takes certificates only as bytes, so the file options are read here and handed over with
//! [`redis::Client::build_with_tls`]:
//!
//! - `ca=PATH`: the PEM file of the CA(s) the server's certificate must chain to, instead of the
//!   system's trust store;
//! - `cert=PATH` and `key=PATH` (both or neither): a PEM client certificate and its private key,
//!   for a Redis with `tls-auth-clients yes`.
//!
//! Any other query parameter except the `redis` crate's own `protocol` is refused, so that a
//! misspelled option cannot silently leave TLS on the system defaults.

use std::path::Path;

use redis::{ClientTlsConfig, TlsCertificates};

use crate::error::{Error, Result};

/// The TLS options of a URL and the URL without them.
#[derive(Debug)]
pub(crate) struct TlsOptions {
    /// The URL with `ca`, `cert` and `key` removed (what the `redis` crate parses).
    pub(crate) url: String,
    /// The certificates the options name, `None` when none is given.
    pub(crate) certificates: Option<TlsCertificates>,
}

/// The query parameters this module reads.
const OWN: [&str; 3] = ["ca", "cert", "key"];

/// Splits the TLS file options off `url` and reads the files they name.
pub(crate) fn tls_options(url: &str) -> Result<TlsOptions> {
    let target = crate::error::redact_url(url);
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (url, None),
    };
    let (base, query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));
    let mut kept = Vec::new();
    let (mut ca, mut cert, mut key) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "ca" => &mut ca,
            "cert" => &mut cert,
            "key" => &mut key,
            "protocol" => {
                kept.push(pair);
                continue;
            }
            _ => {
                return Err(Error::InvalidConfig(format!(
                    "Redis URL {target}: unknown option `{name}` (known: ca, cert, key, protocol)"
                )));
            }
        };
        *slot = Some(percent_decode(value));
    }
    let tls = before_fragment
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme.to_ascii_lowercase().starts_with("rediss"));
    if !tls && (ca.is_some() || cert.is_some() || key.is_some()) {
        return Err(Error::InvalidConfig(format!(
            "Redis URL {target}: the options {} need a TLS URL (rediss://)",
            OWN.join(", ")
        )));
    }
    let client_tls = match (cert, key) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read_pem(&target, "cert", &cert)?,
            client_key: read_pem(&target, "key", &key)?,
        }),
        (None, None) => None,
        _ => {
            return Err(Error::InvalidConfig(format!(
                "Redis URL {target}: a client certificate needs both cert= and key="
            )));
        }
    };
    let root_cert = ca.map(|ca| read_pem(&target, "ca", &ca)).transpose()?;
    let mut url = base.to_owned();
    if !kept.is_empty() {
        url.push('?');
        url.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    let certificates = (client_tls.is_some() || root_cert.is_some()).then_some(TlsCertificates {
        client_tls,
        root_cert,
    });
    Ok(TlsOptions { url, certificates })
}

/// A `redis` client for `url`, with the certificates its options name.
pub(crate) fn client(url: &str) -> Result<redis::Client> {
    let target = crate::error::redact_url(url);
    let options = tls_options(url)?;
    let client = match options.certificates {
        Some(certificates) => redis::Client::build_with_tls(options.url.as_str(), certificates),
        None => redis::Client::open(options.url.as_str()),
    };
    client.map_err(|e| Error::InvalidConfig(format!("Redis URL {target}: {e}")))
}

/// Reads a PEM file named by the option `option`, refusing files that hold no PEM block.
fn read_pem(target: &str, option: &str, path: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(Path::new(path)).map_err(|e| {
        Error::InvalidConfig(format!(
            "Redis URL {target}: cannot read {option}={path}: {e}"
        ))
    })?;
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(Error::InvalidConfig(format!(
            "Redis URL {target}: {option}={path} is not a PEM file"
        )));
    }
    Ok(bytes)
}

/// Decodes `%XX` escapes (a path with `&`, `#` or spaces is written escaped in a URL).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok();
        match (bytes[i], hex().and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Explains a failed TLS handshake in the words an operator acts on; other errors unchanged.
pub(crate) fn explain(reason: String) -> String {
    let lower = reason.to_ascii_lowercase();
    if lower.contains("unknownissuer") || lower.contains("invalid peer certificate") {
        format!(
            "TLS: the server's certificate is not trusted (wrong or missing ca= file, or a \
             host name the certificate does not name): {reason}"
        )
    } else {
        reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_split_off_and_the_rest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("my ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let url = format!(
            "rediss://:pw@h:6380/2?protocol=resp3&ca={}#insecure",
            ca.display().to_string().replace(' ', "%20")
        );
        let o = tls_options(&url).unwrap();
        assert_eq!(o.url, "rediss://:pw@h:6380/2?protocol=resp3#insecure");
        let certs = o.certificates.unwrap();
        assert!(certs.root_cert.is_some() && certs.client_tls.is_none());
        assert!(tls_options("redis://h:1/0").unwrap().certificates.is_none());
    }

    #[test]
    fn bad_options_are_refused_with_what_is_wrong() {
        let msg = |url: &str| tls_options(url).unwrap_err().to_string();
        assert!(msg("redis://h/0?ca=/x").contains("need a TLS URL (rediss://)"));
        assert!(msg("rediss://h/0?cert=/x").contains("needs both cert= and key="));
        assert!(msg("rediss://h/0?caa=/x").contains("unknown option `caa`"));
        assert!(msg("rediss://h/0?ca=/no/such/file").contains("cannot read ca=/no/such/file"));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not pem").unwrap();
        let url = format!("rediss://:hunter2@h/0?ca={}", file.path().display());
        let m = msg(&url);
        assert!(
            m.contains("is not a PEM file") && !m.contains("hunter2"),
            "{m}"
        );
    }
}
