//! Board events (protocol.md, "Events"): what a committed change looks like
//! to every subscriber, whatever transport carries it.

use serde::{Deserialize, Serialize};

use super::model::{Color, Note, Role, User};
use super::time::Timestamp;

/// One committed change to a board, carrying the board's next `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "BoardEvent")]
pub struct Event {
    pub board: String,
    pub seq: u64,
    pub by: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub op: Option<String>,
    #[ts(type = "string")]
    pub at: Timestamp,
    #[serde(flatten)]
    pub body: EventBody,
}

impl Event {
    /// The wire name of the event kind, e.g. `note.created` (also the SSE `event:` line).
    pub fn kind(&self) -> &'static str {
        self.body.kind()
    }
}

/// The kind-specific part of an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "kind")]
pub enum EventBody {
    /// Full data: the whole new note.
    #[serde(rename = "note.created")]
    NoteCreated { note: Note },
    /// Delta: only the fields the update named.
    #[serde(rename = "note.updated")]
    NoteUpdated {
        id: String,
        version: u64,
        delta: NoteDelta,
        /// When the text changed: the Yjs update (v1, base64) as merged,
        /// which a client holding the note's document applies instead of
        /// replacing its text (protocol.md, "Collaborative text").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        text_update: Option<String>,
    },
    #[serde(rename = "note.deleted")]
    NoteDeleted { id: String },
    #[serde(rename = "board.updated")]
    BoardUpdated { title: String },
    #[serde(rename = "board.deleted")]
    BoardDeleted {},
    #[serde(rename = "member.joined")]
    MemberJoined { user: User, role: Role },
    #[serde(rename = "member.updated")]
    MemberUpdated { user: User, role: Role },
    #[serde(rename = "member.left")]
    MemberLeft { user: User, role: Role },
}

impl EventBody {
    /// The wire name of this kind.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::NoteCreated { .. } => "note.created",
            EventBody::NoteUpdated { .. } => "note.updated",
            EventBody::NoteDeleted { .. } => "note.deleted",
            EventBody::BoardUpdated { .. } => "board.updated",
            EventBody::BoardDeleted {} => "board.deleted",
            EventBody::MemberJoined { .. } => "member.joined",
            EventBody::MemberUpdated { .. } => "member.updated",
            EventBody::MemberLeft { .. } => "member.left",
        }
    }
}

/// The fields a `note.updated` changed, with their new values.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct NoteDelta {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub x: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub y: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub w: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub h: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub color: Option<Color>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_flat_with_kind() {
        let e = Event {
            board: "b".into(),
            seq: 3,
            by: User {
                id: "u".into(),
                username: "ann".into(),
            },
            op: None,
            at: Timestamp(0),
            body: EventBody::NoteUpdated {
                id: "n".into(),
                version: 3,
                delta: NoteDelta {
                    x: Some(1.5),
                    ..Default::default()
                },
                text_update: None,
            },
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"board":"b","seq":3,"by":{"id":"u","username":"ann"},
                "at":"1970-01-01T00:00:00.000Z","kind":"note.updated","id":"n","version":3,
                "delta":{"x":1.5}})
        );
        assert_eq!(e.kind(), "note.updated");
    }
}
