//! `invite.preview`: what an invite link offers, before joining (`{token}` →
//! `{board:{id, title, owner}, role, expires_at}`).

use serde::Serialize;

use crate::auth;
use crate::core::{ApiError, Role, Timestamp, User};
use crate::service::{store_error, App, Principal};

use super::{Command, Empty, Ids};

/// Shows a logged-in user the board and role of an invite so that the web
/// page can ask before joining. Unknown, expired, revoked and used-up
/// invites are all `not_found`, without saying which.
#[derive(Debug)]
pub struct InvitePreview {
    pub token: String,
}

/// The board as a preview shows it: no notes, no seq.
#[derive(Debug, Serialize)]
pub struct BoardSummary {
    pub id: String,
    pub title: String,
    pub owner: User,
}

/// `{board, role, expires_at}`.
#[derive(Debug, Serialize)]
pub struct Preview {
    pub board: BoardSummary,
    pub role: Role,
    pub expires_at: Timestamp,
}

impl Command for InvitePreview {
    const METHOD: &'static str = "invite.preview";
    const IDS: &'static [&'static str] = &["token"];
    type Body = Empty;
    type Output = Preview;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { token: ids.take() })
    }

    async fn run(self, app: &App, _caller: &Principal) -> Result<Preview, ApiError> {
        let inv = app
            .store
            .find_invite(&auth::hash_secret(&self.token), app.clock.now())
            .await
            .map_err(store_error)?
            .filter(|i| i.usable)
            .ok_or_else(|| ApiError::not_found("invite not found"))?;
        Ok(Preview {
            board: BoardSummary {
                id: inv.board,
                title: inv.title,
                owner: inv.owner,
            },
            role: inv.role,
            expires_at: inv.expires_at,
        })
    }
}
