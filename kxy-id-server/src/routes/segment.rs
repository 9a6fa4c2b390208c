//! `/api/segment/*`: allocation (no auth, as in the old service) and counter listing.

use std::time::Instant;

use kxy_id::Segment;
use kxy_id::wire::{AllocateRequest, DEFAULT_SEGMENT_COUNT, MAX_FIELD_CHARS, field};

use super::parts::Parts;
use crate::error::{ApiError, ApiResult};
use crate::response::{allocated, ok};
use crate::state::AppState;
use crate::validate::Fields;

/// `POST /api/segment/allocate` ([`kxy_id::wire::ALLOCATE_PATH`]): with an allocation token
/// for the system code when the server requires one, at most `--max-segment-count` IDs.
///
/// The plain form of the body is read into borrowed fields and answered into a reused buffer
/// ([`Parts::read`], [`allocated`]); every other body is read field by field, as FastAPI would.
pub(crate) async fn allocate(
    state: &AppState,
    body: &[u8],
    authorization: Option<&str>,
) -> ApiResult {
    let general;
    let parts = match Parts::read(body) {
        Some(parts) => parts,
        None => {
            general = read_allocate(body)?;
            Parts::of(&general)
        }
    };
    let segment = allocate_request(state, &parts, authorization).await?;
    Ok(allocated(segment))
}

/// One allocation as the single endpoint makes it (also each item of a batch): the key
/// checked, the token of its system code when required, the server's limits, then the store.
pub(crate) async fn allocate_request(
    state: &AppState,
    request: &Parts<'_>,
    authorization: Option<&str>,
) -> Result<Segment, ApiError> {
    // Parts too long for a key are refused here with the key's own message (400), not as 422.
    let key = request.key()?;
    state
        .tokens
        .check(authorization, request.system_code)
        .await?;
    state.limits.admit(&key, request.segment_count)?;
    let started = Instant::now();
    let segment = state
        .service
        .allocate(&key, request.segment_count)
        .await
        .map_err(|e| {
            if matches!(e, kxy_id::Error::Overflow { .. }) {
                state.metrics.exhausted();
            }
            as_written(e, request)
        })?;
    state
        .metrics
        .allocated(segment.len(), segment.end, started.elapsed());
    Ok(segment)
}

/// The error of a key without a counter, naming the parts as the caller wrote them.
fn as_written(e: kxy_id::Error, request: &Parts<'_>) -> ApiError {
    match e {
        kxy_id::Error::NoConfig { .. } => ApiError::handled(
            404,
            format!(
                "Database configuration not found for system_code: {}, db_name: {}. Please add database configuration first.",
                request.system_code, request.db_name
            ),
        ),
        kxy_id::Error::NoSource { .. } => ApiError::handled(
            404,
            format!(
                "No counter and no single-column integer primary key for this table/field: {}:{}:{}:{}. An administrator can initialize the database or add the key.",
                request.system_code, request.db_name, request.table_name, request.field_name
            ),
        ),
        e => e.into(),
    }
}

/// Reads an [`AllocateRequest`] field by field, so that every problem is named in the 422.
fn read_allocate(body: &[u8]) -> Result<AllocateRequest, ApiError> {
    let mut f = Fields::parse(body)?;
    let request = read_request(&mut f);
    f.finish()?;
    Ok(request)
}

/// The fields of an [`AllocateRequest`] (problems stay in `f`).
pub(crate) fn read_request(f: &mut Fields) -> AllocateRequest {
    // Fields are read (and their problems listed) in the order of the request type.
    AllocateRequest {
        system_code: f.string(field::SYSTEM_CODE, 1, MAX_FIELD_CHARS),
        db_name: f.string(field::DB_NAME, 1, MAX_FIELD_CHARS),
        table_name: f.string(field::TABLE_NAME, 1, MAX_FIELD_CHARS),
        field_name: f.string(field::FIELD_NAME, 1, MAX_FIELD_CHARS),
        segment_count: f.int(
            field::SEGMENT_COUNT,
            1,
            i64::MAX,
            Some(DEFAULT_SEGMENT_COUNT),
        ),
    }
}

/// `GET /api/segment/counters?system_code=..&db_name=..` (auth): every counter with its value.
pub(crate) async fn counters(state: &AppState, query: Option<&str>) -> ApiResult {
    let system = crate::request::query_param(query, "system_code");
    let database = crate::request::query_param(query, "db_name");
    let list = state
        .service
        .counters(
            system.as_deref().filter(|s| !s.is_empty()),
            database.as_deref().filter(|s| !s.is_empty()),
        )
        .await?;
    Ok(ok("", list))
}
