//! Durable state behind one trait, so the embedded SQLite store and the
//! cluster's PostgreSQL store are interchangeable.
//!
//! Every board mutation goes through [`Store::mutate`]: inside one
//! transaction the implementation loads what [`crate::core::plan`] needs,
//! applies the plan, bumps the board `seq`, appends the event and remembers
//! the idempotency keys. After the commit it hands the event to its
//! [`EventSink`] in commit order, so fan-out never reorders a board's events.
//!
//! That pipeline is written once (`pipeline`), over a few primitives each
//! backend implements; the statements both databases share are written once
//! too (`sql`, with the row decoders in `rows`). The backends keep what
//! really differs: SQLite's single writer with group commit and board
//! cache, PostgreSQL's row locks, per-board guards and deadlock retry.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::core::{
    ApiError, Board, Event, Mutation, NewNotification, Note, NoteRecord, Notification, Outcome,
    Role, Timestamp, User,
};

// First: its column-list macros are used by the modules after it.
#[macro_use]
mod rows;
pub mod contract;
mod pipeline;
pub mod postgres;
pub mod schema;
pub mod search;
mod sql;
pub mod sqlite;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A rejection the client caused (not found, conflict, forbidden…); nothing was written.
    #[error(transparent)]
    Rejected(#[from] ApiError),
    /// The database failed; logged, shown to the client as `internal`.
    #[error("database: {0}")]
    Db(String),
    /// The store is shutting down or unreachable; shown as `unavailable`.
    #[error("store unavailable")]
    Unavailable,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            // The pool is closed, exhausted or cannot reach the server: shown as `unavailable`.
            sqlx::Error::PoolClosed | sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => {
                tracing::warn!(error = %e, "store unreachable");
                StoreError::Unavailable
            }
            e => StoreError::Db(e.to_string()),
        }
    }
}

/// A committed event and its JSON, serialized once and shared by every subscriber.
#[derive(Debug, Clone)]
pub struct CommittedEvent {
    /// The event itself (for filtering and routing).
    pub event: Event,
    /// `serde_json` of `event`, the exact bytes stored in the log.
    pub json: Bytes,
    /// Notifications committed with the event (mentions), by recipient user id.
    pub notifications: Vec<(String, Notification)>,
    /// True when another node committed it (cluster mode): work done once per
    /// commit cluster-wide, such as `board.activity` notifications, is left to that node.
    pub remote: bool,
    /// Where the event's trace continues (the fan-out span's parent): the
    /// commit span's context when traces are exported, else nothing.
    pub trace: crate::telemetry::TraceParent,
}

/// Receives committed events, in commit order per board. The bus implements it.
pub trait EventSink: Send + Sync + 'static {
    /// Called once per committed event, after the commit is durable.
    fn committed(&self, event: Arc<CommittedEvent>);
}

/// A sink that drops everything (tools and tests that need no fan-out).
#[derive(Debug, Default)]
pub struct NullSink;

impl EventSink for NullSink {
    fn committed(&self, _event: Arc<CommittedEvent>) {}
}

/// The answer to a mutation: the original outcome, replayed verbatim on an
/// idempotent retry.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// What the mutation did, as its caller sees it.
    pub outcome: Outcome,
    /// The board seq after the mutation (the original one on replay).
    pub seq: u64,
    /// True when this was a retry of an already applied mutation.
    pub replayed: bool,
}

/// Session cookie or API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Session,
    Token,
}

impl CredentialKind {
    /// Storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Session => "session",
            CredentialKind::Token => "token",
        }
    }
}

/// A credential to store. Only the hash of the secret is kept.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub id: String,
    pub user_id: String,
    pub kind: CredentialKind,
    pub name: Option<String>,
    pub secret_hash: String,
    pub created_at: Timestamp,
    /// The client's `User-Agent` when a session was opened (shown in its list).
    pub user_agent: Option<String>,
    /// The client's address when a session was opened (shown in its list).
    pub ip: Option<String>,
}

/// A live credential found by its secret's hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    pub id: String,
    pub kind: CredentialKind,
    pub user: User,
    /// When it was created: a session's absolute expiry counts from here.
    pub created_at: Timestamp,
    /// When it last authenticated a request (as last recorded): a session's
    /// idle expiry counts from here.
    pub last_used_at: Timestamp,
}

/// A live session as its user lists it (never with its secret).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    pub id: String,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// An API token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
}

/// A consistent view of a board: its notes and the seq they reflect.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Snapshot {
    pub board: Board,
    pub notes: Vec<Note>,
    pub seq: u64,
}

/// Events after a position, or why there are none to give.
#[derive(Debug, Clone, PartialEq)]
pub enum EventsAfter {
    /// The events after the position, in seq order (JSON as stored), and the board's seq.
    Events { events: Vec<Bytes>, seq: u64 },
    /// The position is older than the log keeps.
    TooOld { seq: u64 },
    /// The position is beyond the board's current seq.
    Future { seq: u64 },
}

/// A page of a board's history (`board.history_events`).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvents {
    /// The events after the position asked, in seq order (JSON as stored).
    pub events: Vec<Bytes>,
    /// The board's current seq.
    pub seq: u64,
}

/// An invite link to create. The store keeps the token's hash only.
#[derive(Debug, Clone)]
pub struct NewInvite {
    /// The invite's id (for listing and revocation; not a secret).
    pub id: String,
    /// The secret, used only for the `invited` notification's text.
    pub token: String,
    /// [`crate::auth::hash_secret`] of `token`: what is stored and looked up.
    pub token_hash: String,
    pub board: String,
    pub role: Role,
    pub created_by: User,
    /// A user named by the invite, who gets an `invited` notification.
    pub notify: Option<User>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Accepted by one user only.
    pub single_use: bool,
    /// The creator's idempotency key, with the answer replayed to a retry.
    pub op: Option<(String, String)>,
}

/// An invite found by its token, with what the preview shows.
#[derive(Debug, Clone, PartialEq)]
pub struct InviteRecord {
    pub id: String,
    pub board: String,
    pub title: String,
    pub owner: User,
    pub role: Role,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Not revoked, not expired and not used up (at the time asked).
    pub usable: bool,
}

/// An invite as its board's owner lists it (never with its token).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InviteInfo {
    pub id: String,
    pub role: Role,
    /// The user the invite names, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub created_by: User,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub single_use: bool,
    pub uses: u64,
}

/// How many invites a user created since some time, and when the oldest of
/// them was created (for quotas and their `retry_after`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InviteCount {
    pub count: u64,
    pub oldest: Option<Timestamp>,
}

/// A board to create, with the idempotency key of the create.
#[derive(Debug, Clone)]
pub struct NewBoard {
    pub id: String,
    pub owner: User,
    pub title: String,
    /// The client's `op`: a retry with the same one gets the first answer
    /// and creates nothing (remembered per owner, see `user_ops`).
    pub op: Option<String>,
    pub now: Timestamp,
}

/// The answer to a board create.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardCreated {
    /// The board as its owner saw it when it was created.
    pub board: Board,
    /// True when this was a retry of an op that already created it.
    pub replayed: bool,
}

/// The key a board create's answer is remembered under for its owner.
pub fn board_create_key(op: &str) -> String {
    format!("board.create:{op}")
}

/// Durable state. Implementations: [`sqlite::SqliteStore`] (embedded default)
/// and [`postgres::PgStore`] (cluster mode).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Checks that the database answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates a user; `conflict` if the (lowercased) name is taken.
    async fn create_user(
        &self,
        id: &str,
        username: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<User, StoreError>;
    /// The user and password hash for a login, if the name exists.
    async fn find_login(&self, username: &str) -> Result<Option<(User, String)>, StoreError>;
    /// A user by name.
    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError>;

    /// Stores a session or API token.
    async fn create_credential(&self, c: NewCredential) -> Result<(), StoreError>;
    /// The live (unrevoked) credential with this secret hash.
    async fn find_credential(&self, secret_hash: &str) -> Result<Option<Credential>, StoreError>;
    /// The user's live API tokens, oldest first.
    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>, StoreError>;
    /// Revokes one of the user's credentials; `false` if there was no such live one.
    async fn revoke_credential(
        &self,
        user_id: &str,
        id: &str,
        kind: CredentialKind,
    ) -> Result<bool, StoreError>;
    /// Records that a credential authenticated a request at `now` (callers
    /// do this at most about once a minute per credential).
    async fn touch_credential(&self, id: &str, now: Timestamp) -> Result<(), StoreError>;
    /// The user's live sessions, oldest first.
    async fn list_sessions(&self, user_id: &str) -> Result<Vec<SessionInfo>, StoreError>;
    /// Revokes all the user's live sessions but `keep`; returns the ids revoked.
    async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError>;
    /// Sets the user's password hash and, in the same transaction, revokes
    /// all the user's live sessions but `keep`; returns the ids revoked.
    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError>;
    /// Revokes every live session created at or before `created_by` or last
    /// used at or before `used_by` (the expired ones); returns their ids.
    async fn expire_sessions(
        &self,
        created_by: Timestamp,
        used_by: Timestamp,
    ) -> Result<Vec<String>, StoreError>;

    /// Creates a board owned by `owner` (seq 0, no event), without an op.
    async fn create_board(
        &self,
        id: &str,
        owner: &User,
        title: &str,
        now: Timestamp,
    ) -> Result<Board, StoreError> {
        let b = NewBoard {
            id: id.to_owned(),
            owner: owner.clone(),
            title: title.to_owned(),
            op: None,
            now,
        };
        Ok(self.create_board_with(b).await?.board)
    }
    /// Creates a board (seq 0, no event) in one transaction that first
    /// answers a retried op with the board it created, then checks the
    /// owner's quota (`Limits::boards_per_user`: `rate_limited` when they
    /// own that many), then creates it and remembers the op.
    async fn create_board_with(&self, b: NewBoard) -> Result<BoardCreated, StoreError>;
    /// Boards the user is a member of, newest first.
    async fn list_boards(&self, user_id: &str) -> Result<Vec<Board>, StoreError>;
    /// The board and the user's role, if the user is a member.
    async fn board_for(&self, board: &str, user_id: &str) -> Result<Option<Board>, StoreError>;
    /// A consistent snapshot, if the user is a member.
    async fn snapshot(&self, board: &str, user_id: &str) -> Result<Option<Snapshot>, StoreError>;
    /// At most `limit` users who share at least one board with `user_id`
    /// (never that user), whose username starts with `prefix` (lowercased by
    /// the caller), ordered by name: the "invite by username" suggestions.
    async fn suggest_users(
        &self,
        user_id: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<User>, StoreError>;
    /// Members and roles, owner first.
    async fn members(&self, board: &str) -> Result<Vec<(User, Role)>, StoreError>;
    /// A note with its field versions and text document (the caller checked access).
    async fn note(&self, board: &str, id: &str) -> Result<Option<NoteRecord>, StoreError>;

    /// Stores an invite link, and the `invited` notification when it names a
    /// user (returned, to be pushed to that user's streams).
    async fn create_invite(&self, invite: NewInvite) -> Result<Option<Notification>, StoreError>;
    /// The invite with this token hash (even if no longer usable), unless revoked
    /// long ago or its board is gone.
    async fn find_invite(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<InviteRecord>, StoreError>;
    /// The answer remembered for `created_by`'s invite create with `op` on
    /// `board`: `Some(None)` when that invite has since been revoked.
    async fn invite_answer(
        &self,
        board: &str,
        created_by: &str,
        op: &str,
    ) -> Result<Option<Option<String>>, StoreError>;
    /// The board's unrevoked, unexpired invites, newest first.
    async fn list_invites(
        &self,
        board: &str,
        now: Timestamp,
    ) -> Result<Vec<InviteInfo>, StoreError>;
    /// Revokes an invite of the board; `false` if there was no such live one.
    async fn revoke_invite(
        &self,
        board: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Invites `created_by` created after `since` (revoked ones too), naming
    /// `target` when given.
    async fn invites_since(
        &self,
        created_by: &str,
        target: Option<&str>,
        since: Timestamp,
    ) -> Result<InviteCount, StoreError>;

    /// Applies one mutation atomically (see the module docs).
    async fn mutate(&self, m: Mutation) -> Result<Applied, StoreError>;

    /// Events after `after`, at most `limit`.
    async fn events_after(
        &self,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventsAfter, StoreError>;

    /// The board as it was right after event `seq`, as `user_id` sees it now
    /// (their current role), rebuilt in one read transaction from the
    /// board's events; `None` if the user is not a member.
    ///
    /// `bad_request` (`details.field` `seq`) beyond the board's seq; `gone`
    /// for a position that can no longer be rebuilt (boards pruned before
    /// events were kept for history: see `docs/protocol.md`, "History").
    async fn history(
        &self,
        board: &str,
        user_id: &str,
        seq: u64,
    ) -> Result<Option<Snapshot>, StoreError>;

    /// The board's events after `after`, at most `limit`, whatever the
    /// resume window; `None` if the user is not a member.
    ///
    /// `bad_request` (`details.field` `after`) beyond the board's seq;
    /// `gone` below what the log still holds (as for [`Store::history`]).
    async fn history_events(
        &self,
        board: &str,
        user_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Option<HistoryEvents>, StoreError>;

    /// The current seq of each of these boards that exists, in one query (the
    /// cluster bus's periodic catch-up asks which boards moved).
    async fn board_seqs(&self, boards: &[String]) -> Result<Vec<(String, u64)>, StoreError>;

    /// Moves each board's resume window past the events that are both
    /// outside the newest `log_min_events` and older than `log_min_age_ms`,
    /// dropping their op ids (the events stay, for history), and drops
    /// deleted notes and per-user answers past their TTLs. Returns how many
    /// events left the resume window.
    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// Stores a notification; the id is the user's next one.
    async fn add_notification(&self, n: NewNotification) -> Result<Notification, StoreError>;

    /// The user's notifications with id > `after`: newest first (at most
    /// `limit`) or, with `ascending`, oldest first (for resuming a stream).
    async fn notifications(
        &self,
        user_id: &str,
        after: u64,
        limit: usize,
        ascending: bool,
    ) -> Result<Vec<Notification>, StoreError>;

    /// The user's notifications with id < `before`, newest first, at most
    /// `limit` (the list's older pages).
    async fn notifications_before(
        &self,
        user_id: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError>;

    /// Marks one of the user's notifications read; returns the new unread
    /// count, or `None` when the user has no notification with that id.
    async fn mark_one_read(&self, user_id: &str, id: u64) -> Result<Option<u64>, StoreError>;

    /// Boards and notes matching `query` on the boards `user_id` is a member
    /// of, best first, at most `limit` (see [`search`]).
    async fn search(
        &self,
        user_id: &str,
        query: &search::Query,
        limit: usize,
    ) -> Result<Vec<search::Hit>, StoreError>;

    /// How many of the user's notifications are unread.
    async fn unread_count(&self, user_id: &str) -> Result<u64, StoreError>;

    /// Marks the user's notifications with id ≤ `up_to` read; returns the new unread count.
    async fn mark_read(&self, user_id: &str, up_to: u64) -> Result<u64, StoreError>;

    /// Finishes queued writes and closes. Later calls fail with `Unavailable`.
    async fn close(&self);
}
