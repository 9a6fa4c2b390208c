//! HTTPS for [`HttpSource`](crate::HttpSource): the rustls client configuration (system
//! roots or a given CA file, an optional client certificate for mutual TLS) and plain words
//! for TLS failures.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, ClientConfig, RootCertStore};

use crate::error::{Error, Result};

/// What to trust and what to present.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    /// Trust only the CAs in this PEM file instead of the system's roots.
    pub(crate) ca_file: Option<PathBuf>,
    /// A client certificate chain and its key (PEM files), for servers that require one.
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::InvalidConfig(format!("{}: {why}", path.display()))
}

/// The certificates of a PEM file, at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let read: std::result::Result<Vec<_>, _> =
        CertificateDer::pem_file_iter(path).and_then(Iterator::collect);
    match read {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(invalid(
            path,
            "holds no PEM certificate (BEGIN CERTIFICATE)",
        )),
        Err(e) => Err(invalid(path, format!("cannot read certificates: {e}"))),
    }
}

/// The roots: the CA file's, or the system's (the bundled Mozilla roots when the system
/// has none, as in minimal containers). `https` says whether any URL needs them at all.
fn roots(options: &TlsOptions, https: bool) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = &options.ca_file {
        for cert in certificates(path)? {
            roots.add(cert).map_err(|e| invalid(path, e))?;
        }
    } else if https {
        let native = rustls_native_certs::load_native_certs();
        let (added, _) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
    }
    Ok(roots)
}

/// The client configuration: TLS 1.2 and 1.3 with aws-lc-rs.
pub(crate) fn client_config(options: &TlsOptions, https: bool) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidConfig(format!("TLS: {e}")))?
        .with_root_certificates(roots(options, https)?);
    let config = match &options.client_cert {
        Some((cert, key)) => {
            let chain = certificates(cert)?;
            // The key's error text never includes the key.
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| invalid(key, format!("not a PEM private key ({e})")))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| invalid(cert, e))?
        }
        None => builder.with_no_client_auth(),
    };
    // ALPN (http/1.1) is the connector's to set.
    Ok(config)
}

/// What a TLS failure somewhere in `error`'s chain means for the caller, if there is one.
pub(crate) fn explain(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    find_tls(error).map(meaning)
}

/// The rustls error in `error`'s chain. An `io::Error` hides the error it wraps from
/// `source()`, and the connector wraps one `io::Error` in another, so look inside each.
fn find_tls<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .and_then(|inner| find_tls(inner));
    inner.or_else(|| error.source().and_then(find_tls))
}

fn meaning(error: &rustls::Error) -> &'static str {
    use rustls::Error as E;
    match error {
        E::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server's certificate is not signed by a CA this client trusts \
             (give its CA with HttpConfig::tls_ca_file)"
        }
        E::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the server's certificate has expired",
        E::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => "the server's certificate is not valid yet (is the clock right?)",
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "the server's certificate is not valid for the host name of the URL",
        E::InvalidCertificate(_) => "the server's certificate was refused",
        E::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired,
        ) => {
            "the server refused the handshake: it may require a client certificate it trusts \
             (HttpConfig::tls_client_cert)"
        }
        E::InvalidMessage(_) => {
            "the server did not answer with TLS (is it plain HTTP? use http://)"
        }
        _ => "the TLS handshake failed",
    }
}
