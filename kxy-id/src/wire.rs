//! The HTTP wire contract, defined once for the server that answers and the client that asks.
//!
//! Everything both sides must agree on lives here, so that changing the contract is one edit
//! and the compiler points at every place that has to follow:
//!
//! - where to ask: [`ALLOCATE_PATH`];
//! - what to send: [`AllocateRequest`], its field names ([`field`]), limits
//!   ([`MAX_FIELD_CHARS`], [`MAX_PART_CHARS`], [`MAX_KEY_CHARS`]) and default
//!   ([`DEFAULT_SEGMENT_COUNT`]);
//! - what comes back: the [`Envelope`] `{"code", "msg", "data", "traceId"}` with an
//!   [`ErrorCode`];
//! - how integers travel: JSON numbers lose digits past ±(2^53 − 1) in JavaScript, so the
//!   server writes those as decimal strings ([`stringify_big_integers`]) and readers accept
//!   both forms ([`read_integer`]);
//! - how an answer of the allocation endpoint reads: a [`Segment`] or a [`Failure`]
//!   ([`parse_allocate_answer`]); any other endpoint's the same way ([`parse_answer`]);
//! - the admin endpoints' paths, bodies and answers ([`admin`]);
//! - the batch endpoint ([`ALLOCATE_BATCH_PATH`], `batch.rs`): many keys in one round trip,
//!   one [`BatchItemResult`] per item ([`parse_allocate_batch_answer`]).
//!
//! The module knows nothing of HTTP libraries: the server turns envelopes into responses, the
//! client turns a [`Failure`] into its own error type.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::error::Result;
use crate::key::{Segment, SegmentKey};

pub use crate::key::{MAX_KEY_CHARS, MAX_PART_CHARS};

/// The path of the allocation endpoint, below a server's base URL (`POST`, JSON body
/// [`AllocateRequest`], answer an [`Envelope`] whose `data` is a [`Segment`]).
pub const ALLOCATE_PATH: &str = "/api/segment/allocate";

/// The IDs handed out when a request names no `segment_count` (the old service's default).
pub const DEFAULT_SEGMENT_COUNT: i64 = 10_000;

/// The longest a key field of a request may be, in characters, before the body itself is
/// refused as invalid (HTTP 422).
///
/// It is far above [`MAX_PART_CHARS`] on purpose: a part that is merely too long for a key is
/// a handled refusal (code 400, with the key's own message), as in the old service; only
/// absurd bodies are turned away before the key is looked at.
pub const MAX_FIELD_CHARS: usize = 10_000;

/// The largest integer a JavaScript number holds exactly (2^53 − 1).
pub const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// The field names of [`AllocateRequest`], for readers that check each field on its own.
pub mod field {
    /// The system code, the first part of the key.
    pub const SYSTEM_CODE: &str = "system_code";
    /// The database name, the second part of the key.
    pub const DB_NAME: &str = "db_name";
    /// The table name, the third part of the key.
    pub const TABLE_NAME: &str = "table_name";
    /// The field (column) name, the fourth part of the key.
    pub const FIELD_NAME: &str = "field_name";
    /// How many IDs to hand out (`1..=i64::MAX`, default
    /// [`DEFAULT_SEGMENT_COUNT`](super::DEFAULT_SEGMENT_COUNT)).
    pub const SEGMENT_COUNT: &str = "segment_count";
}

/// The body of `POST` [`ALLOCATE_PATH`]: the four parts of a key and how many IDs to take.
///
/// Its serde names are those of [`field`]; a test keeps the two in step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocateRequest {
    /// The system code.
    pub system_code: String,
    /// The database name.
    pub db_name: String,
    /// The table name.
    pub table_name: String,
    /// The field name.
    pub field_name: String,
    /// How many IDs to hand out.
    #[serde(default = "default_segment_count")]
    pub segment_count: i64,
}

fn default_segment_count() -> i64 {
    DEFAULT_SEGMENT_COUNT
}

impl AllocateRequest {
    /// The request for `count` IDs of `key`.
    pub fn new(key: &SegmentKey, count: i64) -> Self {
        AllocateRequest {
            system_code: key.system_code().to_owned(),
            db_name: key.db_name().to_owned(),
            table_name: key.table_name().to_owned(),
            field_name: key.field_name().to_owned(),
            segment_count: count,
        }
    }

    /// The key the request names, validated ([`Error::InvalidKey`](crate::Error::InvalidKey)
    /// for an empty, too long or otherwise unusable part).
    pub fn key(&self) -> Result<SegmentKey> {
        SegmentKey::new(
            &self.system_code,
            &self.db_name,
            &self.table_name,
            &self.field_name,
        )
    }
}

/// The `code` of an [`Envelope`]: 0 for success, otherwise what went wrong, in HTTP's numbers.
///
/// Written as a JSON number. [`ErrorCode::from_code`] reads any number; codes this contract
/// does not name become [`ErrorCode::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: success; `data` holds the answer.
    Ok,
    /// 400: the request cannot be carried out as asked (a bad key, an overflow, ...);
    /// repeating it fails the same way.
    BadRequest,
    /// 401: the credentials are missing or wrong.
    Unauthorized,
    /// 404: the key, configuration or record does not exist.
    NotFound,
    /// 409: the record exists already.
    Conflict,
    /// 500: the server failed; another server (or a later try) may succeed.
    Internal,
    /// 503: the server or its store is busy or unreachable; retrying later is safe.
    Unavailable,
    /// Any other code (for example 408 for a body that arrived too slowly).
    Other(i64),
}

impl ErrorCode {
    /// The code for a number (the contract's own codes become their variants).
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => ErrorCode::Ok,
            400 => ErrorCode::BadRequest,
            401 => ErrorCode::Unauthorized,
            404 => ErrorCode::NotFound,
            409 => ErrorCode::Conflict,
            500 => ErrorCode::Internal,
            503 => ErrorCode::Unavailable,
            other => ErrorCode::Other(other),
        }
    }

    /// The number written on the wire.
    pub fn code(self) -> i64 {
        match self {
            ErrorCode::Ok => 0,
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
            ErrorCode::Other(code) => code,
        }
    }

    /// `true` for codes of 500 and above: the server's fault, not the request's.
    pub fn is_server_error(self) -> bool {
        self.code() >= 500
    }
}

impl From<u16> for ErrorCode {
    fn from(code: u16) -> Self {
        ErrorCode::from_code(code.into())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.code())
    }
}

/// Every JSON answer of the API: `{"code": 0, "msg": "...", "data": ..., "traceId": null}`.
///
/// Handled failures are answered with HTTP 200 and a `code` other than 0 (the old service's
/// convention); `data` is then `null`. The server's own last-resort answers (an unknown path
/// under `/api/`, an unexpected failure) leave `traceId` out ([`Envelope::bare`]).
///
/// Serialized, the fields come in the order `code`, `msg`, `data`, `traceId`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope<T = Value> {
    /// What happened.
    pub code: ErrorCode,
    /// A message for humans (may be empty).
    pub msg: String,
    /// The answer, `null` on failure.
    pub data: Option<T>,
    /// `Some(None)` writes `"traceId": null` (the server keeps no trace IDs); `None` leaves the
    /// field out.
    #[serde(rename = "traceId", skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<Option<String>>,
}

impl<T> Envelope<T> {
    /// A success (`code` 0) carrying `data`.
    pub fn ok(msg: impl Into<String>, data: T) -> Self {
        Envelope {
            code: ErrorCode::Ok,
            msg: msg.into(),
            data: Some(data),
            trace_id: Some(None),
        }
    }

    /// A handled failure: `code`, `msg` and `"data": null`.
    pub fn fail(code: ErrorCode, msg: impl Into<String>) -> Self {
        Envelope {
            code,
            msg: msg.into(),
            data: None,
            trace_id: Some(None),
        }
    }

    /// A failure without `traceId`, as the server's fallback answers are written.
    pub fn bare(code: ErrorCode, msg: impl Into<String>) -> Self {
        Envelope {
            trace_id: None,
            ..Envelope::fail(code, msg)
        }
    }
}

/// Replaces every integer outside ±(2^53 − 1) with its decimal string, anywhere in `value`,
/// so JavaScript clients keep every digit.
pub fn stringify_big_integers(value: &mut Value) {
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

/// An `i64` written as a JSON number or as a decimal string (the reading side of
/// [`stringify_big_integers`]); `None` for fractions, other types and values beyond `i64`.
pub fn read_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads an `i64` written as a JSON number or as a decimal string (see [`read_integer`]), for
/// `#[serde(deserialize_with = "kxy_id::wire::deserialize_integer")]` on the fields of
/// answers that may exceed ±(2^53 − 1).
pub fn deserialize_integer<'de, D>(deserializer: D) -> std::result::Result<i64, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = Value::deserialize(deserializer)?;
    read_integer(&value).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "not a 64-bit integer (number or decimal string): {value}"
        ))
    })
}

/// The most of a body quoted in a [`Failure`].
pub const QUOTE_CHARS: usize = 200;

/// Why an answer of the allocation endpoint holds no segment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The server refused or failed on purpose: an envelope with a `code` other than 0 (or
    /// HTTP 500 with an envelope, read as [`ErrorCode::Internal`]).
    #[error("code {code}: {msg}")]
    Refused {
        /// The envelope's code.
        code: ErrorCode,
        /// The envelope's `msg`.
        msg: String,
    },
    /// HTTP 422: the server found the body invalid (the two sides disagree on the contract).
    #[error("invalid request body: {detail}")]
    Unprocessable {
        /// The server's `detail`, as JSON text.
        detail: String,
    },
    /// An HTTP status the contract does not use for this endpoint (a proxy's page, a wrong
    /// path, ...).
    #[error("HTTP {status}: {body}")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
        /// The start of the body (at most [`QUOTE_CHARS`] characters and an ellipsis).
        body: String,
    },
    /// The body is not what the contract promises.
    #[error("{reason}")]
    Invalid {
        /// What was wrong.
        reason: String,
    },
}

/// Reads an answer of `POST` [`ALLOCATE_PATH`] (`status`, `body`).
///
/// * HTTP 200 with `code` 0: the segment in `data` (`start` and `end` as JSON numbers, or as
///   strings when beyond ±2^53); an empty segment is [`Failure::Invalid`].
/// * HTTP 200 with another `code`: [`Failure::Refused`] with that code.
/// * HTTP 422 (`{"detail": [...]}`): [`Failure::Unprocessable`].
/// * HTTP 500 with the envelope: [`Failure::Refused`] with [`ErrorCode::Internal`].
/// * Any other status: [`Failure::HttpStatus`].
pub fn parse_allocate_answer(status: u16, body: &[u8]) -> std::result::Result<Segment, Failure> {
    let json = success_envelope(status, body)?;
    let data = json
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| invalid(format!("no segment in `data`: {}", quote(body))))?;
    let bound = |name: &str| {
        let value = data
            .get(name)
            .ok_or_else(|| invalid(format!("no `{name}` in `data`")))?;
        read_integer(value).ok_or_else(|| {
            invalid(format!(
                "`{name}` is not a 64-bit integer (number or decimal string): {value}"
            ))
        })
    };
    let segment = Segment {
        start: bound("start")?,
        end: bound("end")?,
    };
    if segment.is_empty() {
        return Err(invalid(format!(
            "empty segment {}..={}",
            segment.start, segment.end
        )));
    }
    Ok(segment)
}

/// A successful answer of any endpoint: the envelope's `msg` and its `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    /// The envelope's `msg` (may be empty).
    pub msg: String,
    /// The envelope's `data`.
    pub data: T,
}

/// Reads an answer of any endpoint that answers with the [`Envelope`], its `data` as `T`.
///
/// Failures read as in [`parse_allocate_answer`]; a `data` that is not a `T` is
/// [`Failure::Invalid`]. Integers beyond ±2^53 arrive as strings: fields of `T` that may hold
/// them read with [`deserialize_integer`].
pub fn parse_answer<T: serde::de::DeserializeOwned>(
    status: u16,
    body: &[u8],
) -> std::result::Result<Answer<T>, Failure> {
    let mut json = success_envelope(status, body)?;
    let msg = envelope_message(&json).unwrap_or_default();
    let data = json.get_mut("data").map(Value::take).unwrap_or(Value::Null);
    let data = serde_json::from_value(data)
        .map_err(|e| invalid(format!("`data` is not the expected answer: {e}")))?;
    Ok(Answer { msg, data })
}

/// The envelope of an HTTP 200 answer with `code` 0; every other answer as its [`Failure`].
fn success_envelope(status: u16, body: &[u8]) -> std::result::Result<Value, Failure> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    match status {
        200 => {}
        422 => {
            let detail = match json.as_ref().and_then(|v| v.get("detail")) {
                Some(detail) => detail.to_string(),
                None => quote(body),
            };
            return Err(Failure::Unprocessable { detail });
        }
        500 => {
            return Err(match json.as_ref().and_then(envelope_message) {
                Some(msg) => Failure::Refused {
                    code: ErrorCode::Internal,
                    msg,
                },
                None => http_status(status, body),
            });
        }
        _ => return Err(http_status(status, body)),
    }
    let Some(json) = json else {
        return Err(invalid(format!("the body is not JSON: {}", quote(body))));
    };
    let code = match json.get("code") {
        Some(code) => read_integer(code)
            .ok_or_else(|| invalid(format!("`code` is not an integer: {code}")))?,
        None => return Err(invalid(format!("no `code` in {}", quote(body)))),
    };
    match ErrorCode::from_code(code) {
        ErrorCode::Ok => Ok(json),
        code => Err(Failure::Refused {
            code,
            msg: envelope_message(&json).unwrap_or_default(),
        }),
    }
}

/// The `data` of a successful envelope (HTTP 200, `code` 0), or the [`Failure`] the status and
/// envelope describe, as [`parse_allocate_answer`] documents them.
pub(crate) fn parse_envelope_data(status: u16, body: &[u8]) -> std::result::Result<Value, Failure> {
    let mut json = success_envelope(status, body)?;
    Ok(json.get_mut("data").map(Value::take).unwrap_or(Value::Null))
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

fn http_status(status: u16, body: &[u8]) -> Failure {
    Failure::HttpStatus {
        status,
        body: quote(body),
    }
}

fn invalid(reason: String) -> Failure {
    Failure::Invalid { reason }
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

pub mod admin;
mod batch;
pub use batch::{
    ALLOCATE_BATCH_PATH, AllocateBatchRequest, BatchAnswer, BatchItemResult, ITEMS_FIELD,
    MAX_BATCH_ITEMS, parse_allocate_batch_answer,
};

#[cfg(test)]
mod tests;
