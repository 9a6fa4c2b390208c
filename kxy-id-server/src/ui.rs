//! The admin UI: hand-written HTML, CSS and JavaScript modules from `kxy-id-server/ui/`,
//! embedded in the binary, so the server needs nothing else at run time and loads nothing
//! from the internet.
//!
//! Paths under `/ui/` are the assets; every other `GET` that no API route answers is a
//! client-side route and gets `index.html`, whose script reads the path and draws the page.
//! `index.html` is never cached without revalidation; assets carry an `ETag` (a hash of
//! their bytes, computed at compile time) so browsers revalidate with a cheap 304.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use crate::error::{ApiError, ApiResult};
use crate::response::{Body, static_response};

/// One embedded file.
struct Asset {
    /// The name under `/ui/`.
    name: &'static str,
    /// Its `Content-Type`.
    content_type: &'static str,
    /// Its bytes.
    body: &'static [u8],
    /// A hash of `body`, the entity tag.
    etag: u64,
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../ui/", $name)),
            etag: fnv1a(include_bytes!(concat!("../ui/", $name))),
        }
    };
}

/// Everything under `/ui/`. The scripts are ES modules (`index.html` loads `app.js`, which
/// imports the rest), so each needs the `text/javascript` type; a module missing here is a
/// failing test, not a broken page.
const ASSETS: &[Asset] = &[
    // The entry: routes and the top bar.
    asset!("app.js", "text/javascript; charset=utf-8"),
    // One module per page, or per part of one.
    asset!("login.js", "text/javascript; charset=utf-8"),
    asset!("databases.js", "text/javascript; charset=utf-8"),
    asset!("database.js", "text/javascript; charset=utf-8"),
    asset!("database-form.js", "text/javascript; charset=utf-8"),
    asset!("database-actions.js", "text/javascript; charset=utf-8"),
    asset!("init-report.js", "text/javascript; charset=utf-8"),
    asset!("sequences.js", "text/javascript; charset=utf-8"),
    asset!("discovered.js", "text/javascript; charset=utf-8"),
    asset!("tokens.js", "text/javascript; charset=utf-8"),
    asset!("counters.js", "text/javascript; charset=utf-8"),
    // What the pages share.
    asset!("nav.js", "text/javascript; charset=utf-8"),
    asset!("parts.js", "text/javascript; charset=utf-8"),
    asset!("config.js", "text/javascript; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("dom.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The page every client-side route gets.
const INDEX_HTML: &str = include_str!("../ui/index.html");

/// Scripts, styles, images and requests only from this server; no inline code, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// 64-bit FNV-1a, usable in constants.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// `GET {path}` for any path no API route answers: an asset, `index.html`, or 404.
pub(crate) fn serve(path: &str, request_headers: &HeaderMap) -> ApiResult {
    if let Some(name) = path.strip_prefix("/ui/") {
        let asset = ASSETS
            .iter()
            .find(|a| a.name == name)
            .ok_or(ApiError::NoRoute { api: false })?;
        return Ok(asset_response(asset, request_headers));
    }
    // Not a page: browsers ask for it on their own (the page links `/ui/favicon.svg`).
    if path == "/favicon.ico" {
        return Err(ApiError::NoRoute { api: false });
    }
    let mut response = static_response(StatusCode::OK, "text/html; charset=utf-8", INDEX_HTML);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(headers);
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    Ok(response)
}

/// The asset, or 304 when the browser already holds this version.
fn asset_response(asset: &Asset, request_headers: &HeaderMap) -> Response<Body> {
    let etag = format!("\"{:016x}\"", asset.etag);
    let fresh = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    let mut response = if fresh {
        static_response(StatusCode::NOT_MODIFIED, asset.content_type, "")
    } else {
        static_response(StatusCode::OK, asset.content_type, asset.body)
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex digits in quotes are a valid header"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure(headers);
    response
}

/// Headers every UI response carries.
fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_loads_is_embedded() {
        for name in ["app.js", "style.css", "favicon.svg"] {
            assert!(
                INDEX_HTML.contains(&format!("/ui/{name}")),
                "index.html links {name}"
            );
        }
        // Every file of `ui/` is embedded, and every module is preloaded by the page.
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");
        for entry in std::fs::read_dir(dir).expect("the ui directory") {
            let name = entry.expect("a directory entry").file_name();
            let name = name.to_str().expect("a UTF-8 file name");
            if name == "index.html" {
                continue;
            }
            assert!(
                ASSETS.iter().any(|a| a.name == name),
                "ui/{name} is not embedded"
            );
            if name.ends_with(".js") {
                assert!(
                    INDEX_HTML.contains(&format!("\"/ui/{name}\"")),
                    "index.html does not load or preload {name}"
                );
            }
        }
        // Every module a module imports (`... from './x.js'`) is embedded.
        for asset in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(asset.body).expect("UTF-8 module");
            for rest in text
                .match_indices("from '")
                .map(|(i, m)| &text[i + m.len()..])
            {
                let target = rest.split('\'').next().unwrap_or_default();
                let name = target.strip_prefix("./").unwrap_or_else(|| {
                    panic!("{}: relative import expected: {target}", asset.name)
                });
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "{} imports {name}, which is not embedded",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn entity_tags_differ_between_assets() {
        let mut tags: Vec<u64> = ASSETS.iter().map(|a| a.etag).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), ASSETS.len());
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
