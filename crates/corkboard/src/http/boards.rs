//! Boards, members and invites.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::extract::{JsonBody, PathParams};
use super::{applied, HttpState};
use crate::core::{Action, ApiError, Role};
use crate::service::Principal;

/// `{title}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Title {
    title: String,
}

/// `{role, username?}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    role: Role,
    #[serde(default)]
    username: Option<String>,
}

/// `{role}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: Role,
}

/// `GET /api/boards` → `{boards}`.
pub async fn list(
    State(s): State<Arc<HttpState>>,
    p: Principal,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(json!({ "boards": s.app.list_boards(&p).await? })))
}

/// `POST /api/boards` → 201 Board.
pub async fn create(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    JsonBody(b): JsonBody<Title>,
) -> Result<Response, ApiError> {
    let board = s.app.create_board(&p, &b.title).await?;
    Ok((StatusCode::CREATED, Json(board)).into_response())
}

/// `GET /api/boards/{b}` → `{board, notes, seq}`.
pub async fn get(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(b): PathParams<String>,
) -> Result<Response, ApiError> {
    Ok(Json(s.app.snapshot(&p, &b).await?).into_response())
}

/// `PATCH /api/boards/{b}` `{title}` → Board.
pub async fn rename(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(b): PathParams<String>,
    JsonBody(t): JsonBody<Title>,
) -> Result<Response, ApiError> {
    let a = s
        .app
        .mutate(&p, &b, None, Action::RenameBoard { title: t.title })
        .await?;
    Ok(applied(a))
}

/// `DELETE /api/boards/{b}` → 204.
pub async fn delete(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(b): PathParams<String>,
) -> Result<Response, ApiError> {
    Ok(applied(
        s.app.mutate(&p, &b, None, Action::DeleteBoard).await?,
    ))
}

/// `POST /api/boards/{b}/invites` `{role, username?}` → 201 `{token}`.
pub async fn invite(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(b): PathParams<String>,
    JsonBody(i): JsonBody<InviteBody>,
) -> Result<Response, ApiError> {
    let token = s
        .app
        .create_invite(&p, &b, i.role, i.username.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "token": token }))).into_response())
}

/// `POST /api/invites/{token}/accept` → Board.
pub async fn accept(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(token): PathParams<String>,
) -> Result<Json<crate::core::Board>, ApiError> {
    Ok(Json(s.app.accept_invite(&p, &token).await?))
}

/// `GET /api/boards/{b}/members` → `{members:[{user, role}]}`.
pub async fn members(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(b): PathParams<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let list: Vec<_> = s
        .app
        .members(&p, &b)
        .await?
        .into_iter()
        .map(|(user, role)| json!({"user": user, "role": role}))
        .collect();
    Ok(Json(json!({ "members": list })))
}

/// `PATCH /api/boards/{b}/members/{user_id}` `{role}` → `{user, role}`.
pub async fn set_role(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams((b, user_id)): PathParams<(String, String)>,
    JsonBody(r): JsonBody<RoleBody>,
) -> Result<Response, ApiError> {
    let a = s
        .app
        .mutate(
            &p,
            &b,
            None,
            Action::SetRole {
                user_id,
                role: r.role,
            },
        )
        .await?;
    Ok(applied(a))
}

/// `DELETE /api/boards/{b}/members/{user_id}` → 204.
pub async fn remove_member(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams((b, user_id)): PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    let a = s
        .app
        .mutate(&p, &b, None, Action::RemoveMember { user_id })
        .await?;
    Ok(applied(a))
}

/// `GET /api/boards/{b}/presence` → `{members:[Presence]}` (this node's view).
pub async fn presence(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(b): PathParams<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    s.app.board(&p, &b).await?;
    Ok(Json(json!({ "members": s.app.hub.presence(&b) })))
}
