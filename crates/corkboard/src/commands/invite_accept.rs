//! `invite.accept`: join the board an invite points to (`{token, op?}` → `{board}`; REST answers the Board).

use crate::auth;
use crate::core::{Action, ApiError, InviteUse, Outcome};
use crate::service::{store_error, App, Principal};

use super::{Command, Ids, OpBody};

/// Joins with the invite's role; accepting twice keeps the role one has.
/// An expired, revoked or used-up invite is `not_found`; one created before
/// the caller was removed from the board (or had their role lowered) is
/// `forbidden`.
#[derive(Debug)]
pub struct InviteAccept {
    pub token: String,
    pub op: Option<String>,
}

impl Command for InviteAccept {
    const METHOD: &'static str = "invite.accept";
    const IDS: &'static [&'static str] = &["token"];
    type Body = OpBody;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: OpBody) -> Result<Self, ApiError> {
        Ok(Self {
            token: ids.take(),
            op: body.op,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let inv = app
            .store
            .find_invite(&auth::hash_secret(&self.token), app.clock.now())
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("invite not found"))?;
        let action = Action::Join {
            role: inv.role,
            invite: Some(InviteUse {
                id: inv.id,
                created_at: inv.created_at,
            }),
        };
        let a = app.mutate(caller, &inv.board, self.op, action).await?;
        Ok(a.outcome)
    }
}
