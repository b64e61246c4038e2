//! Encoding of server → client messages. Each shared message is encoded once
//! and the same bytes go to every subscriber of a transport.

use std::sync::{Arc, OnceLock};

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::json;

use crate::core::{Timestamp, User};
use crate::store::CommittedEvent;

/// How a subscriber's frames are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One JSON text frame per message.
    WebSocket,
    /// `event:`/`id:`/`data:` blocks.
    Sse,
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
            Transport::WebSocket => self
                .ws
                .get_or_init(|| ws_event(&self.committed.json))
                .clone(),
            Transport::Sse => self
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

/// One person's presence on a board: `{user, connections, since}`.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Presence {
    pub user: User,
    pub connections: u32,
    #[ts(type = "string")]
    pub since: Timestamp,
}

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
    let key = match kind {
        PresenceKind::Joined => "joined",
        PresenceKind::Left => "left",
        PresenceKind::Members => "members",
    };
    let mut v = json!({"type": "presence", "board": board});
    v[key] = json!(list);
    match transport {
        Transport::WebSocket => Utf8Bytes::from(v.to_string()),
        Transport::Sse => sse_unnumbered("presence", &v.to_string()),
    }
}

/// `{"type":"unsubscribed","board":B,"reason"?}`.
pub fn unsubscribed(board: &str, reason: Option<&str>) -> Utf8Bytes {
    let mut v = json!({"type": "unsubscribed", "board": board});
    if let Some(r) = reason {
        v["reason"] = json!(r);
    }
    Utf8Bytes::from(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
