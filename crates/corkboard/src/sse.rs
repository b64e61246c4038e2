//! The Server-Sent Events door: `GET /api/boards/{b}/stream` and
//! `GET /api/notifications/stream`. Thin adapters over the hub: a stream is a
//! connection with an outbox whose frames are `event:`/`id:`/`data:` blocks,
//! encoded once per event and shared by every SSE subscriber.
//!
//! A stream starts with a `retry:` line, carries a `: keep-alive` comment at
//! least every 15 s, resumes from `Last-Event-ID` (or `?since=`), and ends
//! with `event: shutdown` when the server stops. A stream whose outbox
//! overflows ends; the client reconnects and resumes.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;

use crate::core::ApiError;
use crate::gateway::extract::PathParams;
use crate::gateway::HttpState;
use crate::realtime::outbox::{self, Drained, Interrupt};
use crate::realtime::subscribe::{subscribe, Subscriber};
use crate::realtime::ConnId;
use crate::realtime::{CloseReason, Hub, Outbox, Transport};
use crate::service::notification_stream::{self, Start};
use crate::service::Principal;

pub use crate::gateway::settings::SseSettings;

/// `?since=` on stream routes.
#[derive(Deserialize)]
pub struct SinceQuery {
    since: Option<String>,
}

/// The resume position: `Last-Event-ID` first, then `?since=`.
///
/// # Errors
/// `bad_request` when the value is not a decimal number.
pub fn resume_position(headers: &HeaderMap, since: Option<&str>) -> Result<Option<u64>, ApiError> {
    let raw = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{0}").trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| since.map(|s| s.trim().to_owned()));
    match raw {
        None => Ok(None),
        Some(s) => s.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "Last-Event-ID / since must be a decimal event id, got {s:?}"
            ))
        }),
    }
}

/// Unregisters the stream (and closes its outbox) when the response body is dropped.
struct StreamGuard {
    hub: Arc<Hub>,
    id: ConnId,
    outbox: Arc<Outbox>,
    on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.outbox.close(CloseReason::ClientClosed);
        self.hub.unregister(self.id);
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}

struct BodyState {
    outbox: Arc<Outbox>,
    keepalive: tokio::time::Interval,
    retry_ms: u64,
    first: bool,
    done: bool,
    buf: Vec<tokio_tungstenite::tungstenite::Utf8Bytes>,
    _guard: Option<StreamGuard>,
}

/// The body of an SSE response: `retry:` first, then the outbox's frames as
/// they come (several per chunk when more than one is queued), keep-alive
/// comments, and `event: shutdown` at the end, when the hub asks the outbox
/// ([`Outbox::request_shutdown`]; tests drive it without a guard).
#[cfg(test)]
fn sse_body(
    outbox: Arc<Outbox>,
    settings: &SseSettings,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    body_with_guard(outbox, settings, None)
}

/// What woke an idle stream.
enum Wake {
    /// The outbox had frames, or closed.
    Drained(Drained),
    /// The server is shutting down.
    Shutdown,
    /// The outbox closed: the next drain says why.
    Closed,
    /// Time for a keep-alive comment.
    Keepalive,
}

fn body_with_guard(
    outbox: Arc<Outbox>,
    settings: &SseSettings,
    guard: Option<StreamGuard>,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
    let start = tokio::time::Instant::now() + settings.keepalive;
    let st = BodyState {
        outbox,
        keepalive: tokio::time::interval_at(start, settings.keepalive),
        retry_ms: settings.retry_ms,
        first: true,
        done: false,
        buf: Vec::new(),
        _guard: guard,
    };
    futures_util::stream::unfold(st, |mut st| async move {
        if st.done {
            return None;
        }
        if st.first {
            st.first = false;
            let hello = format!("retry: {}\n\n", st.retry_ms);
            return Some((Ok(Bytes::from(hello)), st));
        }
        // The stream's own outbox says when the server shuts down, so a
        // wake-up touches nothing shared with other streams.
        let wake = tokio::select! {
            biased;
            drained = st.outbox.drain(&mut st.buf) => Wake::Drained(drained),
            why = st.outbox.interrupted() => match why {
                Interrupt::Shutdown => Wake::Shutdown,
                Interrupt::Closed => Wake::Closed,
            },
            _ = st.keepalive.tick() => Wake::Keepalive,
        };
        let drained = match wake {
            Wake::Drained(drained) => drained,
            Wake::Closed => st.outbox.drain(&mut st.buf).await,
            Wake::Keepalive => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), st)),
            Wake::Shutdown => {
                st.done = true;
                let block = shutdown_block(st.retry_ms);
                return Some((Ok(Bytes::from(block)), st));
            }
        };
        // One shared frame goes out as is (no copy per subscriber).
        if st.buf.len() == 1 && matches!(drained, Drained::Frames) {
            let frame = Bytes::from(st.buf.pop().unwrap_or_default());
            outbox::free_batch(&mut st.buf);
            metrics::counter!("corkboard_sse_bytes_total").increment(frame.len() as u64);
            return Some((Ok(frame), st));
        }
        let mut chunk = String::new();
        for f in st.buf.drain(..) {
            chunk.push_str(f.as_str());
        }
        outbox::free_batch(&mut st.buf);
        if let Drained::Close(reason) = drained {
            // SSE has no close frame: the cause goes to the log.
            tracing::debug!(reason = reason.reason(), "SSE stream ends");
            st.done = true;
            if reason == CloseReason::Shutdown {
                chunk.push_str(&shutdown_block(st.retry_ms));
            }
        }
        if chunk.is_empty() {
            if st.done {
                return None;
            }
            chunk.push_str(": \n\n");
        }
        metrics::counter!("corkboard_sse_bytes_total").increment(chunk.len() as u64);
        Some((Ok(Bytes::from(chunk)), st))
    })
}

/// `event: shutdown` with the `retry:` hint (and empty data, so EventSource dispatches it).
fn shutdown_block(retry_ms: u64) -> String {
    format!("event: shutdown\nretry: {retry_ms}\ndata: {{}}\n\n")
}

/// Registers a new stream's outbox with the hub, and tells it at once when
/// the server is already shutting down (the hub told the streams it had).
fn register_stream(s: &HttpState, p: &Principal) -> Result<(ConnId, Arc<Outbox>), ApiError> {
    let outbox = Arc::new(Outbox::new(s.app.hub.outbox_bytes()));
    let id = s
        .app
        .hub
        .register(&p.user, &p.credential_id, Transport::Sse, outbox.clone())?;
    if s.shutdown.is_cancelled() {
        outbox.request_shutdown();
    }
    Ok((id, outbox))
}

fn sse_response(body: Body) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}

/// `GET /api/boards/{b}/stream`: the board's events (resumable), presence,
/// and the end of the stream when access is lost.
pub async fn board_stream(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(board): PathParams<String>,
    headers: HeaderMap,
    Query(q): Query<SinceQuery>,
) -> Result<Response, ApiError> {
    let since = resume_position(&headers, q.since.as_deref())?;
    s.app.board(&p, &board).await?;
    let hub = s.app.hub.clone();
    let (id, outbox) = register_stream(&s, &p)?;
    let guard = StreamGuard {
        hub: hub.clone(),
        id,
        outbox: outbox.clone(),
        on_drop: None,
    };
    metrics::counter!("corkboard_sse_streams_total", "kind" => "board").increment(1);
    let task_outbox = outbox.clone();
    let state = s.clone();
    s.tracker.spawn(async move {
        let sub = Subscriber {
            conn: id,
            outbox: &task_outbox,
            transport: Transport::Sse,
        };
        let log = state.app.log_for(&p);
        if let Err(e) = subscribe(&state.app.hub, &log, &sub, &board, since).await {
            tracing::debug!(error = %e, "board stream subscription ended");
            task_outbox.close(CloseReason::SubscribeFailed);
        }
    });
    let body = body_with_guard(outbox, &s.sse, Some(guard));
    Ok(sse_response(Body::from_stream(body)))
}

/// `GET /api/notifications/stream`: the caller's notifications (resumable
/// by `Last-Event-ID`) and `unread` counts. Without a position it starts
/// with what arrives from now on (the list is at `GET /api/notifications`).
pub async fn notification_stream(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    headers: HeaderMap,
    Query(q): Query<SinceQuery>,
) -> Result<Response, ApiError> {
    let since = resume_position(&headers, q.since.as_deref())?;
    let hub = s.app.hub.clone();
    let (id, outbox) = register_stream(&s, &p)?;
    let notify = s.app.notify.clone();
    let user_id = p.user.id.clone();
    notify.begin(&user_id, id, outbox.clone());
    let guard = StreamGuard {
        hub,
        id,
        outbox: outbox.clone(),
        on_drop: Some(Box::new({
            let notify = notify.clone();
            let user_id = user_id.clone();
            move || notify.remove(&user_id, id)
        })),
    };
    metrics::counter!("corkboard_sse_streams_total", "kind" => "notifications").increment(1);
    let state = s.clone();
    let task_outbox = outbox.clone();
    s.tracker.spawn(async move {
        let from = since.map_or(Start::Now, Start::After);
        notification_stream::start(&state.app, &user_id, id, &task_outbox, from).await;
    });
    let body = body_with_guard(outbox, &s.sse, Some(guard));
    Ok(sse_response(Body::from_stream(body)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::time::Duration;

    async fn next(s: &mut (impl Stream<Item = Result<Bytes, Infallible>> + Unpin)) -> String {
        let b = s.next().await.unwrap().unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn retry_first_then_keepalive_every_interval() {
        let outbox = Arc::new(Outbox::new(1 << 16));
        let settings = SseSettings::default();
        let mut body = Box::pin(sse_body(outbox.clone(), &settings));
        assert_eq!(next(&mut body).await, "retry: 2000\n\n");
        // Nothing queued: after 15 s of (virtual) time, a keep-alive comment.
        let t0 = tokio::time::Instant::now();
        assert_eq!(next(&mut body).await, ": keep-alive\n\n");
        assert_eq!(t0.elapsed(), Duration::from_secs(15));
        outbox.push("event: x\nid: 1\ndata: {}\n\n".into());
        outbox.push("event: y\nid: 2\ndata: {}\n\n".into());
        assert_eq!(
            next(&mut body).await,
            "event: x\nid: 1\ndata: {}\n\nevent: y\nid: 2\ndata: {}\n\n"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_sends_a_shutdown_event_with_retry_and_ends() {
        let outbox = Arc::new(Outbox::new(1 << 16));
        let mut body = Box::pin(sse_body(outbox.clone(), &SseSettings::default()));
        next(&mut body).await;
        outbox.request_shutdown();
        assert_eq!(
            next(&mut body).await,
            "event: shutdown\nretry: 2000\ndata: {}\n\n"
        );
        assert!(body.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_closed_outbox_sends_what_was_queued_then_ends() {
        let outbox = Arc::new(Outbox::new(1 << 16));
        let mut body = Box::pin(sse_body(outbox.clone(), &SseSettings::default()));
        next(&mut body).await;
        outbox.push("event: x\nid: 1\ndata: {}\n\n".into());
        outbox.close(CloseReason::SubscribeFailed);
        assert_eq!(next(&mut body).await, "event: x\nid: 1\ndata: {}\n\n");
        assert!(body.next().await.is_none());
    }

    #[test]
    fn resume_position_rules() {
        let mut h = HeaderMap::new();
        assert_eq!(resume_position(&h, None).unwrap(), None);
        assert_eq!(resume_position(&h, Some("7")).unwrap(), Some(7));
        h.insert("last-event-id", HeaderValue::from_static(" 12 "));
        assert_eq!(resume_position(&h, Some("7")).unwrap(), Some(12));
        h.insert("last-event-id", HeaderValue::from_static("abc"));
        assert!(resume_position(&h, None).is_err());
        assert!(resume_position(&HeaderMap::new(), Some("-1")).is_err());
    }
}
