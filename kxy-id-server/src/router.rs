//! The route table: one `match` from (method, path) to one handler and its [`Route`].

use bytes::Bytes;
use http::{Method, Request, Response};
use hyper::body::Incoming;

use crate::error::{ApiError, ApiResult};
use crate::request::{authorization, has_body, read_body};
use crate::response::Body;
use crate::route::Route;
use crate::routes::{auth, database, ops, segment};
use crate::state::AppState;

/// Answers one request.
pub(crate) async fn handle(state: AppState, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = &parts.method;

    let body = if has_body(method) {
        match read_body(body, state.body_timeout).await {
            Ok(b) => b,
            Err(e) => {
                state.metrics.request(Route::Body, e.outcome());
                return e.into_response();
            }
        }
    } else {
        Bytes::new()
    };
    let s = &state;
    // Protected routes check the token first.
    let user = || s.auth.verify_header(authorization(&parts.headers));

    let (route, result): (Route, ApiResult) = match (method, segments.as_slice()) {
        (&Method::GET, ["health"]) => (Route::Health, ops::health(&state).await),
        (&Method::GET, ["metrics"]) => (Route::Metrics, ops::metrics(s).await),
        (&Method::GET, ["openapi.json"]) => (Route::Openapi, ops::openapi().await),
        (&Method::GET, ["docs"]) => (Route::Docs, ops::docs().await),

        (&Method::GET, ["api", "auth", "check-init"]) => {
            (Route::CheckInit, auth::check_init(s).await)
        }
        (&Method::POST, ["api", "auth", "init-user"]) => {
            (Route::InitUser, auth::init_user(s, &body).await)
        }
        (&Method::POST, ["api", "auth", "login"]) => (Route::Login, auth::login(s, &body).await),

        (&Method::POST, ["api", "segment", "allocate"]) => {
            (Route::Allocate, segment::allocate(s, &body).await)
        }
        (&Method::GET, ["api", "segment", "counters"]) => (
            Route::Counters,
            guard(user(), segment::counters(s, query)).await,
        ),

        (&Method::GET, ["api", "database", "list"]) => {
            (Route::DbList, guard(user(), database::list(s)).await)
        }
        (&Method::POST, ["api", "database", "add"]) => {
            (Route::DbAdd, guard(user(), database::add(s, &body)).await)
        }
        (&Method::POST, ["api", "database", "initialize", guid]) => (
            Route::DbInitialize,
            guard(user(), database::initialize(s, guid)).await,
        ),
        (&Method::POST, ["api", "database", guid, "add-config"]) => (
            Route::DbAddConfig,
            guard(user(), database::add_config(s, guid, &body)).await,
        ),
        (&Method::GET, ["api", "database", guid, "discovered-tables"]) => (
            Route::DbDiscovered,
            guard(user(), database::discovered(s, guid)).await,
        ),
        (&Method::POST, ["api", "database", guid, "approve"]) => (
            Route::DbApprove,
            guard(user(), database::approve(s, guid, &body)).await,
        ),
        (&Method::GET, ["api", "database", guid]) => {
            (Route::DbGet, guard(user(), database::get(s, guid)).await)
        }
        (&Method::PUT, ["api", "database", guid]) => (
            Route::DbUpdate,
            guard(user(), database::update(s, guid, &body)).await,
        ),
        (&Method::DELETE, ["api", "database", guid]) => (
            Route::DbDelete,
            guard(user(), database::delete(s, guid, query)).await,
        ),

        (_, ["api", ..]) => (Route::Unknown, Err(ApiError::NoRoute { api: true })),
        // The admin UI: its assets, and its page for every client-side route.
        (&Method::GET, _) => (Route::Ui, crate::ui::serve(path, &parts.headers)),
        _ => (Route::Unknown, Err(ApiError::NoRoute { api: false })),
    };
    match result {
        Ok(response) => {
            state.metrics.request(route, "ok");
            response
        }
        Err(e) => {
            state.metrics.request(route, e.outcome());
            e.into_response()
        }
    }
}

/// Runs `handler` only when the caller is authenticated.
async fn guard(
    user: Result<String, ApiError>,
    handler: impl Future<Output = ApiResult>,
) -> ApiResult {
    user?;
    handler.await
}
