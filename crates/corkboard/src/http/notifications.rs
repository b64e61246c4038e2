//! Notifications over REST: the list (newest first) and marking read.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::JsonBody;
use super::HttpState;
use crate::core::ApiError;
use crate::service::Principal;

/// `?after=N`.
#[derive(Deserialize)]
pub struct AfterQuery {
    after: Option<String>,
}

/// A notification id: a string of decimal digits (a JSON number is accepted too).
fn parse_id(v: &Value, field: &str) -> Result<u64, ApiError> {
    let parsed = match v {
        Value::String(s) => s.trim().parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        ApiError::bad_request(format!(
            "{field} must be a notification id (decimal digits)"
        ))
        .with_details(json!({"field": field}))
    })
}

/// `GET /api/notifications?after=N` → `{notifications, unread}`.
pub async fn list(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    Query(q): Query<AfterQuery>,
) -> Result<Json<Value>, ApiError> {
    let after = match q.after.as_deref() {
        None | Some("") => 0,
        Some(a) => parse_id(&Value::String(a.into()), "after")?,
    };
    let (list, unread) = s.app.notifications(&p, after).await?;
    Ok(Json(json!({"notifications": list, "unread": unread})))
}

/// `{up_to}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    up_to: Value,
}

/// `POST /api/notifications/read {up_to}` → 204.
pub async fn read(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    JsonBody(b): JsonBody<ReadBody>,
) -> Result<StatusCode, ApiError> {
    let up_to = parse_id(&b.up_to, "up_to")?;
    s.app.mark_read(&p, up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}
