//! Starting a subscription, shared by WebSocket and SSE: register with the
//! hub first, replay the log (or send a snapshot), then go live. The hub
//! drops live events the replay already covered, so there is no gap and no
//! duplicate however busy the writers are.
//!
//! What it reads comes through [`BoardLog`], which the service implements
//! for one caller (access checked there), so this layer never names the
//! service above it.

use async_trait::async_trait;
use serde::Deserialize;

use super::frames::{self, Transport};
use super::hub::Hub;
use super::outbox::Outbox;
use super::registry::ConnId;
use crate::core::{ApiError, ServerMessage, SnapshotBody};
use crate::store::{EventsAfter, Snapshot};

/// Events read from the store per page during a replay.
const PAGE: usize = 1000;

/// How a subscription started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    /// Replayed `count` events after the requested position, up to `seq`.
    Replayed { count: u64, seq: u64 },
    /// Sent a snapshot at `seq` (no position, or one the log cannot continue from).
    Snapshot { seq: u64 },
    /// The connection closed (or the subscription was revoked) meanwhile.
    Gone,
}

#[derive(Deserialize)]
struct KindSeq {
    kind: String,
    seq: u64,
}

fn replay_frame(
    transport: Transport,
    json: &[u8],
) -> Option<tokio_tungstenite::tungstenite::Utf8Bytes> {
    match transport {
        Transport::WebSocket | Transport::Grpc | Transport::GrpcSubscribe => {
            Some(frames::ws_event(json))
        }
        Transport::Sse | Transport::LongPoll => {
            let ks: KindSeq = serde_json::from_slice(json).ok()?;
            Some(frames::sse_event(&ks.kind, ks.seq, json))
        }
    }
}

/// A board's log and state as one caller may read them.
#[async_trait]
pub trait BoardLog: Send + Sync {
    /// Checks that the caller may read the board.
    ///
    /// # Errors
    /// `not_found` when the caller is not a member of the board.
    async fn check_access(&self, board: &str) -> Result<(), ApiError>;

    /// Up to `limit` events after `after`, or why there are none to give.
    ///
    /// # Errors
    /// `not_found` for non-members; the store's errors.
    async fn events_after(
        &self,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventsAfter, ApiError>;

    /// A consistent snapshot of the board.
    ///
    /// # Errors
    /// `not_found` for non-members; the store's errors.
    async fn snapshot(&self, board: &str) -> Result<Snapshot, ApiError>;
}

/// The connection a subscription is for.
pub struct Subscriber<'a> {
    pub conn: ConnId,
    pub outbox: &'a Outbox,
    pub transport: Transport,
}

/// Subscribes `sub` to `board` from `since` and leaves it live.
///
/// On WebSocket this sends the replayed events then `subscribed` (or
/// `subscribed` with a snapshot); on SSE the replayed events or an
/// `event: snapshot`. The caller sends nothing for this board meanwhile.
///
/// # Errors
/// `not_found` when the caller is not a member of the board.
pub async fn subscribe(
    hub: &Hub,
    log: &dyn BoardLog,
    sub: &Subscriber<'_>,
    board: &str,
    since: Option<u64>,
) -> Result<Started, ApiError> {
    let (conn, outbox, transport) = (sub.conn, sub.outbox, sub.transport);
    log.check_access(board).await?;
    hub.begin(conn, board);
    let result = replay(log, outbox, transport, board, since).await;
    let started = match result {
        Ok(s) => s,
        Err(e) => {
            hub.unsubscribe(conn, board);
            return Err(e);
        }
    };
    let last = match started {
        Started::Replayed { seq, .. } | Started::Snapshot { seq } => seq,
        Started::Gone => return Ok(Started::Gone),
    };
    if !hub.go_live(conn, board, last) {
        return Ok(Started::Gone);
    }
    Ok(started)
}

async fn replay(
    log: &dyn BoardLog,
    outbox: &Outbox,
    transport: Transport,
    board: &str,
    since: Option<u64>,
) -> Result<Started, ApiError> {
    if let Some(mut pos) = since {
        let mut count = 0u64;
        while let EventsAfter::Events { events, .. } = log.events_after(board, pos, PAGE).await? {
            let n = events.len();
            for json in events {
                let Some(frame) = replay_frame(transport, &json) else {
                    continue;
                };
                if !outbox.push_wait(frame).await {
                    return Ok(Started::Gone);
                }
                pos += 1;
                count += 1;
            }
            if n < PAGE {
                if transport.json_frames() {
                    let msg = ServerMessage::Subscribed {
                        board: board.to_owned(),
                        seq: pos,
                        replayed: Some(count),
                        snapshot: None,
                    };
                    if !outbox.push_wait(msg.to_json().into()).await {
                        return Ok(Started::Gone);
                    }
                }
                return Ok(Started::Replayed { count, seq: pos });
            }
        }
    }
    let snap = log.snapshot(board).await?;
    let seq = snap.seq;
    let frame = match transport {
        Transport::WebSocket | Transport::Grpc | Transport::GrpcSubscribe => {
            ServerMessage::Subscribed {
                board: board.to_owned(),
                seq,
                replayed: None,
                snapshot: Some(SnapshotBody {
                    board: snap.board,
                    notes: snap.notes,
                }),
            }
            .to_json()
        }
        Transport::Sse | Transport::LongPoll => format!(
            "event: snapshot\nid: {seq}\ndata: {}\n\n",
            serde_json::to_string(&snap).unwrap_or_default()
        ),
    };
    if !outbox.push_wait(frame.into()).await {
        return Ok(Started::Gone);
    }
    Ok(Started::Snapshot { seq })
}
