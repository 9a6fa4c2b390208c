//! `/api/tokens` (auth): allocation tokens per system code.

use kxy_id::wire::admin::{CreateTokenRequest, CreatedToken, RevokeAnswer};

use crate::error::{ApiError, ApiResult};
use crate::response::ok;
use crate::state::AppState;
use crate::validate::Fields;

/// `POST /api/tokens` with `{"system_code"}`: the token, shown this once.
pub(crate) async fn create(state: &AppState, body: &[u8]) -> ApiResult {
    let mut f = Fields::parse(body)?;
    let request = CreateTokenRequest {
        system_code: f.string("system_code", 1, 100),
    };
    f.finish()?;
    // The system code must make valid keys.
    kxy_id::SegmentKey::new(&request.system_code, "x", "x", "x")?;
    let (record, token) = state.tokens.create(&request.system_code).await?;
    Ok(ok(
        "Allocation token created; it is shown only this once",
        CreatedToken {
            id: record.id,
            system_code: record.system_code,
            created_at: record.created_at,
            token,
        },
    ))
}

/// `GET /api/tokens`: every token's id, system code and creation time (never the token).
pub(crate) async fn list(state: &AppState) -> ApiResult {
    Ok(ok("", state.tokens.list().await?))
}

/// `DELETE /api/tokens/{id}`
pub(crate) async fn revoke(state: &AppState, id: &str) -> ApiResult {
    if !state.tokens.revoke(id).await? {
        return Err(ApiError::handled(
            404,
            format!("Allocation token {id} not found"),
        ));
    }
    Ok(ok(
        "Allocation token revoked",
        RevokeAnswer {
            revoked: true,
            id: id.to_owned(),
        },
    ))
}
