//! Operational endpoints: liveness and readiness.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::core::{ApiError, ErrorCode};
use crate::gateway::HttpState;

/// `GET /healthz`: the process is up and serving HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers and, in cluster mode, Redis does too;
/// 503 `unavailable` with `{store, bus}` saying which is down otherwise.
/// Without Redis a node still serves and commits (degraded: other nodes'
/// changes reach it by polling the log), but a load balancer should prefer
/// nodes that are fully up.
pub async fn readyz(State(s): State<Arc<HttpState>>) -> Result<Json<Value>, ApiError> {
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
        return Ok(Json(body));
    }
    let what = if store == "down" {
        "store unavailable"
    } else {
        "Redis unavailable"
    };
    Err(ApiError::new(ErrorCode::Unavailable, what).with_details(body))
}
