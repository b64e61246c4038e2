//! `board.delete`: the board and everything on it (owner only).

use crate::core::{Action, ApiError, Outcome};
use crate::service::{App, Principal};

use super::{Command, Empty, Ids};

/// Deletes a board; its subscribers get `board.deleted`, then `unsubscribed`.
#[derive(Debug)]
pub struct BoardDelete {
    pub board: String,
}

impl Command for BoardDelete {
    const METHOD: &'static str = "board.delete";
    const IDS: &'static [&'static str] = &["board"];
    type Body = Empty;
    type Output = Outcome;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { board: ids.take() })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let a = app
            .mutate(caller, &self.board, None, Action::DeleteBoard)
            .await?;
        Ok(a.outcome)
    }
}
