//! The REST door: routes, the Origin check, body limits, metrics and the
//! contract's error body on every failure (including unknown routes).

mod accounts;
mod boards;
pub mod error;
pub mod extract;
pub mod metrics;
mod notes;
mod notifications;
mod ops;
pub mod origin;
mod web;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, patch, post};
use axum::{middleware, Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::core::{ApiError, Outcome};
use crate::service::App;
use crate::store::Applied;

/// What every handler shares.
pub struct HttpState {
    pub app: App,
    /// Origins allowed besides the server's own.
    pub allowed_origins: Vec<String>,
    /// Served over TLS (cookies get `Secure`, own origin is https).
    pub tls: bool,
    /// Set once shutdown starts (`/readyz` turns 503).
    pub draining: AtomicBool,
    /// WebSocket settings.
    pub ws: crate::ws::WsSettings,
    /// Tracks WebSocket and stream tasks so shutdown can wait for them.
    pub tracker: tokio_util::task::TaskTracker,
    /// Cancelled when shutdown starts: connections answer what is in flight and close.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Serve `/ws-echo` (conformance testing only).
    pub ws_echo: bool,
    /// Server-Sent Events settings.
    pub sse: crate::sse::SseSettings,
}

/// Turns a mutation's answer into a response with its original status.
pub fn applied(a: Applied) -> Response {
    match a.outcome {
        o @ Outcome::NoteCreated { .. } => (StatusCode::CREATED, Json(o)).into_response(),
        o @ (Outcome::NoteUpdated { .. }
        | Outcome::NoteDeleted { .. }
        | Outcome::RoleChanged { .. }) => Json(o).into_response(),
        Outcome::BoardRenamed { board } | Outcome::Joined { board } => Json(board).into_response(),
        Outcome::BoardDeleted | Outcome::MemberRemoved => StatusCode::NO_CONTENT.into_response(),
    }
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::internal().into_response()
}

/// The whole HTTP surface.
pub fn router(state: Arc<HttpState>) -> Router {
    let body_limit = state.app.limits.http_body_bytes;
    let api = Router::new()
        .route("/api/auth/signup", post(accounts::signup))
        .route("/api/auth/login", post(accounts::login))
        .route("/api/auth/logout", post(accounts::logout))
        .route("/api/me", get(accounts::me))
        .route(
            "/api/tokens",
            get(accounts::list_tokens).post(accounts::create_token),
        )
        .route(
            "/api/tokens/{id}",
            axum::routing::delete(accounts::revoke_token),
        )
        .route("/api/boards", get(boards::list).post(boards::create))
        .route(
            "/api/boards/{b}",
            get(boards::get)
                .patch(boards::rename)
                .delete(boards::delete),
        )
        .route("/api/boards/{b}/invites", post(boards::invite))
        .route("/api/invites/{token}/accept", post(boards::accept))
        .route("/api/boards/{b}/members", get(boards::members))
        .route(
            "/api/boards/{b}/members/{user_id}",
            patch(boards::set_role).delete(boards::remove_member),
        )
        .route("/api/boards/{b}/notes", post(notes::create))
        .route("/api/boards/{b}/stream", get(crate::sse::board_stream))
        .route("/api/boards/{b}/events", get(crate::longpoll::poll))
        .route("/api/boards/{b}/presence", get(boards::presence))
        .route("/api/notifications", get(notifications::list))
        .route("/api/notifications/read", post(notifications::read))
        .route(
            "/api/notifications/stream",
            get(crate::sse::notification_stream),
        )
        .route(
            "/api/boards/{b}/notes/{n}",
            patch(notes::update).delete(notes::delete),
        );
    let mut router = Router::new()
        .route("/ws", any(crate::ws::upgrade))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(metrics::render))
        .merge(api);
    if state.ws_echo {
        router = router.route("/ws-echo", any(crate::ws::echo::echo));
    }
    router
        .fallback(web::fallback)
        .method_not_allowed_fallback(error::no_method)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            origin::check_origin,
        ))
        .layer(middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}
