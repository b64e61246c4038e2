//! `board.get`: a consistent snapshot of a board (→ `{board, notes, seq}`).

use crate::core::ApiError;
use crate::service::{App, Principal};
use crate::store::Snapshot;

use super::{Command, Empty, Ids};

/// Reads the board, its notes and the seq they reflect.
#[derive(Debug)]
pub struct BoardGet {
    pub board: String,
}

impl Command for BoardGet {
    const METHOD: &'static str = "board.get";
    const IDS: &'static [&'static str] = &["board"];
    type Body = Empty;
    type Output = Snapshot;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { board: ids.take() })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Snapshot, ApiError> {
        app.snapshot(caller, &self.board).await
    }
}
