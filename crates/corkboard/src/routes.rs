//! The whole HTTP surface: every door's routes in one table, with the
//! layers every request passes (Origin check, metrics, tracing, body limit,
//! panics answered as `internal`). It sits above the doors, so no door
//! needs to know another.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post};
use axum::{middleware, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::commands;
use crate::core::ApiError;
use crate::gateway::HttpState;
use crate::http::{self, accounts, metrics, ops, origin, web};

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    ApiError::internal().into_response()
}

/// What no route claims: a gRPC call of an unknown service gets a gRPC
/// status; anything else is the web UI or the contract's 404.
async fn fallback(
    axum::extract::State(state): axum::extract::State<Arc<HttpState>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    if crate::grpc::is_grpc(&headers) {
        return crate::grpc::unknown_service(uri.path());
    }
    let neg = web::Negotiation {
        accept_encoding: headers.get(axum::http::header::ACCEPT_ENCODING),
        if_none_match: headers.get(axum::http::header::IF_NONE_MATCH),
    };
    web::fallback(state.web_dir.as_deref(), method, uri, neg).await
}

/// The whole HTTP surface.
pub fn router(state: Arc<HttpState>) -> Router {
    let body_limit = state.app.limits.http_body_bytes;
    use commands::*;
    use http::command::{created, no_content, ok, outcome, rest, BodyFrom::*};
    let api = Router::new()
        .route("/api/auth/signup", post(accounts::signup))
        .route("/api/auth/login", post(accounts::login))
        .route("/api/auth/logout", post(accounts::logout))
        .route("/api/auth/logout-all", post(accounts::logout_all))
        .route("/api/auth/password", post(accounts::change_password))
        .route("/api/me", get(accounts::me))
        .route(
            "/api/sessions",
            get(rest::<session_list::SessionList>(Nothing, ok)),
        )
        .route(
            "/api/sessions/revoke-others",
            post(rest::<session_revoke_others::SessionRevokeOthers>(
                Nothing, ok,
            )),
        )
        .route(
            "/api/sessions/{id}",
            delete(rest::<session_revoke::SessionRevoke>(Nothing, no_content)),
        )
        .route(
            "/api/tokens",
            get(rest::<token_list::TokenList>(Nothing, ok))
                .post(rest::<token_create::TokenCreate>(Json, created)),
        )
        .route(
            "/api/tokens/{id}",
            delete(rest::<token_revoke::TokenRevoke>(Nothing, no_content)),
        )
        .route(
            "/api/boards",
            get(rest::<board_list::BoardList>(Nothing, ok))
                .post(rest::<board_create::BoardCreate>(Json, created)),
        )
        .route(
            "/api/boards/{b}",
            get(rest::<board_get::BoardGet>(Nothing, ok))
                .patch(rest::<board_rename::BoardRename>(Json, outcome))
                .delete(rest::<board_delete::BoardDelete>(OptionalJson, outcome)),
        )
        .route(
            "/api/boards/{b}/history",
            get(rest::<board_history::BoardHistory>(Query, ok)),
        )
        .route(
            "/api/boards/{b}/history/events",
            get(rest::<board_history_events::BoardHistoryEvents>(Query, ok)),
        )
        .route(
            "/api/boards/{b}/invites",
            get(rest::<invite_list::InviteList>(Nothing, ok))
                .post(rest::<invite_create::InviteCreate>(Json, created)),
        )
        .route(
            "/api/boards/{b}/invites/{id}",
            delete(rest::<invite_revoke::InviteRevoke>(Nothing, no_content)),
        )
        .route(
            "/api/invites/{token}",
            get(rest::<invite_preview::InvitePreview>(Nothing, ok)),
        )
        .route(
            "/api/invites/{token}/accept",
            post(rest::<invite_accept::InviteAccept>(OptionalJson, outcome)),
        )
        .route(
            "/api/boards/{b}/members",
            get(rest::<member_list::MemberList>(Nothing, ok)),
        )
        .route(
            "/api/boards/{b}/members/{user_id}",
            patch(rest::<member_update::MemberUpdate>(Json, outcome)).delete(rest::<
                member_remove::MemberRemove,
            >(
                OptionalJson,
                outcome,
            )),
        )
        .route(
            "/api/boards/{b}/thumbnail.svg",
            get(http::thumbnail::thumbnail),
        )
        .route(
            "/api/users/suggest",
            get(rest::<user_suggest::UserSuggest>(Query, ok)),
        )
        .route(
            "/api/boards/{b}/notes",
            post(rest::<note_create::NoteCreate>(Json, outcome)),
        )
        .route(
            "/api/boards/{b}/notes/{n}",
            patch(rest::<note_update::NoteUpdate>(Json, outcome)).delete(rest::<
                note_delete::NoteDelete,
            >(
                OptionalJson, outcome
            )),
        )
        .route(
            "/api/boards/{b}/notes/{n}/edit",
            post(rest::<note_edit::NoteEdit>(Json, outcome)),
        )
        .route(
            "/api/boards/{b}/notes/{n}/restore",
            post(rest::<note_restore::NoteRestore>(OptionalJson, outcome)),
        )
        .route(
            "/api/boards/{b}/notes/{n}/text_state",
            get(rest::<note_text_state::NoteTextState>(Nothing, ok)),
        )
        .route(
            "/api/boards/{b}/presence",
            get(rest::<board_presence::BoardPresence>(Nothing, ok)),
        )
        .route(
            "/api/notifications",
            get(rest::<notification_list::NotificationList>(Query, ok)),
        )
        .route(
            "/api/notifications/read",
            post(rest::<notification_read::NotificationRead>(
                Json, no_content,
            )),
        )
        .route(
            "/api/notifications/{id}/read",
            post(rest::<notification_read_one::NotificationReadOne>(
                OptionalJson,
                no_content,
            )),
        )
        .route(
            "/api/search",
            get(rest::<search_query::SearchQuery>(Query, ok)),
        )
        .route("/api/boards/{b}/stream", get(crate::sse::board_stream))
        .route("/api/boards/{b}/events", get(crate::longpoll::poll))
        .route(
            "/api/notifications/stream",
            get(crate::sse::notification_stream),
        );
    // A stalled request body is cut off (`bad_request`). Only REST reads bodies; the
    // streams (WebSocket, SSE, long poll, gRPC) are outside this router.
    let api = api.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        state.grpc.body_timeout,
    ));
    let mut router = Router::new()
        .route("/ws", any(crate::ws::upgrade))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .merge(api);
    if state.ws_echo {
        router = router.route("/ws-echo", any(crate::ws::echo::echo));
    }
    if state.metrics.listen.is_none() {
        router = router.merge(metrics::router(state.metrics.token.as_deref()));
    }
    let router = crate::grpc::routes(router, &state);
    router
        .fallback(fallback)
        .method_not_allowed_fallback(crate::gateway::error::no_method)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            origin::check_origin,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            http::headers::layer,
        ))
        .layer(middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}
