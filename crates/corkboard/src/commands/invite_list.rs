//! `invite.list`: a board's live invites (`{board}` → `{invites:[…]}`), never their tokens.

use serde::Serialize;

use crate::core::{ApiError, Role};
use crate::service::{store_error, App, Principal};
use crate::store::InviteInfo;

use super::{Command, Empty, Ids};

/// Lists the unrevoked, unexpired invites of a board, newest first (owner only).
#[derive(Debug)]
pub struct InviteList {
    pub board: String,
}

/// `{invites}`.
#[derive(Debug, Serialize)]
pub struct Invites {
    pub invites: Vec<InviteInfo>,
}

impl Command for InviteList {
    const METHOD: &'static str = "invite.list";
    const IDS: &'static [&'static str] = &["board"];
    type Body = Empty;
    type Output = Invites;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { board: ids.take() })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Invites, ApiError> {
        owner_only(app, caller, &self.board, "listing invites").await?;
        let invites = app
            .store
            .list_invites(&self.board, app.clock.now())
            .await
            .map_err(store_error)?;
        Ok(Invites { invites })
    }
}

/// `not_found` for non-members, `forbidden` for members who are not the owner.
///
/// # Errors
/// As above.
pub async fn owner_only(
    app: &App,
    caller: &Principal,
    board: &str,
    what: &str,
) -> Result<(), ApiError> {
    if app.board(caller, board).await?.role != Role::Owner {
        return Err(ApiError::forbidden(format!("{what} needs the owner role")));
    }
    Ok(())
}
