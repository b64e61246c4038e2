//! `note.update`: change some fields of a note (`{board, id, ...Update}` → `{note, seq}`).

use crate::core::{self, Action, ApiError, Outcome};
use crate::service::{App, Principal};

use super::{Command, Ids};

/// Updates the fields present; `base_version` turns on the conflict check.
#[derive(Debug)]
pub struct NoteUpdate {
    pub board: String,
    pub id: String,
    pub body: core::NoteUpdate,
}

impl Command for NoteUpdate {
    const METHOD: &'static str = "note.update";
    const IDS: &'static [&'static str] = &["board", "id"];
    type Body = core::NoteUpdate;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: Self::Body) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            id: ids.take(),
            body,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let op = self.body.op.clone();
        let action = Action::UpdateNote {
            id: self.id,
            update: self.body,
        };
        Ok(app.mutate(caller, &self.board, op, action).await?.outcome)
    }
}
