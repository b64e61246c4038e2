//! `board.rename`: a new title (`{board, title, op?}` → `{board}`; REST answers the Board).

use crate::core::{Action, ApiError, Outcome};
use crate::service::{App, Principal};

use super::board_create::Title;
use super::{Command, Ids};

/// Renames a board (owner or editor); a retried `op` applies once.
#[derive(Debug)]
pub struct BoardRename {
    pub board: String,
    pub title: String,
    pub op: Option<String>,
}

impl Command for BoardRename {
    const METHOD: &'static str = "board.rename";
    const IDS: &'static [&'static str] = &["board"];
    type Body = Title;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: Title) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            title: body.title,
            op: body.op,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let action = Action::RenameBoard { title: self.title };
        Ok(app
            .mutate(caller, &self.board, self.op, action)
            .await?
            .outcome)
    }
}
