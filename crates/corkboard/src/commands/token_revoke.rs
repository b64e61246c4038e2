//! `token.revoke`: revoke one of the caller's tokens; its connections close (4001).

use crate::core::ApiError;
use crate::service::{store_error, App, Principal};
use crate::store::CredentialKind;

use super::{Command, Done, Empty, Ids};

/// Revokes a token on every node.
#[derive(Debug)]
pub struct TokenRevoke {
    pub id: String,
}

impl Command for TokenRevoke {
    const METHOD: &'static str = "token.revoke";
    const IDS: &'static [&'static str] = &["id"];
    type Body = Empty;
    type Output = Done;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self { id: ids.take() })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Done, ApiError> {
        let done = app
            .store
            .revoke_credential(&caller.user.id, &self.id, CredentialKind::Token)
            .await
            .map_err(store_error)?;
        if !done {
            return Err(ApiError::not_found("token not found"));
        }
        app.credential_revoked(&self.id);
        Ok(Done)
    }
}
