//! `invite.revoke`: revoke one of a board's invites (`{board, id}` → nothing; REST 204).

use crate::core::ApiError;
use crate::service::{store_error, App, Principal};

use super::invite_list::owner_only;
use super::{Command, Done, Empty, Ids};

/// Revokes an invite (owner only): its link then answers `not_found`.
#[derive(Debug)]
pub struct InviteRevoke {
    pub board: String,
    pub id: String,
}

impl Command for InviteRevoke {
    const METHOD: &'static str = "invite.revoke";
    const IDS: &'static [&'static str] = &["board", "id"];
    type Body = Empty;
    type Output = Done;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            id: ids.take(),
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Done, ApiError> {
        owner_only(app, caller, &self.board, "revoking invites").await?;
        let done = app
            .store
            .revoke_invite(&self.board, &self.id, app.clock.now())
            .await
            .map_err(store_error)?;
        if !done {
            return Err(ApiError::not_found("invite not found"));
        }
        Ok(Done)
    }
}
