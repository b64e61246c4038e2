//! `note.delete`: remove a note (`{board, id, op?}` → `{seq}`).

use crate::core::{self, Action, ApiError, Outcome};
use crate::service::{App, Principal};

use super::{Command, Ids};

/// Deletes a note.
#[derive(Debug)]
pub struct NoteDelete {
    pub board: String,
    pub id: String,
    pub body: core::NoteDelete,
}

impl Command for NoteDelete {
    const METHOD: &'static str = "note.delete";
    const IDS: &'static [&'static str] = &["board", "id"];
    type Body = core::NoteDelete;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: Self::Body) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            id: ids.take(),
            body,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let action = Action::DeleteNote { id: self.id };
        let a = app
            .mutate(caller, &self.board, self.body.op, action)
            .await?;
        Ok(a.outcome)
    }
}
