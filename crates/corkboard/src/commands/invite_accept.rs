//! `invite.accept`: join the board an invite points to (`{token}` → `{board}`; REST answers the Board).

use crate::core::{Action, ApiError, Outcome};
use crate::service::{store_error, App, Principal};

use super::{Command, Empty, Ids};

/// Joins with the invite's role; accepting twice keeps the role one has.
#[derive(Debug)]
pub struct InviteAccept {
    pub token: String,
}

impl Command for InviteAccept {
    const METHOD: &'static str = "invite.accept";
    const IDS: &'static [&'static str] = &["token"];
    type Body = Empty;
    type Output = Outcome;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { token: ids.take() })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let (board, role) = app
            .store
            .find_invite(&self.token)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("invite not found"))?;
        let a = app
            .mutate(caller, &board, None, Action::Join { role })
            .await?;
        Ok(a.outcome)
    }
}
