//! `board.list`: the boards the caller belongs to (→ `{boards}`).

use serde::Serialize;

use crate::core::{ApiError, Board};
use crate::service::{store_error, App, Principal};

use super::{Command, Empty, Ids};

/// Lists the caller's boards, newest first.
#[derive(Debug)]
pub struct BoardList;

/// `{boards}`.
#[derive(Debug, Serialize)]
pub struct Boards {
    pub boards: Vec<Board>,
}

impl Command for BoardList {
    const METHOD: &'static str = "board.list";
    const IDS: &'static [&'static str] = &[];
    type Body = Empty;
    type Output = Boards;

    fn parse(_: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self)
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Boards, ApiError> {
        let boards = app
            .store
            .list_boards(&caller.user.id)
            .await
            .map_err(store_error)?;
        Ok(Boards { boards })
    }
}
