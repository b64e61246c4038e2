//! `board.create`: a new board owned by the caller (`{title}` → Board).

use serde::Deserialize;

use crate::core::{model, ApiError, Board};
use crate::service::{store_error, App, Principal};

use super::{Command, Ids};

/// Creates a board; the caller is its owner.
#[derive(Debug)]
pub struct BoardCreate {
    pub title: String,
}

/// `{title}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Title {
    pub title: String,
}

impl Command for BoardCreate {
    const METHOD: &'static str = "board.create";
    const IDS: &'static [&'static str] = &[];
    type Body = Title;
    type Output = Board;

    fn parse(_: Ids, body: Title) -> Result<Self, ApiError> {
        Ok(Self { title: body.title })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Board, ApiError> {
        model::check_title(&self.title)?;
        let id = uuid::Uuid::now_v7().to_string();
        app.store
            .create_board(&id, &caller.user, &self.title, app.clock.now())
            .await
            .map_err(store_error)
    }
}
