//! The route table: one `match` from (method, path) to one handler.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::error::{ApiError, ApiResult};
use crate::response::Body;
use crate::routes::{auth, database, ops, segment};
use crate::state::AppState;

/// The largest request body accepted (64 KiB); larger ones get 413.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// Answers one request.
pub(crate) async fn handle(state: AppState, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let query = parts.uri.query();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = &parts.method;

    let body = if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        match read_body(body, state.body_timeout).await {
            Ok(b) => b,
            Err(e) => {
                state.metrics.request("body", e.outcome());
                return e.into_response();
            }
        }
    } else {
        Bytes::new()
    };
    let s = &state;
    // Protected routes check the token first.
    let user = || s.auth.verify_header(bearer);

    let (route, result): (&'static str, ApiResult) = match (method, segments.as_slice()) {
        (&Method::GET, ["health"]) => ("health", ops::health().await),
        (&Method::GET, ["metrics"]) => ("metrics", ops::metrics(s).await),
        (&Method::GET, ["openapi.json"]) => ("openapi", ops::openapi().await),
        (&Method::GET, ["docs"]) => ("docs", ops::docs().await),

        (&Method::GET, ["api", "auth", "check-init"]) => ("check_init", auth::check_init(s).await),
        (&Method::POST, ["api", "auth", "init-user"]) => {
            ("init_user", auth::init_user(s, &body).await)
        }
        (&Method::POST, ["api", "auth", "login"]) => ("login", auth::login(s, &body).await),

        (&Method::POST, ["api", "segment", "allocate"]) => {
            ("allocate", segment::allocate(s, &body).await)
        }
        (&Method::GET, ["api", "segment", "counters"]) => {
            ("counters", guard(user(), segment::counters(s, query)).await)
        }

        (&Method::GET, ["api", "database", "list"]) => {
            ("db_list", guard(user(), database::list(s)).await)
        }
        (&Method::POST, ["api", "database", "add"]) => {
            ("db_add", guard(user(), database::add(s, &body)).await)
        }
        (&Method::POST, ["api", "database", "initialize", guid]) => (
            "db_initialize",
            guard(user(), database::initialize(s, guid)).await,
        ),
        (&Method::POST, ["api", "database", guid, "add-config"]) => (
            "db_add_config",
            guard(user(), database::add_config(s, guid, &body)).await,
        ),
        (&Method::GET, ["api", "database", guid, "discovered-tables"]) => (
            "db_discovered",
            guard(user(), database::discovered(s, guid)).await,
        ),
        (&Method::POST, ["api", "database", guid, "approve"]) => (
            "db_approve",
            guard(user(), database::approve(s, guid, &body)).await,
        ),
        (&Method::GET, ["api", "database", guid]) => {
            ("db_get", guard(user(), database::get(s, guid)).await)
        }
        (&Method::PUT, ["api", "database", guid]) => (
            "db_update",
            guard(user(), database::update(s, guid, &body)).await,
        ),
        (&Method::DELETE, ["api", "database", guid]) => (
            "db_delete",
            guard(user(), database::delete(s, guid, query)).await,
        ),

        (_, ["api", ..]) => ("unknown", Err(ApiError::NoRoute { api: true })),
        // The admin UI: its assets, and its page for every client-side route.
        (&Method::GET, _) => ("ui", crate::ui::serve(path, &parts.headers)),
        _ => ("unknown", Err(ApiError::NoRoute { api: false })),
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

async fn read_body(body: Incoming, timeout: Duration) -> Result<Bytes, ApiError> {
    let limited = Limited::new(body, MAX_BODY);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(ApiError::handled(408, "Timed out reading the request body")),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::PayloadTooLarge),
        Ok(Err(e)) => Err(ApiError::handled(
            400,
            format!("Cannot read the request body: {e}"),
        )),
    }
}

/// The first value of `name` in a query string, percent-decoded.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k) == name).then(|| decode(v))
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        let q = Some("system_code=shop%20a&db_name=orders+x&purge_segments=true&bad=%zz");
        assert_eq!(query_param(q, "system_code").as_deref(), Some("shop a"));
        assert_eq!(query_param(q, "db_name").as_deref(), Some("orders x"));
        assert_eq!(query_param(q, "purge_segments").as_deref(), Some("true"));
        assert_eq!(query_param(q, "bad").as_deref(), Some("%zz"));
        assert_eq!(query_param(q, "none"), None);
        assert_eq!(query_param(None, "x"), None);
    }
}
