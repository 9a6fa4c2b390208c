//! Response bodies: the envelope, JSON helpers and big integers as strings.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;
use serde_json::{Value, json};

/// The body type of every response.
pub(crate) type Body = Full<Bytes>;

/// The largest integer a JavaScript number holds exactly (2^53 − 1).
const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// Replaces every integer outside ±(2^53 − 1) with its decimal string, anywhere in `value`,
/// so JavaScript clients keep every digit.
pub(crate) fn stringify_big_integers(value: &mut Value) {
    match value {
        Value::Number(n) => {
            let big = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i),
                (None, Some(_)) => true,
                _ => false,
            };
            if big {
                *value = Value::String(n.to_string());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(stringify_big_integers),
        Value::Object(map) => map.values_mut().for_each(stringify_big_integers),
        _ => {}
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, mut body: Value) -> Response<Body> {
    stringify_big_integers(&mut body);
    let bytes = serde_json::to_vec(&body).expect("a JSON value serializes");
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// HTTP 200 with `{"code": 0, "msg": msg, "data": data, "traceId": null}`.
pub(crate) fn ok(msg: impl Into<String>, data: impl Serialize) -> Response<Body> {
    let data = serde_json::to_value(data).expect("response data serializes");
    json_response(
        StatusCode::OK,
        json!({"code": 0, "msg": msg.into(), "data": data, "traceId": null}),
    )
}

/// HTTP 200 with a handled failure: `{"code": code, "msg": msg, "data": null, "traceId": null}`.
pub(crate) fn fail(code: u16, msg: impl Into<String>) -> Response<Body> {
    json_response(
        StatusCode::OK,
        json!({"code": code, "msg": msg.into(), "data": null, "traceId": null}),
    )
}

/// A response with a fixed body and content type (UI assets, metrics, docs).
pub(crate) fn static_response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_integers_past_2_53_become_strings() {
        let mut v = json!({"a": 9007199254740991i64, "b": 9007199254740992i64, "c": [-9007199254740992i64, 1, 1.5],
                           "d": {"end": i64::MAX}, "e": u64::MAX});
        stringify_big_integers(&mut v);
        assert_eq!(
            v,
            json!({"a": 9007199254740991i64, "b": "9007199254740992", "c": ["-9007199254740992", 1, 1.5],
                   "d": {"end": "9223372036854775807"}, "e": "18446744073709551615"})
        );
    }
}
