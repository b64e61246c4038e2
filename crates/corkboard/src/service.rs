//! The operations every door shares (REST now; WebSocket RPC and SSE call the
//! same functions). Each takes an authenticated [`Principal`] where it needs
//! one and returns the contract's [`ApiError`]; store failures are logged here
//! and mapped to `internal` / `unavailable` exactly once.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::auth::{self, CredentialCache, IpCounter};
use crate::bus::LocalBus;
use crate::core::{
    model, Action, ApiError, Board, Clock, ErrorCode, Limits, Mutation, Role, Timestamp, User,
};
use crate::realtime::subscribe::BoardLog;
use crate::realtime::{Hub, NotifyHub};
use crate::store::{
    Applied, CredentialKind, EventsAfter, NewCredential, NewInvite, Snapshot, Store, StoreError,
    TokenInfo,
};

/// Who is calling, and with which credential.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub user: User,
    pub credential_id: String,
    pub kind: CredentialKind,
}

/// A freshly created API token; `token` is shown only here.
#[derive(Clone, Debug, Serialize)]
pub struct NewToken {
    pub id: String,
    pub name: String,
    pub token: String,
    pub created_at: Timestamp,
}

/// Shared state of a running server.
pub struct App {
    pub store: Arc<dyn Store>,
    pub bus: LocalBus,
    pub clock: Arc<dyn Clock>,
    pub limits: Limits,
    /// This node's subscriptions and presence (revocations close connections here).
    pub hub: Arc<Hub>,
    /// This node's notification streams.
    pub notify: Arc<NotifyHub>,
    /// The Redis bus, in cluster mode.
    pub cluster: Option<Arc<crate::bus::redis::RedisBus>>,
    creds: CredentialCache,
    signups: IpCounter,
    failed_logins: IpCounter,
}

/// Maps a store failure to the contract, logging what the client must not see.
pub fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Rejected(a) => a,
        StoreError::Unavailable => ApiError::new(ErrorCode::Unavailable, "store unavailable"),
        StoreError::Db(msg) => {
            tracing::error!(error = %msg, "store failure");
            ApiError::internal()
        }
    }
}

impl App {
    /// Shared state over a store and bus.
    pub fn new(
        store: Arc<dyn Store>,
        bus: LocalBus,
        clock: Arc<dyn Clock>,
        limits: Limits,
        hub: Arc<Hub>,
        signups_per_minute: u32,
        failed_logins_per_minute: u32,
    ) -> Self {
        Self {
            store,
            bus,
            clock,
            limits,
            hub,
            notify: Arc::new(NotifyHub::default()),
            cluster: None,
            creds: CredentialCache::default(),
            signups: IpCounter::new(signups_per_minute),
            failed_logins: IpCounter::new(failed_logins_per_minute),
        }
    }

    /// Joins a cluster: the hubs relay through `bus` from now on.
    pub fn with_cluster(mut self, bus: Arc<crate::bus::redis::RedisBus>) -> Self {
        self.hub.set_cluster(bus.clone());
        self.notify.set_cluster(bus.clone());
        self.cluster = Some(bus);
        self
    }

    /// Drops a revoked credential from this node's cache (another node revoked it).
    pub fn forget_credential(&self, id: &str) {
        self.creds.forget(id);
    }

    fn rate_limited(&self, what: &str) -> ApiError {
        ApiError::new(
            ErrorCode::RateLimited,
            format!("too many {what}; try again later"),
        )
        .with_details(serde_json::json!({
            "retry_after": IpCounter::retry_after(self.clock.now())
        }))
    }

    async fn new_session(&self, user: &User) -> Result<String, ApiError> {
        let secret = auth::new_secret("cbs_");
        self.store
            .create_credential(NewCredential {
                id: uuid::Uuid::now_v7().to_string(),
                user_id: user.id.clone(),
                kind: CredentialKind::Session,
                name: None,
                secret_hash: auth::hash_secret(&secret),
                created_at: self.clock.now(),
            })
            .await
            .map_err(store_error)?;
        Ok(secret)
    }

    /// Creates an account and a session. Returns the user and the session secret.
    ///
    /// # Errors
    /// `bad_request` (name or password rule), `conflict` (name taken),
    /// `rate_limited` (too many signups from this IP).
    pub async fn signup(
        &self,
        username: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<(User, String), ApiError> {
        let name = model::normalize_username(username)?;
        model::check_password(password)?;
        if !self.signups.hit(ip, self.clock.now()) {
            return Err(self.rate_limited("signups"));
        }
        let pw = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|e| {
                tracing::error!(error = %e, "password hashing failed");
                ApiError::internal()
            })?;
        let id = uuid::Uuid::now_v7().to_string();
        let user = self
            .store
            .create_user(&id, &name, &hash, self.clock.now())
            .await
            .map_err(store_error)?;
        let secret = self.new_session(&user).await?;
        Ok((user, secret))
    }

    /// Checks a password and opens a session.
    ///
    /// # Errors
    /// `unauthorized` for a wrong name or password (indistinguishable),
    /// `rate_limited` after too many failures from this IP.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<(User, String), ApiError> {
        let now = self.clock.now();
        if self.failed_logins.exhausted(ip, now) {
            return Err(self.rate_limited("failed logins"));
        }
        let found = self
            .store
            .find_login(&username.to_lowercase())
            .await
            .map_err(store_error)?;
        let (user, hash) = match found {
            Some((u, h)) => (Some(u), h),
            None => (None, auth::dummy_hash().to_owned()),
        };
        let pw = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash))
            .await
            .map_err(|_| ApiError::internal())?;
        match user {
            Some(user) if ok => {
                let secret = self.new_session(&user).await?;
                Ok((user, secret))
            }
            _ => {
                self.failed_logins.hit(ip, now);
                Err(ApiError::unauthorized("wrong username or password"))
            }
        }
    }

    /// Resolves a session or token secret.
    ///
    /// # Errors
    /// `unauthorized` when the secret is unknown or revoked.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal, ApiError> {
        let hash = auth::hash_secret(secret);
        let cred = match self.creds.get(&hash) {
            Some(c) => c,
            None => {
                let c = self
                    .store
                    .find_credential(&hash)
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| {
                        ApiError::unauthorized("session or token is invalid or revoked")
                    })?;
                self.creds.put(hash, c.clone());
                c
            }
        };
        Ok(Principal {
            user: cred.user,
            credential_id: cred.id,
            kind: cred.kind,
        })
    }

    /// Ends the caller's session (a token-authenticated call revokes nothing).
    ///
    /// # Errors
    /// Store failures only.
    pub async fn logout(&self, p: &Principal) -> Result<(), ApiError> {
        if p.kind == CredentialKind::Session {
            self.store
                .revoke_credential(&p.user.id, &p.credential_id, CredentialKind::Session)
                .await
                .map_err(store_error)?;
            self.creds.forget(&p.credential_id);
            self.hub.kick_credential(&p.credential_id);
        }
        Ok(())
    }

    /// Creates an API token.
    ///
    /// # Errors
    /// `bad_request` for a bad name.
    pub async fn create_token(&self, p: &Principal, name: &str) -> Result<NewToken, ApiError> {
        model::check_token_name(name)?;
        let token = auth::new_secret("cbt_");
        let t = NewToken {
            id: uuid::Uuid::now_v7().to_string(),
            name: name.to_owned(),
            token,
            created_at: self.clock.now(),
        };
        self.store
            .create_credential(NewCredential {
                id: t.id.clone(),
                user_id: p.user.id.clone(),
                kind: CredentialKind::Token,
                name: Some(t.name.clone()),
                secret_hash: auth::hash_secret(&t.token),
                created_at: t.created_at,
            })
            .await
            .map_err(store_error)?;
        Ok(t)
    }

    /// The caller's live tokens.
    ///
    /// # Errors
    /// Store failures only.
    pub async fn list_tokens(&self, p: &Principal) -> Result<Vec<TokenInfo>, ApiError> {
        self.store
            .list_tokens(&p.user.id)
            .await
            .map_err(store_error)
    }

    /// Revokes one of the caller's tokens.
    ///
    /// # Errors
    /// `not_found` when the caller has no such live token.
    pub async fn revoke_token(&self, p: &Principal, id: &str) -> Result<(), ApiError> {
        let done = self
            .store
            .revoke_credential(&p.user.id, id, CredentialKind::Token)
            .await
            .map_err(store_error)?;
        if !done {
            return Err(ApiError::not_found("token not found"));
        }
        self.creds.forget(id);
        self.hub.kick_credential(id);
        Ok(())
    }

    /// Boards the caller belongs to.
    ///
    /// # Errors
    /// Store failures only.
    pub async fn list_boards(&self, p: &Principal) -> Result<Vec<Board>, ApiError> {
        self.store
            .list_boards(&p.user.id)
            .await
            .map_err(store_error)
    }

    /// Creates a board owned by the caller.
    ///
    /// # Errors
    /// `bad_request` for a bad title.
    pub async fn create_board(&self, p: &Principal, title: &str) -> Result<Board, ApiError> {
        model::check_title(title)?;
        let id = uuid::Uuid::now_v7().to_string();
        self.store
            .create_board(&id, &p.user, title, self.clock.now())
            .await
            .map_err(store_error)
    }

    /// The board as the caller sees it; `not_found` for non-members.
    ///
    /// # Errors
    /// `not_found`.
    pub async fn board(&self, p: &Principal, board: &str) -> Result<Board, ApiError> {
        self.store
            .board_for(board, &p.user.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("board not found"))
    }

    /// A consistent snapshot of the board.
    ///
    /// # Errors
    /// `not_found` for non-members.
    pub async fn snapshot(&self, p: &Principal, board: &str) -> Result<Snapshot, ApiError> {
        self.store
            .snapshot(board, &p.user.id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("board not found"))
    }

    /// Members and their roles.
    ///
    /// # Errors
    /// `not_found` for non-members.
    pub async fn members(&self, p: &Principal, board: &str) -> Result<Vec<(User, Role)>, ApiError> {
        self.board(p, board).await?;
        self.store.members(board).await.map_err(store_error)
    }

    /// Applies a board mutation for the caller (validated first, then committed).
    ///
    /// # Errors
    /// Whatever the core rules reject, with the contract's code.
    pub async fn mutate(
        &self,
        p: &Principal,
        board: &str,
        op: Option<String>,
        action: Action,
    ) -> Result<Applied, ApiError> {
        let m = Mutation {
            board: board.to_owned(),
            actor: p.user.clone(),
            op,
            action,
        };
        m.validate(&self.limits)?;
        self.store.mutate(m).await.map_err(store_error)
    }

    /// Creates an invite link (owner only). With `username`, that user is notified.
    ///
    /// # Errors
    /// `not_found` (board, or named user), `forbidden` (not the owner), `bad_request` (role).
    pub async fn create_invite(
        &self,
        p: &Principal,
        board: &str,
        role: Role,
        username: Option<&str>,
    ) -> Result<String, ApiError> {
        if role == Role::Owner {
            return Err(ApiError::bad_request("role must be editor or viewer")
                .with_details(serde_json::json!({"field": "role"})));
        }
        let b = self.board(p, board).await?;
        if b.role != Role::Owner {
            return Err(ApiError::forbidden("creating invites needs the owner role"));
        }
        let notify = match username {
            Some(name) => Some(
                self.store
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
        let notified = self
            .store
            .create_invite(NewInvite {
                token: token.clone(),
                board: board.to_owned(),
                role,
                created_by: p.user.clone(),
                notify,
                created_at: self.clock.now(),
            })
            .await
            .map_err(store_error)?;
        if let (Some(user_id), Some(n)) = (notify_id, notified) {
            self.notify.publish(&user_id, &n);
            crate::realtime::notifier::push_unread(self, &user_id).await;
        }
        Ok(token)
    }

    /// Joins the board an invite points to, with the invite's role.
    ///
    /// # Errors
    /// `not_found` for an unknown token.
    pub async fn accept_invite(&self, p: &Principal, token: &str) -> Result<Value, ApiError> {
        let (board, role) = self
            .store
            .find_invite(token)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("invite not found"))?;
        let a = self.mutate(p, &board, None, Action::Join { role }).await?;
        Ok(a.body)
    }

    /// The caller's notifications with id > `after`, newest first (at most
    /// 100), and the unread count.
    ///
    /// # Errors
    /// Store failures only.
    pub async fn notifications(
        &self,
        p: &Principal,
        after: u64,
    ) -> Result<(Vec<crate::core::Notification>, u64), ApiError> {
        let list = self
            .store
            .notifications(&p.user.id, after, 100, false)
            .await
            .map_err(store_error)?;
        let unread = self
            .store
            .unread_count(&p.user.id)
            .await
            .map_err(store_error)?;
        Ok((list, unread))
    }

    /// Marks the caller's notifications up to `up_to` read and pushes the new count.
    ///
    /// # Errors
    /// Store failures only.
    pub async fn mark_read(&self, p: &Principal, up_to: u64) -> Result<(), ApiError> {
        let unread = self
            .store
            .mark_read(&p.user.id, up_to)
            .await
            .map_err(store_error)?;
        self.notify.unread(&p.user.id, unread);
        Ok(())
    }

    /// Events after `after` for a member (long poll and resume use this).
    ///
    /// # Errors
    /// `not_found` for non-members.
    pub async fn events_after(
        &self,
        p: &Principal,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventsAfter, ApiError> {
        self.board(p, board).await?;
        self.store
            .events_after(board, after, limit)
            .await
            .map_err(store_error)
    }
}

/// A board's log as one caller may read it: what a subscription replays.
pub struct CallerLog<'a> {
    app: &'a App,
    principal: &'a Principal,
}

impl App {
    /// The boards' logs as `principal` may read them (for [`subscribe`]).
    ///
    /// [`subscribe`]: crate::realtime::subscribe::subscribe
    pub fn log_for<'a>(&'a self, principal: &'a Principal) -> CallerLog<'a> {
        CallerLog {
            app: self,
            principal,
        }
    }
}

#[async_trait::async_trait]
impl BoardLog for CallerLog<'_> {
    async fn check_access(&self, board: &str) -> Result<(), ApiError> {
        self.app.board(self.principal, board).await.map(|_| ())
    }

    async fn events_after(
        &self,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventsAfter, ApiError> {
        self.app
            .events_after(self.principal, board, after, limit)
            .await
    }

    async fn snapshot(&self, board: &str) -> Result<Snapshot, ApiError> {
        self.app.snapshot(self.principal, board).await
    }
}
