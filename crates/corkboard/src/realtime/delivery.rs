//! Event delivery: each committed event to a board's subscribers on this
//! node, exactly once and in seq order, and presence messages to them.
//!
//! Subscribing is two steps so that nothing is lost or repeated while
//! writers are busy. A new subscription *buffers*: live events are held,
//! not sent, while the caller replays the log. The hand-off then sends the
//! held events newer than the last replayed seq and turns the subscription
//! *live*, where an event is sent only if its seq is the next one. Anything
//! else cuts the subscriber off (1013) so it resumes from the log: held
//! events outgrowing the outbox limit, held events that do not follow the
//! replay, or a live event that skips a seq. These rules live here; the hub
//! takes the lock and supplies the board's subscribers.

use std::sync::Arc;

use super::close::CloseReason;
use super::frames::{self, HubEvent, Presence, PresenceKind, Transport};
use super::outbox::Outbox;
use super::registry::{ConnId, Member, Mode};
use crate::core::UnsubscribeReason;
use crate::core::{EventBody, User};

/// Why an event ends a subscriber's access to its board.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// The user was removed from the board (`member.left` for them).
    Removed,
    /// The board was deleted.
    Deleted,
}

impl Revocation {
    /// Whether `body` ends `user`'s access to its board, and why.
    pub fn of(body: &EventBody, user: &User) -> Option<Self> {
        match body {
            EventBody::MemberLeft { user: left, .. } if left.id == user.id => {
                Some(Revocation::Removed)
            }
            EventBody::BoardDeleted {} => Some(Revocation::Deleted),
            _ => None,
        }
    }

    /// The `reason` of the WebSocket `unsubscribed` message.
    pub fn unsubscribed_reason(self) -> UnsubscribeReason {
        match self {
            Revocation::Removed => UnsubscribeReason::Revoked,
            Revocation::Deleted => UnsubscribeReason::Deleted,
        }
    }

    /// Why an SSE stream, which has no `unsubscribed`, ends.
    pub fn close_reason(self) -> CloseReason {
        match self {
            Revocation::Removed => CloseReason::AccessRevoked,
            Revocation::Deleted => CloseReason::BoardDeleted,
        }
    }
}

/// A subscription an event revoked: what the hub needs to end it.
pub struct Revoked {
    /// The subscribing connection.
    pub conn: ConnId,
    /// Its transport: WebSocket gets `unsubscribed`, SSE ends.
    pub transport: Transport,
    /// Its outbox.
    pub outbox: Arc<Outbox>,
    /// Why.
    pub why: Revocation,
}

/// What delivering one event did.
pub struct Delivered {
    /// Subscribers whose outbox took the event.
    pub count: u64,
    /// Subscriptions the event ends, to end after the walk.
    pub revoked: Vec<Revoked>,
    /// Connections whose outbox this event overflowed (1013): their
    /// subscriptions end now, so presence does not wait for a writer that
    /// may be blocked on a peer that stopped reading.
    pub cut: Vec<ConnId>,
}

/// Delivers `ev` to a board's subscribers: held by those still replaying
/// (cut off past `held_limit` bytes), sent to live ones whose next seq it
/// is. The frame is encoded once per transport and shared.
pub fn deliver_event(members: &mut [Member], ev: &Arc<HubEvent>, held_limit: usize) -> Delivered {
    let e = &ev.committed.event;
    let mut revoked = Vec::new();
    let mut cut = Vec::new();
    let mut count = 0u64;
    for m in members.iter_mut() {
        match &mut m.mode {
            Mode::Buffering { held, bytes } => {
                *bytes += ev.committed.json.len();
                held.push(ev.clone());
                if *bytes > held_limit {
                    m.outbox.close(CloseReason::ReplayOverflow);
                }
            }
            Mode::Live { last } => {
                if e.seq <= *last {
                    continue;
                }
                if e.seq != *last + 1 {
                    tracing::warn!(board = %e.board, expected = *last + 1, got = e.seq, "gap in live events; cutting the subscriber off to resume");
                    m.outbox.close(CloseReason::EventGap);
                    continue;
                }
                *last = e.seq;
                if m.outbox.push(ev.frame(m.transport)) {
                    count += 1;
                } else if m
                    .outbox
                    .close_reason()
                    .is_some_and(CloseReason::is_overload)
                {
                    cut.push(m.conn);
                }
            }
        }
        if let Some(why) = Revocation::of(&e.body, &m.user) {
            revoked.push(Revoked {
                conn: m.conn,
                transport: m.transport,
                outbox: m.outbox.clone(),
                why,
            });
        }
    }
    Delivered {
        count,
        revoked,
        cut,
    }
}

/// How a subscription's hand-off from replay to live ended.
#[derive(Debug, PartialEq, Eq)]
pub enum HandOff {
    /// Live, caught up.
    Live,
    /// The held events did not follow the replay: cut off (1013).
    Gap,
    /// A held event ended the user's access; the subscription must end.
    Revoked(Revocation),
}

/// Ends buffering: sends the held events after `last_seq` (the replay's
/// last) and switches the subscription to live.
pub fn hand_off(m: &mut Member, last_seq: u64) -> HandOff {
    let held = m.go_live(last_seq);
    let mut last = last_seq;
    let mut revoked = None;
    for ev in held {
        let seq = ev.committed.event.seq;
        if seq <= last {
            continue;
        }
        if seq != last + 1 {
            m.outbox.close(CloseReason::ReplayGap);
            return HandOff::Gap;
        }
        m.outbox.push(ev.frame(m.transport));
        last = seq;
        revoked = revoked.or(Revocation::of(&ev.committed.event.body, &m.user));
    }
    m.mode = Mode::Live { last };
    match revoked {
        Some(why) => HandOff::Revoked(why),
        None => HandOff::Live,
    }
}

/// Sends a presence message to the board's live subscribers but `except`,
/// encoded at most once per transport.
pub fn broadcast_presence(
    members: &[Member],
    board: &str,
    except: Option<ConnId>,
    kind: PresenceKind,
    list: &[Presence],
) {
    let mut ws = None;
    let mut sse = None;
    for m in members {
        if Some(m.conn) == except || !m.is_live() {
            continue;
        }
        let cached = match m.transport {
            Transport::WebSocket | Transport::Grpc | Transport::GrpcSubscribe => &mut ws,
            Transport::Sse | Transport::LongPoll => &mut sse,
        };
        let frame = cached.get_or_insert_with(|| frames::presence(m.transport, board, kind, list));
        m.outbox.push(frame.clone());
    }
}
