//! `member.list`: a board's members and their roles (→ `{members:[{user, role}]}`).

use serde::Serialize;

use crate::core::{ApiError, Role, User};
use crate::service::{store_error, App, Principal};

use super::{Command, Empty, Ids};

/// Lists members, owner first (any member may ask).
#[derive(Debug)]
pub struct MemberList {
    pub board: String,
}

/// `{user, role}`.
#[derive(Debug, Serialize)]
pub struct Member {
    pub user: User,
    pub role: Role,
}

/// `{members}`.
#[derive(Debug, Serialize)]
pub struct Members {
    pub members: Vec<Member>,
}

impl Command for MemberList {
    const METHOD: &'static str = "member.list";
    const IDS: &'static [&'static str] = &["board"];
    type Body = Empty;
    type Output = Members;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { board: ids.take() })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Members, ApiError> {
        app.board(caller, &self.board).await?;
        let members = app
            .store
            .members(&self.board)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|(user, role)| Member { user, role })
            .collect();
        Ok(Members { members })
    }
}
