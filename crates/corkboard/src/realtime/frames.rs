//! Encoding of server → client messages. Each shared message is encoded once
//! and the same bytes go to every subscriber of a transport.

use std::sync::{Arc, OnceLock};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::core::{ServerMessage, UnsubscribeReason};
use crate::store::CommittedEvent;

/// How a subscriber's frames are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One JSON text frame per message.
    WebSocket,
    /// `event:`/`id:`/`data:` blocks.
    Sse,
    /// A gRPC Connect session: the WebSocket frames, which the gRPC door
    /// decodes into protobuf messages (once per shared frame, see `grpc::feed`).
    Grpc,
    /// A gRPC `Subscribe` stream: as [`Transport::Grpc`], without signals
    /// (its messages cannot carry them).
    GrpcSubscribe,
    /// A long poll waiting for events: counted and revocable like the
    /// others, never subscribed (it reads the log), so it gets no frames.
    LongPoll,
}

impl Transport {
    /// Whether this transport's frames are the WebSocket JSON messages.
    pub fn json_frames(self) -> bool {
        matches!(
            self,
            Transport::WebSocket | Transport::Grpc | Transport::GrpcSubscribe
        )
    }

    /// Whether this transport delivers ephemeral signals.
    pub fn takes_signals(self) -> bool {
        matches!(self, Transport::WebSocket | Transport::Grpc)
    }

    /// The label of this transport in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::Sse => "sse",
            Transport::LongPoll => "longpoll",
            Transport::Grpc | Transport::GrpcSubscribe => "grpc",
        }
    }
}

/// A committed event with its per-transport encodings, built at most once.
pub struct HubEvent {
    pub committed: Arc<CommittedEvent>,
    ws: OnceLock<Utf8Bytes>,
    sse: OnceLock<Utf8Bytes>,
}

impl HubEvent {
    /// Wraps a committed event.
    pub fn new(committed: Arc<CommittedEvent>) -> Self {
        Self {
            committed,
            ws: OnceLock::new(),
            sse: OnceLock::new(),
        }
    }

    /// The frame for `transport` (encoded on first use, then shared).
    pub fn frame(&self, transport: Transport) -> Utf8Bytes {
        match transport {
            Transport::WebSocket | Transport::Grpc | Transport::GrpcSubscribe => self
                .ws
                .get_or_init(|| ws_event(&self.committed.json))
                .clone(),
            Transport::Sse | Transport::LongPoll => self
                .sse
                .get_or_init(|| {
                    sse_event(
                        self.committed.event.kind(),
                        self.committed.event.seq,
                        &self.committed.json,
                    )
                })
                .clone(),
        }
    }
}

/// `{"type":"event", ...Event}` from the stored event JSON, without re-encoding it.
pub fn ws_event(event_json: &[u8]) -> Utf8Bytes {
    let body = std::str::from_utf8(event_json).unwrap_or("{}");
    let rest = body.strip_prefix('{').unwrap_or(body);
    let mut s = String::with_capacity(body.len() + 16);
    s.push_str("{\"type\":\"event\"");
    if rest != "}" {
        s.push(',');
    }
    s.push_str(rest);
    Utf8Bytes::from(s)
}

/// An SSE block with `event:`, `id:` and `data:` lines.
pub fn sse_event(kind: &str, id: u64, data: &[u8]) -> Utf8Bytes {
    let data = std::str::from_utf8(data).unwrap_or("{}");
    Utf8Bytes::from(format!("event: {kind}\nid: {id}\ndata: {data}\n\n"))
}

/// An SSE block without an `id:` line (presence, unread counts…).
pub fn sse_unnumbered(kind: &str, data: &str) -> Utf8Bytes {
    Utf8Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

pub use crate::core::Presence;

/// Which list a presence message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresenceKind {
    Joined,
    Left,
    Members,
}

/// The presence message for `transport`.
pub fn presence(
    transport: Transport,
    board: &str,
    kind: PresenceKind,
    list: &[Presence],
) -> Utf8Bytes {
    let list = Some(list.to_vec());
    let (joined, left, members) = match kind {
        PresenceKind::Joined => (list, None, None),
        PresenceKind::Left => (None, list, None),
        PresenceKind::Members => (None, None, list),
    };
    let json = ServerMessage::Presence {
        board: board.to_owned(),
        joined,
        left,
        members,
    }
    .to_json();
    match transport {
        Transport::WebSocket | Transport::Grpc | Transport::GrpcSubscribe => Utf8Bytes::from(json),
        Transport::Sse | Transport::LongPoll => sse_unnumbered("presence", &json),
    }
}

/// `{"type":"unsubscribed","board":B,"reason"?}`.
pub fn unsubscribed(board: &str, reason: Option<UnsubscribeReason>) -> Utf8Bytes {
    let m = ServerMessage::Unsubscribed {
        board: board.to_owned(),
        reason,
    };
    Utf8Bytes::from(m.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Timestamp, User};

    #[test]
    fn event_frames_reuse_the_stored_json() {
        let f = ws_event(br#"{"board":"b","seq":1}"#);
        assert_eq!(f.as_str(), r#"{"type":"event","board":"b","seq":1}"#);
        let v: serde_json::Value = serde_json::from_str(f.as_str()).unwrap();
        assert_eq!(v["type"], "event");
        assert_eq!(
            sse_event("note.created", 7, b"{}").as_str(),
            "event: note.created\nid: 7\ndata: {}\n\n"
        );
    }

    /// The spliced event frame is exactly the typed `ServerMessage::Event`.
    #[test]
    fn event_frame_is_the_typed_server_message() {
        use crate::core::{Event, EventBody};
        let e = Event {
            board: "b".into(),
            seq: 3,
            by: User {
                id: "u".into(),
                username: "ann".into(),
            },
            op: Some("o".into()),
            at: Timestamp(7),
            body: EventBody::NoteDeleted { id: "n".into() },
        };
        let spliced = ws_event(&serde_json::to_vec(&e).unwrap());
        let typed = ServerMessage::Event(e).to_json();
        let a: serde_json::Value = serde_json::from_str(spliced.as_str()).unwrap();
        let b: serde_json::Value = serde_json::from_str(&typed).unwrap();
        assert_eq!(a, b);
        let back: ServerMessage = serde_json::from_str(spliced.as_str()).unwrap();
        assert!(matches!(back, ServerMessage::Event(ev) if ev.seq == 3));
    }

    #[test]
    fn presence_messages_carry_one_list() {
        let p = Presence {
            user: User {
                id: "u".into(),
                username: "ann".into(),
            },
            connections: 2,
            since: Timestamp(0),
        };
        let f = presence(Transport::WebSocket, "b", PresenceKind::Joined, &[p]);
        let v: serde_json::Value = serde_json::from_str(f.as_str()).unwrap();
        assert_eq!(v["joined"][0]["connections"], 2);
        assert!(v.get("left").is_none());
        let s = presence(Transport::Sse, "b", PresenceKind::Left, &[]);
        assert!(s.as_str().starts_with("event: presence\ndata: {"));
        assert!(!s.as_str().contains("\nid:"));
    }
}
