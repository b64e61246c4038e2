//! `session.list`: the caller's live sessions, never their secrets (→ `{sessions}`).

use serde::Serialize;

use crate::core::ApiError;
use crate::service::sessions::SessionView;
use crate::service::{App, Principal};

use super::{Command, Empty, Ids};

/// Lists the caller's sessions, oldest first, marking the current one.
#[derive(Debug)]
pub struct SessionList;

/// `{sessions}`.
#[derive(Debug, Serialize)]
pub struct Sessions {
    pub sessions: Vec<SessionView>,
}

impl Command for SessionList {
    const METHOD: &'static str = "session.list";
    const IDS: &'static [&'static str] = &[];
    type Body = Empty;
    type Output = Sessions;

    fn parse(_: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self)
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Sessions, ApiError> {
        let sessions = app.list_sessions(caller).await?;
        Ok(Sessions { sessions })
    }
}
