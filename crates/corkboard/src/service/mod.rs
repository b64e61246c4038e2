//! The operations every door shares (REST now; WebSocket RPC and SSE call the
//! same functions). Each takes an authenticated [`Principal`] where it needs
//! one and returns the contract's [`ApiError`]; store failures are logged here
//! and mapped to `internal` / `unavailable` exactly once.

pub mod board_feed;
pub mod notification_stream;
pub mod notifier;
pub mod sessions;

use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::{
    self, AuthLimits, CredentialCache, HashSlots, IpCounter, LoginLimiter, SessionPolicy,
};
use crate::bus::{ClusterBus, LocalBus};
use crate::core::text::TextDoc;
use crate::core::{model, Action, ApiError, Board, Clock, ErrorCode, Limits, Mutation, User};
use crate::realtime::subscribe::BoardLog;
use crate::realtime::{Hub, NotifyHub};
use crate::store::{
    Applied, CredentialKind, EventsAfter, NewCredential, Snapshot, Store, StoreError,
};

/// Who is calling, and with which credential.
#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub user: User,
    pub credential_id: String,
    pub kind: CredentialKind,
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
    pub cluster: Option<Arc<dyn ClusterBus>>,
    creds: CredentialCache,
    signups: IpCounter,
    logins: LoginLimiter,
    /// Bounds the argon2 work in flight (`--max-concurrent-hashes`).
    hashes: HashSlots,
    /// When sessions end (`--session-idle-timeout`, `--session-max-age`).
    pub sessions: SessionPolicy,
}

/// Where a sign-in came from, kept with its session for the user's list.
#[derive(Clone, Debug)]
pub struct ClientInfo {
    /// The client address (after trusted proxies).
    pub ip: IpAddr,
    /// The `User-Agent` header, if any (cut to 256 characters).
    pub user_agent: Option<String>,
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
        auth: AuthLimits,
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
            signups: IpCounter::new(auth.signups_per_minute),
            hashes: HashSlots::new(auth.max_concurrent_hashes),
            sessions: auth.sessions,
            logins: LoginLimiter::new(auth),
        }
    }

    /// Joins a cluster: the hubs relay through `bus` from now on.
    pub fn with_cluster(mut self, bus: Arc<dyn ClusterBus>) -> Self {
        self.hub.set_cluster(bus.clone());
        self.notify.set_cluster(bus.clone());
        self.cluster = Some(bus);
        self
    }

    /// Drops a revoked credential from this node's cache (another node revoked it).
    pub fn forget_credential(&self, id: &str) {
        self.creds.forget(id);
    }

    fn rate_limited(&self, what: &str, retry_after: u64) -> ApiError {
        ApiError::new(
            ErrorCode::RateLimited,
            format!("too many {what}; try again later"),
        )
        .with_details(serde_json::json!({ "retry_after": retry_after }))
    }

    /// Runs argon2 work `f` once a hashing slot is free.
    async fn hashing<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.hashes.run(f).await.ok_or_else(ApiError::internal)
    }

    /// Hashes a new password (signup, password change) in a hashing slot.
    async fn hash_new_password(&self, password: &str) -> Result<String, ApiError> {
        let pw = password.to_owned();
        self.hashing(move || auth::hash_password(&pw))
            .await?
            .map_err(|e| {
                tracing::error!(error = %e, "password hashing failed");
                ApiError::internal()
            })
    }

    async fn new_session(&self, user: &User, client: &ClientInfo) -> Result<String, ApiError> {
        let secret = auth::new_secret("cbs_");
        self.store
            .create_credential(NewCredential {
                id: uuid::Uuid::now_v7().to_string(),
                user_id: user.id.clone(),
                kind: CredentialKind::Session,
                name: None,
                secret_hash: auth::hash_secret(&secret),
                created_at: self.clock.now(),
                user_agent: client
                    .user_agent
                    .as_ref()
                    .map(|ua| ua.chars().take(256).collect()),
                ip: Some(client.ip.to_string()),
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
        client: &ClientInfo,
    ) -> Result<(User, String), ApiError> {
        let ip = client.ip;
        let name = model::normalize_username(username)?;
        model::check_password(password)?;
        let now = self.clock.now();
        if !self.signups.hit(ip, now) {
            return Err(self.rate_limited("signups", IpCounter::retry_after(now)));
        }
        let hash = self.hash_new_password(password).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let user = self
            .store
            .create_user(&id, &name, &hash, self.clock.now())
            .await
            .map_err(store_error)?;
        let secret = self.new_session(&user, client).await?;
        Ok((user, secret))
    }

    /// Checks a password and opens a session.
    ///
    /// # Errors
    /// `unauthorized` for a wrong name or password (indistinguishable),
    /// `rate_limited` with `retry_after` after too many failures from this
    /// IP, or while this IP backs off from this account.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<(User, String), ApiError> {
        match self.check_password(username, password, client.ip).await? {
            Some(user) => {
                let secret = self.new_session(&user, client).await?;
                Ok((user, secret))
            }
            None => Err(ApiError::unauthorized("wrong username or password")),
        }
    }

    /// Checks an account's password under the login throttling and the
    /// hashing slots: the user if it is right, `None` if the name or the
    /// password is wrong (indistinguishable, and counted as a failure).
    ///
    /// # Errors
    /// `rate_limited` with `retry_after` after too many failures from this
    /// IP, or while this IP backs off from this account.
    async fn check_password(
        &self,
        username: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<Option<User>, ApiError> {
        let account = username.to_lowercase();
        let attempt = self
            .logins
            .begin(&account, ip, self.clock.now())
            .map_err(|secs| self.rate_limited("failed logins", secs))?;
        if !attempt.delay.is_zero() {
            tokio::time::sleep(attempt.delay).await;
        }
        let found = self.store.find_login(&account).await.map_err(store_error)?;
        let (user, hash) = match found {
            Some((u, h)) => (Some(u), Some(h)),
            None => (None, None),
        };
        let pw = password.to_owned();
        // The dummy hash is made on first use: in a hashing slot too.
        let ok = self
            .hashing(move || match &hash {
                Some(h) => auth::verify_password(&pw, h),
                None => auth::verify_password(&pw, auth::dummy_hash()),
            })
            .await?;
        match user {
            Some(user) if ok => {
                self.logins.succeeded(attempt);
                Ok(Some(user))
            }
            // The attempt was counted as a failure when it began.
            _ => Ok(None),
        }
    }

    /// Resolves a session or token secret. A session past its idle or
    /// absolute limit is revoked here (its connections close) and refused;
    /// a session's use is recorded when the last record is older than
    /// [`SessionPolicy::touch_after_ms`].
    ///
    /// # Errors
    /// `unauthorized` when the secret is unknown, revoked or an expired session.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal, ApiError> {
        let hash = auth::hash_secret(secret);
        let now = self.clock.now();
        let mut cred = match self.creds.get(&hash) {
            Some(c) => c,
            None => self.load_credential(&hash).await?,
        };
        if cred.kind == CredentialKind::Session {
            let p = self.sessions;
            if p.expired(cred.created_at, cred.last_used_at, now) {
                // The cached use may be stale (another node recorded a newer one).
                cred = self.load_credential(&hash).await?;
                if p.expired(cred.created_at, cred.last_used_at, now) {
                    self.end_expired_session(&cred).await?;
                    return Err(ApiError::unauthorized("the session expired; sign in again"));
                }
            }
            if now.0 - cred.last_used_at.0 >= p.touch_after_ms() {
                // Cached first, so concurrent requests do not all write it.
                cred.last_used_at = now;
                self.creds.put(hash, cred.clone());
                if let Err(e) = self.store.touch_credential(&cred.id, now).await {
                    tracing::warn!(error = %e, "recording a session's use failed");
                }
            }
        }
        Ok(Principal {
            user: cred.user,
            credential_id: cred.id,
            kind: cred.kind,
        })
    }

    /// The live credential with this secret hash, from the store (and cached).
    async fn load_credential(&self, hash: &str) -> Result<crate::store::Credential, ApiError> {
        let c = self
            .store
            .find_credential(hash)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::unauthorized("session or token is invalid or revoked"))?;
        self.creds.put(hash.to_owned(), c.clone());
        Ok(c)
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
            self.credential_revoked(&p.credential_id);
        }
        Ok(())
    }

    /// A credential was revoked here: drop it from the cache and close its
    /// connections (on every node, in cluster mode).
    pub fn credential_revoked(&self, id: &str) {
        self.creds.forget(id);
        self.hub.kick_credential(id);
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

    /// A note's text document (`note.text_state`): the whole Yjs document as
    /// one update, and the note's version.
    ///
    /// # Errors
    /// `not_found` for non-members and for a note that is not on the board.
    pub async fn text_state(
        &self,
        p: &Principal,
        board: &str,
        id: &str,
    ) -> Result<(Vec<u8>, u64), ApiError> {
        self.board(p, board).await?;
        let rec = self
            .store
            .note(board, id)
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found("note not found"))?;
        let doc = TextDoc::from_stored(rec.text_state.as_deref(), &rec.note.text).map_err(|e| {
            tracing::error!(board, note = id, "stored text document: {e}");
            ApiError::internal()
        })?;
        Ok((doc.state(), rec.note.version))
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
        let feed = board_feed::before(self, &m.actor, board, &m.action).await;
        let applied = self.store.mutate(m).await.map_err(store_error)?;
        if let (Some(feed), false) = (feed, applied.replayed) {
            board_feed::after(self, board, feed).await;
        }
        Ok(applied)
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
