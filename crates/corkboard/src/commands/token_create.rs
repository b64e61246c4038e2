//! `token.create`: an API token for non-browser clients (`{name}` → `{id, name, token, created_at}`).

use serde::{Deserialize, Serialize};

use crate::auth;
use crate::core::{model, ApiError, Timestamp};
use crate::service::{store_error, App, Principal};
use crate::store::{CredentialKind, NewCredential};

use super::{Command, Ids};

/// Creates a token; its secret is in this answer only (the store keeps a hash).
#[derive(Debug)]
pub struct TokenCreate {
    pub name: String,
}

/// `{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenName {
    pub name: String,
}

/// A freshly created API token; `token` is shown only here.
#[derive(Clone, Debug, Serialize)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub token: String,
    pub created_at: Timestamp,
}

impl Command for TokenCreate {
    const METHOD: &'static str = "token.create";
    const IDS: &'static [&'static str] = &[];
    type Body = TokenName;
    type Output = NewToken;

    fn parse(_: Ids, body: TokenName) -> Result<Self, ApiError> {
        Ok(Self { name: body.name })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<NewToken, ApiError> {
        model::check_token_name(&self.name)?;
        let t = NewToken {
            id: uuid::Uuid::now_v7().to_string(),
            name: self.name,
            token: auth::new_secret("cbt_"),
            created_at: app.clock.now(),
        };
        app.store
            .create_credential(NewCredential {
                id: t.id.clone(),
                user_id: caller.user.id.clone(),
                kind: CredentialKind::Token,
                name: Some(t.name.clone()),
                secret_hash: auth::hash_secret(&t.token),
                created_at: t.created_at,
                user_agent: None,
                ip: None,
            })
            .await
            .map_err(store_error)?;
        Ok(t)
    }
}
