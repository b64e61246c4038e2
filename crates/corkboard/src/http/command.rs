//! The REST adapter over the command registry: the caller from the
//! credential, the ids from the path, the body from JSON or the query string,
//! and the result encoded the way the route's row of the contract says.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::commands::{Command, Done, Ids};
use crate::core::{ApiError, ErrorCode, Outcome};
use crate::gateway::extract::{JsonBody, OptionalJson, PathParams};
use crate::gateway::HttpState;
use crate::service::Principal;
use crate::telemetry;
use tracing::Instrument as _;

/// Where a route reads the command's body from.
#[derive(Clone, Copy, Debug)]
pub enum BodyFrom {
    /// A JSON object, required.
    Json,
    /// A JSON object, or nothing at all (an empty body is `{}`).
    OptionalJson,
    /// The query string.
    Query,
    /// Nothing: the route takes no body (one sent is not read).
    Nothing,
}

/// How a route answers a command's result.
pub type Reply<T> = fn(T) -> Response;

/// 200 with the result as JSON.
pub fn ok<T: Serialize>(t: T) -> Response {
    Json(t).into_response()
}

/// 201 with the result as JSON.
pub fn created<T: Serialize>(t: T) -> Response {
    (StatusCode::CREATED, Json(t)).into_response()
}

/// 204.
pub fn no_content(_: Done) -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A mutation's outcome with the status the contract gives it (a replayed
/// create is 201 again): 201 `{note, seq}` for a create, the Board for a
/// rename or a join, 204 for a deletion or removal, 200 otherwise.
pub fn outcome(o: Outcome) -> Response {
    match o {
        o @ Outcome::NoteCreated { .. } => created(o),
        o @ (Outcome::NoteUpdated { .. }
        | Outcome::NoteDeleted { .. }
        | Outcome::RoleChanged { .. }) => ok(o),
        Outcome::BoardRenamed { board } | Outcome::Joined { board } => ok(board),
        Outcome::BoardDeleted | Outcome::MemberRemoved => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Runs `C` for one request.
async fn serve<C: Command>(
    s: Arc<HttpState>,
    from: BodyFrom,
    req: Request,
) -> Result<C::Output, ApiError> {
    let (mut parts, body) = req.into_parts();
    let caller = Principal::from_request_parts(&mut parts, &s).await?;
    // Reads (GET, and HEAD on the same routes) are not mutations.
    if !parts.method.is_safe() {
        mutation_allowed(&s, &caller)?;
    }
    let ids = if C::IDS.is_empty() {
        Vec::new()
    } else {
        PathParams::<Vec<String>>::from_request_parts(&mut parts, &s)
            .await?
            .0
    };
    let body: C::Body = match from {
        BodyFrom::Json => {
            JsonBody::from_request(Request::from_parts(parts, body), &s)
                .await?
                .0
        }
        BodyFrom::OptionalJson => {
            OptionalJson::<Option<C::Body>>::from_request(Request::from_parts(parts, body), &s)
                .await?
                .0
                .map_or_else(empty_body, Ok)?
        }
        BodyFrom::Query => Query::<C::Body>::try_from_uri(&parts.uri)?.0,
        BodyFrom::Nothing => empty_body()?,
    };
    C::parse(Ids::new(ids), body)?
        .execute(&s.app, &caller)
        .await
}

/// Takes one of the caller's REST mutation tokens (`--rest-mutation-rate`).
///
/// # Errors
/// `rate_limited` with `{retry_after, limit}` (the door adds `Retry-After`).
fn mutation_allowed(s: &HttpState, caller: &Principal) -> Result<(), ApiError> {
    let now = tokio::time::Instant::now();
    s.rest_mutations.take(&caller.user.id, now).map_err(|secs| {
        metrics::counter!("corkboard_rest_rate_limited_total").increment(1);
        ApiError::new(ErrorCode::RateLimited, "too many requests; slow down").with_details(
            serde_json::json!({"retry_after": secs, "limit": s.rest_mutations.rate()}),
        )
    })
}

/// The body of a request that sent none: `{}`.
fn empty_body<T: serde::de::DeserializeOwned>() -> Result<T, ApiError> {
    serde_json::from_value(serde_json::json!({}))
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

/// An axum handler for command `C`, reading its body `from` and answering with `reply`.
pub fn rest<C: Command>(
    from: BodyFrom,
    reply: Reply<C::Output>,
) -> impl Fn(State<Arc<HttpState>>, Request) -> Pin<Box<dyn Future<Output = Response> + Send>>
       + Clone
       + Send
       + Sync
       + 'static {
    move |State(s): State<Arc<HttpState>>, req: Request| {
        Box::pin(
            async move {
                match serve::<C>(s, from, req).await {
                    Ok(out) => reply(out),
                    Err(e) => e.into_response(),
                }
            }
            .instrument(telemetry::request_span("http", C::METHOD)),
        )
    }
}
