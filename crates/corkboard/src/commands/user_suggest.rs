//! `user.suggest`: usernames for "invite by username" as the owner types
//! (`{q}` → `{users:[User]}`; REST `GET /api/users/suggest?q=PREFIX`).
//! Only people who already share a board with the caller are suggested, so
//! the endpoint cannot list the server's users.

use serde::{Deserialize, Serialize};

use crate::core::{ApiError, User};
use crate::service::{store_error, App, Principal};

use super::{Command, Ids};

/// At most this many suggestions per answer.
pub const MAX_SUGGESTIONS: usize = 10;
/// The longest prefix accepted, in characters (a username has at most 32).
pub const MAX_PREFIX_CHARS: usize = 64;

/// Finds users sharing a board with the caller whose name starts with `prefix`.
#[derive(Debug)]
pub struct UserSuggest {
    /// Lowercased, as usernames are stored.
    pub prefix: String,
}

/// `{q}`: the start of a username, 1–64 characters, any case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prefix {
    #[serde(default)]
    pub q: Option<String>,
}

/// `{users}`: at most [`MAX_SUGGESTIONS`], ordered by name.
#[derive(Debug, Serialize)]
pub struct Suggestions {
    pub users: Vec<User>,
}

impl Command for UserSuggest {
    const METHOD: &'static str = "user.suggest";
    const IDS: &'static [&'static str] = &[];
    type Body = Prefix;
    type Output = Suggestions;

    fn parse(_: Ids, body: Prefix) -> Result<Self, ApiError> {
        let q = body.q.unwrap_or_default();
        let n = q.chars().count();
        if n == 0 || n > MAX_PREFIX_CHARS {
            return Err(ApiError::bad_request(format!(
                "q must be 1 to {MAX_PREFIX_CHARS} characters"
            ))
            .with_details(serde_json::json!({"field": "q"})));
        }
        Ok(Self {
            prefix: q.to_lowercase(),
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Suggestions, ApiError> {
        let users = app
            .store
            .suggest_users(&caller.user.id, &self.prefix, MAX_SUGGESTIONS)
            .await
            .map_err(store_error)?;
        Ok(Suggestions { users })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: Option<&str>) -> Result<UserSuggest, ApiError> {
        UserSuggest::parse(
            Ids::new(vec![]),
            Prefix {
                q: q.map(Into::into),
            },
        )
    }

    #[test]
    fn the_prefix_is_lowercased_and_bounded_in_characters() {
        assert_eq!(parse(Some("AnN")).unwrap().prefix, "ann");
        assert!(parse(None).is_err());
        assert!(parse(Some("")).is_err());
        assert!(parse(Some(&"é".repeat(64))).is_ok());
        assert!(parse(Some(&"a".repeat(65))).is_err());
    }
}
