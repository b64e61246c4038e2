//! `Subscribe` and `Notifications`: server streams fed by the hub.
//!
//! `Subscribe` is a one-board subscription of the shared kind
//! ([`crate::realtime::subscribe`]): snapshot or replay, `subscribed`,
//! presence, then live events exactly once in seq order. It ends with OK
//! after `unsubscribed` (lost access), with UNAVAILABLE on shutdown,
//! UNAUTHENTICATED when its token is revoked, and RESOURCE_EXHAUSTED when
//! the client falls behind by more than the outbox holds.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use tokio_util::sync::CancellationToken;
use tonic::Status;

use super::convert::{self, Decoded};
use super::feed::{FrameDecoder, HubConn};
use super::pb;
use super::wire::EncodedUpdate;
use crate::core::ApiError;
use crate::gateway::HttpState;
use crate::realtime::subscribe::{subscribe, Subscriber};
use crate::realtime::{CloseReason, Transport};
use crate::service::notification_stream::{self, Start};
use crate::service::Principal;

/// A boxed response stream.
pub type Updates<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Reads a stream's outbox, mapping each decoded frame to messages with
/// `map`; ends as the outbox or shutdown says.
struct Reader<T, F> {
    conn: HubConn,
    decoder: Arc<FrameDecoder>,
    shutdown: CancellationToken,
    queue: VecDeque<T>,
    /// The status to end with once the queue is sent (`None` inside: OK).
    end: Option<Option<Status>>,
    map: F,
}

/// What `map` says about a frame.
enum Mapped {
    /// Go on.
    More,
    /// The stream is over (OK) after what was queued.
    Done,
}

fn reader_stream<T, F>(
    conn: HubConn,
    s: &HttpState,
    decoder: &Arc<FrameDecoder>,
    map: F,
) -> Updates<T>
where
    T: Send + 'static,
    F: FnMut(&Decoded, &mut VecDeque<T>) -> Mapped + Send + 'static,
{
    let r = Reader {
        conn,
        decoder: decoder.clone(),
        shutdown: s.shutdown.clone(),
        queue: VecDeque::new(),
        end: None,
        map,
    };
    Box::pin(futures_util::stream::unfold(r, |mut r| async move {
        loop {
            if let Some(m) = r.queue.pop_front() {
                return Some((Ok(m), r));
            }
            if let Some(end) = r.end.take() {
                r.end = Some(None);
                return end.map(|s| (Err(s), r));
            }
            let batch = r.conn.next(&r.decoder, Some(&r.shutdown)).await;
            for d in &batch.frames {
                if let Mapped::Done = (r.map)(d, &mut r.queue) {
                    r.end = Some(None);
                    break;
                }
            }
            if r.end.is_some() {
                continue;
            }
            if let Some(end) = batch.end {
                r.end = Some(end.status());
            }
        }
    }))
}

/// Starts `Subscribe` for `p`: access is checked before the stream starts,
/// so a board the caller cannot see is NOT_FOUND.
///
/// # Errors
/// `not_found`, `bad_request` for a missing board, `rate_limited` over the
/// per-user connection limit.
pub async fn board(
    s: &Arc<HttpState>,
    decoder: &Arc<FrameDecoder>,
    p: Principal,
    req: pb::SubscribeRequest,
) -> Result<Updates<EncodedUpdate>, ApiError> {
    let board = convert::required("board", req.board)?;
    s.app.board(&p, &board).await?;
    let conn = HubConn::register(s, &p, Transport::GrpcSubscribe)?;
    let (id, outbox) = (conn.id, conn.outbox.clone());
    let state = s.clone();
    let b = board.clone();
    let since = req.since;
    s.tracker.spawn(async move {
        let sub = Subscriber {
            conn: id,
            outbox: &outbox,
            transport: Transport::GrpcSubscribe,
        };
        let log = state.app.log_for(&p);
        if let Err(e) = subscribe(&state.app.hub, &log, &sub, &b, since).await {
            tracing::debug!(error = %e, "gRPC subscription ended");
            outbox.close(CloseReason::SubscribeFailed);
        }
    });
    let map = move |d: &Decoded, q: &mut VecDeque<EncodedUpdate>| {
        let Decoded::Updates {
            encoded,
            unsubscribed,
        } = d
        else {
            return Mapped::More;
        };
        q.extend(encoded.iter().cloned());
        if unsubscribed.as_deref() == Some(board.as_str()) {
            return Mapped::Done;
        }
        Mapped::More
    };
    Ok(reader_stream(conn, s, decoder, map))
}

/// Starts `Notifications` for `p`: after `after`, or the unread ones.
///
/// # Errors
/// `bad_request` for an `after` that is not a notification id;
/// `rate_limited` over the per-user connection limit.
pub fn notifications(
    s: &Arc<HttpState>,
    decoder: &Arc<FrameDecoder>,
    p: Principal,
    req: pb::NotificationsRequest,
) -> Result<Updates<pb::NotificationUpdate>, ApiError> {
    let from = match req.after.as_deref().map(str::trim) {
        None | Some("") => Start::Unread,
        // An id beyond any there is (even beyond u64) starts from now.
        Some(a) if !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) => {
            Start::After(a.parse().unwrap_or(u64::MAX))
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "after must be a notification id (decimal digits)",
            ))
        }
    };
    let conn = HubConn::register(s, &p, Transport::GrpcSubscribe)?;
    let (id, outbox) = (conn.id, conn.outbox.clone());
    let user_id = p.user.id.clone();
    s.app.notify.begin(&user_id, id, outbox.clone());
    let guard = NotifyGuard {
        notify: s.app.notify.clone(),
        user_id: user_id.clone(),
        id,
    };
    let state = s.clone();
    s.tracker.spawn(async move {
        notification_stream::start(&state.app, &user_id, id, &outbox, from).await;
    });
    let map = move |d: &Decoded, q: &mut VecDeque<pb::NotificationUpdate>| {
        let _keep = &guard;
        if let Decoded::Notification(u) = d {
            q.push_back(u.clone());
        }
        Mapped::More
    };
    Ok(reader_stream(conn, s, decoder, map))
}

/// Removes a notification stream from the notify hub when it ends.
struct NotifyGuard {
    notify: Arc<crate::realtime::NotifyHub>,
    user_id: String,
    id: crate::realtime::ConnId,
}

impl Drop for NotifyGuard {
    fn drop(&mut self) {
        self.notify.remove(&self.user_id, self.id);
    }
}
