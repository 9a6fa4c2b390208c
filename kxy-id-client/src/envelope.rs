//! Reading the server's answers: the `{"code","msg","data","traceId"}` envelope of the HTTP contract.

use kxy_id::Segment;
use serde_json::Value;

use crate::error::{Error, Result};

/// The most of a body quoted in an error message.
const QUOTE_CHARS: usize = 200;

/// Reads the answer of `POST /api/segment/allocate` (`status`, `body`) from `url`.
///
/// * HTTP 200 with `code` 0: the segment in `data` (`start` and `end` as JSON numbers, or as
///   strings when beyond ±2^53, as the server writes them).
/// * HTTP 200 with another `code`: that failure (400 → [`Error::BadRequest`], 404 →
///   [`Error::NotFound`], 503 → [`Error::Busy`], 500 → [`Error::ServerError`], others →
///   [`Error::Server`]).
/// * HTTP 422 (`{"detail": [...]}`): [`Error::Unprocessable`].
/// * HTTP 500 with the envelope: [`Error::ServerError`].
/// * Any other status (a proxy's page, an unknown path, ...): [`Error::HttpStatus`].
pub(crate) fn parse_allocate_response(url: &str, status: u16, body: &[u8]) -> Result<Segment> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    match status {
        200 => {}
        422 => {
            let detail = match json.as_ref().and_then(|v| v.get("detail")) {
                Some(detail) => detail.to_string(),
                None => quote(body),
            };
            return Err(Error::Unprocessable { detail });
        }
        500 => {
            if let Some(message) = json.as_ref().and_then(envelope_message) {
                return Err(Error::ServerError { message });
            }
            return Err(http_status(url, status, body));
        }
        _ => return Err(http_status(url, status, body)),
    }
    let Some(json) = json else {
        return Err(invalid(
            url,
            format!("the body is not JSON: {}", quote(body)),
        ));
    };
    let code = match json.get("code") {
        Some(code) => integer(code)
            .ok_or_else(|| invalid(url, format!("`code` is not an integer: {code}")))?,
        None => return Err(invalid(url, format!("no `code` in {}", quote(body)))),
    };
    let message = envelope_message(&json).unwrap_or_default();
    match code {
        0 => {}
        400 => return Err(Error::BadRequest { message }),
        404 => return Err(Error::NotFound { message }),
        500 => return Err(Error::ServerError { message }),
        503 => return Err(Error::Busy { message }),
        code => return Err(Error::Server { code, message }),
    }
    let data = json
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| invalid(url, format!("no segment in `data`: {}", quote(body))))?;
    let bound = |name: &str| -> Result<i64> {
        let value = data
            .get(name)
            .ok_or_else(|| invalid(url, format!("no `{name}` in `data`")))?;
        integer(value).ok_or_else(|| {
            invalid(
                url,
                format!("`{name}` is not a 64-bit integer (number or decimal string): {value}"),
            )
        })
    };
    let segment = Segment {
        start: bound("start")?,
        end: bound("end")?,
    };
    if segment.is_empty() {
        return Err(invalid(
            url,
            format!("empty segment {}..={}", segment.start, segment.end),
        ));
    }
    Ok(segment)
}

/// An integer written as a JSON number or as a decimal string (the contract writes integers
/// beyond ±2^53 as strings).
pub(crate) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The `msg` of an envelope (an object with a `code`), if the value is one.
fn envelope_message(json: &Value) -> Option<String> {
    json.get("code")?;
    Some(match json.get("msg") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    })
}

fn http_status(url: &str, status: u16, body: &[u8]) -> Error {
    Error::HttpStatus {
        url: url.to_owned(),
        status,
        body: quote(body),
    }
}

fn invalid(url: &str, reason: String) -> Error {
    Error::InvalidResponse {
        url: url.to_owned(),
        reason,
    }
}

/// The start of a body, as text.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut quoted: String = text.chars().take(QUOTE_CHARS).collect();
    if text.chars().count() > QUOTE_CHARS {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:5801/api/segment/allocate";

    fn parse(status: u16, body: &str) -> Result<Segment> {
        parse_allocate_response(URL, status, body.as_bytes())
    }

    #[test]
    fn success_with_numbers() {
        let body = r#"{"code":0,"msg":"Allocated segment: 1 to 10000","data":{"start":1,"end":10000},"traceId":null}"#;
        assert_eq!(
            parse(200, body).unwrap(),
            Segment {
                start: 1,
                end: 10000
            }
        );
    }

    #[test]
    fn success_with_big_integers_as_strings() {
        let body = r#"{"code":0,"msg":"Allocated segment: 9007199254740992 to 9007199254741000","data":{"start":"9007199254740992","end":"9007199254741000"},"traceId":null}"#;
        assert_eq!(
            parse(200, body).unwrap(),
            Segment {
                start: 9_007_199_254_740_992,
                end: 9_007_199_254_741_000
            }
        );
        // Mixed: a start inside ±2^53 stays a number, an end beyond it is a string.
        let body = r#"{"code":0,"msg":"","data":{"start":9007199254740990,"end":"9223372036854775807"},"traceId":null}"#;
        assert_eq!(parse(200, body).unwrap().end, i64::MAX);
    }

    #[test]
    fn values_beyond_i64_and_fractions_are_refused() {
        for body in [
            r#"{"code":0,"msg":"","data":{"start":1,"end":"9223372036854775808"},"traceId":null}"#,
            r#"{"code":0,"msg":"","data":{"start":1,"end":18446744073709551615},"traceId":null}"#,
            r#"{"code":0,"msg":"","data":{"start":1.5,"end":10},"traceId":null}"#,
            r#"{"code":0,"msg":"","data":{"start":"x","end":10},"traceId":null}"#,
            r#"{"code":0,"msg":"","data":{"start":10,"end":9},"traceId":null}"#,
            r#"{"code":0,"msg":"","data":null,"traceId":null}"#,
            r#"{"code":0,"msg":"","data":{"start":1},"traceId":null}"#,
        ] {
            assert!(
                matches!(parse(200, body), Err(Error::InvalidResponse { .. })),
                "{body} was accepted"
            );
        }
    }

    #[test]
    fn handled_failures_map_to_their_variants() {
        let err = parse(
            200,
            r#"{"code":404,"msg":"Database configuration not found for system_code: shop, db_name: orders. Please add database configuration first.","data":null,"traceId":null}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::NotFound { message } if message.starts_with("Database configuration not found")),
            "{err:?}"
        );
        assert!(!err.is_retryable());

        let err = parse(
            200,
            r#"{"code":503,"msg":"Failed to initialize segment cache for key: shop:orders:t_order:id. System is busy, please retry later.","data":null,"traceId":null}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        assert!(err.is_retryable());

        let err = parse(
            200,
            r#"{"code":400,"msg":"allocating 10 IDs for key s:d:t:f would overflow","data":null,"traceId":null}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Error::BadRequest { .. }), "{err:?}");
        assert!(!err.is_retryable());

        let err = parse(
            200,
            r#"{"code":500,"msg":"Failed to allocate segment: boom","data":null,"traceId":null}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Error::ServerError { .. }), "{err:?}");
        assert!(err.is_retryable());

        let err = parse(
            200,
            r#"{"code":409,"msg":"Configuration already exists","data":null,"traceId":null}"#,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Server { code: 409, .. }), "{err:?}");
    }

    #[test]
    fn unprocessable_body_keeps_the_detail() {
        let body = r#"{"detail":[{"type":"missing","loc":["body","table_name"],"msg":"Field required","input":{}}]}"#;
        match parse(422, body).unwrap_err() {
            Error::Unprocessable { detail } => assert!(detail.contains("table_name"), "{detail}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_500_with_envelope_is_a_server_error() {
        let err = parse(
            500,
            r#"{"code":500,"msg":"Internal Server Error","data":null}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::ServerError { message } if message == "Internal Server Error"),
            "{err:?}"
        );
    }

    #[test]
    fn other_statuses_and_non_json_bodies() {
        let err = parse(404, r#"{"detail":"Not Found"}"#).unwrap_err();
        assert!(
            matches!(err, Error::HttpStatus { status: 404, .. }),
            "{err:?}"
        );
        assert!(
            err.is_retryable(),
            "a wrong base URL fails over to the next"
        );
        let err = parse(502, "<html>Bad Gateway</html>").unwrap_err();
        assert!(matches!(err, Error::HttpStatus { status: 502, .. }));
        let err = parse(200, "<html>captive portal</html>").unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { .. }));
        let err = parse(200, r#"{"status":"ok"}"#).unwrap_err();
        assert!(matches!(err, Error::InvalidResponse { .. }));
    }

    #[test]
    fn long_bodies_are_cut_in_messages() {
        let body = "x".repeat(10_000);
        match parse(502, &body).unwrap_err() {
            Error::HttpStatus { body, .. } => assert!(body.chars().count() <= QUOTE_CHARS + 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn code_as_string_is_read() {
        let body = r#"{"code":"0","msg":"","data":{"start":"5","end":"6"},"traceId":null}"#;
        assert_eq!(parse(200, body).unwrap(), Segment { start: 5, end: 6 });
    }
}
