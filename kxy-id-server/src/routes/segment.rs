//! `/api/segment/*`: allocation (no auth, as in the old service) and counter listing.

use std::time::Instant;

use kxy_id::SegmentKey;
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::response::ok;
use crate::state::AppState;
use crate::validate::Fields;

/// `POST /api/segment/allocate`
pub(crate) async fn allocate(state: &AppState, body: &[u8]) -> ApiResult {
    let mut f = Fields::parse(body)?;
    let system_code = f.string("system_code", 0, 10_000);
    let db_name = f.string("db_name", 0, 10_000);
    let table_name = f.string("table_name", 0, 10_000);
    let field_name = f.string("field_name", 0, 10_000);
    let count = f.int("segment_count", 1, i64::MAX, Some(10_000));
    f.finish()?;
    let key = SegmentKey::new(&system_code, &db_name, &table_name, &field_name)?;
    let started = Instant::now();
    let segment = state
        .service
        .allocate(&key, count)
        .await
        .map_err(ApiError::from)?;
    state.metrics.allocated(segment.len(), started.elapsed());
    Ok(ok(
        format!("Allocated segment: {} to {}", segment.start, segment.end),
        json!({"start": segment.start, "end": segment.end}),
    ))
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
