//! Long polling, the fallback when neither WebSocket nor SSE gets through:
//! `GET /api/boards/{b}/events?after=S&wait=T`. It answers at once when
//! events after `S` exist, otherwise at the first new event, otherwise with
//! an empty list after `T` seconds (at most 30). A position the log cannot
//! continue from (older than it keeps, or beyond the board's seq) is 410.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::core::{ApiError, ErrorCode};
use crate::gateway::extract::PathParams;
use crate::gateway::HttpState;
use crate::realtime::outbox::Drained;
use crate::realtime::{CloseReason, ConnId, Hub, Outbox, Transport};
use crate::service::Principal;
use crate::store::EventsAfter;

/// Longest `wait`, in seconds.
pub const MAX_WAIT_SECS: f64 = 30.0;
/// Most events in one answer (ask again with the returned position for more).
const PAGE: usize = 1000;

/// `?after=S&wait=T`.
#[derive(Deserialize)]
pub struct PollQuery {
    after: Option<String>,
    wait: Option<String>,
}

fn parse_query(q: &PollQuery) -> Result<(u64, Duration), ApiError> {
    parse_after_wait(q.after.as_deref(), q.wait.as_deref())
}

/// The position and the wait of a long poll, from the raw `after` and
/// `wait` query values (public for the fuzz targets in `fuzz/`).
///
/// # Errors
/// `bad_request` for an `after` that is not a seq, or a `wait` that is not
/// a non-negative number of seconds.
pub fn parse_after_wait(
    after: Option<&str>,
    wait: Option<&str>,
) -> Result<(u64, Duration), ApiError> {
    let after = match after.map(str::trim) {
        None | Some("") => 0,
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| ApiError::bad_request("after must be a non-negative integer seq"))?,
    };
    let wait = match wait.map(str::trim) {
        None | Some("") => 0.0,
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|w| w.is_finite() && *w >= 0.0)
            .ok_or_else(|| ApiError::bad_request("wait must be a number of seconds, 0–30"))?,
    };
    Ok((after, Duration::from_secs_f64(wait.min(MAX_WAIT_SECS))))
}

/// `GET /api/boards/{b}/events`.
pub async fn poll(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(board): PathParams<String>,
    Query(q): Query<PollQuery>,
) -> Result<Response, ApiError> {
    let (after, wait) = parse_query(&q)?;
    let deadline = tokio::time::Instant::now() + wait;
    // A poll is a connection like the others: it counts toward the per-user
    // limit, and a logout or token revocation ends it (401).
    let hub = s.app.hub.clone();
    let outbox = Arc::new(Outbox::new(1024));
    let id = hub.register(
        &p.user,
        &p.credential_id,
        Transport::LongPoll,
        outbox.clone(),
    )?;
    let _registered = Registered { hub, id };
    let mut none = Vec::new();
    // Listen before reading the log, so an event committed in between wakes us.
    let mut rx = s.app.bus.subscribe();
    loop {
        match s.app.events_after(&p, &board, after, PAGE).await? {
            EventsAfter::TooOld { seq } | EventsAfter::Future { seq } => {
                return Err(ApiError::new(
                    ErrorCode::Gone,
                    "the log cannot continue from this position; reload the board",
                )
                .with_details(serde_json::json!({"seq": seq})));
            }
            EventsAfter::Events { events, seq }
                if !events.is_empty() || s.shutdown.is_cancelled() =>
            {
                return Ok(answer(&events, seq));
            }
            EventsAfter::Events { seq, .. } => {
                // Wait for a newer event on this board, the deadline, or shutdown.
                let woke = loop {
                    tokio::select! {
                        r = rx.recv() => match r {
                            Ok(ev) if ev.event.board == board && ev.event.seq > after => break true,
                            Ok(_) => continue,
                            Err(RecvError::Lagged(_)) => break true,
                            Err(RecvError::Closed) => break false,
                        },
                        _ = tokio::time::sleep_until(deadline) => break false,
                        _ = s.shutdown.cancelled() => break false,
                        d = outbox.drain(&mut none) => match d {
                            Drained::Close(CloseReason::CredentialRevoked) => {
                                return Err(ApiError::unauthorized(
                                    "the session ended or the token was revoked",
                                ));
                            }
                            Drained::Close(_) => break false,
                            Drained::Frames | Drained::Ping => continue,
                        },
                    }
                };
                if !woke {
                    return Ok(answer(&[], seq));
                }
            }
        }
    }
}

/// Unregisters a poll from the hub when it answers (or is dropped).
struct Registered {
    hub: Arc<Hub>,
    id: ConnId,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

fn answer(events: &[axum::body::Bytes], seq: u64) -> Response {
    let mut body = Vec::with_capacity(events.iter().map(|e| e.len() + 1).sum::<usize>() + 32);
    body.extend_from_slice(b"{\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(e);
    }
    body.extend_from_slice(format!("],\"seq\":{seq}}}").as_bytes());
    let mut res = (StatusCode::OK, Body::from(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(after: Option<&str>, wait: Option<&str>) -> PollQuery {
        PollQuery {
            after: after.map(Into::into),
            wait: wait.map(Into::into),
        }
    }

    #[test]
    fn query_rules() {
        assert_eq!(parse_query(&q(None, None)).unwrap(), (0, Duration::ZERO));
        assert_eq!(
            parse_query(&q(Some("5"), Some("2.5"))).unwrap(),
            (5, Duration::from_millis(2500))
        );
        assert_eq!(
            parse_query(&q(None, Some("99"))).unwrap().1,
            Duration::from_secs(30)
        );
        assert!(parse_query(&q(Some("-1"), None)).is_err());
        assert!(parse_query(&q(Some("x"), None)).is_err());
        assert!(parse_query(&q(None, Some("-2"))).is_err());
        assert!(parse_query(&q(None, Some("NaN"))).is_err());
    }
}
