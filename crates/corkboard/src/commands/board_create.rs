//! `board.create`: a new board owned by the caller (`{title, op?}` → Board).

use serde::Deserialize;

use crate::core::{model, ApiError, Board};
use crate::service::{store_error, App, Principal};
use crate::store::NewBoard;

use super::{Command, Ids};

/// Creates a board; the caller is its owner. A retried `op` answers the
/// board it created and creates no other; the caller's quota
/// (`--max-boards-per-user`) is checked in the same transaction.
#[derive(Debug)]
pub struct BoardCreate {
    pub title: String,
    pub op: Option<String>,
}

/// `{title, op?}` (board create and rename).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Title {
    pub title: String,
    /// The idempotency key: a retry with the same one applies nothing twice.
    #[serde(default, deserialize_with = "crate::core::mutation::non_null")]
    pub op: Option<String>,
}

impl Command for BoardCreate {
    const METHOD: &'static str = "board.create";
    const IDS: &'static [&'static str] = &[];
    type Body = Title;
    type Output = Board;

    fn parse(_: Ids, body: Title) -> Result<Self, ApiError> {
        Ok(Self {
            title: body.title,
            op: body.op,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Board, ApiError> {
        model::check_title(&self.title)?;
        if let Some(op) = &self.op {
            model::check_client_id("op", op)?;
        }
        let b = NewBoard {
            id: uuid::Uuid::now_v7().to_string(),
            owner: caller.user.clone(),
            title: self.title,
            op: self.op,
            now: app.clock.now(),
        };
        let created = app.store.create_board_with(b).await.map_err(store_error)?;
        if !created.replayed {
            crate::service::board_feed::created(app, &caller.user, &created.board.id);
        }
        Ok(created.board)
    }
}
