//! The route table: one `match` from (method, path) to one handler and its [`Route`], the
//! methods each known path answers (405 with `Allow` for the others), and the headers every
//! answer carries.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};
use hyper::body::Incoming;

use crate::error::{ApiError, ApiResult};
use crate::request::{MAX_BATCH_BODY, MAX_BODY, authorization, has_body, is_json, read_body};
use crate::response::Body;
use crate::route::Route;
use crate::routes::{auth, batch, database, ops, segment, tokens};
use crate::state::AppState;

/// Answers one request from `client` (its address, when known).
pub(crate) async fn handle(
    state: Arc<AppState>,
    req: Request<Incoming>,
    client: Option<IpAddr>,
) -> Response<Body> {
    let mut response = route(state, req, client).await;
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The methods a known path answers, for 405's `Allow`; `None` for unknown paths.
fn allowed_methods(segments: &[&str]) -> Option<&'static str> {
    Some(match segments {
        ["health"] | ["metrics"] | ["openapi.json"] | ["docs"] => "GET",
        ["api", "auth", "check-init"] | ["api", "segment", "counters"] => "GET",
        ["api", "auth", "init-user" | "login"] => "POST",
        ["api", "segment", "allocate" | "allocate-batch"] => "POST",
        ["api", "database", "list"] | ["api", "database", _, "discovered-tables"] => "GET",
        ["api", "database", "add"] | ["api", "database", "initialize", _] => "POST",
        ["api", "database", _, "add-config" | "approve"] => "POST",
        ["api", "database", _] => "GET, PUT, DELETE",
        ["api", "tokens"] => "GET, POST",
        ["api", "tokens", _] => "DELETE",
        _ => return None,
    })
}

/// Routes one request.
async fn route(
    state: Arc<AppState>,
    req: Request<Incoming>,
    client: Option<IpAddr>,
) -> Response<Body> {
    // Latency is measured from here, before the body is read: a slow upload is part of what
    // the client waits for.
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query();
    let mut split = [""; MAX_SEGMENTS];
    let segments = path_segments(path, &mut split);
    let method = &parts.method;

    let body = if has_body(method) {
        let max = match segments {
            ["api", "segment", "allocate-batch"] => MAX_BATCH_BODY,
            _ => MAX_BODY,
        };
        match read_body(body, max, state.body_timeout).await {
            Ok(b) => b,
            Err(e) => {
                state
                    .metrics
                    .request(Route::Body, e.outcome(), started.elapsed());
                return e.into_response();
            }
        }
    } else {
        Bytes::new()
    };
    let s = &state;
    // Protected routes check the token first.
    let user = || s.auth.verify_header(authorization(&parts.headers));
    // The endpoints the old clients call without a token take JSON only.
    let json = || {
        if is_json(&parts.headers) {
            Ok(())
        } else {
            Err(ApiError::UnsupportedMediaType)
        }
    };

    let (route, result): (Route, ApiResult) = match (method, segments) {
        (&Method::GET, ["health"]) => (Route::Health, ops::health(&state).await),
        (&Method::GET, ["metrics"]) => (Route::Metrics, ops::metrics(s).await),
        (&Method::GET, ["openapi.json"]) => (Route::Openapi, ops::openapi().await),
        (&Method::GET, ["docs"]) => (Route::Docs, ops::docs().await),

        (&Method::GET, ["api", "auth", "check-init"]) => {
            (Route::CheckInit, auth::check_init(s).await)
        }
        (&Method::POST, ["api", "auth", "init-user"]) => (
            Route::InitUser,
            guard(json(), auth::init_user(s, &body)).await,
        ),
        (&Method::POST, ["api", "auth", "login"]) => (
            Route::Login,
            guard(json(), auth::login(s, &body, client)).await,
        ),

        (&Method::POST, ["api", "segment", "allocate"]) => (
            Route::Allocate,
            guard(
                json(),
                segment::allocate(s, &body, authorization(&parts.headers)),
            )
            .await,
        ),
        (&Method::POST, ["api", "segment", "allocate-batch"]) => (
            Route::AllocateBatch,
            guard(
                json(),
                batch::allocate_batch(s, &body, authorization(&parts.headers)),
            )
            .await,
        ),
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

        (&Method::GET, ["api", "tokens"]) => {
            (Route::TokenList, guard(user(), tokens::list(s)).await)
        }
        (&Method::POST, ["api", "tokens"]) => (
            Route::TokenCreate,
            guard(user(), tokens::create(s, &body)).await,
        ),
        (&Method::DELETE, ["api", "tokens", id]) => (
            Route::TokenDelete,
            guard(user(), tokens::revoke(s, id)).await,
        ),

        (_, known) if allowed_methods(known).is_some() => (
            Route::Unknown,
            Err(ApiError::MethodNotAllowed {
                allow: allowed_methods(known).unwrap_or("GET"),
            }),
        ),
        (_, ["api", ..]) => (Route::Unknown, Err(ApiError::NoRoute { api: true })),
        // The admin UI: its assets, and its page for every client-side route.
        (&Method::GET, _) => (Route::Ui, crate::ui::serve(path, &parts.headers)),
        _ => (Route::Unknown, Err(ApiError::NoRoute { api: false })),
    };
    match result {
        Ok(response) => {
            state.metrics.request(route, "ok", started.elapsed());
            response
        }
        Err(e) => {
            state.metrics.request(route, e.outcome(), started.elapsed());
            e.into_response()
        }
    }
}

/// More path segments than any route has.
const MAX_SEGMENTS: usize = 6;

/// The segments of `path` between slashes, in `split` (no heap): a path with more segments
/// than any route gets one segment no route has, so that it is answered as unknown.
fn path_segments<'a>(path: &'a str, split: &'a mut [&'a str; MAX_SEGMENTS]) -> &'a [&'a str] {
    let mut n = 0;
    for segment in path.trim_matches('/').split('/') {
        if n == MAX_SEGMENTS {
            split[0] = "\u{0}too-long";
            return &split[..1];
        }
        split[n] = segment;
        n += 1;
    }
    &split[..n]
}

/// Runs `handler` only when `check` passed (the caller is authenticated, the body is JSON).
async fn guard<T>(
    check: Result<T, ApiError>,
    handler: impl Future<Output = ApiResult>,
) -> ApiResult {
    check?;
    handler.await
}
