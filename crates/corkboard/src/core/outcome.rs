//! The typed answer to a board mutation, the same whatever door asked.
//!
//! The core decides it ([`crate::core::plan`]), the store remembers it under
//! the mutation's idempotency keys so a retry gets the original answer, and
//! each door encodes it in its own form (an HTTP status and body, a
//! WebSocket `result`, later a gRPC message). No HTTP status lives here.
//!
//! Serialized untagged, an outcome is exactly the RPC `result` the contract
//! names (`{note, seq}`, `{seq}`, `{board}`, `{user, role}`, or `null`).
//! [`Outcome::to_stored`] and [`Outcome::from_stored`] are the storage codec
//! both stores share: a small kind number plus that JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{Board, Note, Role, User};

/// What a mutation did, as its caller sees it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// A note was created: `{note, seq}`.
    NoteCreated { note: Note, seq: u64 },
    /// A note was changed: `{note, seq}`.
    NoteUpdated { note: Note, seq: u64 },
    /// A note was deleted: `{seq}`.
    NoteDeleted { seq: u64 },
    /// The board was renamed: `{board}`, the board as the caller now sees it.
    BoardRenamed { board: Board },
    /// The board is gone.
    BoardDeleted,
    /// The caller joined (or already belonged to) the board: `{board}`.
    Joined { board: Board },
    /// A member's role changed: `{user, role}`.
    RoleChanged { user: User, role: Role },
    /// A member was removed or left.
    MemberRemoved,
}

/// Storage numbers of each variant (stable: they are in databases).
mod kind {
    pub const NOTE_CREATED: i64 = 1;
    pub const NOTE_UPDATED: i64 = 2;
    pub const NOTE_DELETED: i64 = 3;
    pub const BOARD_RENAMED: i64 = 4;
    pub const BOARD_DELETED: i64 = 5;
    pub const JOINED: i64 = 6;
    pub const ROLE_CHANGED: i64 = 7;
    pub const MEMBER_REMOVED: i64 = 8;
}

#[derive(Deserialize)]
struct NoteSeq {
    note: Note,
    seq: u64,
}

#[derive(Deserialize)]
struct Seq {
    seq: u64,
}

#[derive(Deserialize)]
struct UserRole {
    user: User,
    role: Role,
}

#[derive(Deserialize)]
struct BoardOnly {
    board: Board,
}

fn decode<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, String> {
    serde_json::from_value(body).map_err(|e| format!("stored outcome: {e}"))
}

impl Outcome {
    /// The board seq this outcome reports, when it reports one.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Outcome::NoteCreated { seq, .. }
            | Outcome::NoteUpdated { seq, .. }
            | Outcome::NoteDeleted { seq } => Some(*seq),
            _ => None,
        }
    }

    /// The storage form: a kind number and the JSON of the fields.
    pub fn to_stored(&self) -> (i64, String) {
        let k = match self {
            Outcome::NoteCreated { .. } => kind::NOTE_CREATED,
            Outcome::NoteUpdated { .. } => kind::NOTE_UPDATED,
            Outcome::NoteDeleted { .. } => kind::NOTE_DELETED,
            Outcome::BoardRenamed { .. } => kind::BOARD_RENAMED,
            Outcome::BoardDeleted => kind::BOARD_DELETED,
            Outcome::Joined { .. } => kind::JOINED,
            Outcome::RoleChanged { .. } => kind::ROLE_CHANGED,
            Outcome::MemberRemoved => kind::MEMBER_REMOVED,
        };
        let body = serde_json::to_string(self).unwrap_or_else(|_| "null".into());
        (k, body)
    }

    /// Reads back what [`Outcome::to_stored`] wrote. Rows written before
    /// outcomes were typed hold an HTTP status (200, 201 or 204) instead of
    /// a kind; those are read by the shape of their body.
    ///
    /// # Errors
    /// A description of the problem when the row cannot be decoded.
    pub fn from_stored(k: i64, body: &str) -> Result<Self, String> {
        let body: Value = serde_json::from_str(body).map_err(|e| format!("stored outcome: {e}"))?;
        Ok(match k {
            kind::NOTE_CREATED | 201 => {
                let NoteSeq { note, seq } = decode(body)?;
                Outcome::NoteCreated { note, seq }
            }
            kind::NOTE_UPDATED => {
                let NoteSeq { note, seq } = decode(body)?;
                Outcome::NoteUpdated { note, seq }
            }
            kind::NOTE_DELETED => Outcome::NoteDeleted {
                seq: decode::<Seq>(body)?.seq,
            },
            kind::BOARD_RENAMED => Outcome::BoardRenamed {
                board: decode::<BoardOnly>(body)?.board,
            },
            kind::BOARD_DELETED => Outcome::BoardDeleted,
            kind::MEMBER_REMOVED => Outcome::MemberRemoved,
            kind::JOINED => Outcome::Joined {
                board: decode::<BoardOnly>(body)?.board,
            },
            kind::ROLE_CHANGED => {
                let UserRole { user, role } = decode(body)?;
                Outcome::RoleChanged { user, role }
            }
            200 => legacy_ok(body)?,
            other => return Err(format!("stored outcome: unknown kind {other}")),
        })
    }
}

/// A pre-typing row with status 200: only note updates and deletes were
/// stored with an op id then (renames, joins and member changes took none).
fn legacy_ok(body: Value) -> Result<Outcome, String> {
    if body.get("note").is_some() {
        let NoteSeq { note, seq } = decode(body)?;
        Ok(Outcome::NoteUpdated { note, seq })
    } else {
        Ok(Outcome::NoteDeleted {
            seq: decode::<Seq>(body)?.seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Color, Timestamp};

    fn user() -> User {
        User {
            id: "u1".into(),
            username: "ann".into(),
        }
    }

    fn note() -> Note {
        Note {
            id: "n1".into(),
            board: "b1".into(),
            text: "hi".into(),
            x: 1.0,
            y: 2.0,
            w: 200.0,
            h: 140.0,
            color: Color::Pink,
            version: 3,
            created_by: user(),
            updated_at: Timestamp(5),
        }
    }

    fn board() -> Board {
        Board {
            id: "b1".into(),
            title: "T".into(),
            owner: user(),
            role: Role::Editor,
            seq: 4,
            created_at: Timestamp(1),
            updated_at: Timestamp(2),
        }
    }

    fn all() -> Vec<Outcome> {
        vec![
            Outcome::NoteCreated {
                note: note(),
                seq: 3,
            },
            Outcome::NoteUpdated {
                note: note(),
                seq: 3,
            },
            Outcome::NoteDeleted { seq: 9 },
            Outcome::BoardRenamed { board: board() },
            Outcome::BoardDeleted,
            Outcome::Joined { board: board() },
            Outcome::RoleChanged {
                user: user(),
                role: Role::Viewer,
            },
            Outcome::MemberRemoved,
        ]
    }

    /// Every outcome survives the store's codec, with a distinct kind.
    #[test]
    fn stored_form_round_trips() {
        let mut kinds = std::collections::HashSet::new();
        for o in all() {
            let (k, body) = o.to_stored();
            assert!(kinds.insert(k), "kind {k} used twice");
            assert_eq!(Outcome::from_stored(k, &body).unwrap(), o);
        }
    }

    /// Untagged, an outcome is the RPC result the contract names.
    #[test]
    fn wire_form_is_the_contract_result() {
        let v = serde_json::to_value(Outcome::NoteDeleted { seq: 9 }).unwrap();
        assert_eq!(v, serde_json::json!({"seq": 9}));
        let v = serde_json::to_value(Outcome::NoteCreated {
            note: note(),
            seq: 3,
        })
        .unwrap();
        assert_eq!(v["seq"], 3);
        assert_eq!(v["note"]["id"], "n1");
        assert_eq!(
            serde_json::to_value(Outcome::BoardDeleted).unwrap(),
            Value::Null
        );
        let v = serde_json::to_value(Outcome::BoardRenamed { board: board() }).unwrap();
        assert_eq!(v["board"]["title"], "T");
    }

    /// Rows stored before outcomes were typed (HTTP status + body) still decode.
    #[test]
    fn legacy_rows_decode_by_shape() {
        let body = serde_json::to_string(&serde_json::json!({"note": note(), "seq": 3})).unwrap();
        assert!(matches!(
            Outcome::from_stored(201, &body).unwrap(),
            Outcome::NoteCreated { seq: 3, .. }
        ));
        assert!(matches!(
            Outcome::from_stored(200, &body).unwrap(),
            Outcome::NoteUpdated { seq: 3, .. }
        ));
        assert_eq!(
            Outcome::from_stored(200, r#"{"seq": 7}"#).unwrap(),
            Outcome::NoteDeleted { seq: 7 }
        );
        assert!(Outcome::from_stored(99, "null").is_err());
        assert!(Outcome::from_stored(1, "{").is_err());
    }
}
