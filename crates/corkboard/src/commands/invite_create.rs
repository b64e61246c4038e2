//! `invite.create`: an invite link to a board (`{board, role, username?}` → `{token}`).

use serde::{Deserialize, Serialize};

use crate::auth;
use crate::core::{ApiError, Role};
use crate::service::{store_error, App, Principal};
use crate::store::NewInvite;

use super::{Command, Ids};

/// Creates an invite (owner only). Naming a user also sends them an
/// `invited` notification carrying the token.
#[derive(Debug)]
pub struct InviteCreate {
    pub board: String,
    pub body: InviteBody,
}

/// `{role, username?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    pub role: Role,
    #[serde(default)]
    pub username: Option<String>,
}

/// `{token}`.
#[derive(Debug, Serialize)]
pub struct InviteToken {
    pub token: String,
}

impl Command for InviteCreate {
    const METHOD: &'static str = "invite.create";
    const IDS: &'static [&'static str] = &["board"];
    type Body = InviteBody;
    type Output = InviteToken;

    fn parse(mut ids: Ids, body: InviteBody) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            body,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<InviteToken, ApiError> {
        let role = self.body.role;
        if role == Role::Owner {
            return Err(ApiError::bad_request("role must be editor or viewer")
                .with_details(serde_json::json!({"field": "role"})));
        }
        let b = app.board(caller, &self.board).await?;
        if b.role != Role::Owner {
            return Err(ApiError::forbidden("creating invites needs the owner role"));
        }
        let notify = match self.body.username.as_deref() {
            Some(name) => Some(
                app.store
                    .find_user(&name.to_lowercase())
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| {
                        ApiError::not_found("no user with that username")
                            .with_details(serde_json::json!({"field": "username"}))
                    })?,
            ),
            None => None,
        };
        let token = auth::new_secret("cbi_");
        let notify_id = notify.as_ref().map(|u| u.id.clone());
        let notified = app
            .store
            .create_invite(NewInvite {
                token: token.clone(),
                board: self.board,
                role,
                created_by: caller.user.clone(),
                notify,
                created_at: app.clock.now(),
            })
            .await
            .map_err(store_error)?;
        if let (Some(user_id), Some(n)) = (notify_id, notified) {
            app.notify.publish(&user_id, &n);
            crate::service::notifier::push_unread(app, &user_id).await;
        }
        Ok(InviteToken { token })
    }
}
