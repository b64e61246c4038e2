//! The web UI: the Next.js static export (`web/out`) embedded in the binary
//! and served for every path no API route claims. `/boards/{id}` is answered
//! with the exported board page (`boards/_`), which reads the id in the
//! browser, so deep links and reloads work.
//!
//! Release builds embed the files at compile time (`make build` builds the
//! UI first); debug builds read them from `web/out` on disk. A binary built
//! without the UI still serves the API and answers `/` with a short note.
//! `--web-dir` serves the files of a directory instead, read per request.

use std::borrow::Cow;

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
    data: Cow<'static, [u8]>,
    /// Its entity tag: a digest of these bytes (embedded), or of its size
    /// and modification time (`--web-dir`).
    etag: String,
    /// From the binary: its pages never change, so their CSP is cached.
    embedded: bool,
}

impl From<rust_embed::EmbeddedFile> for UiFile {
    fn from(f: rust_embed::EmbeddedFile) -> Self {
        let digest = f.metadata.sha256_hash();
        UiFile {
            mime: f.metadata.mimetype().to_owned(),
            etag: format!("\"{}\"", hex(&digest[..12])),
            data: f.data,
            embedded: true,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
    let meta = tokio::fs::metadata(&path).await.ok()?;
    if !meta.is_file() {
        return None;
    }
    let data = tokio::fs::read(&path).await.ok()?;
    let mime = mime_guess::from_path(&path)
        .first_or_octet_stream()
        .essence_str()
        .to_owned();
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some(UiFile {
        mime,
        etag: format!("W/\"{:x}-{modified:x}\"", data.len()),
        data: Cow::Owned(data),
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

/// A content coding of the precompressed copies that `web/scripts/precompress.mjs`
/// writes beside the export's files (`x.js.br`, `x.js.gz`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Brotli,
    Gzip,
}

impl Coding {
    /// The suffix of the precompressed copy.
    fn suffix(self) -> &'static str {
        match self {
            Coding::Brotli => ".br",
            Coding::Gzip => ".gz",
        }
    }

    /// The `Content-Encoding` value.
    fn name(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }
}

/// The codings an `Accept-Encoding` value allows, best first: by the
/// client's q-value, then brotli before gzip (it is smaller). `q=0` refuses
/// a coding; `*` stands for every coding not named.
fn accepted_codings(accept: Option<&HeaderValue>) -> Vec<Coding> {
    let Some(value) = accept.and_then(|v| v.to_str().ok()) else {
        return Vec::new();
    };
    let (mut br, mut gzip, mut star) = (None::<f32>, None::<f32>, None::<f32>);
    for item in value.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
        }
        match token.as_str() {
            "br" => br = Some(q),
            "gzip" | "x-gzip" => gzip = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let mut out: Vec<(f32, Coding)> = [(br, Coding::Brotli), (gzip, Coding::Gzip)]
        .into_iter()
        .filter_map(|(q, c)| {
            let q = q.or(star)?;
            (q > 0.0).then_some((q, c))
        })
        .collect();
    // Stable: equal q keeps brotli first.
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, c)| c).collect()
}

/// Whether `If-None-Match` names `etag` (weak comparison, as for GET).
fn not_modified(if_none_match: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(value) = if_none_match.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    value
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

/// The request headers that choose a representation.
#[derive(Default)]
pub struct Negotiation<'a> {
    /// `Accept-Encoding`.
    pub accept_encoding: Option<&'a HeaderValue>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a HeaderValue>,
}

/// `file` (found as `name`) as the response: its precompressed copy when the
/// client accepts one, 304 when the client's copy is current, with the
/// page's CSP (computed from the uncompressed page) and the cache policy.
async fn serve(
    dir: Option<&std::path::Path>,
    name: &str,
    file: UiFile,
    status: StatusCode,
    neg: &Negotiation<'_>,
) -> Response {
    let csp = if file.mime.starts_with("text/html") {
        Some(if file.embedded {
            super::headers::cached_page_csp(name, &file.data).to_string()
        } else {
            super::headers::page_csp(&String::from_utf8_lossy(&file.data))
        })
    } else if name == SERVICE_WORKER {
        // A worker runs under its own script's policy: it may reach this origin.
        Some(SERVICE_WORKER_CSP.to_owned())
    } else {
        None
    };
    let mut coding = None;
    let mut body = file.data;
    let mut etag = file.etag;
    for c in accepted_codings(neg.accept_encoding) {
        if let Some(packed) = lookup(dir, &format!("{name}{}", c.suffix())).await {
            coding = Some(c);
            body = packed.data;
            etag = packed.etag;
            break;
        }
    }
    let fresh = status == StatusCode::OK && not_modified(neg.if_none_match, &etag);
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, Body::from(body)).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(c) = coding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(c.name()));
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
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
/// 404 body everywhere else. The precompressed copies (`*.br`, `*.gz`) are
/// served only in place of their originals, never under their own names.
pub async fn fallback(
    dir: Option<&std::path::Path>,
    method: Method,
    uri: Uri,
    neg: Negotiation<'_>,
) -> Response {
    let path = uri.path();
    let api = path == "/api" || path.starts_with("/api/");
    if api || (method != Method::GET && method != Method::HEAD) {
        return ApiError::not_found("no such route").into_response();
    }
    let packed = path.ends_with(".br") || path.ends_with(".gz");
    if !packed {
        for name in candidates(path) {
            if let Some(file) = lookup(dir, &name).await {
                return serve(dir, &name, file, StatusCode::OK, &neg).await;
            }
        }
    }
    if let Some(file) = lookup(dir, "404.html").await {
        return serve(dir, "404.html", file, StatusCode::NOT_FOUND, &neg).await;
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
        let get = |p: &'static str| {
            fallback(
                Some(&dir),
                Method::GET,
                Uri::from_static(p),
                Negotiation::default(),
            )
        };
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

    fn hv(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn accept_encoding_picks_by_quality_then_brotli() {
        use Coding::{Brotli, Gzip};
        let pick = |s: &'static str| accepted_codings(Some(&hv(s)));
        assert_eq!(accepted_codings(None), vec![]);
        assert_eq!(pick("gzip, deflate, br, zstd"), vec![Brotli, Gzip]);
        assert_eq!(pick("gzip"), vec![Gzip]);
        assert_eq!(pick("br;q=0, gzip"), vec![Gzip]);
        assert_eq!(pick("br;q=0.5, gzip;q=0.9"), vec![Gzip, Brotli]);
        assert_eq!(pick("identity"), vec![]);
        assert_eq!(pick("*"), vec![Brotli, Gzip]);
        assert_eq!(pick("*;q=0, gzip"), vec![Gzip]);
        assert_eq!(pick("BR , X-GZIP;q=0.1"), vec![Brotli, Gzip]);
        assert_eq!(pick("br;q=nonsense"), vec![], "an unreadable q refuses");
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(not_modified(Some(&hv("\"a\"")), "\"a\""));
        assert!(not_modified(Some(&hv("W/\"a\"")), "\"a\""));
        assert!(not_modified(Some(&hv("\"x\", \"a\"")), "W/\"a\""));
        assert!(not_modified(Some(&hv("*")), "\"a\""));
        assert!(!not_modified(Some(&hv("\"b\"")), "\"a\""));
        assert!(!not_modified(None, "\"a\""));
    }

    /// The precompressed copy the client accepts is served with its coding,
    /// `Vary` and its own ETag; a matching `If-None-Match` gets 304; the
    /// copies are never served under their own names; a page's CSP comes
    /// from the uncompressed page.
    #[tokio::test]
    async fn precompressed_copies_and_etags() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().to_path_buf();
        std::fs::create_dir_all(dir.join("_next/static")).unwrap();
        std::fs::write(dir.join("_next/static/app.js"), "plain").unwrap();
        std::fs::write(dir.join("_next/static/app.js.br"), "BROTLI").unwrap();
        std::fs::write(dir.join("_next/static/app.js.gz"), "GZIP").unwrap();
        std::fs::write(dir.join("index.html"), "<script>a()</script>").unwrap();
        std::fs::write(dir.join("index.html.gz"), "GZ-PAGE").unwrap();
        let get = |p: &'static str, ae: Option<&'static str>, inm: Option<String>| {
            let dir = dir.clone();
            async move {
                let ae = ae.map(HeaderValue::from_static);
                let inm = inm.map(|v| HeaderValue::from_str(&v).unwrap());
                let neg = Negotiation {
                    accept_encoding: ae.as_ref(),
                    if_none_match: inm.as_ref(),
                };
                fallback(Some(&dir), Method::GET, Uri::from_static(p), neg).await
            }
        };
        let body = |r: Response| async move {
            let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
            String::from_utf8(b.to_vec()).unwrap()
        };

        let br = get("/_next/static/app.js", Some("gzip, br"), None).await;
        assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(br.headers()[header::VARY], "Accept-Encoding");
        assert!(br.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript"));
        assert!(br.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let br_tag = br.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_eq!(body(br).await, "BROTLI");

        let gz = get("/_next/static/app.js", Some("gzip"), None).await;
        assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
        let gz_tag = gz.headers()[header::ETAG].to_str().unwrap().to_owned();
        assert_ne!(gz_tag, br_tag, "each representation has its own tag");
        assert_eq!(body(gz).await, "GZIP");

        let plain = get("/_next/static/app.js", None, None).await;
        assert!(!plain.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(body(plain).await, "plain");

        let again = get("/_next/static/app.js", Some("br"), Some(br_tag.clone())).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], br_tag.as_str());
        assert_eq!(body(again).await, "");
        let other = get("/_next/static/app.js", Some("gzip"), Some(br_tag)).await;
        assert_eq!(
            other.status(),
            StatusCode::OK,
            "the gzip copy is another entity"
        );

        let page = get("/", Some("br, gzip"), None).await;
        assert_eq!(page.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            csp,
            super::super::headers::page_csp("<script>a()</script>"),
            "the policy hashes the page's own inline script"
        );

        assert_eq!(
            get("/_next/static/app.js.br", None, None).await.status(),
            StatusCode::NOT_FOUND
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
