//! What every door shares: the server state handed to each handler, the
//! extractors that authenticate a request and decode its body, and the one
//! place a contract error becomes an HTTP response. The doors (REST,
//! WebSocket, SSE, long poll) sit above this module and never import each
//! other.

pub mod capped;
pub mod error;
pub mod extract;
pub mod forwarded;
pub mod limits;
pub mod listener;
pub mod settings;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::service::App;

/// What every handler shares.
pub struct HttpState {
    pub app: Arc<App>,
    /// Origins allowed besides the server's own.
    pub allowed_origins: Vec<String>,
    /// Served over TLS (cookies get `Secure`, own origin is https).
    pub tls: bool,
    /// Set once shutdown starts (`/readyz` turns 503).
    pub draining: AtomicBool,
    /// WebSocket settings.
    pub ws: settings::WsSettings,
    /// Tracks WebSocket and stream tasks so shutdown can wait for them.
    pub tracker: tokio_util::task::TaskTracker,
    /// Cancelled when shutdown starts: connections answer what is in flight and close.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Serve `/ws-echo` (conformance testing only).
    pub ws_echo: bool,
    /// Server-Sent Events settings.
    pub sse: settings::SseSettings,
    /// gRPC and HTTP/2 settings.
    pub grpc: settings::GrpcSettings,
    /// Who may read `/metrics`, and where it is served.
    pub metrics: settings::MetricsSettings,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` names the client.
    pub trusted_proxies: forwarded::TrustedProxies,
    /// REST mutations per user (`--rest-mutation-rate`).
    pub rest_mutations: limits::UserBuckets,
    /// `--web-dir`: the UI read from this directory instead of the embedded copy.
    pub web_dir: Option<std::path::PathBuf>,
}

/// Whether this node should take traffic (`/readyz`, and gRPC health): not
/// draining, the store answers and, in cluster mode, Redis does too.
///
/// # Errors
/// `unavailable` with `{store, bus}` saying which is down.
pub async fn readiness(s: &HttpState) -> Result<serde_json::Value, crate::core::ApiError> {
    use crate::core::{ApiError, ErrorCode};
    use serde_json::json;

    if s.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::new(ErrorCode::Unavailable, "shutting down"));
    }
    let store = match s.app.store.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: store");
            "down"
        }
    };
    let bus = match &s.app.cluster {
        None => None,
        Some(c) if c.is_up() => Some("ok"),
        Some(_) => Some("down"),
    };
    let mut body = json!({"store": store});
    if let Some(b) = bus {
        body["bus"] = json!(b);
    }
    if store == "ok" && bus != Some("down") {
        body["status"] = json!("ready");
        return Ok(body);
    }
    let what = if store == "down" {
        "store unavailable"
    } else {
        "Redis unavailable"
    };
    Err(ApiError::new(ErrorCode::Unavailable, what).with_details(body))
}
