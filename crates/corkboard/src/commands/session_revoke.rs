//! `session.revoke`: sign one of the caller's sessions out; its connections close (4001).

use crate::core::ApiError;
use crate::service::{App, Principal};

use super::{Command, Done, Empty, Ids};

/// Revokes one session on every node (another user's id is `not_found`).
#[derive(Debug)]
pub struct SessionRevoke {
    pub id: String,
}

impl Command for SessionRevoke {
    const METHOD: &'static str = "session.revoke";
    const IDS: &'static [&'static str] = &["id"];
    type Body = Empty;
    type Output = Done;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { id: ids.take() })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Done, ApiError> {
        app.revoke_session(caller, &self.id).await?;
        Ok(Done)
    }
}
