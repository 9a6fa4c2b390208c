//! Response bodies: JSON (in the envelope of [`kxy_id::wire`], big integers as strings) and
//! fixed assets.

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use kxy_id::Segment;
use kxy_id::wire::{Envelope, ErrorCode, MAX_SAFE_INTEGER, stringify_big_integers};
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

/// HTTP 200 with the envelope of an allocation: the bytes of
/// `ok("Allocated segment: {start} to {end}", segment)`, written without a JSON tree into a
/// buffer of the thread that is reused once the responses cut from it are sent.
pub(crate) fn allocated(segment: Segment) -> Response<Body> {
    use std::fmt::Write;
    thread_local! {
        static BUFFER: RefCell<BytesMut> = RefCell::new(BytesMut::new());
    }
    /// An ID as JSON: a number within JavaScript's exact integers, a string beyond.
    struct Id(i64);
    impl std::fmt::Display for Id {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&self.0) {
                write!(f, "{}", self.0)
            } else {
                write!(f, "\"{}\"", self.0)
            }
        }
    }
    let Segment { start, end } = segment;
    let bytes = BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        if buffer.capacity() < 256 {
            // Takes the old memory back when every response cut from it has been sent.
            buffer.reserve(64 * 1024);
        }
        write!(
            buffer,
            r#"{{"code":0,"data":{{"end":{},"start":{}}},"msg":"Allocated segment: {start} to {end}","traceId":null}}"#,
            Id(end),
            Id(start)
        )
        .expect("writing to memory");
        buffer.split().freeze()
    });
    let mut response = Response::new(Full::new(bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
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
    async fn an_allocation_is_answered_with_the_bytes_of_its_envelope() {
        let big = MAX_SAFE_INTEGER;
        for (start, end) in [
            (1, 1),
            (1, 100),
            (big - 5, big),
            (big, big + 1),
            (i64::MAX, i64::MAX),
        ] {
            let segment = Segment { start, end };
            let general = ok(format!("Allocated segment: {start} to {end}"), segment);
            let written = allocated(segment);
            assert_eq!(written.headers(), general.headers());
            assert_eq!(text(written).await, text(general).await);
        }
        // Many answers from one buffer, each its own bytes.
        let answers: Vec<_> = (1..2000)
            .map(|i| allocated(Segment { start: i, end: i }))
            .collect();
        for (i, answer) in (1..2000).zip(answers) {
            assert!(
                text(answer)
                    .await
                    .contains(&format!(r#""end":{i},"start":{i}}}"#))
            );
        }
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
