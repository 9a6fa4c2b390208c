//! Reading a request: its body (bounded in size and time), its query parameters and its
//! bearer token. A leaf module: it knows nothing of routes, so handlers and the router can
//! both use it.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::error::ApiError;

/// The largest request body accepted (64 KiB); larger ones get 413.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The largest body of a batch allocation (1 MiB): 1,000 items whose keys have parts of up to
/// 128 characters, with their field names.
pub(crate) const MAX_BATCH_BODY: usize = 1024 * 1024;

/// Whether requests with `method` carry a body worth reading.
pub(crate) fn has_body(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// The whole body, at most `max` bytes ([`MAX_BODY`] but for a batch), within `timeout`: a
/// client that trickles its body in gets 408 instead of holding a connection open.
pub(crate) async fn read_body(
    body: Incoming,
    max: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let limited = Limited::new(body, max);
    match tokio::time::timeout(timeout, collect(limited)).await {
        Err(_) => Err(ApiError::handled(408, "Timed out reading the request body")),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::PayloadTooLarge),
        Ok(Err(e)) => Err(ApiError::handled(
            400,
            format!("Cannot read the request body: {e}"),
        )),
    }
}

/// The body's bytes. A body that came in one piece (the common small request) is kept as
/// it is, without copying it into a list of pieces first.
async fn collect<B>(mut body: B) -> Result<Bytes, B::Error>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let mut first: Option<Bytes> = None;
    let mut rest: Option<bytes::BytesMut> = None;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        match (&mut first, &mut rest) {
            (None, _) => first = Some(data),
            (Some(f), None) => {
                let mut joined = bytes::BytesMut::with_capacity(f.len() + data.len());
                joined.extend_from_slice(f);
                joined.extend_from_slice(&data);
                rest = Some(joined);
            }
            (Some(_), Some(joined)) => joined.extend_from_slice(&data),
        }
    }
    Ok(match (first, rest) {
        (_, Some(joined)) => joined.freeze(),
        (Some(only), None) => only,
        (None, None) => Bytes::new(),
    })
}

/// The `Authorization` header as text, if it is present and readable.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The token of an `Authorization` value `Bearer <token>` (the scheme in any case); the old
/// service's 401 `detail` for any other shape. Admin and allocation tokens both come this way.
pub(crate) fn bearer_token(header: &str) -> Result<&str, ApiError> {
    let mut parts = header.split_whitespace();
    let (Some(scheme), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::Unauthorized(
            "Invalid authorization header format",
        ));
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized("Invalid authentication scheme"));
    }
    Ok(token)
}

/// Whether the request declares a JSON body (`application/json`, with or without parameters).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The first value of `name` in a query string, percent-decoded.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

/// Form decoding: `+` is a space and `%XX` a byte; a malformed escape stays as it is.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        let q = Some("system_code=shop%20a&db_name=orders+x&purge_segments=true&bad=%zz");
        assert_eq!(query_param(q, "system_code").as_deref(), Some("shop a"));
        assert_eq!(query_param(q, "db_name").as_deref(), Some("orders x"));
        assert_eq!(query_param(q, "purge_segments").as_deref(), Some("true"));
        assert_eq!(query_param(q, "bad").as_deref(), Some("%zz"));
        assert_eq!(query_param(q, "none"), None);
        assert_eq!(query_param(None, "x"), None);
    }
}
