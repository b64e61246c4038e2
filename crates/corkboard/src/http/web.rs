//! The web UI: the Next.js static export (`web/out`) embedded in the binary
//! and served for every path no API route claims. `/boards/{id}` is answered
//! with the exported board page (`boards/_`), which reads the id in the
//! browser, so deep links and reloads work.
//!
//! Release builds embed the files at compile time (`make build` builds the
//! UI first); debug builds read them from `web/out` on disk. A binary built
//! without the UI still serves the API and answers `/` with a short note.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::core::ApiError;

/// The exported UI.
#[derive(rust_embed::Embed)]
#[folder = "../../web/out"]
#[allow_missing = true]
struct Assets;

/// Candidate files for a request path, in order.
fn candidates(path: &str) -> Vec<String> {
    let p = path.trim_start_matches('/').trim_end_matches('/');
    if p.is_empty() {
        return vec!["index.html".into()];
    }
    let mut out = vec![p.to_owned(), format!("{p}.html"), format!("{p}/index.html")];
    // Any board id is served by the exported placeholder page.
    if let Some(rest) = p.strip_prefix("boards/") {
        if !rest.is_empty() && !rest.contains('/') {
            out.push("boards/_.html".into());
            out.push("boards/_/index.html".into());
        }
    }
    out
}

fn serve(name: &str, file: rust_embed::EmbeddedFile, status: StatusCode) -> Response {
    let mime = file.metadata.mimetype().to_owned();
    let body_copy = file.data.clone();
    let mut res = (status, Body::from(file.data.into_owned())).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let cache = if name.starts_with("_next/static/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if mime.starts_with("text/html") {
        let csp = super::headers::cached_page_csp(name, &body_copy);
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    res
}

/// Fallback handler: the UI for GET/HEAD outside `/api`, the contract's
/// 404 body everywhere else.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let api = path == "/api" || path.starts_with("/api/");
    if api || (method != Method::GET && method != Method::HEAD) {
        return ApiError::not_found("no such route").into_response();
    }
    for name in candidates(path) {
        if let Some(file) = Assets::get(&name) {
            return serve(&name, file, StatusCode::OK);
        }
    }
    if let Some(file) = Assets::get("404.html") {
        return serve("404.html", file, StatusCode::NOT_FOUND);
    }
    if path == "/" {
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Corkboard is running. This build has no web UI: run `make build` to include it.\n",
        )
            .into_response();
    }
    ApiError::not_found("no such route").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_ids_map_to_the_placeholder_page() {
        let c = candidates("/boards/0193-abc");
        assert!(c.contains(&"boards/_.html".to_owned()));
        assert!(c.contains(&"boards/_/index.html".to_owned()));
        assert_eq!(candidates("/"), vec!["index.html"]);
        assert!(!candidates("/boards/a/b").contains(&"boards/_.html".to_owned()));
        assert_eq!(candidates("/login")[1], "login.html");
    }
}
