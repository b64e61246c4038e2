//! Between the contract's types and their protobuf form: the model going
//! out, requests coming in (checked: unknown enum values and missing ids
//! are `bad_request` here, the rest is the core's validation, as on every
//! other door), and the hub's WebSocket frames re-encoded for gRPC.

use serde_json::Value;

use super::pb;
use super::wire::EncodedUpdate;
use crate::core::{
    self, ApiError, Board, Color, Event, EventBody, Note, Notification, Presence, Role,
    ServerMessage, Timestamp, User,
};
use crate::store::Snapshot;

/// A person.
pub fn user(u: User) -> pb::User {
    pb::User {
        id: u.id,
        username: u.username,
    }
}

/// A time, from the contract's milliseconds.
pub fn time(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.0.div_euclid(1000),
        nanos: (t.0.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// A role as its enum value.
pub fn role(r: Role) -> i32 {
    match r {
        Role::Owner => pb::Role::Owner as i32,
        Role::Editor => pb::Role::Editor as i32,
        Role::Viewer => pb::Role::Viewer as i32,
    }
}

/// A colour as its enum value.
pub fn color(c: Color) -> i32 {
    let c = match c {
        Color::Yellow => pb::Color::Yellow,
        Color::Pink => pb::Color::Pink,
        Color::Blue => pb::Color::Blue,
        Color::Green => pb::Color::Green,
        Color::Purple => pb::Color::Purple,
        Color::Gray => pb::Color::Gray,
    };
    c as i32
}

/// A colour from the wire: `None` for COLOR_UNSPECIFIED.
///
/// # Errors
/// `bad_request` for a value the contract does not define.
pub fn color_in(v: i32) -> Result<Option<Color>, ApiError> {
    Ok(Some(match pb::Color::try_from(v) {
        Ok(pb::Color::Unspecified) => return Ok(None),
        Ok(pb::Color::Yellow) => Color::Yellow,
        Ok(pb::Color::Pink) => Color::Pink,
        Ok(pb::Color::Blue) => Color::Blue,
        Ok(pb::Color::Green) => Color::Green,
        Ok(pb::Color::Purple) => Color::Purple,
        Ok(pb::Color::Gray) => Color::Gray,
        Err(_) => {
            return Err(ApiError::bad_request(format!("unknown color {v}"))
                .with_details(serde_json::json!({"field": "color"})))
        }
    }))
}

/// A board as its caller sees it.
pub fn board(b: Board) -> pb::Board {
    pb::Board {
        id: b.id,
        title: b.title,
        owner: Some(user(b.owner)),
        role: role(b.role),
        seq: b.seq,
        created_at: Some(time(b.created_at)),
        updated_at: Some(time(b.updated_at)),
    }
}

/// A note.
pub fn note(n: Note) -> pb::Note {
    pb::Note {
        id: n.id,
        board: n.board,
        text: n.text,
        x: n.x,
        y: n.y,
        w: n.w,
        h: n.h,
        color: color(n.color),
        version: n.version,
        created_by: Some(user(n.created_by)),
        updated_at: Some(time(n.updated_at)),
    }
}

/// A board with its notes at `seq`.
pub fn snapshot(s: Snapshot) -> pb::BoardSnapshot {
    snapshot_parts(s.board, s.notes, s.seq)
}

fn snapshot_parts(b: Board, notes: Vec<Note>, seq: u64) -> pb::BoardSnapshot {
    pb::BoardSnapshot {
        board: Some(board(b)),
        notes: notes.into_iter().map(note).collect(),
        seq,
    }
}

/// A board event.
pub fn event(e: Event) -> pb::Event {
    use pb::event::Payload;
    let kind = e.kind().to_owned();
    let payload = match e.body {
        EventBody::NoteCreated { note: n } => Some(Payload::Note(note(n))),
        // gRPC carries the merged text only (corkboard.proto has no Yjs field).
        EventBody::NoteUpdated {
            id, version, delta, ..
        } => Some(Payload::Delta(pb::NoteDelta {
            id,
            version,
            text: delta.text,
            x: delta.x,
            y: delta.y,
            w: delta.w,
            h: delta.h,
            color: delta.color.map(color),
        })),
        EventBody::NoteDeleted { id } => Some(Payload::NoteId(id)),
        EventBody::BoardUpdated { title } => Some(Payload::Title(title)),
        EventBody::BoardDeleted {} => None,
        EventBody::MemberJoined { user: u, role: r }
        | EventBody::MemberUpdated { user: u, role: r }
        | EventBody::MemberLeft { user: u, role: r } => Some(Payload::Member(pb::Member {
            user: Some(user(u)),
            role: role(r),
        })),
    };
    pb::Event {
        board: e.board,
        seq: e.seq,
        kind,
        by: Some(user(e.by)),
        op: e.op,
        at: Some(time(e.at)),
        payload,
    }
}

/// A user's presence on a board.
pub fn presence(p: Presence) -> pb::Presence {
    pb::Presence {
        user: Some(user(p.user)),
        connections: p.connections,
        since: Some(time(p.since)),
    }
}

fn presences(l: Option<Vec<Presence>>) -> Vec<pb::Presence> {
    l.unwrap_or_default().into_iter().map(presence).collect()
}

/// A notification.
pub fn notification(n: Notification) -> pb::Notification {
    pb::Notification {
        id: n.id.to_string(),
        kind: n.kind,
        board: n.board.unwrap_or_default(),
        by: Some(user(n.by)),
        note: n.note,
        read: n.read,
        at: Some(time(n.at)),
        text: n.text,
    }
}

/// A required id: present and not empty.
///
/// # Errors
/// `bad_request` naming the field.
pub fn required(field: &str, v: String) -> Result<String, ApiError> {
    if v.is_empty() {
        return Err(ApiError::bad_request(format!("{field} is required"))
            .with_details(serde_json::json!({"field": field})));
    }
    Ok(v)
}

/// `CreateNoteRequest` → (board, the contract's Create).
///
/// # Errors
/// `bad_request` for a missing board or an unknown colour.
pub fn create_note(r: pb::CreateNoteRequest) -> Result<(String, core::NoteCreate), ApiError> {
    Ok((
        required("board", r.board)?,
        core::NoteCreate {
            id: r.id,
            op: r.op,
            text: r.text,
            x: r.x,
            y: r.y,
            w: r.w,
            h: r.h,
            color: color_in(r.color)?,
        },
    ))
}

/// `UpdateNoteRequest` → (board, note, the contract's Update).
///
/// # Errors
/// `bad_request` for a missing id or an unknown (or unspecified) colour.
pub fn update_note(
    r: pb::UpdateNoteRequest,
) -> Result<(String, String, core::NoteUpdate), ApiError> {
    let color = match r.color {
        None => None,
        Some(v) => Some(color_in(v)?.ok_or_else(|| {
            ApiError::bad_request("color must name a colour when present")
                .with_details(serde_json::json!({"field": "color"}))
        })?),
    };
    Ok((
        required("board", r.board)?,
        required("id", r.id)?,
        core::NoteUpdate {
            op: r.op,
            base_version: r.base_version,
            text: r.text,
            x: r.x,
            y: r.y,
            w: r.w,
            h: r.h,
            color,
        },
    ))
}

/// What one hub frame (a WebSocket message) becomes on a gRPC stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// Board updates, encoded, in order (a `subscribed` with a snapshot is
    /// two); `unsubscribed` names the board when the last one ends a subscription.
    Updates {
        encoded: Vec<EncodedUpdate>,
        unsubscribed: Option<String>,
    },
    /// An ephemeral signal (Connect only).
    Signal(pb::Signal),
    /// A subscribe that failed, for its board (Connect only).
    Error(pb::Error),
    /// A notification or an unread count (Notifications only).
    Notification(pb::NotificationUpdate),
    /// Nothing gRPC carries (a pong, a JSON-RPC result).
    Nothing,
}

fn updates(us: Vec<pb::BoardUpdate>, unsubscribed: Option<String>) -> Decoded {
    Decoded::Updates {
        encoded: us.iter().map(EncodedUpdate::new).collect(),
        unsubscribed,
    }
}

fn update(u: pb::board_update::Update) -> pb::BoardUpdate {
    pb::BoardUpdate { update: Some(u) }
}

/// Decodes one hub frame. Frames are the server's own JSON, so a frame
/// that does not parse is a bug: logged, and skipped.
pub fn frame(json: &str) -> Decoded {
    use pb::board_update::Update;
    if let Some(block) = json.strip_prefix("event: ") {
        return notify_block(block);
    }
    let msg: ServerMessage = match serde_json::from_str(json) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "a hub frame did not decode for gRPC");
            return Decoded::Nothing;
        }
    };
    match msg {
        ServerMessage::Event(e) => updates(vec![update(Update::Event(event(e)))], None),
        ServerMessage::Subscribed {
            board: b,
            seq,
            replayed,
            snapshot,
        } => {
            let mut out = Vec::with_capacity(2);
            if let Some(s) = snapshot {
                out.push(update(Update::Snapshot(snapshot_parts(
                    s.board, s.notes, seq,
                ))));
            }
            out.push(update(Update::Subscribed(pb::Subscribed {
                board: b,
                seq,
                replayed: replayed.unwrap_or(0),
            })));
            updates(out, None)
        }
        ServerMessage::Presence {
            board: b,
            joined,
            left,
            members,
        } => updates(
            vec![update(Update::Presence(pb::PresenceUpdate {
                board: b,
                joined: presences(joined),
                left: presences(left),
                members: presences(members),
            }))],
            None,
        ),
        ServerMessage::Unsubscribed { board: b, reason } => {
            let u = update(Update::Unsubscribed(pb::Unsubscribed {
                board: b.clone(),
                reason: reason.map(|r| r.as_str().to_owned()).unwrap_or_default(),
            }));
            updates(vec![u], Some(b))
        }
        ServerMessage::Signal {
            board: b,
            from,
            name,
            data,
        } => Decoded::Signal(pb::Signal {
            board: b,
            name,
            data_json: data.to_string(),
            from: Some(user(from)),
        }),
        ServerMessage::Error { board, error, .. } => {
            let e = ApiError {
                code: error.code,
                message: error.message,
                details: error.details,
            };
            Decoded::Error(super::status::error_message(&e, board.as_deref()))
        }
        ServerMessage::Welcome { .. }
        | ServerMessage::Pong { .. }
        | ServerMessage::Result { .. } => Decoded::Nothing,
    }
}

/// The notify hub's frames are SSE blocks: `notification` (with an `id:`
/// line) and `unread` (`{count}`).
fn notify_block(block: &str) -> Decoded {
    use pb::notification_update::Update;
    let (kind, rest) = block.split_once('\n').unwrap_or((block, ""));
    let Some(data) = rest.lines().find_map(|l| l.strip_prefix("data: ")) else {
        return Decoded::Nothing;
    };
    let update = match kind {
        "notification" => match serde_json::from_str::<Notification>(data) {
            Ok(n) => Update::Notification(notification(n)),
            Err(e) => {
                tracing::error!(error = %e, "a notification frame did not decode for gRPC");
                return Decoded::Nothing;
            }
        },
        "unread" => {
            let count = serde_json::from_str::<Value>(data)
                .ok()
                .and_then(|v| v.get("count").and_then(Value::as_u64))
                .unwrap_or(0);
            Update::Unread(u32::try_from(count).unwrap_or(u32::MAX))
        }
        _ => return Decoded::Nothing,
    };
    Decoded::Notification(pb::NotificationUpdate {
        update: Some(update),
    })
}

/// A signal's `data_json` as the JSON object the contract requires.
///
/// # Errors
/// `bad_request` when it is not a JSON object.
pub fn signal_data(s: &str) -> Result<Value, ApiError> {
    match serde_json::from_str::<Value>(s) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) | Err(_) => Err(ApiError::bad_request("data_json must be a JSON object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{ServerMessage, SnapshotBody};

    fn decoded(d: Decoded) -> Vec<pb::BoardUpdate> {
        use prost::Message;
        let Decoded::Updates { encoded, .. } = d else {
            panic!("updates")
        };
        encoded
            .iter()
            .map(|e| pb::BoardUpdate::decode(&*e.0).unwrap())
            .collect()
    }

    fn ann() -> User {
        User {
            id: "u1".into(),
            username: "ann".into(),
        }
    }

    #[test]
    fn times_keep_milliseconds_also_before_1970() {
        assert_eq!(
            time(Timestamp(1_500)),
            prost_types::Timestamp {
                seconds: 1,
                nanos: 500_000_000
            }
        );
        assert_eq!(
            time(Timestamp(-1)),
            prost_types::Timestamp {
                seconds: -1,
                nanos: 999_000_000
            }
        );
    }

    #[test]
    fn unknown_and_unspecified_colours() {
        assert_eq!(color_in(0).unwrap(), None);
        assert_eq!(color_in(3).unwrap(), Some(Color::Blue));
        assert!(color_in(99).is_err());
        assert!(color_in(-1).is_err());
        let r = pb::UpdateNoteRequest {
            board: "b".into(),
            id: "n".into(),
            color: Some(0),
            ..Default::default()
        };
        assert!(update_note(r).is_err());
        let r = pb::CreateNoteRequest::default();
        assert!(create_note(r).is_err(), "a board is required");
    }

    /// A `subscribed` with a snapshot is a snapshot, then `subscribed`.
    #[test]
    fn subscribed_with_snapshot_is_two_updates() {
        let b = Board {
            id: "b".into(),
            title: "t".into(),
            owner: ann(),
            role: Role::Owner,
            seq: 4,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        };
        let m = ServerMessage::Subscribed {
            board: "b".into(),
            seq: 4,
            replayed: None,
            snapshot: Some(SnapshotBody {
                board: b,
                notes: vec![],
            }),
        };
        let u = decoded(frame(&m.to_json()));
        use pb::board_update::Update;
        assert!(matches!(&u[0].update, Some(Update::Snapshot(s)) if s.seq == 4));
        assert!(
            matches!(&u[1].update, Some(Update::Subscribed(s)) if s.seq == 4 && s.replayed == 0)
        );
    }

    #[test]
    fn every_event_kind_converts() {
        use crate::core::NoteDelta;
        let bodies = [
            EventBody::NoteUpdated {
                id: "n".into(),
                version: 2,
                delta: NoteDelta {
                    x: Some(1.0),
                    ..Default::default()
                },
                text_update: None,
            },
            EventBody::NoteDeleted { id: "n".into() },
            EventBody::BoardUpdated { title: "t".into() },
            EventBody::BoardDeleted {},
            EventBody::MemberLeft {
                user: ann(),
                role: Role::Editor,
            },
        ];
        for body in bodies {
            let e = Event {
                board: "b".into(),
                seq: 1,
                by: ann(),
                op: None,
                at: Timestamp(0),
                body,
            };
            let kind = e.kind();
            let u = decoded(frame(&ServerMessage::Event(e.clone()).to_json()));
            let Some(pb::board_update::Update::Event(pe)) = &u[0].update else {
                panic!()
            };
            assert_eq!(pe.kind, kind);
            if let EventBody::NoteUpdated { .. } = e.body {
                let Some(pb::event::Payload::Delta(d)) = &pe.payload else {
                    panic!()
                };
                assert_eq!((d.x, d.y, d.text.as_deref()), (Some(1.0), None, None));
            }
        }
    }
}
