//! The batch allocation endpoint: many keys in one round trip, each item answered on its own.
//!
//! `POST` [`ALLOCATE_BATCH_PATH`] with `{"items": [AllocateRequest, ...]}` (1 to
//! [`MAX_BATCH_ITEMS`] items, each in the form of the single endpoint's body). The answer is
//! the usual [`Envelope`](super::Envelope) whose `data` is `{"results": [...]}`, one
//! [`BatchItemResult`] per item in the order asked: `{"code": 0, "start": s, "end": e}` or
//! `{"code": 404, "msg": "..."}`. Each item is allocated on its own (atomic per item); one that
//! fails does not undo or prevent the others. A body that breaks the contract (not an object,
//! no `items`, too many items, an item missing a field) is refused as a whole with HTTP 422.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AllocateRequest, ErrorCode, Failure, parse_envelope_data, read_integer};
use crate::key::Segment;

/// The path of the batch allocation endpoint, below a server's base URL.
pub const ALLOCATE_BATCH_PATH: &str = "/api/segment/allocate-batch";

/// The most items one batch request may hold; more is refused with HTTP 422.
pub const MAX_BATCH_ITEMS: usize = 1_000;

/// The name of the list of items in [`AllocateBatchRequest`].
pub const ITEMS_FIELD: &str = "items";

/// The body of `POST` [`ALLOCATE_BATCH_PATH`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocateBatchRequest {
    /// The allocations asked for, 1 to [`MAX_BATCH_ITEMS`], each as the single endpoint's body.
    pub items: Vec<AllocateRequest>,
}

/// The answer to one item of a batch: a segment (`code` 0) or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchItemResult {
    /// 0, or the code the single endpoint would have answered for this item.
    pub code: ErrorCode,
    /// Why the item failed; absent on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
    /// The first ID handed out; absent on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
    /// The last ID handed out; absent on failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<i64>,
}

impl BatchItemResult {
    /// A handed-out segment.
    pub fn segment(segment: Segment) -> Self {
        BatchItemResult {
            code: ErrorCode::Ok,
            msg: None,
            start: Some(segment.start),
            end: Some(segment.end),
        }
    }

    /// A failed item.
    pub fn failed(code: ErrorCode, msg: impl Into<String>) -> Self {
        BatchItemResult {
            code,
            msg: Some(msg.into()),
            start: None,
            end: None,
        }
    }
}

/// The `data` of a batch answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchAnswer {
    /// One result per item, in the order of the request.
    pub results: Vec<BatchItemResult>,
}

/// Reads an answer of `POST` [`ALLOCATE_BATCH_PATH`] for a request of `items` items: the
/// envelope as [`parse_allocate_answer`](super::parse_allocate_answer) reads it, then one
/// segment or [`Failure::Refused`] per item. An answer with another number of results, or an
/// item that is neither a non-empty segment nor a failure, is [`Failure::Invalid`] as a whole.
pub fn parse_allocate_batch_answer(
    status: u16,
    body: &[u8],
    items: usize,
) -> Result<Vec<Result<Segment, Failure>>, Failure> {
    let data = parse_envelope_data(status, body)?;
    let invalid = |reason: String| Failure::Invalid { reason };
    let results = data
        .get("results")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("no `results` list in `data`".to_owned()))?;
    if results.len() != items {
        return Err(invalid(format!(
            "{} results for {items} items",
            results.len()
        )));
    }
    results
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let code = item
                .get("code")
                .and_then(read_integer)
                .ok_or_else(|| invalid(format!("result {i} has no integer `code`")))?;
            if code != 0 {
                let msg = item
                    .get("msg")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let code = ErrorCode::from_code(code);
                return Ok(Err(Failure::Refused { code, msg }));
            }
            let bound = |name: &str| {
                item.get(name)
                    .and_then(read_integer)
                    .ok_or_else(|| invalid(format!("result {i} has no 64-bit integer `{name}`")))
            };
            let segment = Segment {
                start: bound("start")?,
                end: bound("end")?,
            };
            if segment.is_empty() {
                return Err(invalid(format!(
                    "result {i} is the empty segment {}..={}",
                    segment.start, segment.end
                )));
            }
            Ok(Ok(segment))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_read_item_by_item() {
        let body = br#"{"code":0,"msg":"","data":{"results":[
            {"code":0,"start":1,"end":10},
            {"code":404,"msg":"no such table"},
            {"code":0,"start":"9223372036854775806","end":"9223372036854775807"}
        ]},"traceId":null}"#;
        let got = parse_allocate_batch_answer(200, body, 3).unwrap();
        assert_eq!(got[0], Ok(Segment { start: 1, end: 10 }));
        assert_eq!(
            got[1],
            Err(Failure::Refused {
                code: ErrorCode::NotFound,
                msg: "no such table".into()
            })
        );
        assert_eq!(got[2].as_ref().unwrap().end, i64::MAX);
        assert!(matches!(
            parse_allocate_batch_answer(200, body, 2),
            Err(Failure::Invalid { .. })
        ));
        let empty = br#"{"code":0,"data":{"results":[{"code":0,"start":5,"end":4}]}}"#;
        assert!(matches!(
            parse_allocate_batch_answer(200, empty, 1),
            Err(Failure::Invalid { .. })
        ));
        let refused = br#"{"code":503,"msg":"store down","data":null}"#;
        assert!(matches!(
            parse_allocate_batch_answer(200, refused, 1),
            Err(Failure::Refused {
                code: ErrorCode::Unavailable,
                ..
            })
        ));
        assert!(matches!(
            parse_allocate_batch_answer(422, br#"{"detail":[]}"#, 1),
            Err(Failure::Unprocessable { .. })
        ));
    }

    #[test]
    fn results_serialize_without_empty_fields() {
        let ok = BatchItemResult::segment(Segment { start: 1, end: 2 });
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"code":0,"start":1,"end":2}"#
        );
        let failed = BatchItemResult::failed(ErrorCode::BadRequest, "overflow");
        assert_eq!(
            serde_json::to_string(&failed).unwrap(),
            r#"{"code":400,"msg":"overflow"}"#
        );
        let request: AllocateBatchRequest = serde_json::from_str(
            r#"{"items":[{"system_code":"s","db_name":"d","table_name":"t","field_name":"id"}]}"#,
        )
        .unwrap();
        assert_eq!(
            request.items[0].segment_count,
            super::super::DEFAULT_SEGMENT_COUNT
        );
    }
}
