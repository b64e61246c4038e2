//! Extractors that fail with the contract's error body: JSON bodies (any
//! content type, unknown fields refused by the target type), path segments,
//! the caller's identity and the client IP.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::HttpState;
use crate::commands::body_from_slice;
use crate::core::ApiError;
use crate::service::Principal;

/// Name of the session cookie over plain HTTP.
pub const SESSION_COOKIE: &str = "corkboard_session";

/// Name of the session cookie when served over TLS (or `--secure-cookies`):
/// the `__Host-` prefix makes browsers refuse it unless it is `Secure`, for
/// `Path=/` and set by this very host, so a sibling subdomain cannot plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-corkboard_session";

/// The session cookie's name for a server that is (or is not) behind TLS.
pub fn session_cookie(tls: bool) -> &'static str {
    if tls {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// A JSON body. Empty, malformed or mistyped bodies are `bad_request`;
/// bodies over the limit are `too_large`.
pub struct JsonBody<T>(pub T);

/// Bytes of an over-limit body read and thrown away before answering 413:
/// closing while the client is still sending makes the kernel reset the
/// connection, and the client would see a reset instead of the answer.
const DRAIN_BYTES: usize = 16 << 20;
/// The longest an over-limit body is drained.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads the body up to the limit. Over it: `too_large` with the limit,
/// after draining what the client still sends (up to [`DRAIN_BYTES`] and
/// [`DRAIN_TIME`]), so the answer arrives.
async fn body_bytes(req: Request, state: &Arc<HttpState>) -> Result<Bytes, ApiError> {
    use futures_util::StreamExt;
    let limit = state.app.limits.http_body_bytes;
    let too_large = || {
        ApiError::too_large("request body is too large")
            .with_details(serde_json::json!({"limit": limit}))
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut body = req.into_body().into_data_stream();
    if declared.is_some_and(|n| n > limit as u64) {
        drain(&mut body).await;
        return Err(too_large());
    }
    let mut buf = bytes::BytesMut::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("could not read the body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            drain(&mut body).await;
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Reads and discards the rest of a body, within the drain bounds.
async fn drain(body: &mut axum::body::BodyDataStream) {
    use futures_util::StreamExt;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        let mut n = 0usize;
        while let Some(Ok(c)) = body.next().await {
            n += c.len();
            if n > DRAIN_BYTES {
                return;
            }
        }
    })
    .await;
}

impl<T: DeserializeOwned> FromRequest<Arc<HttpState>> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<HttpState>) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("a JSON body is required"));
        }
        body_from_slice(&bytes).map(JsonBody)
    }
}

/// A JSON body that may be absent (empty body → `T::default()`).
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<Arc<HttpState>> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<HttpState>) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        body_from_slice(&bytes).map(OptionalJson)
    }
}

/// Path parameters, with contract errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParams<T>(pub T);

/// The client's IP address: the TCP peer, or, when the peer is a trusted
/// proxy (`--trusted-proxy`), the address its forwarding header names.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<Arc<HttpState>> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<HttpState>,
    ) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(
            state.trusted_proxies.client_ip(peer, &parts.headers),
        ))
    }
}

/// The secret a request carries: a Bearer token, else the session cookie
/// (under TLS only the `__Host-` one).
pub fn credential_secret(parts: &Parts, tls: bool) -> Option<String> {
    let cookie_name = session_cookie(tls);
    if let Some(v) = parts.headers.get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, rest) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim().to_owned())
            .filter(|s| !s.is_empty());
    }
    for v in parts.headers.get_all(header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=') {
                if k == cookie_name && !val.is_empty() {
                    return Some(val.to_owned());
                }
            }
        }
    }
    None
}

impl FromRequestParts<Arc<HttpState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<HttpState>,
    ) -> Result<Self, ApiError> {
        let secret = credential_secret(parts, state.tls)
            .ok_or_else(|| ApiError::unauthorized("sign in, or send a Bearer token"))?;
        state.app.authenticate(&secret).await
    }
}
