//! `note.create`: a new note on a board (`{board, ...Create}` → `{note, seq}`).

use crate::core::{self, Action, ApiError, Outcome};
use crate::service::{App, Principal};

use super::{Command, Ids};

/// Creates a note; a retried `op` or client-chosen `id` applies once.
#[derive(Debug)]
pub struct NoteCreate {
    pub board: String,
    pub body: core::NoteCreate,
}

impl Command for NoteCreate {
    const METHOD: &'static str = "note.create";
    const IDS: &'static [&'static str] = &["board"];
    type Body = core::NoteCreate;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: Self::Body) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            body,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let op = self.body.op.clone();
        let a = app
            .mutate(caller, &self.board, op, Action::CreateNote(self.body))
            .await?;
        Ok(a.outcome)
    }
}
