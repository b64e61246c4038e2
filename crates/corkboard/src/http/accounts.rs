//! Accounts: signup, login, logout and `me`. They set and clear the
//! session cookie, so they are the REST door's own; API tokens are commands
//! ([`crate::commands`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::core::{ApiError, User};
use crate::gateway::extract::{session_cookie, ClientIp, JsonBody};
use crate::gateway::HttpState;
use crate::service::Principal;

/// `{username, password}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    username: String,
    password: String,
}

/// Session lifetime in the browser (the cookie's Max-Age), 30 days.
const SESSION_MAX_AGE: u64 = 30 * 24 * 3600;

fn with_cookie(state: &HttpState, status: StatusCode, user: User, secret: &str) -> Response {
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={SESSION_MAX_AGE}{secure}",
        session_cookie(state.tls)
    );
    let mut res = (status, Json(json!({ "user": user }))).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `POST /api/auth/signup` → 201 `{user}` + session cookie.
pub async fn signup(
    State(s): State<Arc<HttpState>>,
    ClientIp(ip): ClientIp,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let (user, secret) = s.app.signup(&c.username, &c.password, ip).await?;
    Ok(with_cookie(&s, StatusCode::CREATED, user, &secret))
}

/// `POST /api/auth/login` → 200 `{user}` + session cookie; 401 when wrong.
pub async fn login(
    State(s): State<Arc<HttpState>>,
    ClientIp(ip): ClientIp,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let (user, secret) = s.app.login(&c.username, &c.password, ip).await?;
    Ok(with_cookie(&s, StatusCode::OK, user, &secret))
}

/// `POST /api/auth/logout` → 204, revokes the session and clears the cookie.
pub async fn logout(State(s): State<Arc<HttpState>>, p: Principal) -> Result<Response, ApiError> {
    s.app.logout(&p).await?;
    let secure = if s.tls { "; Secure" } else { "" };
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        session_cookie(s.tls)
    );
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// `GET /api/me` → `{user}`.
pub async fn me(p: Principal) -> Json<serde_json::Value> {
    Json(json!({ "user": p.user }))
}
