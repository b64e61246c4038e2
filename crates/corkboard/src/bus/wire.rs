//! The bytes nodes exchange over Redis pub/sub.
//!
//! A message is a one-line JSON header, a newline, and a body: the event
//! JSON exactly as stored (so a committed event is serialized once, by the
//! store, and never re-encoded), or a signal frame exactly as subscribers
//! receive it. Other messages have an empty body.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::core::{Event, Notification};
use crate::realtime::cluster::ClusterMessage;
use crate::realtime::frames::Presence;
use crate::store::CommittedEvent;

/// Why a payload could not be read (a peer of another version, or corruption).
#[derive(Debug, thiserror::Error)]
#[error("malformed bus message: {0}")]
pub struct WireError(String);

/// What a received payload carries.
#[derive(Debug)]
pub enum Incoming {
    /// A committed event (with `remote` set).
    Event(Arc<CommittedEvent>),
    /// Anything else.
    Message(ClusterMessage),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "lowercase")]
enum Header {
    Event {
        node: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notifications: Vec<(String, Notification)>,
    },
    Signal {
        node: String,
        board: String,
        from: u64,
        cursor: bool,
    },
    Notification {
        node: String,
        user: String,
        notification: Notification,
    },
    Unread {
        node: String,
        user: String,
        count: u64,
    },
    Boards {
        node: String,
        user: String,
        reason: String,
        board: String,
    },
    Kick {
        node: String,
        credential: String,
    },
    Presence {
        node: String,
        board: String,
        users: Vec<Presence>,
    },
}

fn frame(header: &Header, body: &[u8]) -> Bytes {
    // A header of plain data always serializes; the fallback keeps this total.
    let mut out = serde_json::to_vec(header).unwrap_or_default();
    out.reserve(1 + body.len());
    out.push(b'\n');
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// The payload for a committed event: header, then the stored event JSON.
pub fn encode_event(node: &str, ev: &CommittedEvent) -> Bytes {
    let header = Header::Event {
        node: node.to_owned(),
        notifications: ev.notifications.clone(),
    };
    frame(&header, &ev.json)
}

/// The payload for any other message.
pub fn encode_message(node: &str, msg: &ClusterMessage) -> Bytes {
    let node = node.to_owned();
    match msg {
        ClusterMessage::Signal {
            board,
            from,
            cursor,
            frame: f,
        } => frame(
            &Header::Signal {
                node,
                board: board.clone(),
                from: *from,
                cursor: *cursor,
            },
            f.as_bytes(),
        ),
        ClusterMessage::Notification { user, notification } => frame(
            &Header::Notification {
                node,
                user: user.clone(),
                notification: notification.clone(),
            },
            b"",
        ),
        ClusterMessage::Unread { user, count } => frame(
            &Header::Unread {
                node,
                user: user.clone(),
                count: *count,
            },
            b"",
        ),
        ClusterMessage::Boards {
            user,
            reason,
            board,
        } => frame(
            &Header::Boards {
                node,
                user: user.clone(),
                reason: reason.clone(),
                board: board.clone(),
            },
            b"",
        ),
        ClusterMessage::Kick { credential } => frame(
            &Header::Kick {
                node,
                credential: credential.clone(),
            },
            b"",
        ),
        ClusterMessage::Presence { board, users } => frame(
            &Header::Presence {
                node,
                board: board.clone(),
                users: users.clone(),
            },
            b"",
        ),
    }
}

/// Reads a payload: the sending node's id and what it carries.
///
/// # Errors
/// When the header or the body is not what a node writes.
pub fn decode(payload: Bytes) -> Result<(String, Incoming), WireError> {
    let split = payload
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| WireError("no header line".into()))?;
    let header: Header =
        serde_json::from_slice(&payload[..split]).map_err(|e| WireError(e.to_string()))?;
    let body = payload.slice(split + 1..);
    Ok(match header {
        Header::Event {
            node,
            notifications,
        } => {
            let event = parse_event(&body)?;
            (
                node,
                Incoming::Event(Arc::new(CommittedEvent {
                    event,
                    json: body,
                    notifications,
                    remote: true,
                    trace: Default::default(),
                })),
            )
        }
        Header::Signal {
            node,
            board,
            from,
            cursor,
        } => {
            let frame = Utf8Bytes::try_from(body)
                .map_err(|_| WireError("signal frame is not UTF-8".into()))?;
            (
                node,
                Incoming::Message(ClusterMessage::Signal {
                    board,
                    from,
                    cursor,
                    frame,
                }),
            )
        }
        Header::Notification {
            node,
            user,
            notification,
        } => (
            node,
            Incoming::Message(ClusterMessage::Notification { user, notification }),
        ),
        Header::Unread { node, user, count } => (
            node,
            Incoming::Message(ClusterMessage::Unread { user, count }),
        ),
        Header::Boards {
            node,
            user,
            reason,
            board,
        } => (
            node,
            Incoming::Message(ClusterMessage::Boards {
                user,
                reason,
                board,
            }),
        ),
        Header::Kick { node, credential } => {
            (node, Incoming::Message(ClusterMessage::Kick { credential }))
        }
        Header::Presence { node, board, users } => (
            node,
            Incoming::Message(ClusterMessage::Presence { board, users }),
        ),
    })
}

/// An event from its stored JSON (Redis payloads and log backfills).
///
/// # Errors
/// When the JSON is not an event.
pub fn parse_event(json: &[u8]) -> Result<Event, WireError> {
    serde_json::from_slice(json).map_err(|e| WireError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Color, EventBody, Note, NoteDelta, Timestamp, User};

    fn user(n: &str) -> User {
        User {
            id: format!("u-{n}"),
            username: n.into(),
        }
    }

    fn committed(body: EventBody) -> CommittedEvent {
        let event = Event {
            board: "b1".into(),
            seq: 42,
            by: user("ann"),
            op: Some("op-1".into()),
            at: Timestamp(1_795_000_000_123),
            body,
        };
        let json = Bytes::from(serde_json::to_vec(&event).unwrap());
        CommittedEvent {
            event,
            json,
            notifications: vec![(
                "u-bob".into(),
                Notification {
                    id: 7,
                    kind: "mention".into(),
                    board: Some("b1".into()),
                    note: Some("n1".into()),
                    by: user("ann"),
                    at: Timestamp(1_795_000_000_123),
                    text: "hi @bob".into(),
                    read: false,
                },
            )],
            remote: false,
            trace: Default::default(),
        }
    }

    #[test]
    fn events_round_trip_with_their_stored_bytes() {
        let bodies = vec![
            EventBody::NoteCreated {
                note: Note {
                    id: "n1".into(),
                    board: "b1".into(),
                    text: "line\nbreak \u{2603}".into(),
                    x: 1.5,
                    y: -2.0,
                    w: 200.0,
                    h: 150.0,
                    color: Color::Pink,
                    version: 42,
                    created_by: user("ann"),
                    updated_at: Timestamp(1_795_000_000_123),
                },
            },
            EventBody::NoteUpdated {
                id: "n1".into(),
                version: 42,
                delta: NoteDelta {
                    x: Some(3.25),
                    color: Some(Color::Blue),
                    ..NoteDelta::default()
                },
                text_update: None,
            },
            EventBody::NoteUpdated {
                id: "n1".into(),
                version: 43,
                delta: NoteDelta {
                    text: Some("x".into()),
                    ..NoteDelta::default()
                },
                text_update: Some("AQHTBwA=".into()),
            },
            EventBody::NoteDeleted { id: "n1".into() },
            EventBody::BoardUpdated { title: "T".into() },
            EventBody::BoardDeleted {},
            EventBody::MemberLeft {
                user: user("bob"),
                role: crate::core::Role::Editor,
            },
        ];
        for body in bodies {
            let ev = committed(body);
            let (node, got) = decode(encode_event("node-a", &ev)).unwrap();
            assert_eq!(node, "node-a");
            let Incoming::Event(got) = got else {
                panic!("not an event")
            };
            assert_eq!(got.event, ev.event);
            assert_eq!(got.json, ev.json, "the stored bytes travel unchanged");
            assert_eq!(got.notifications, ev.notifications);
            assert!(got.remote);
        }
    }

    #[test]
    fn messages_round_trip() {
        let msgs = vec![
            ClusterMessage::Signal {
                board: "b".into(),
                from: u64::MAX - 3,
                cursor: true,
                frame: Utf8Bytes::from_static("{\"type\":\"signal\",\"x\":1}\n"),
            },
            ClusterMessage::Unread {
                user: "u".into(),
                count: 3,
            },
            ClusterMessage::Kick {
                credential: "c".into(),
            },
            ClusterMessage::Boards {
                user: "u".into(),
                reason: "renamed".into(),
                board: "b".into(),
            },
            ClusterMessage::Presence {
                board: "b".into(),
                users: vec![Presence {
                    user: user("ann"),
                    connections: 2,
                    since: Timestamp(5),
                }],
            },
        ];
        for m in msgs {
            let (node, got) = decode(encode_message("n", &m)).unwrap();
            assert_eq!(node, "n");
            let Incoming::Message(got) = got else {
                panic!("not a message")
            };
            assert_eq!(got, m);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"no newline",
            b"{}\n",
            b"{\"t\":\"event\",\"node\":\"n\"}\n{not json",
            b"{\"t\":\"signal\",\"node\":\"n\",\"board\":\"b\",\"from\":1,\"cursor\":false}\n\xff",
            b"{\"t\":\"nope\"}\n",
        ] {
            assert!(decode(Bytes::copy_from_slice(bad)).is_err(), "{bad:?}");
        }
    }
}
