//! Operational endpoints: liveness and readiness.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::core::ApiError;
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
    crate::gateway::readiness(&s).await.map(Json)
}
