//! The one place an [`ApiError`] becomes an HTTP response, and the mapping of
//! axum's own rejections into the contract's error body.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::core::{ApiError, ErrorCode};

/// The HTTP status of each contract code: the REST door's one table.
pub fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest
        | ErrorCode::InvalidMessage
        | ErrorCode::UnknownType
        | ErrorCode::UnknownMethod => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Gone => StatusCode::GONE,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status(self.code);
        let retry_after = self
            .details
            .as_ref()
            .and_then(|d| d.get("retry_after"))
            .and_then(|v| v.as_u64());
        let mut res = (status, Json(self.body())).into_response();
        if let Some(secs) = retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if self.code == ErrorCode::Unauthorized {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(format!("bad path: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(format!("bad query: {}", r.body_text()))
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large("request body is too large")
        } else {
            ApiError::bad_request(format!("could not read body: {}", r.body_text()))
        }
    }
}

/// Answer for a known path with a method it does not support.
pub async fn no_method() -> ApiError {
    ApiError::not_found("no such route for this method")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statuses follow the contract's table (protocol.md, "Error codes").
    #[test]
    fn statuses_follow_the_contract_table() {
        let want = [
            400, 400, 400, 400, 401, 403, 404, 409, 410, 413, 429, 503, 500,
        ];
        for (code, want) in ErrorCode::ALL.into_iter().zip(want) {
            assert_eq!(status(code).as_u16(), want, "{code:?}");
        }
    }
}
