//! The one error type of the server, and how each becomes a response.

use http::{HeaderValue, Response, StatusCode, header};
use kxy_id::wire::{Envelope, ErrorCode};
use serde_json::{Value, json};

use crate::response::{Body, envelope_response, fail, json_response};

/// Everything a handler can answer besides success.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A handled failure: HTTP 200 with `code` and `msg` in the envelope.
    #[error("{code}: {msg}")]
    Handled {
        /// The envelope's code (400, 401, 404, 408, 409, 500, 503).
        code: ErrorCode,
        /// The message for humans.
        msg: String,
    },
    /// The request body is invalid: HTTP 422 with FastAPI's `{"detail": [...]}`.
    #[error("invalid request body")]
    Unprocessable(Vec<Value>),
    /// Missing or bad credentials on a protected endpoint: HTTP 401 `{"detail": ...}`.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// No such route: HTTP 404.
    #[error("not found")]
    NoRoute {
        /// Under `/api/`: the envelope form; elsewhere `{"detail": "Not Found"}`.
        api: bool,
    },
    /// The body is larger than the server accepts: HTTP 413.
    #[error("payload too large")]
    PayloadTooLarge,
    /// The method is not allowed on the path: HTTP 405 with `Allow`.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// The methods the path answers, for the `Allow` header.
        allow: &'static str,
    },
    /// The body is not declared as JSON: HTTP 415.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// Too many attempts (logins, IDs per minute) or too much work queued (password hashing):
    /// HTTP 429 with `Retry-After` and the envelope with code 429.
    #[error("too many requests: {msg}")]
    TooManyRequests {
        /// The message for humans.
        msg: String,
        /// Seconds after which a retry may succeed.
        retry_after: u64,
    },
    /// The store (or a business database) failed or could not be reached, or may have lost
    /// data: HTTP 200 with code 503 and a message that says what and how to get out.
    #[error("unavailable: {msg}")]
    Unavailable {
        /// The store may have lost counters ([`kxy_id::Error::DataLoss`]): allocation is refused.
        data_loss: bool,
        /// The message for humans.
        msg: String,
    },
    /// An unexpected failure: HTTP 500, logged, details never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A handled failure (`code` as an [`ErrorCode`] or its number).
    pub fn handled(code: impl Into<ErrorCode>, msg: impl Into<String>) -> Self {
        ApiError::Handled {
            code: code.into(),
            msg: msg.into(),
        }
    }

    /// The outcome label for metrics.
    pub fn outcome(&self) -> &'static str {
        match self {
            ApiError::Handled { code, .. } if !code.is_server_error() => "client_error",
            ApiError::Handled { .. } => "server_error",
            ApiError::Unprocessable(_) => "invalid",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NoRoute { .. } | ApiError::MethodNotAllowed { .. } => "no_route",
            ApiError::UnsupportedMediaType => "invalid",
            ApiError::TooManyRequests { .. } => "limited",
            ApiError::PayloadTooLarge => "too_large",
            ApiError::Unavailable {
                data_loss: true, ..
            } => "data_loss",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The response for this error.
    pub fn into_response(self) -> Response<Body> {
        match self {
            ApiError::Handled { code, msg } => fail(code, msg),
            ApiError::Unavailable { data_loss, msg } => {
                if data_loss {
                    tracing::error!(%msg, "refusing to allocate: the store may have lost data");
                } else {
                    tracing::warn!(%msg, "store or database unavailable");
                }
                fail(ErrorCode::Unavailable, msg)
            }
            ApiError::Unprocessable(detail) => {
                json_response(StatusCode::UNPROCESSABLE_ENTITY, json!({"detail": detail}))
            }
            ApiError::Unauthorized(detail) => {
                json_response(StatusCode::UNAUTHORIZED, json!({"detail": detail}))
            }
            ApiError::NoRoute { api: true } => envelope_response(
                StatusCode::NOT_FOUND,
                Envelope::<Value>::bare(ErrorCode::NotFound, "Not found"),
            ),
            ApiError::NoRoute { api: false } => {
                json_response(StatusCode::NOT_FOUND, json!({"detail": "Not Found"}))
            }
            ApiError::MethodNotAllowed { allow } => {
                let mut response = json_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    json!({"detail": "Method Not Allowed"}),
                );
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
                response
            }
            ApiError::UnsupportedMediaType => json_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({"detail": "Content-Type must be application/json"}),
            ),
            ApiError::TooManyRequests { msg, retry_after } => {
                let mut response = envelope_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    Envelope::<Value>::fail(ErrorCode::Other(429), msg),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
                response
            }
            ApiError::PayloadTooLarge => json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"detail": "Request body too large (limit 64 KiB)"}),
            ),
            ApiError::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                envelope_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Envelope::<Value>::bare(ErrorCode::Internal, "Internal Server Error"),
                )
            }
        }
    }
}

impl From<kxy_id::Error> for ApiError {
    /// The codes of the old service, plus 400 for the deliberate refusals (overflow,
    /// non-integer keys, invalid names) and 503 for stores and databases that fail, cannot be
    /// reached or may have lost data.
    fn from(e: kxy_id::Error) -> Self {
        use kxy_id::Error as E;
        match &e {
            E::KeyNotFound { .. } | E::NotFound(_) | E::NoConfig { .. } | E::NoSource { .. } => {
                ApiError::handled(ErrorCode::NotFound, e.to_string())
            }
            E::AlreadyExists { key } => ApiError::handled(
                ErrorCode::Conflict,
                format!("Configuration already exists for {key}"),
            ),
            E::Busy(msg) => ApiError::handled(ErrorCode::Unavailable, msg.clone()),
            E::DataLoss(msg) => ApiError::Unavailable {
                data_loss: true,
                msg: msg.clone(),
            },
            // Store and database failures are the caller's to retry, never a bare 500.
            E::Connect { .. } | E::Backend { .. } => ApiError::Unavailable {
                data_loss: false,
                msg: format!("{e}; please retry later"),
            },
            E::CorruptCounter { .. } | E::OutOfRange(_) | E::Unsupported(_) => {
                ApiError::handled(ErrorCode::Internal, e.to_string())
            }
            _ if e.is_bad_input() => ApiError::handled(ErrorCode::BadRequest, e.to_string()),
            _ => ApiError::Internal(e.to_string()),
        }
    }
}

/// The result of a handler.
pub(crate) type ApiResult = Result<Response<Body>, ApiError>;
