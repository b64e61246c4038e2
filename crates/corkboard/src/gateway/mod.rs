//! What every door shares: the server state handed to each handler, the
//! extractors that authenticate a request and decode its body, and the one
//! place a contract error becomes an HTTP response. The doors (REST,
//! WebSocket, SSE, long poll) sit above this module and never import each
//! other.

pub mod error;
pub mod extract;
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
}
