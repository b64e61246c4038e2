//! Operational endpoints: liveness and readiness.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::HttpState;
use crate::core::{ApiError, ErrorCode};

/// `GET /healthz`: the process is up and serving HTTP.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers; 503 `unavailable` otherwise.
pub async fn readyz(State(s): State<Arc<HttpState>>) -> Result<Json<Value>, ApiError> {
    if s.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::new(ErrorCode::Unavailable, "shutting down"));
    }
    match s.app.store.ping().await {
        Ok(()) => Ok(Json(json!({"status": "ready", "store": "ok"}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(ErrorCode::Unavailable, "store unavailable")
                .with_details(json!({"store": "down"})))
        }
    }
}
