//! `member.update`: change a member's role (`{board, user_id, role}` → `{user, role}`).

use serde::Deserialize;

use crate::core::{Action, ApiError, Outcome, Role};
use crate::service::{App, Principal};

use super::{Command, Ids};

/// Changes a member's role (owner only; not the owner's own); a retried
/// `op` applies once. Lowering a role stops older invites from raising it again.
#[derive(Debug)]
pub struct MemberUpdate {
    pub board: String,
    pub user_id: String,
    pub role: Role,
    pub op: Option<String>,
}

/// `{role, op?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    pub role: Role,
    #[serde(default)]
    pub op: Option<String>,
}

impl Command for MemberUpdate {
    const METHOD: &'static str = "member.update";
    const IDS: &'static [&'static str] = &["board", "user_id"];
    type Body = RoleBody;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: RoleBody) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            user_id: ids.take(),
            role: body.role,
            op: body.op,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let action = Action::SetRole {
            user_id: self.user_id,
            role: self.role,
        };
        Ok(app
            .mutate(caller, &self.board, self.op, action)
            .await?
            .outcome)
    }
}
