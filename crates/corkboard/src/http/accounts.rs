//! Accounts: signup, login, logout (of this session or all of them), the
//! password change and `me`. They set and clear the session cookie, so they
//! are the REST door's own; API tokens and the session list are commands
//! ([`crate::commands`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::core::{ApiError, User};
use crate::gateway::extract::{session_cookie, ClientIp, JsonBody};
use crate::gateway::HttpState;
use crate::service::{ClientInfo, Principal};

/// `{username, password}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    username: String,
    password: String,
}

/// `{current_password, new_password}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

fn with_cookie(state: &HttpState, status: StatusCode, user: User, secret: &str) -> Response {
    let secure = if state.tls { "; Secure" } else { "" };
    // The browser keeps the cookie as long as the server honours the session at most.
    let max_age = state.app.sessions.max_age_ms.div_euclid(1000);
    let cookie = format!(
        "{}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
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
    headers: HeaderMap,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let client = client_info(ip, &headers);
    let (user, secret) = s.app.signup(&c.username, &c.password, &client).await?;
    Ok(with_cookie(&s, StatusCode::CREATED, user, &secret))
}

/// `POST /api/auth/login` → 200 `{user}` + session cookie; 401 when wrong.
pub async fn login(
    State(s): State<Arc<HttpState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(c): JsonBody<Credentials>,
) -> Result<Response, ApiError> {
    let client = client_info(ip, &headers);
    let (user, secret) = s.app.login(&c.username, &c.password, &client).await?;
    Ok(with_cookie(&s, StatusCode::OK, user, &secret))
}

/// `POST /api/auth/logout` → 204, revokes the session and clears the cookie.
pub async fn logout(State(s): State<Arc<HttpState>>, p: Principal) -> Result<Response, ApiError> {
    s.app.logout(&p).await?;
    Ok(cleared(&s))
}

/// `POST /api/auth/logout-all` → 204: revokes every session of the caller,
/// this one included ("sign out everywhere"), and clears the cookie.
pub async fn logout_all(
    State(s): State<Arc<HttpState>>,
    p: Principal,
) -> Result<Response, ApiError> {
    s.app.revoke_sessions(&p, true).await?;
    Ok(cleared(&s))
}

/// `POST /api/auth/password` → 204: changes the password (the current one
/// must be right: 403 `forbidden` otherwise, throttled like logins) and
/// ends the caller's other sessions; this one and API tokens are kept.
pub async fn change_password(
    State(s): State<Arc<HttpState>>,
    ClientIp(ip): ClientIp,
    p: Principal,
    JsonBody(c): JsonBody<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    s.app
        .change_password(&p, &c.current_password, &c.new_password, ip)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where a sign-in comes from.
fn client_info(ip: std::net::IpAddr, headers: &HeaderMap) -> ClientInfo {
    ClientInfo {
        ip,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    }
}

/// A 204 that clears the session cookie.
fn cleared(s: &HttpState) -> Response {
    let secure = if s.tls { "; Secure" } else { "" };
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
        session_cookie(s.tls)
    );
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// `GET /api/me` → `{user}`.
pub async fn me(p: Principal) -> Json<serde_json::Value> {
    Json(json!({ "user": p.user }))
}
