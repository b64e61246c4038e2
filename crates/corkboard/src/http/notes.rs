//! Notes: create, update, delete. Each is one mutation through the service.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::extract::{JsonBody, OptionalJson, PathParams};
use super::{applied, HttpState};
use crate::core::{Action, ApiError, NoteCreate, NoteDelete, NoteUpdate};
use crate::service::Principal;

/// `POST /api/boards/{b}/notes` `Create` → 201 `{note, seq}`.
pub async fn create(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(b): PathParams<String>,
    JsonBody(c): JsonBody<NoteCreate>,
) -> Result<Response, ApiError> {
    let op = c.op.clone();
    Ok(applied(
        s.app.mutate(&p, &b, op, Action::CreateNote(c)).await?,
    ))
}

/// `PATCH /api/boards/{b}/notes/{n}` `Update` → `{note, seq}`.
pub async fn update(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams((b, id)): PathParams<(String, String)>,
    JsonBody(u): JsonBody<NoteUpdate>,
) -> Result<Response, ApiError> {
    let op = u.op.clone();
    let a = s
        .app
        .mutate(&p, &b, op, Action::UpdateNote { id, update: u })
        .await?;
    Ok(applied(a))
}

/// `DELETE /api/boards/{b}/notes/{n}` `{op?}` → `{seq}`.
pub async fn delete(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams((b, id)): PathParams<(String, String)>,
    OptionalJson(d): OptionalJson<NoteDelete>,
) -> Result<Response, ApiError> {
    Ok(applied(
        s.app
            .mutate(&p, &b, d.op, Action::DeleteNote { id })
            .await?,
    ))
}
