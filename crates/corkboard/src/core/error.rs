//! The contract's error: a code from a closed list, a human message and
//! optional details. Every layer's error is mapped to this once; each door
//! turns it into its own form (HTTP status, WebSocket error frame) from one table.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The contract's error codes (protocol.md, "Error codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    InvalidMessage,
    UnknownType,
    UnknownMethod,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    TooLarge,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// Every code, in the contract's order.
    pub const ALL: [ErrorCode; 13] = [
        Self::BadRequest,
        Self::InvalidMessage,
        Self::UnknownType,
        Self::UnknownMethod,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::Conflict,
        Self::Gone,
        Self::TooLarge,
        Self::RateLimited,
        Self::Unavailable,
        Self::Internal,
    ];

    /// The wire spelling, e.g. `not_found`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidMessage => "invalid_message",
            Self::UnknownType => "unknown_type",
            Self::UnknownMethod => "unknown_method",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::TooLarge => "too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

/// A rejection the client can act on, in the contract's shape.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// Which contract code this is.
    pub code: ErrorCode,
    /// Human text; never carries internal details.
    pub message: String,
    /// Machine-readable extras, e.g. the current note on `conflict`.
    pub details: Option<Value>,
}

impl ApiError {
    /// An error with a code and message, no details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }
    /// Adds `details` to the error.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
    /// `bad_request` with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }
    /// `not_found` with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    /// `forbidden` with a message.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    /// `unauthorized` with a message.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    /// `conflict` with a message.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }
    /// `too_large` with a message.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::TooLarge, message)
    }
    /// `internal`; the cause is logged by the caller, not sent.
    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }

    /// The error body: `{"error": {"code", "message", "details"?}}`.
    pub fn body(&self) -> Value {
        let mut inner = serde_json::json!({
            "code": self.code.as_str(),
            "message": self.message,
        });
        if let Some(d) = &self.details {
            inner["details"] = d.clone();
        }
        serde_json::json!({ "error": inner })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spelling_is_the_serde_spelling() {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().into())
            );
        }
    }

    #[test]
    fn body_has_the_contract_shape() {
        let e = ApiError::conflict("x").with_details(serde_json::json!({"note": 1}));
        assert_eq!(
            e.body(),
            serde_json::json!({"error": {"code": "conflict", "message": "x", "details": {"note": 1}}})
        );
        assert!(ApiError::not_found("y").body()["error"]
            .get("details")
            .is_none());
    }
}
