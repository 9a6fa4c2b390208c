//! The server's failures as this crate's errors: [`kxy_id::wire`] reads the answer, this
//! module decides which [`Error`] each failure becomes (and so whether it is retried).

use kxy_id::wire::{ErrorCode, Failure};

use crate::error::Error;

/// The error for a `failure` of the allocation endpoint at `url`.
///
/// * Envelope codes: 400 → [`Error::BadRequest`], 404 → [`Error::NotFound`], 503 →
///   [`Error::Busy`], 500 (or HTTP 500 with the envelope) → [`Error::ServerError`], others →
///   [`Error::Server`].
/// * HTTP 422 → [`Error::Unprocessable`]; any other status → [`Error::HttpStatus`]; a body that
///   is not the contract's → [`Error::InvalidResponse`].
pub(crate) fn answer_error(url: &str, failure: Failure) -> Error {
    match failure {
        Failure::Refused { code, msg: message } => match code {
            ErrorCode::BadRequest => Error::BadRequest { message },
            ErrorCode::NotFound => Error::NotFound { message },
            ErrorCode::Internal => Error::ServerError { message },
            ErrorCode::Unavailable => Error::Busy { message },
            code => Error::Server {
                code: code.code(),
                message,
            },
        },
        Failure::Unprocessable { detail } => Error::Unprocessable { detail },
        Failure::HttpStatus { status, body } => Error::HttpStatus {
            url: url.to_owned(),
            status,
            body,
        },
        Failure::Invalid { reason } => Error::InvalidResponse {
            url: url.to_owned(),
            reason,
        },
        // `Failure` may grow; an answer this crate does not know is not the contract's.
        other => Error::InvalidResponse {
            url: url.to_owned(),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use kxy_id::Segment;
    use kxy_id::wire::parse_allocate_answer;

    use super::*;
    use crate::error::Result;

    const URL: &str = "http://127.0.0.1:5801/api/segment/allocate";

    fn parse(status: u16, body: &str) -> Result<Segment> {
        parse_allocate_answer(status, body.as_bytes()).map_err(|f| answer_error(URL, f))
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
        let err = parse(422, r#"{"detail":[{"loc":["body","table_name"]}]}"#).unwrap_err();
        assert!(
            matches!(&err, Error::Unprocessable { detail } if detail.contains("table_name")),
            "{err:?}"
        );
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

    // How the answers are classified (which statuses, which bodies are not the contract's,
    // how long a quoted body may be, codes as strings) is `kxy_id::wire`'s, tested there;
    // these tests check only which error each kind of failure becomes here.

    #[test]
    fn other_statuses_and_non_json_bodies() {
        let err = parse(404, r#"{"detail":"Not Found"}"#).unwrap_err();
        assert!(
            matches!(&err, Error::HttpStatus { status: 404, url, body } if url == URL && body.contains("Not Found")),
            "{err:?}"
        );
        assert!(
            err.is_retryable(),
            "a wrong base URL fails over to the next"
        );
        let err = parse(200, "<html>captive portal</html>").unwrap_err();
        assert!(matches!(&err, Error::InvalidResponse { url, .. } if url == URL));
        assert!(err.is_retryable());
    }
}
