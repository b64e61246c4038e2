//! Signal routing: typing, cursor and selection signals to a board's other
//! live WebSocket subscribers.
//!
//! Signals are ephemeral, so they follow other rules than events: no seq,
//! never a reason to close a connection. A cursor replaces the same
//! sender's cursor still queued for a receiver (only the newest position
//! matters); any other signal is dropped for a receiver whose outbox is
//! more than half full. This module holds those rules and the walk over a
//! board's subscribers; the hub supplies the subscribers and the
//! cluster-wide sender key.

use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::outbox::CursorKey;
use super::registry::{ConnId, Member};

/// One signal on its way to a board's subscribers.
pub struct Signal<'a> {
    /// The board it is for.
    pub board: &'a str,
    /// The sending connection on this node, which does not get it back
    /// (None for a signal relayed from another node).
    pub except: Option<ConnId>,
    /// The sender's cluster-wide key: cursors coalesce per key.
    pub key: u64,
    /// Whether it is a cursor (coalesced) rather than droppable.
    pub is_cursor: bool,
    /// The frame exactly as subscribers receive it.
    pub frame: Utf8Bytes,
}

/// Queues the signal for every live WebSocket subscriber but the sender and
/// returns how many took it. The frame is shared, never copied; a cursor's
/// key shares the board name, so nothing is allocated per receiver.
pub fn deliver(members: &[Member], signal: Signal<'_>) -> u64 {
    let board_key: Arc<str> = Arc::from(signal.board);
    let mut delivered = 0u64;
    for m in members {
        if Some(m.conn) == signal.except || !m.transport.takes_signals() || !m.is_live() {
            continue;
        }
        let queued = if signal.is_cursor {
            let key: CursorKey = (board_key.clone(), signal.key);
            m.outbox.push_cursor(key, signal.frame.clone())
        } else {
            m.outbox.push_droppable(signal.frame.clone())
        };
        delivered += u64::from(queued);
    }
    delivered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::User;
    use crate::realtime::outbox::Outbox;
    use crate::realtime::registry::Mode;
    use crate::realtime::Transport;

    fn member(conn: ConnId, transport: Transport, live: bool, limit: usize) -> Member {
        Member {
            conn,
            user: Arc::new(User {
                id: format!("u{conn}"),
                username: format!("user{conn}"),
            }),
            transport,
            outbox: Arc::new(Outbox::new(limit)),
            mode: if live {
                Mode::Live { last: 0 }
            } else {
                Mode::Buffering {
                    held: Vec::new(),
                    bytes: 0,
                }
            },
        }
    }

    fn signal(frame: &str, is_cursor: bool) -> Signal<'static> {
        Signal {
            board: "b",
            except: Some(1),
            key: 1,
            is_cursor,
            frame: frame.into(),
        }
    }

    async fn frames(m: &Member) -> Vec<String> {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            m.outbox.drain(&mut out),
        )
        .await;
        out.iter().map(|f| f.as_str().to_owned()).collect()
    }

    #[tokio::test]
    async fn only_other_live_session_subscribers_get_signals() {
        let members = [
            member(1, Transport::WebSocket, true, 1000),
            member(2, Transport::WebSocket, true, 1000),
            member(3, Transport::Sse, true, 1000),
            member(4, Transport::WebSocket, false, 1000),
            member(5, Transport::GrpcSubscribe, true, 1000),
            member(6, Transport::Grpc, true, 1000),
        ];
        assert_eq!(deliver(&members, signal("t", false)), 2);
        assert!(
            frames(&members[0]).await.is_empty(),
            "not back to the sender"
        );
        assert_eq!(frames(&members[1]).await, ["t"]);
        assert!(frames(&members[2]).await.is_empty(), "not on SSE");
        assert!(frames(&members[3]).await.is_empty(), "not while replaying");
        assert!(
            frames(&members[4]).await.is_empty(),
            "not on a gRPC Subscribe stream (it cannot carry them)"
        );
        assert_eq!(frames(&members[5]).await, ["t"], "a gRPC Connect session");
    }

    #[tokio::test]
    async fn cursors_coalesce_and_other_signals_drop_under_pressure() {
        let members = [member(2, Transport::WebSocket, true, 8)];
        assert_eq!(deliver(&members, signal("c1", true)), 1);
        assert_eq!(deliver(&members, signal("c2", true)), 1);
        assert_eq!(
            deliver(&members, signal("typing", false)),
            0,
            "over half full"
        );
        assert_eq!(frames(&members[0]).await, ["c2"]);
        assert!(!members[0].outbox.is_closed(), "a signal never closes");
    }
}
