//! `board.delete`: the board and everything on it (owner only; `{board, op?}`).

use crate::core::{Action, ApiError, OpOnly, Outcome};
use crate::service::{App, Principal};

use super::{Command, Ids};

/// Deletes a board; its subscribers get `board.deleted`, then `unsubscribed`.
/// A retried `op` answers as the first attempt did although the board is
/// gone (the answer is remembered for the caller).
#[derive(Debug)]
pub struct BoardDelete {
    pub board: String,
    pub op: Option<String>,
}

impl Command for BoardDelete {
    const METHOD: &'static str = "board.delete";
    const IDS: &'static [&'static str] = &["board"];
    type Body = OpOnly;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: OpOnly) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            op: body.op,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let a = app
            .mutate(caller, &self.board, self.op, Action::DeleteBoard)
            .await?;
        Ok(a.outcome)
    }
}
