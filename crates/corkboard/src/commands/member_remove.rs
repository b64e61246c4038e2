//! `member.remove`: remove a member (owner), or leave (oneself; not the owner).

use crate::core::{Action, ApiError, Outcome};
use crate::service::{App, Principal};

use super::{Command, Ids, OpBody};

/// Removes a member; their subscriptions end with `unsubscribed` (revoked).
/// A retried `op` applies once; older invites cannot bring a removed member back.
#[derive(Debug)]
pub struct MemberRemove {
    pub board: String,
    pub user_id: String,
    pub op: Option<String>,
}

impl Command for MemberRemove {
    const METHOD: &'static str = "member.remove";
    const IDS: &'static [&'static str] = &["board", "user_id"];
    type Body = OpBody;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: OpBody) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            user_id: ids.take(),
            op: body.op,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let action = Action::RemoveMember {
            user_id: self.user_id,
        };
        Ok(app
            .mutate(caller, &self.board, self.op, action)
            .await?
            .outcome)
    }
}
