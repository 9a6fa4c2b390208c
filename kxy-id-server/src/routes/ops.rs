//! Operations endpoints: health, metrics, the OpenAPI document and its page.

use http::StatusCode;
use serde_json::json;

use crate::error::ApiResult;
use crate::metrics::StoreProbe;
use crate::response::{json_response, static_response};
use crate::state::AppState;

/// `GET /health` (the old service's body, no `traceId`, plus what the store promises on a crash).
pub(crate) async fn health(state: &AppState) -> ApiResult {
    let mut data = json!({"version": env!("CARGO_PKG_VERSION"), "status": "healthy"});
    if let Some(durability) = &state.durability {
        data["durability"] = json!(durability);
    }
    Ok(json_response(
        StatusCode::OK,
        json!({"code": 0, "msg": "KXY ID Generator Service is running", "data": data}),
    ))
}

/// `GET /metrics`, with a probe of the store (two reads) at each scrape.
pub(crate) async fn metrics(state: &AppState) -> ApiResult {
    let probe = StoreProbe::run(&state.service).await;
    Ok(static_response(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        state.metrics.render_with(Some(probe)),
    ))
}

/// `GET /openapi.json`
pub(crate) async fn openapi() -> ApiResult {
    Ok(static_response(
        StatusCode::OK,
        "application/json",
        include_str!("../../assets/openapi.json"),
    ))
}

/// `GET /docs`: renders `/openapi.json` with a page that loads nothing from elsewhere.
pub(crate) async fn docs() -> ApiResult {
    Ok(static_response(
        StatusCode::OK,
        "text/html; charset=utf-8",
        include_str!("../../assets/docs.html"),
    ))
}
