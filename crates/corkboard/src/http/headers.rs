//! Security headers on every response, and the Content-Security-Policy of
//! the web UI's pages.
//!
//! The UI is a static export whose pages carry inline `<script>`s (Next.js's
//! bootstrap). Rather than allowing every inline script, each page's policy
//! lists the SHA-256 of exactly its own inline scripts, computed once per
//! page, so an injected script cannot run.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::http::{header, HeaderMap, HeaderValue};
use base64::Engine;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

/// Headers every response gets: no MIME sniffing, no referrer to other
/// origins, no framing, and HSTS when served over TLS.
pub fn add_common(h: &mut HeaderMap, tls: bool) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}

/// Middleware: [`add_common`] on every response, and [`API_CSP`] on any
/// response that set no policy of its own (everything but the UI's pages).
pub async fn layer(
    axum::extract::State(s): axum::extract::State<Arc<crate::gateway::HttpState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    add_common(h, s.tls);
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(API_CSP),
        );
    }
    res
}

/// The policy of an API response (JSON, never rendered as a page).
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The SHA-256 (base64) of each inline `<script>` body in `html`.
fn inline_script_hashes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start + 7..];
        let Some(tag_end) = rest.find('>') else { break };
        let attrs = &rest[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = rest[body_start..].find("</script>") else {
            break;
        };
        let body = &rest[body_start..body_start + close];
        if !attrs.contains("src=") {
            let digest = Sha256::digest(body.as_bytes());
            out.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &rest[body_start + close..];
    }
    out.sort();
    out.dedup();
    out
}

/// The Content-Security-Policy of one page: scripts from this origin and
/// the page's own inline scripts only; connections (fetch, WebSocket, SSE)
/// to this origin only; no framing, plugins or foreign forms.
pub fn page_csp(html: &str) -> String {
    let scripts: String = inline_script_hashes(html)
        .iter()
        .map(|h| format!(" 'sha256-{h}'"))
        .collect();
    format!(
        "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Policies by page name, computed on first use.
pub fn cached_page_csp(name: &str, html: &[u8]) -> Arc<str> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<str>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().get(name) {
        return p.clone();
    }
    let p: Arc<str> = page_csp(&String::from_utf8_lossy(html)).into();
    cache.lock().insert(name.to_owned(), p.clone());
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_inline_script_is_hashed_and_external_ones_are_not() {
        let html = r#"<html><script src="/_next/a.js" async=""></script><script>self.x=1</script><script id="j">self.y=2</script></html>"#;
        let h = inline_script_hashes(html);
        assert_eq!(h.len(), 2);
        let want = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"self.x=1"));
        assert!(h.contains(&want));
        let csp = page_csp(html);
        assert!(csp.contains(&format!("'sha256-{want}'")));
        assert!(
            !csp.contains("'unsafe-inline'; img") || csp.contains("script-src 'self' 'sha256-")
        );
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
        assert!(csp.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn hsts_only_under_tls() {
        let mut h = HeaderMap::new();
        add_common(&mut h, false);
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        add_common(&mut h, true);
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_some());
    }
}
