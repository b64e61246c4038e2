//! The web UI: the Next.js static export (`web/out`) embedded in the binary
//! and served for every path no API route claims. `/boards/{id}` is answered
//! with the exported board page (`boards/_`), which reads the id in the
//! browser, so deep links and reloads work.
//!
//! Release builds embed the files at compile time (`make build` builds the
//! UI first); debug builds read them from `web/out` on disk. A binary built
//! without the UI still serves the API and answers `/` with a short note.
//! `--web-dir` serves the files of a directory instead, read per request.

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

/// The UI's service worker script (web/public/sw.js).
const SERVICE_WORKER: &str = "sw.js";

/// The service worker's policy: nothing but requests to this origin (the
/// API's `default-src 'none'` would forbid its `fetch()`).
const SERVICE_WORKER_CSP: &str = "default-src 'none'; connect-src 'self'; frame-ancestors 'none'";

/// One UI file, from the binary or from `--web-dir`.
struct UiFile {
    mime: String,
    data: Vec<u8>,
    /// From the binary: its pages never change, so their CSP is cached.
    embedded: bool,
}

impl From<rust_embed::EmbeddedFile> for UiFile {
    fn from(f: rust_embed::EmbeddedFile) -> Self {
        UiFile {
            mime: f.metadata.mimetype().to_owned(),
            data: f.data.into_owned(),
            embedded: true,
        }
    }
}

/// `name` (a relative path from [`candidates`]) under `dir`, if it is a file
/// there. A name with `..` or any component but a plain one is never read.
async fn from_dir(dir: &std::path::Path, name: &str) -> Option<UiFile> {
    let rel = std::path::Path::new(name);
    if !rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    let path = dir.join(rel);
    if !tokio::fs::metadata(&path).await.ok()?.is_file() {
        return None;
    }
    let data = tokio::fs::read(&path).await.ok()?;
    let mime = mime_guess::from_path(&path)
        .first_or_octet_stream()
        .essence_str()
        .to_owned();
    Some(UiFile {
        mime,
        data,
        embedded: false,
    })
}

/// `name` from `--web-dir` when set, else from the embedded export.
async fn lookup(dir: Option<&std::path::Path>, name: &str) -> Option<UiFile> {
    match dir {
        Some(d) => from_dir(d, name).await,
        None => Assets::get(name).map(UiFile::from),
    }
}

fn serve(name: &str, file: UiFile, status: StatusCode) -> Response {
    let UiFile {
        mime,
        data,
        embedded,
    } = file;
    let csp = if mime.starts_with("text/html") {
        Some(if embedded {
            super::headers::cached_page_csp(name, &data).to_string()
        } else {
            super::headers::page_csp(&String::from_utf8_lossy(&data))
        })
    } else if name == SERVICE_WORKER {
        // A worker runs under its own script's policy: it may reach this origin.
        Some(SERVICE_WORKER_CSP.to_owned())
    } else {
        None
    };
    let mut res = (status, Body::from(data)).into_response();
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
    if let Some(Ok(v)) = csp.map(|c| HeaderValue::from_str(&c)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// Fallback handler: the UI for GET/HEAD outside `/api`, the contract's
/// 404 body everywhere else.
pub async fn fallback(dir: Option<&std::path::Path>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let api = path == "/api" || path.starts_with("/api/");
    if api || (method != Method::GET && method != Method::HEAD) {
        return ApiError::not_found("no such route").into_response();
    }
    for name in candidates(path) {
        if let Some(file) = lookup(dir, &name).await {
            return serve(&name, file, StatusCode::OK);
        }
    }
    if let Some(file) = lookup(dir, "404.html").await {
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

    #[tokio::test]
    async fn a_web_dir_serves_its_files_and_nothing_outside_it() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        std::fs::create_dir_all(dir.join("boards")).unwrap();
        std::fs::write(dir.join("index.html"), "<p>home</p>").unwrap();
        std::fs::write(dir.join("boards/_.html"), "<p>board</p>").unwrap();
        std::fs::write(root.path().join("secret.txt"), "no").unwrap();
        let get = |p: &'static str| fallback(Some(&dir), Method::GET, Uri::from_static(p));
        let home = get("/").await;
        assert_eq!(home.status(), StatusCode::OK);
        assert!(home.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert!(home.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        assert_eq!(get("/boards/0193-abc").await.status(), StatusCode::OK);
        assert_eq!(get("/../secret.txt").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            get("/%2e%2e/secret.txt").await.status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(get("/api/x").await.status(), StatusCode::NOT_FOUND);
        std::fs::write(dir.join("sw.js"), "self.x = 1;").unwrap();
        let sw = get("/sw.js").await;
        assert_eq!(
            sw.headers()[header::CONTENT_SECURITY_POLICY],
            SERVICE_WORKER_CSP,
            "the worker may fetch from this origin"
        );
    }

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
