//! `note.restore`: bring a deleted note back (`{board, id, op?}` → `{note, seq}`).

use crate::core::{self, Action, ApiError, Outcome};
use crate::service::{App, Principal};

use super::{Command, Ids};

/// Restores a deleted note under its id, as it was when deleted (undo of a
/// delete); its event is `note.created`.
#[derive(Debug)]
pub struct NoteRestore {
    pub board: String,
    pub id: String,
    pub body: core::OpOnly,
}

impl Command for NoteRestore {
    const METHOD: &'static str = "note.restore";
    const IDS: &'static [&'static str] = &["board", "id"];
    type Body = core::OpOnly;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: Self::Body) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            id: ids.take(),
            body,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let action = Action::RestoreNote { id: self.id };
        let a = app
            .mutate(caller, &self.board, self.body.op, action)
            .await?;
        Ok(a.outcome)
    }
}
