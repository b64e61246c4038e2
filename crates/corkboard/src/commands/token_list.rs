//! `token.list`: the caller's live API tokens, never their secrets (→ `{tokens}`).

use serde::Serialize;

use crate::core::ApiError;
use crate::service::{store_error, App, Principal};
use crate::store::TokenInfo;

use super::{Command, Empty, Ids};

/// Lists the caller's tokens, oldest first.
#[derive(Debug)]
pub struct TokenList;

/// `{tokens}`.
#[derive(Debug, Serialize)]
pub struct Tokens {
    pub tokens: Vec<TokenInfo>,
}

impl Command for TokenList {
    const METHOD: &'static str = "token.list";
    const IDS: &'static [&'static str] = &[];
    type Body = Empty;
    type Output = Tokens;

    fn parse(_: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self)
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Tokens, ApiError> {
        let tokens = app
            .store
            .list_tokens(&caller.user.id)
            .await
            .map_err(store_error)?;
        Ok(Tokens { tokens })
    }
}
