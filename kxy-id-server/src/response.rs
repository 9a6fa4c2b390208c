//! Response bodies: JSON (in the envelope of [`kxy_id::wire`], big integers as strings) and
//! fixed assets.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use kxy_id::wire::{Envelope, ErrorCode, stringify_big_integers};
use serde::Serialize;
use serde_json::Value;

/// The body type of every response.
pub(crate) type Body = Full<Bytes>;

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

/// `envelope` as a JSON response with `status`.
pub(crate) fn envelope_response<T: Serialize>(
    status: StatusCode,
    envelope: Envelope<T>,
) -> Response<Body> {
    let body = serde_json::to_value(envelope).expect("response data serializes");
    json_response(status, body)
}

/// HTTP 200 with `{"code": 0, "msg": msg, "data": data, "traceId": null}`.
pub(crate) fn ok(msg: impl Into<String>, data: impl Serialize) -> Response<Body> {
    envelope_response(StatusCode::OK, Envelope::ok(msg, data))
}

/// HTTP 200 with a handled failure: `{"code": code, "msg": msg, "data": null, "traceId": null}`.
pub(crate) fn fail(code: ErrorCode, msg: impl Into<String>) -> Response<Body> {
    envelope_response(StatusCode::OK, Envelope::<Value>::fail(code, msg))
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
    use http_body_util::BodyExt;

    use super::*;

    async fn text(response: Response<Body>) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn envelopes_keep_big_integers_as_strings() {
        let body = text(ok(
            "m",
            kxy_id::Segment {
                start: 1,
                end: i64::MAX,
            },
        ))
        .await;
        assert_eq!(
            body,
            r#"{"code":0,"data":{"end":"9223372036854775807","start":1},"msg":"m","traceId":null}"#
        );
        let body = text(fail(ErrorCode::Other(408), "slow")).await;
        assert_eq!(
            body,
            r#"{"code":408,"data":null,"msg":"slow","traceId":null}"#
        );
    }
}
