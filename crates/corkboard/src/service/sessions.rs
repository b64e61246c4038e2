//! A user's sessions: listing and revoking them, changing the password
//! (which ends the other sessions), and ending expired ones. Every
//! revocation goes through [`App::credential_revoked`], the path logout
//! takes, so the session's WebSockets close with 4001, its SSE streams end
//! and its long polls answer 401, on every node.

use std::net::IpAddr;

use serde::Serialize;

use super::{store_error, App, Principal};
use crate::core::{model, ApiError, Timestamp};
use crate::store::{Credential, CredentialKind};

/// A live session as its user sees it (never with its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionView {
    pub id: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    /// When it ends unless used again (the earlier of the idle and absolute limits).
    pub expires_at: Timestamp,
    /// Whether this is the session the request came with.
    pub current: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

impl App {
    /// The caller's live sessions, oldest first.
    ///
    /// # Errors
    /// Store failures only.
    pub async fn list_sessions(&self, p: &Principal) -> Result<Vec<SessionView>, ApiError> {
        let found = self
            .store
            .list_sessions(&p.user.id)
            .await
            .map_err(store_error)?;
        let now = self.clock.now();
        Ok(found
            .into_iter()
            .filter(|s| !self.sessions.expired(s.created_at, s.last_used_at, now))
            .map(|s| SessionView {
                current: p.kind == CredentialKind::Session && s.id == p.credential_id,
                expires_at: self.sessions.expires_at(s.created_at, s.last_used_at),
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                user_agent: s.user_agent,
                ip: s.ip,
            })
            .collect())
    }

    /// Revokes one of the caller's sessions (the current one included).
    ///
    /// # Errors
    /// `not_found` when the caller has no such live session.
    pub async fn revoke_session(&self, p: &Principal, id: &str) -> Result<(), ApiError> {
        let done = self
            .store
            .revoke_credential(&p.user.id, id, CredentialKind::Session)
            .await
            .map_err(store_error)?;
        if !done {
            return Err(ApiError::not_found("session not found"));
        }
        self.credential_revoked(id);
        Ok(())
    }

    /// Revokes all the caller's sessions but the one the request came with
    /// (all of them when `all`, or when the caller used an API token).
    /// Returns how many were revoked.
    ///
    /// # Errors
    /// Store failures only.
    pub async fn revoke_sessions(&self, p: &Principal, all: bool) -> Result<usize, ApiError> {
        let revoked = self
            .store
            .revoke_sessions(&p.user.id, self.kept_session(p, all))
            .await
            .map_err(store_error)?;
        Ok(self.all_revoked(&revoked))
    }

    /// Changes the caller's password after checking the current one (under
    /// the login throttling, like a login), then ends the caller's other
    /// sessions. API tokens are kept.
    ///
    /// # Errors
    /// `bad_request` when the new password breaks the signup rule,
    /// `forbidden` when the current password is wrong, `rate_limited` as
    /// for logins.
    pub async fn change_password(
        &self,
        p: &Principal,
        current: &str,
        new: &str,
        ip: IpAddr,
    ) -> Result<usize, ApiError> {
        model::check_password(new)?;
        let checked = self.check_password(&p.user.username, current, ip).await?;
        if checked.is_none_or(|u| u.id != p.user.id) {
            return Err(ApiError::forbidden("the current password is wrong"));
        }
        let hash = self.hash_new_password(new).await?;
        let revoked = self
            .store
            .change_password(&p.user.id, &hash, self.kept_session(p, false))
            .await
            .map_err(store_error)?;
        Ok(self.all_revoked(&revoked))
    }

    /// Revokes a session found expired on use.
    pub(super) async fn end_expired_session(&self, c: &Credential) -> Result<(), ApiError> {
        self.store
            .revoke_credential(&c.user.id, &c.id, CredentialKind::Session)
            .await
            .map_err(store_error)?;
        self.credential_revoked(&c.id);
        Ok(())
    }

    /// Revokes every expired session and closes its connections (the
    /// periodic sweep). Returns how many ended.
    ///
    /// # Errors
    /// Store failures only.
    pub async fn expire_sessions(&self) -> Result<usize, ApiError> {
        let (created_by, used_by) = self.sessions.cutoffs(self.clock.now());
        let revoked = self
            .store
            .expire_sessions(created_by, used_by)
            .await
            .map_err(store_error)?;
        Ok(self.all_revoked(&revoked))
    }

    /// The session a bulk revocation keeps: the caller's, unless `all`.
    fn kept_session<'a>(&self, p: &'a Principal, all: bool) -> Option<&'a str> {
        (!all && p.kind == CredentialKind::Session).then_some(p.credential_id.as_str())
    }

    /// Closes the connections of each revoked credential; returns the count.
    fn all_revoked(&self, ids: &[String]) -> usize {
        for id in ids {
            self.credential_revoked(id);
        }
        ids.len()
    }
}
