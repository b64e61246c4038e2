//! The Origin allow-list: a browser request that changes state (any method
//! but GET and HEAD, and the WebSocket upgrade) must come from the server's
//! own origin or one named by `--allowed-origin`. A request without an
//! `Origin` header is a non-browser client and passes.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::core::ApiError;
use crate::gateway::HttpState;

/// Whether `origin` may make state-changing requests to a server reached as `host`.
pub fn origin_allowed(origin: &str, host: Option<&str>, tls: bool, extra: &[String]) -> bool {
    let origin = origin.trim_end_matches('/');
    if extra
        .iter()
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(host) = host else { return false };
    let scheme = if tls { "https" } else { "http" };
    origin.eq_ignore_ascii_case(&format!("{scheme}://{host}"))
}

/// Middleware enforcing [`origin_allowed`] before any handler runs.
pub async fn check_origin(
    State(state): State<Arc<HttpState>>,
    req: Request,
    next: Next,
) -> Response {
    let safe = req.method() == Method::GET || req.method() == Method::HEAD;
    let upgrade = req.headers().contains_key(header::UPGRADE);
    if !safe || upgrade {
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(str::to_owned)
                .or_else(|| req.uri().authority().map(|a| a.to_string()));
            let ok = origin.to_str().is_ok_and(|o| {
                origin_allowed(o, host.as_deref(), state.tls, &state.allowed_origins)
            });
            if !ok {
                metrics::counter!("corkboard_origin_rejections_total").increment(1);
                return ApiError::forbidden("origin not allowed").into_response();
            }
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_origin_and_listed_origins_pass() {
        let extra = vec!["http://localhost:3000".to_owned()];
        assert!(origin_allowed(
            "http://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            false,
            &extra
        ));
        assert!(origin_allowed(
            "http://localhost:3000",
            Some("127.0.0.1:8080"),
            false,
            &extra
        ));
        assert!(!origin_allowed(
            "https://127.0.0.1:8080",
            Some("127.0.0.1:8080"),
            false,
            &extra
        ));
        assert!(origin_allowed(
            "https://board.example",
            Some("board.example"),
            true,
            &[]
        ));
        assert!(!origin_allowed(
            "http://evil.example",
            Some("127.0.0.1:8080"),
            false,
            &extra
        ));
        assert!(!origin_allowed(
            "null",
            Some("127.0.0.1:8080"),
            false,
            &extra
        ));
        assert!(!origin_allowed("http://127.0.0.1:8080", None, false, &[]));
    }
}
