//! `/api/auth/*`: first-run setup and login.

use std::net::IpAddr;

use kxy_id::wire::admin::{InitUserAnswer, LoginAnswer, LoginRequest};
use serde_json::json;

use crate::auth::MAX_PASSWORD_BYTES;
use crate::error::ApiResult;
use crate::response::ok;
use crate::state::AppState;
use crate::validate::Fields;

/// `GET /api/auth/check-init`
pub(crate) async fn check_init(state: &AppState) -> ApiResult {
    Ok(ok(
        "",
        json!({"initialized": state.auth.initialized().await?}),
    ))
}

/// `POST /api/auth/init-user`
pub(crate) async fn init_user(state: &AppState, body: &[u8]) -> ApiResult {
    let mut f = Fields::parse(body)?;
    let request = LoginRequest {
        username: f.string("username", 3, 50),
        password: f.string("password", 6, 100),
    };
    f.at_most_bytes("password", &request.password, MAX_PASSWORD_BYTES);
    f.finish()?;
    state
        .auth
        .init_user(&request.username, &request.password)
        .await?;
    Ok(ok(
        "System initialized successfully",
        InitUserAnswer {
            username: request.username,
        },
    ))
}

/// `POST /api/auth/login` from `client`.
pub(crate) async fn login(state: &AppState, body: &[u8], client: Option<IpAddr>) -> ApiResult {
    let mut f = Fields::parse(body)?;
    let request = LoginRequest {
        username: f.string("username", 1, 1000),
        password: f.string("password", 0, 1000),
    };
    f.at_most_bytes("password", &request.password, MAX_PASSWORD_BYTES);
    f.finish()?;
    let token = state
        .auth
        .login(&request.username, &request.password, client)
        .await?;
    Ok(ok(
        "Login successful",
        LoginAnswer {
            token,
            username: request.username,
        },
    ))
}
