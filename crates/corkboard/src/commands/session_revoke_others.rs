//! `session.revoke_others`: "sign out everywhere else" (→ `{revoked}`).

use serde::Serialize;

use crate::core::ApiError;
use crate::service::{App, Principal};

use super::{Command, Empty, Ids};

/// Revokes all the caller's sessions but the current one (all of them when
/// the caller used an API token); their connections close (4001).
#[derive(Debug)]
pub struct SessionRevokeOthers;

/// `{revoked}`: how many sessions ended.
#[derive(Debug, Serialize)]
pub struct Revoked {
    pub revoked: usize,
}

impl Command for SessionRevokeOthers {
    const METHOD: &'static str = "session.revoke_others";
    const IDS: &'static [&'static str] = &[];
    type Body = Empty;
    type Output = Revoked;

    fn parse(_: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self)
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Revoked, ApiError> {
        let revoked = app.revoke_sessions(caller, false).await?;
        Ok(Revoked { revoked })
    }
}
