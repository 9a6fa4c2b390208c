//! `POST /api/segment/allocate-batch`: up to [`MAX_BATCH_ITEMS`] allocations in one round trip,
//! each item allocated on its own as the single endpoint would, with its own result or error.

use futures_util::StreamExt;
use kxy_id::wire::{
    AllocateRequest, BatchAnswer, BatchItemResult, ErrorCode, ITEMS_FIELD, MAX_BATCH_ITEMS,
};
use serde_json::{Value, json};

use super::parts::Parts;
use super::segment::{allocate_request, read_request};
use crate::error::{ApiError, ApiResult};
use crate::response::ok;
use crate::state::AppState;
use crate::validate::Fields;

/// Items allocated at once: enough to overlap store round trips (Redis without reservation),
/// few enough that one batch does not take every store connection.
const CONCURRENT_ITEMS: usize = 16;

/// `POST /api/segment/allocate-batch` ([`kxy_id::wire::ALLOCATE_BATCH_PATH`]).
pub(crate) async fn allocate_batch(
    state: &AppState,
    body: &[u8],
    authorization: Option<&str>,
) -> ApiResult {
    let items = read_batch(body)?;
    let total = items.len();
    let results: Vec<BatchItemResult> = futures_util::stream::iter(items)
        .map(|request| async move {
            match allocate_request(state, &Parts::of(&request), authorization).await {
                Ok(segment) => BatchItemResult::segment(segment),
                Err(e) => item_error(e),
            }
        })
        .buffered(CONCURRENT_ITEMS)
        .collect()
        .await;
    let allocated = results.iter().filter(|r| r.code == ErrorCode::Ok).count();
    Ok(ok(
        format!("Allocated {allocated} of {total} items"),
        BatchAnswer { results },
    ))
}

/// What one failed item answers: the code and message the single endpoint would have sent.
fn item_error(e: ApiError) -> BatchItemResult {
    match e {
        ApiError::Handled { code, msg } => BatchItemResult::failed(code, msg),
        ApiError::Unavailable { data_loss, msg } => {
            if data_loss {
                tracing::error!(%msg, "refusing to allocate: the store may have lost data");
            }
            BatchItemResult::failed(ErrorCode::Unavailable, msg)
        }
        ApiError::TooManyRequests { msg, .. } => {
            BatchItemResult::failed(ErrorCode::Other(429), msg)
        }
        ApiError::Unauthorized(detail) => BatchItemResult::failed(ErrorCode::Unauthorized, detail),
        ApiError::Internal(detail) => {
            tracing::error!(%detail, "batch item failed");
            BatchItemResult::failed(ErrorCode::Internal, "Internal server error")
        }
        other => BatchItemResult::failed(ErrorCode::Internal, other.to_string()),
    }
}

/// Reads `{"items": [...]}`: 1 to [`MAX_BATCH_ITEMS`] objects, each read as the single
/// endpoint's body; every problem of the body and of every item is named in one 422.
fn read_batch(body: &[u8]) -> Result<Vec<AllocateRequest>, ApiError> {
    let mut f = Fields::parse(body)?;
    let Some(list) = f.list(ITEMS_FIELD) else {
        f.finish()?;
        return Ok(Vec::new());
    };
    let refuse = |kind: &str, msg: String, input: Value| {
        ApiError::Unprocessable(vec![json!({
            "type": kind, "loc": ["body", ITEMS_FIELD], "msg": msg, "input": input,
        })])
    };
    if list.is_empty() {
        let msg = "List should have at least 1 item after validation, not 0".to_owned();
        return Err(refuse("too_short", msg, json!([])));
    }
    if list.len() > MAX_BATCH_ITEMS {
        let msg = format!(
            "List should have at most {MAX_BATCH_ITEMS} items after validation, not {}",
            list.len()
        );
        // The list itself is not echoed: it may be large.
        return Err(refuse("too_long", msg, Value::Null));
    }
    let mut problems = Vec::new();
    let mut items = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let at = vec![json!("body"), json!(ITEMS_FIELD), json!(i)];
        match item {
            Value::Object(obj) => {
                let mut fields = Fields::object(obj, at);
                items.push(read_request(&mut fields));
                problems.extend(fields.take_problems());
            }
            other => problems.push(json!({
                "type": "model_attributes_type", "loc": at,
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": other,
            })),
        }
    }
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(ApiError::Unprocessable(problems))
    }
}
