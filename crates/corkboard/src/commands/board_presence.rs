//! `board.presence`: who is online on a board (→ `{members:[Presence]}`).

use serde::Serialize;

use crate::core::ApiError;
use crate::realtime::Presence;
use crate::service::{App, Principal};

use super::{Command, Empty, Ids};

/// Lists the users present on a board (merged across nodes in cluster mode).
#[derive(Debug)]
pub struct BoardPresence {
    pub board: String,
}

/// `{members}`.
#[derive(Debug, Serialize)]
pub struct PresenceList {
    pub members: Vec<Presence>,
}

impl Command for BoardPresence {
    const METHOD: &'static str = "board.presence";
    const IDS: &'static [&'static str] = &["board"];
    type Body = Empty;
    type Output = PresenceList;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { board: ids.take() })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<PresenceList, ApiError> {
        app.board(caller, &self.board).await?;
        Ok(PresenceList {
            members: app.hub.presence(&self.board),
        })
    }
}
