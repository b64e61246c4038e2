//! Board history (protocol.md, "History"): a board as it was right after
//! any event `S`, rebuilt by replaying its stored events `1..=S` in seq
//! order onto the board as it was created (seq 0, no notes, the initial
//! title).
//!
//! Pure: the store streams the events in, this folds them.

use std::collections::BTreeMap;

use super::event::{Event, EventBody};
use super::model::Note;
use super::time::Timestamp;

/// A board's replayable state: its title and notes after event `seq`
/// (serialized as is for a history checkpoint).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HistoryState {
    /// The title after `seq`; `None` while unknown (a board created before
    /// the initial title was recorded, not yet renamed in the replay).
    pub title: Option<String>,
    /// The notes on the board, by id (so they come out sorted by id).
    pub notes: BTreeMap<String, Note>,
    /// The last event applied (0: none).
    pub seq: u64,
    /// When the last event applied was committed (`None` before any).
    pub at: Option<Timestamp>,
}

/// Why an event could not be applied: the log is not the one this state
/// came from (a gap, or a note changed that is not there).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("history replay at seq {seq}: {reason}")]
pub struct ReplayError {
    pub seq: u64,
    pub reason: String,
}

impl HistoryState {
    /// The board right after its creation (seq 0).
    pub fn new(initial_title: Option<String>) -> Self {
        Self {
            title: initial_title,
            notes: BTreeMap::new(),
            seq: 0,
            at: None,
        }
    }

    /// Applies the board's next event (its seq must be `self.seq + 1`).
    ///
    /// `note.created` inserts the whole note (a restore emits it too, with
    /// the note as restored); `note.updated` sets the fields its delta names,
    /// the note's version and `updated_at` (the event's `at`); `note.deleted`
    /// removes the note; `board.updated` sets the title. Member events and
    /// `board.deleted` change no note and no title.
    ///
    /// # Errors
    /// A seq that does not follow, or an update or delete of a note that is
    /// not on the board.
    pub fn apply(&mut self, e: &Event) -> Result<(), ReplayError> {
        let fail = |reason: String| ReplayError { seq: e.seq, reason };
        if e.seq != self.seq + 1 {
            return Err(fail(format!("expected seq {}", self.seq + 1)));
        }
        match &e.body {
            EventBody::NoteCreated { note } => {
                self.notes.insert(note.id.clone(), note.clone());
            }
            EventBody::NoteUpdated {
                id, version, delta, ..
            } => {
                let n = self
                    .notes
                    .get_mut(id)
                    .ok_or_else(|| fail(format!("note.updated of missing note {id:?}")))?;
                if let Some(text) = &delta.text {
                    n.text.clone_from(text);
                }
                if let Some(x) = delta.x {
                    n.x = x;
                }
                if let Some(y) = delta.y {
                    n.y = y;
                }
                if let Some(w) = delta.w {
                    n.w = w;
                }
                if let Some(h) = delta.h {
                    n.h = h;
                }
                if let Some(color) = delta.color {
                    n.color = color;
                }
                n.version = *version;
                n.updated_at = e.at;
            }
            EventBody::NoteDeleted { id } => {
                if self.notes.remove(id).is_none() {
                    return Err(fail(format!("note.deleted of missing note {id:?}")));
                }
            }
            EventBody::BoardUpdated { title } => self.title = Some(title.clone()),
            EventBody::BoardDeleted {}
            | EventBody::MemberJoined { .. }
            | EventBody::MemberUpdated { .. }
            | EventBody::MemberLeft { .. } => {}
        }
        self.seq = e.seq;
        self.at = Some(e.at);
        Ok(())
    }

    /// The notes sorted by id (as a snapshot lists them).
    pub fn into_notes(self) -> Vec<Note> {
        self.notes.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::event::NoteDelta;
    use crate::core::model::{Color, User};

    fn ann() -> User {
        User {
            id: "u1".into(),
            username: "ann".into(),
        }
    }

    fn ev(seq: u64, body: EventBody) -> Event {
        Event {
            board: "b".into(),
            seq,
            by: ann(),
            op: None,
            at: Timestamp(1000 + seq as i64),
            body,
        }
    }

    fn note(id: &str, text: &str, version: u64) -> Note {
        Note {
            id: id.into(),
            board: "b".into(),
            text: text.into(),
            x: 1.0,
            y: 2.0,
            w: 200.0,
            h: 150.0,
            color: Color::Yellow,
            version,
            created_by: ann(),
            updated_at: Timestamp(1000 + version as i64),
        }
    }

    #[test]
    fn replays_creates_updates_deletes_restores_and_renames() {
        let mut s = HistoryState::new(Some("Plan".into()));
        s.apply(&ev(
            1,
            EventBody::NoteCreated {
                note: note("n2", "b", 1),
            },
        ))
        .unwrap();
        s.apply(&ev(
            2,
            EventBody::NoteCreated {
                note: note("n1", "a", 2),
            },
        ))
        .unwrap();
        s.apply(&ev(
            3,
            EventBody::NoteUpdated {
                id: "n1".into(),
                version: 3,
                delta: NoteDelta {
                    text: Some("hello".into()),
                    x: Some(9.0),
                    color: Some(Color::Blue),
                    ..Default::default()
                },
                text_update: Some("AAA=".into()),
            },
        ))
        .unwrap();
        let n1 = &s.notes["n1"];
        assert_eq!(
            (n1.text.as_str(), n1.x, n1.y, n1.color, n1.version),
            ("hello", 9.0, 2.0, Color::Blue, 3)
        );
        assert_eq!(n1.updated_at, Timestamp(1003));
        s.apply(&ev(
            4,
            EventBody::BoardUpdated {
                title: "Renamed".into(),
            },
        ))
        .unwrap();
        s.apply(&ev(
            5,
            EventBody::MemberJoined {
                user: ann(),
                role: crate::core::Role::Viewer,
            },
        ))
        .unwrap();
        let before_delete = s.clone();
        s.apply(&ev(6, EventBody::NoteDeleted { id: "n1".into() }))
            .unwrap();
        assert!(!s.notes.contains_key("n1"));
        // A restore is a note.created of the note as restored.
        let mut back = before_delete.notes["n1"].clone();
        back.version = 7;
        s.apply(&ev(7, EventBody::NoteCreated { note: back.clone() }))
            .unwrap();
        assert_eq!(s.title.as_deref(), Some("Renamed"));
        assert_eq!((s.seq, s.at), (7, Some(Timestamp(1007))));
        let ids: Vec<_> = s.clone().into_notes().into_iter().map(|n| n.id).collect();
        assert_eq!(ids, ["n1", "n2"], "sorted by id");
        assert_eq!(s.notes["n1"], back);
    }

    #[test]
    fn refuses_gaps_and_missing_notes() {
        let mut s = HistoryState::new(None);
        let gap = s.apply(&ev(2, EventBody::BoardDeleted {})).unwrap_err();
        assert_eq!(gap.seq, 2);
        let missing = s
            .apply(&ev(1, EventBody::NoteDeleted { id: "x".into() }))
            .unwrap_err();
        assert!(missing.reason.contains("missing note"));
        let update = EventBody::NoteUpdated {
            id: "x".into(),
            version: 1,
            delta: NoteDelta::default(),
            text_update: None,
        };
        assert!(s.apply(&ev(1, update)).is_err());
        // Nothing was applied by the refused events.
        assert_eq!(s, HistoryState::new(None));
    }
}
