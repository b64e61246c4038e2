//! The mutation pipeline, written once for both stores.
//!
//! Inside a transaction the backend opened, [`mutate`] looks up the board and
//! the actor's role, answers a retried op with the outcome remembered under
//! its keys, loads what [`plan`] needs (the note, the target member), plans,
//! writes the effect, appends the event with the op keys and the board's new
//! state, and stores the mention notifications the core decides on. A board
//! delete's op is remembered for its actor instead ([`UserOp`]), since the
//! board's own ops go with it: its retry finds no board and is answered
//! from there. The backends supply the primitives ([`MutationTx`]) and
//! differ only in SQL and batching: SQLite answers most primitives from its
//! writer's cache and the batch's prefetch and writes multi-row statements
//! at the end of the batch; PostgreSQL locks the board row and writes as it
//! goes.

use std::cell::RefCell;
use std::sync::Arc;

use bytes::Bytes;

use crate::core::mutation::load_text;
use crate::core::text::TextDoc;
use crate::core::{
    notification, plan, Action, ApiError, BoardState, Ctx, Effect, InviteUse, Limits, Mutation,
    NewNotification, NoteRecord, Notification, Outcome, Role, Timestamp, User,
};
use crate::store::{Applied, CommittedEvent, StoreError};
use crate::telemetry::{self, TraceParent};

/// What a mutation appends to its board's log in one go.
pub struct Append<'a> {
    /// The board after the mutation: its new seq, `updated_at`, title and note count.
    pub board: &'a BoardState,
    /// The event's JSON, exactly as stored and fanned out.
    pub event: &'a Bytes,
    /// The idempotency keys to remember the outcome under.
    pub keys: &'a [String],
    /// The outcome to remember.
    pub outcome: &'a Outcome,
    /// [`Outcome::to_stored`] of it.
    pub stored: (i64, &'a str),
}

/// An answer remembered for a user rather than a board (a board delete:
/// the board and its ops are gone after it).
pub struct UserOp<'a> {
    pub user_id: &'a str,
    pub key: &'a str,
    /// The board seq of the event.
    pub seq: u64,
    /// [`Outcome::to_stored`] of the answer.
    pub stored: (i64, &'a str),
    pub now: Timestamp,
}

/// The primitives a backend offers the pipeline, inside one write
/// transaction (SQLite: the writer's batch; PostgreSQL: the board's row lock).
#[allow(async_fn_in_trait)]
pub trait MutationTx {
    /// Errors of the backend; a rejection ([`ApiError`]) writes nothing.
    type Error: From<StoreError> + From<ApiError>;

    /// The board and the actor's role on it (`None`: not a member), or `None` if no such board.
    async fn board(
        &mut self,
        board: &str,
        actor: &str,
    ) -> Result<Option<(BoardState, Option<Role>)>, Self::Error>;
    /// The outcome remembered under the first of `keys` that has one.
    async fn remembered(
        &mut self,
        board: &str,
        keys: &[String],
    ) -> Result<Option<Applied>, Self::Error>;
    /// A note of the board, as this transaction sees it.
    async fn note(&mut self, board: &str, id: &str) -> Result<Option<NoteRecord>, Self::Error>;
    /// The note's text document if this store keeps it warm at the note's
    /// text version (taken out: a failed change drops it).
    fn take_text(&mut self, _board: &str, _rec: &NoteRecord) -> Option<TextDoc> {
        None
    }
    /// Keeps a changed document warm once the change commits (`bytes`: its
    /// stored size, for the cache's bound).
    fn keep_text(&mut self, _board: &str, _rec: &NoteRecord, _doc: TextDoc, _bytes: usize) {}
    /// A deleted note of the board as it was when deleted (for `note.restore`).
    async fn deleted_note(
        &mut self,
        board: &str,
        id: &str,
    ) -> Result<Option<NoteRecord>, Self::Error>;
    /// A member of the board and their role.
    async fn member(
        &mut self,
        board: &str,
        user_id: &str,
    ) -> Result<Option<(User, Role)>, Self::Error>;
    /// The board's members among these usernames.
    async fn members_named(
        &mut self,
        board: &str,
        names: &[String],
    ) -> Result<Vec<User>, Self::Error>;
    /// Writes a plan's rows (the board row itself changes in [`MutationTx::append`]).
    async fn apply(
        &mut self,
        board: &str,
        effect: &Effect,
        now: Timestamp,
    ) -> Result<(), Self::Error>;
    /// Appends the event, remembers the op keys and stores the board's new state.
    async fn append(&mut self, a: &Append<'_>) -> Result<(), Self::Error>;
    /// Stores a notification under the user's next id.
    async fn notify(&mut self, n: &NewNotification) -> Result<Notification, Self::Error>;
    /// When the user was last removed from the board or had their role lowered.
    async fn member_cut(
        &mut self,
        board: &str,
        user_id: &str,
    ) -> Result<Option<Timestamp>, Self::Error>;
    /// Counts one use of the invite if it is usable at `now` (atomically:
    /// a single-use invite is used once); `false` if it is not.
    async fn use_invite(&mut self, id: &str, now: Timestamp) -> Result<bool, Self::Error>;
    /// The answer remembered for the user under `key` (see [`UserOp`]).
    async fn user_op(&mut self, user_id: &str, key: &str) -> Result<Option<Applied>, Self::Error>;
    /// Remembers an answer for a user (see [`UserOp`]).
    async fn remember_user_op(&mut self, op: &UserOp<'_>) -> Result<(), Self::Error>;
}

/// What a mutation's transaction produced.
pub enum Step {
    /// Nothing was written (a replayed op, or a plan without an event).
    Answer(Applied),
    /// Commit, then hand the event to the sink.
    Commit(Applied, Arc<CommittedEvent>),
}

/// Runs mutation `m` through `tx` at `now` (see the module docs).
///
/// # Errors
/// A rejection from the core (nothing written), or the backend's failure.
pub async fn mutate<T: MutationTx>(
    tx: &mut T,
    m: &Mutation,
    limits: &Limits,
    now: Timestamp,
) -> Result<Step, T::Error> {
    let user_key = m.user_op_key();
    let Some((state, actor_role)) = tx.board(&m.board, &m.actor.id).await? else {
        // A retried board delete: the board is gone, its answer is the actor's.
        if let Some(key) = &user_key {
            if let Some(a) = tx.user_op(&m.actor.id, key).await? {
                return Ok(Step::Answer(a));
            }
        }
        return Err(ApiError::not_found("board not found").into());
    };
    if actor_role.is_none() && !matches!(m.action, Action::Join { .. }) {
        return Err(ApiError::not_found("board not found").into());
    }
    // Idempotent retry: answer with what the first attempt answered.
    // Authorization first: a replay answers only who may take the action.
    if let (Some(least), Some(role)) = (m.action.least_role(), actor_role) {
        if role < least {
            return Err(
                ApiError::forbidden(format!("this needs the {} role", least.as_str())).into(),
            );
        }
    }
    let keys = m.idempotency_keys();
    if !keys.is_empty() {
        if let Some(a) = tx.remembered(&m.board, &keys).await? {
            return Ok(Step::Answer(a));
        }
    }
    if let (
        Action::Join {
            invite: Some(inv), ..
        },
        None,
    ) = (&m.action, actor_role)
    {
        check_invite(tx, m, inv, now).await?;
    }
    let note_id = match &m.action {
        Action::UpdateNote { id, .. }
        | Action::DeleteNote { id }
        | Action::EditNote { id, .. }
        | Action::RestoreNote { id } => Some(id),
        Action::CreateNote(c) => c.id.as_ref(),
        _ => None,
    };
    let note = match note_id {
        Some(id) => tx.note(&m.board, id).await?,
        None => None,
    };
    let deleted = match (&m.action, &note) {
        (Action::RestoreNote { id }, None) => tx.deleted_note(&m.board, id).await?,
        _ => None,
    };
    let target = match &m.action {
        Action::SetRole { user_id, .. } | Action::RemoveMember { user_id } => {
            tx.member(&m.board, user_id).await?
        }
        _ => None,
    };
    let changes_text = match (&m.action, &note) {
        (Action::EditNote { .. }, Some(_)) => true,
        (Action::UpdateNote { update, .. }, Some(_)) => update.text.is_some(),
        _ => false,
    };
    let text = match (&note, changes_text) {
        (Some(rec), true) => Some(RefCell::new(match tx.take_text(&m.board, rec) {
            Some(doc) => doc,
            None => load_text(rec)?,
        })),
        _ => None,
    };
    let new_id = uuid::Uuid::now_v7().to_string();
    let p = {
        // Dropped before the next await: it borrows the RefCell.
        let ctx = Ctx {
            board: &state,
            actor_role,
            note: note.as_ref(),
            deleted: deleted.as_ref(),
            text: text.as_ref(),
            target: target.as_ref().map(|(u, r)| (u, *r)),
            limits,
            now,
        };
        plan(&ctx, m, &new_id)?
    };
    let Some(event) = p.event else {
        return Ok(Step::Answer(Applied {
            outcome: p.outcome,
            seq: state.seq,
            replayed: false,
        }));
    };
    let seq = event.seq;
    telemetry::record_seq(seq);
    let json = Bytes::from(
        serde_json::to_vec(&event).map_err(|e| StoreError::Db(format!("event encode: {e}")))?,
    );
    tx.apply(&m.board, &p.effect, now).await?;
    if let (Some(doc), Effect::UpdateNote(r)) = (text, &p.effect) {
        let bytes = r.text_state.as_ref().map_or(0, |s| s.len());
        tx.keep_text(&m.board, r, doc.into_inner(), bytes);
    }
    let mut notifications = Vec::new();
    if let (false, Effect::InsertNote(r) | Effect::UpdateNote(r)) =
        (p.mentions.is_empty(), &p.effect)
    {
        let members = tx.members_named(&m.board, &p.mentions).await?;
        for n in notification::mention_notifications(&r.note, &p.mentions, &members, &m.actor, now)
        {
            let stored = tx.notify(&n).await?;
            notifications.push((n.user_id, stored));
        }
    }
    if let Some(key) = &user_key {
        let (kind, body) = p.outcome.to_stored();
        tx.remember_user_op(&UserOp {
            user_id: &m.actor.id,
            key,
            seq,
            stored: (kind, &body),
            now,
        })
        .await?;
    }
    if !matches!(p.effect, Effect::DeleteBoard) {
        let board = after(&state, &p.effect, seq, now);
        let (kind, body) = p.outcome.to_stored();
        tx.append(&Append {
            board: &board,
            event: &json,
            keys: &keys,
            outcome: &p.outcome,
            stored: (kind, &body),
        })
        .await?;
    }
    let committed = Arc::new(CommittedEvent {
        event,
        json,
        notifications,
        remote: false,
        trace: TraceParent::current(),
    });
    Ok(Step::Commit(
        Applied {
            outcome: p.outcome,
            seq,
            replayed: false,
        },
        committed,
    ))
}

/// An invite accepted by a non-member must still be usable, and cannot bring
/// back a user removed (or demoted) after it was created; joining uses it up.
/// A member accepting again changes nothing, so nothing is checked.
async fn check_invite<T: MutationTx>(
    tx: &mut T,
    m: &Mutation,
    inv: &InviteUse,
    now: Timestamp,
) -> Result<(), T::Error> {
    if let Some(cut) = tx.member_cut(&m.board, &m.actor.id).await? {
        if inv.created_at < cut {
            return Err(ApiError::forbidden(
                "this invite predates your removal or role change on the board; \
                 ask the owner for a new one",
            )
            .into());
        }
    }
    if !tx.use_invite(&inv.id, now).await? {
        return Err(ApiError::not_found("invite not found").into());
    }
    Ok(())
}

/// The board after `effect` committed at `seq`.
fn after(state: &BoardState, effect: &Effect, seq: u64, now: Timestamp) -> BoardState {
    let mut b = state.clone();
    b.seq = seq;
    b.updated_at = now;
    match effect {
        Effect::InsertNote(_) | Effect::RestoreNote(_) => b.note_count += 1,
        Effect::DeleteNote(_) => b.note_count = b.note_count.saturating_sub(1),
        Effect::RenameBoard(title) => b.title = title.clone(),
        _ => {}
    }
    b
}

/// What went wrong inside a write transaction: a rejection (nothing was
/// written; the rest of a batch goes on) or a failure, with the database's
/// own error kept so that PostgreSQL can retry deadlocks.
pub enum TxError {
    Rejected(ApiError),
    Sql(sqlx::Error),
    Other(StoreError),
}

impl From<sqlx::Error> for TxError {
    fn from(e: sqlx::Error) -> Self {
        TxError::Sql(e)
    }
}

impl From<ApiError> for TxError {
    fn from(e: ApiError) -> Self {
        TxError::Rejected(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(a) => TxError::Rejected(a),
            other => TxError::Other(other),
        }
    }
}

impl From<TxError> for StoreError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Rejected(a) => StoreError::Rejected(a),
            TxError::Sql(e) => e.into(),
            TxError::Other(e) => e,
        }
    }
}

impl TxError {
    /// A deadlock or serialization failure: nothing was written, trying again is safe.
    pub fn retryable(&self) -> bool {
        match self {
            TxError::Sql(e) => e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "40P01" || c == "40001"),
            _ => false,
        }
    }
}
