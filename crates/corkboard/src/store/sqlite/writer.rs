//! The single writer task: every write to the SQLite file goes through it.
//!
//! It takes whatever jobs are queued (up to [`MAX_BATCH`]), runs them in one
//! `BEGIN IMMEDIATE … COMMIT` and answers them all after the commit: one
//! fsync covers the whole batch (group commit). Being the only writer, it
//! keeps each touched board's seq, note count and member roles in memory,
//! so the hot path of a mutation reads at most the note it changes.
//!
//! A job rejected by the core writes nothing and does not disturb its batch.
//! A database error rolls the batch back and replays its jobs one by one, so
//! one bad job never fails its neighbours.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

use crate::core::text::{TextCache, TextDoc, CACHE_MAX_DOCS};
use crate::core::{
    Action, BoardState, Clock, Effect, Limits, Mutation, NewNotification, NoteRecord, Notification,
    Role, Timestamp, User,
};
use crate::store::pipeline::{self, Append, MutationTx, Step, TxError, UserOp};
use crate::store::rows;
use crate::store::sql::{self, op_row, repeat, Lite, NoteTable};
use crate::store::{
    Applied, BoardCreated, CommittedEvent, CredentialKind, EventSink, NewBoard, NewCredential,
    NewInvite, StoreError,
};
use crate::telemetry;

/// Most jobs in one transaction.
pub const MAX_BATCH: usize = 512;
/// Boards kept in the writer's cache before it is cleared.
const CACHE_BOARDS: usize = 10_000;
/// Keys per prefetch statement (two parameters each, well under SQLite's limit).
const PREFETCH_CHUNK: usize = 256;

/// A batch's view of the notes and op ids it touches, and the rows it has
/// decided to write but not yet written. Lets a whole batch of mutations
/// cost a handful of statements instead of several each: the SQLite driver
/// pays a thread hand-off per statement.
#[derive(Default)]
struct Pending {
    /// Notes as of this point in the batch (`None`: absent or deleted).
    notes: HashMap<(String, String), Option<NoteRecord>>,
    /// Remembered answers by (board, key), including this batch's.
    ops: HashMap<(String, String), Applied>,
    /// (board, note id) changed since the last flush.
    touched: Vec<(String, String)>,
    /// Deleted notes kept for restore, as of this point (`None`: none kept).
    deleted: HashMap<(String, String), Option<NoteRecord>>,
    /// (board, note id) whose kept deleted note changed since the last flush.
    touched_deleted: Vec<(String, String)>,
    /// Text documents changed by this batch, by (board, note): (text
    /// version, document, stored size). Warm for the batch's next change of
    /// the note; into the writer's cache once the batch commits.
    docs: HashMap<(String, String), (u64, TextDoc, usize)>,
    /// Event rows to insert: (board, seq, at, json).
    events: Vec<(String, u64, i64, Bytes)>,
    /// Op rows to insert: (board, key, seq, outcome kind, outcome body).
    new_ops: Vec<(String, String, u64, i64, Arc<str>)>,
    /// The exported `commit` spans of the batch's changes: they end when
    /// the batch is committed (dropped with it). Empty without traces.
    commits: Vec<tracing::Span>,
}

/// Pads a key list to the next power of two by repeating its last item, so
/// prefetch statements come in a few shapes the statement cache keeps.
fn pad<T: Clone>(items: &[T]) -> Vec<T> {
    let mut v = items.to_vec();
    if let Some(last) = items.last() {
        v.resize(items.len().next_power_of_two(), last.clone());
    }
    v
}

/// Splits rows into chunks whose sizes are powers of two (at most 128), so
/// multi-row statements come in a few cached shapes.
fn pow2_chunks<T>(items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let n = rest.len().min(128);
        let size = 1usize << (usize::BITS - 1 - n.leading_zeros());
        let (a, b) = rest.split_at(size);
        out.push(a);
        rest = b;
    }
    out
}

/// A write the writer task performs.
#[derive(Debug)]
pub enum Job {
    /// A change, with the span of the command that asked for it (the
    /// parent of its `commit` span).
    Mutate(Mutation, tracing::Span),
    CreateUser {
        id: String,
        username: String,
        hash: String,
        now: Timestamp,
    },
    CreateCredential(NewCredential),
    Revoke {
        user_id: String,
        id: String,
        kind: CredentialKind,
    },
    Touch {
        id: String,
        now: Timestamp,
    },
    RevokeSessions {
        user_id: String,
        keep: Option<String>,
    },
    ChangePassword {
        user_id: String,
        hash: String,
        keep: Option<String>,
    },
    ExpireSessions {
        created_by: Timestamp,
        used_by: Timestamp,
    },
    CreateBoard(NewBoard),
    CreateInvite(NewInvite),
    RevokeInvite {
        board: String,
        id: String,
        now: Timestamp,
    },
    AddNotification(NewNotification),
    MarkRead {
        user_id: String,
        up_to: u64,
    },
    MarkOneRead {
        user_id: String,
        id: u64,
    },
    Prune {
        now: Timestamp,
    },
    /// History checkpoints a reader replayed past (see `Sql::history`).
    SaveCheckpoints(Vec<sql::Checkpoint>),
}

/// What a job produced.
#[derive(Debug)]
pub enum Output {
    Applied(Applied),
    Notification(Option<Notification>),
    User(User),
    Unit,
    Bool(bool),
    Board(BoardCreated),
    Count(u64),
    /// A count, or nothing when what it counts after was not found.
    MaybeCount(Option<u64>),
    Ids(Vec<String>),
}

/// A job and where to send its answer; `None` asks the writer to stop.
pub type Envelope = Option<(Job, oneshot::Sender<Result<Output, StoreError>>)>;

struct CachedBoard {
    state: BoardState,
    roles: HashMap<String, Role>,
    dirty: bool,
}

/// The writer task's state.
pub struct Writer {
    conn: SqliteConnection,
    cache: HashMap<String, CachedBoard>,
    sink: Arc<dyn EventSink>,
    limits: Limits,
    clock: Arc<dyn Clock>,
    texts: TextCache,
}

type Done = (
    oneshot::Sender<Result<Output, StoreError>>,
    Result<Output, StoreError>,
);

impl Writer {
    /// A writer over `conn`, which must be the only writing connection.
    pub fn new(
        conn: SqliteConnection,
        sink: Arc<dyn EventSink>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            conn,
            cache: HashMap::new(),
            sink,
            texts: TextCache::new(limits.text_cache_bytes, CACHE_MAX_DOCS),
            limits,
            clock,
        }
    }

    /// Runs until asked to stop (or every sender is gone), then closes the connection.
    pub async fn run(mut self, mut rx: mpsc::Receiver<Envelope>) {
        let mut stopping = false;
        while !stopping {
            let Some(first) = rx.recv().await else { break };
            let mut batch = Vec::with_capacity(16);
            match first {
                Some(j) => batch.push(j),
                None => stopping = true,
            }
            while batch.len() < MAX_BATCH && !stopping {
                match rx.try_recv() {
                    Ok(Some(j)) => batch.push(j),
                    Ok(None) => stopping = true,
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                self.run_batch(batch).await;
            }
        }
        rx.close();
        while let Ok(Some((_, reply))) = rx.try_recv() {
            let _ = reply.send(Err(StoreError::Unavailable));
        }
        let _ = self.conn.close().await;
    }

    async fn run_batch(&mut self, batch: Vec<(Job, oneshot::Sender<Result<Output, StoreError>>)>) {
        let started = std::time::Instant::now();
        let size = batch.len();
        match self.try_batch(&batch).await {
            Ok(results) => {
                let mut done: Vec<Done> = Vec::with_capacity(size);
                for ((_, reply), (res, events)) in batch.into_iter().zip(results) {
                    for e in events {
                        self.sink.committed(e);
                    }
                    done.push((reply, res));
                }
                for (reply, res) in done {
                    let _ = reply.send(res);
                }
            }
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
                self.cache.clear();
                if size == 1 {
                    tracing::error!(error = %e, "store write failed");
                    for (_, reply) in batch {
                        let _ = reply.send(Err(StoreError::Db(e.to_string())));
                    }
                } else {
                    tracing::warn!(error = %e, size, "batch failed; replaying its jobs one by one");
                    for job in batch {
                        Box::pin(self.run_batch(vec![job])).await;
                    }
                }
            }
        }
        metrics::histogram!("corkboard_store_commit_seconds").record(started.elapsed());
        metrics::histogram!("corkboard_store_batch_size").record(size as f64);
    }

    #[allow(clippy::type_complexity)]
    async fn try_batch(
        &mut self,
        batch: &[(Job, oneshot::Sender<Result<Output, StoreError>>)],
    ) -> Result<Vec<(Result<Output, StoreError>, Vec<Arc<CommittedEvent>>)>, StoreError> {
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut self.conn)
            .await?;
        let mut pending = Pending::default();
        prefetch(&mut self.conn, batch, &mut pending).await?;
        let mut results = Vec::with_capacity(batch.len());
        for (job, _) in batch {
            let r = match job {
                Job::Mutate(m, parent) => self.mutate(m, parent, &mut pending).await,
                other => {
                    // Rare jobs write directly: flush first so statements stay in order.
                    flush(&mut self.conn, &mut pending).await?;
                    self.exec(other).await
                }
            };
            match r {
                Ok((out, events)) => results.push((Ok(out), events)),
                Err(TxError::Rejected(a)) => {
                    results.push((Err(StoreError::Rejected(a)), Vec::new()))
                }
                Err(e) => return Err(e.into()),
            }
        }
        flush(&mut self.conn, &mut pending).await?;
        self.flush_boards().await?;
        sqlx::query("COMMIT").execute(&mut self.conn).await?;
        for ((board, note), (version, doc, bytes)) in pending.docs {
            self.texts.put(&board, &note, version, doc, bytes);
        }
        if self.cache.len() > CACHE_BOARDS {
            self.cache.clear();
        }
        Ok(results)
    }

    /// Writes the seq, title and `updated_at` of every board changed in this batch.
    async fn flush_boards(&mut self) -> Result<(), StoreError> {
        let dirty: Vec<(String, u64, String, i64)> = self
            .cache
            .values_mut()
            .filter(|c| c.dirty)
            .map(|c| {
                c.dirty = false;
                (
                    c.state.id.clone(),
                    c.state.seq,
                    c.state.title.clone(),
                    c.state.updated_at.0,
                )
            })
            .collect();
        for chunk in pow2_chunks(&dirty) {
            let sql = format!(
                "WITH v(id, seq, title, updated_at) AS (VALUES {}) \
                 UPDATE boards SET seq = v.seq, title = v.title, updated_at = v.updated_at \
                 FROM v WHERE boards.id = v.id",
                repeat("(?, ?, ?, ?)", chunk.len(), ", ")
            );
            let mut q = sqlx::query(&sql);
            for (id, seq, title, updated) in chunk {
                q = q.bind(id).bind(*seq as i64).bind(title).bind(*updated);
            }
            q.execute(&mut self.conn).await?;
        }
        Ok(())
    }

    async fn exec(&mut self, job: &Job) -> Result<(Output, Vec<Arc<CommittedEvent>>), TxError> {
        let c = &mut self.conn;
        let out = match job {
            Job::Mutate(m, parent) => {
                let mut pending = Pending::default();
                let r = self.mutate(m, parent, &mut pending).await;
                flush(&mut self.conn, &mut pending).await?;
                return r;
            }
            Job::CreateUser {
                id,
                username,
                hash,
                now,
            } => Output::User(Lite::create_user(c, id, username, hash, *now).await?),
            Job::CreateCredential(cr) => {
                Lite::create_credential(c, cr).await?;
                Output::Unit
            }
            Job::Revoke { user_id, id, kind } => Output::Bool(
                Lite::revoke_credential(c, user_id, id, *kind, self.clock.now()).await?,
            ),
            Job::Touch { id, now } => {
                Lite::touch_credential(c, id, *now).await?;
                Output::Unit
            }
            Job::RevokeSessions { user_id, keep } => Output::Ids(
                Lite::revoke_sessions(c, user_id, keep.as_deref(), self.clock.now()).await?,
            ),
            Job::ChangePassword {
                user_id,
                hash,
                keep,
            } => {
                Lite::set_password(c, user_id, hash).await?;
                Output::Ids(
                    Lite::revoke_sessions(c, user_id, keep.as_deref(), self.clock.now()).await?,
                )
            }
            Job::ExpireSessions {
                created_by,
                used_by,
            } => Output::Ids(
                Lite::expire_sessions(c, *created_by, *used_by, self.clock.now()).await?,
            ),
            Job::CreateBoard(b) => {
                let created = Lite::create_board_with(c, b, self.limits.boards_per_user).await?;
                let answer = created.answer();
                if let sql::Created::New(state) = created {
                    self.cache.insert(
                        b.id.clone(),
                        CachedBoard {
                            state,
                            roles: HashMap::from([(b.owner.id.clone(), Role::Owner)]),
                            dirty: false,
                        },
                    );
                }
                Output::Board(answer)
            }
            Job::CreateInvite(inv) => Output::Notification(Lite::create_invite(c, inv).await?),
            Job::RevokeInvite { board, id, now } => {
                Output::Bool(Lite::revoke_invite(c, board, id, *now).await?)
            }
            Job::AddNotification(n) => {
                Output::Notification(Some(Lite::insert_notification(c, n).await?))
            }
            Job::MarkRead { user_id, up_to } => {
                Output::Count(Lite::mark_read(c, user_id, *up_to).await?)
            }
            Job::MarkOneRead { user_id, id } => {
                Output::MaybeCount(Lite::mark_one_read(c, user_id, *id).await?)
            }
            Job::Prune { now } => {
                let windows = sql::retention(&self.limits, *now);
                let mut removed = 0;
                for id in Lite::prune_candidates(c, windows.0).await? {
                    removed += Lite::prune_board(c, &id, windows).await?;
                }
                Lite::prune_user_ops(c, windows.1).await?;
                let kept_since = now.0.saturating_sub(self.limits.deleted_note_ttl_ms);
                Lite::prune_deleted_notes(c, kept_since).await?;
                Output::Count(removed)
            }
            Job::SaveCheckpoints(cps) => Output::Count(Lite::save_checkpoints(c, cps).await?),
        };
        Ok((out, vec![]))
    }

    async fn mutate(
        &mut self,
        m: &Mutation,
        parent: &tracing::Span,
        pending: &mut Pending,
    ) -> Result<(Output, Vec<Arc<CommittedEvent>>), TxError> {
        let now = self.clock.now();
        let span = telemetry::commit_span(parent, &m.board);
        if !span.is_none() {
            pending.commits.push(span.clone());
        }
        let mut tx = Batch {
            conn: &mut self.conn,
            cache: &mut self.cache,
            pending,
            texts: &mut self.texts,
        };
        Ok(
            match pipeline::mutate(&mut tx, m, &self.limits, now)
                .instrument(span)
                .await?
            {
                Step::Answer(a) => (Output::Applied(a), vec![]),
                Step::Commit(a, event) => (Output::Applied(a), vec![event]),
            },
        )
    }
}

/// One mutation's view of the writer inside a batch: the connection, the
/// board cache and what the batch has prefetched or decided but not written.
struct Batch<'a> {
    conn: &'a mut SqliteConnection,
    cache: &'a mut HashMap<String, CachedBoard>,
    pending: &'a mut Pending,
    texts: &'a mut TextCache,
}

impl MutationTx for Batch<'_> {
    type Error = TxError;

    async fn board(
        &mut self,
        board: &str,
        actor: &str,
    ) -> Result<Option<(BoardState, Option<Role>)>, TxError> {
        if !self.cache.contains_key(board) {
            let Some(mut state) = Lite::board(self.conn, board).await? else {
                return Ok(None);
            };
            state.note_count = Lite::note_count(self.conn, board).await?;
            let roles = Lite::board_roles(self.conn, board).await?;
            let cached = CachedBoard {
                state,
                roles,
                dirty: false,
            };
            self.cache.insert(board.to_owned(), cached);
        }
        Ok(self
            .cache
            .get(board)
            .map(|c| (c.state.clone(), c.roles.get(actor).copied())))
    }

    async fn remembered(
        &mut self,
        board: &str,
        keys: &[String],
    ) -> Result<Option<Applied>, TxError> {
        // The batch prefetched every key its mutations name.
        Ok(keys.iter().find_map(|k| {
            self.pending
                .ops
                .get(&(board.to_owned(), k.clone()))
                .cloned()
        }))
    }

    async fn note(&mut self, board: &str, id: &str) -> Result<Option<NoteRecord>, TxError> {
        let key = (board.to_owned(), id.to_owned());
        if let Some(n) = self.pending.notes.get(&key) {
            return Ok(n.clone());
        }
        let n = Lite::note(self.conn, board, id).await?;
        self.pending.notes.insert(key, n.clone());
        Ok(n)
    }

    fn take_text(&mut self, board: &str, rec: &NoteRecord) -> Option<TextDoc> {
        let key = (board.to_owned(), rec.note.id.clone());
        match self.pending.docs.remove(&key) {
            Some((v, doc, _)) if v == rec.fields.text => Some(doc),
            Some(_) => None,
            None => self.texts.take(board, &rec.note.id, rec.fields.text),
        }
    }

    fn keep_text(&mut self, board: &str, rec: &NoteRecord, doc: TextDoc, bytes: usize) {
        let key = (board.to_owned(), rec.note.id.clone());
        self.pending.docs.insert(key, (rec.fields.text, doc, bytes));
    }

    async fn deleted_note(&mut self, board: &str, id: &str) -> Result<Option<NoteRecord>, TxError> {
        let key = (board.to_owned(), id.to_owned());
        if let Some(n) = self.pending.deleted.get(&key) {
            return Ok(n.clone());
        }
        let n = Lite::deleted_note(self.conn, board, id).await?;
        self.pending.deleted.insert(key, n.clone());
        Ok(n)
    }

    async fn member(
        &mut self,
        board: &str,
        user_id: &str,
    ) -> Result<Option<(User, Role)>, TxError> {
        let cached = self.cache.get(board).and_then(|c| c.roles.get(user_id));
        if cached.is_none() {
            return Ok(None);
        }
        Ok(Lite::member(self.conn, board, user_id).await?)
    }

    async fn members_named(&mut self, board: &str, names: &[String]) -> Result<Vec<User>, TxError> {
        Ok(Lite::members_named(self.conn, board, names).await?)
    }

    async fn apply(&mut self, board: &str, effect: &Effect, now: Timestamp) -> Result<(), TxError> {
        let pending = &mut *self.pending;
        match effect {
            Effect::None | Effect::RenameBoard(_) => {}
            Effect::InsertNote(r) | Effect::UpdateNote(r) => {
                let key = (board.to_owned(), r.note.id.clone());
                pending.notes.insert(key.clone(), Some(r.clone()));
                pending.touched.push(key);
            }
            Effect::DeleteNote(r) => {
                let key = (board.to_owned(), r.note.id.clone());
                pending.notes.insert(key.clone(), None);
                pending.touched.push(key.clone());
                pending.deleted.insert(key.clone(), Some(r.clone()));
                pending.touched_deleted.push(key);
            }
            Effect::RestoreNote(r) => {
                let key = (board.to_owned(), r.note.id.clone());
                pending.notes.insert(key.clone(), Some(r.clone()));
                pending.touched.push(key.clone());
                pending.deleted.insert(key.clone(), None);
                pending.touched_deleted.push(key);
            }
            Effect::DeleteBoard => {
                flush(self.conn, pending).await?;
                Lite::delete_board(self.conn, board).await?;
                self.cache.remove(board);
                pending.notes.retain(|(b, _), _| b != board);
                pending.deleted.retain(|(b, _), _| b != board);
                pending.ops.retain(|(b, _), _| b != board);
            }
            Effect::PutMember(user, role) | Effect::Demote(user, role) => {
                Lite::put_member(self.conn, board, user, *role, now).await?;
                if matches!(effect, Effect::Demote(..)) {
                    Lite::cut_member(self.conn, board, &user.id, now).await?;
                }
                if let Some(c) = self.cache.get_mut(board) {
                    c.roles.insert(user.id.clone(), *role);
                }
            }
            Effect::RemoveMember { user_id, cut } => {
                Lite::remove_member(self.conn, board, user_id).await?;
                if *cut {
                    Lite::cut_member(self.conn, board, user_id, now).await?;
                }
                if let Some(c) = self.cache.get_mut(board) {
                    c.roles.remove(user_id);
                }
            }
        }
        Ok(())
    }

    async fn append(&mut self, a: &Append<'_>) -> Result<(), TxError> {
        let (board, seq) = (&a.board.id, a.board.seq);
        let pending = &mut *self.pending;
        pending
            .events
            .push((board.clone(), seq, a.board.updated_at.0, a.event.clone()));
        let body: Arc<str> = a.stored.1.into();
        for key in a.keys {
            pending
                .new_ops
                .push((board.clone(), key.clone(), seq, a.stored.0, body.clone()));
            pending.ops.insert(
                (board.clone(), key.clone()),
                Applied {
                    outcome: a.outcome.clone(),
                    seq,
                    replayed: true,
                },
            );
        }
        if let Some(c) = self.cache.get_mut(board) {
            c.state = a.board.clone();
            c.dirty = true;
        }
        Ok(())
    }

    async fn notify(&mut self, n: &NewNotification) -> Result<Notification, TxError> {
        Ok(Lite::insert_notification(self.conn, n).await?)
    }

    async fn member_cut(
        &mut self,
        board: &str,
        user_id: &str,
    ) -> Result<Option<Timestamp>, TxError> {
        Ok(Lite::member_cut(self.conn, board, user_id).await?)
    }

    async fn use_invite(&mut self, id: &str, now: Timestamp) -> Result<bool, TxError> {
        Ok(Lite::use_invite(self.conn, id, now).await?)
    }

    async fn user_op(&mut self, user_id: &str, key: &str) -> Result<Option<Applied>, TxError> {
        // Written directly (not batched), so a later job of the batch sees it.
        let found = Lite::user_op(self.conn, user_id, key).await?;
        Ok(found.map(sql::user_op_applied).transpose()?)
    }

    async fn remember_user_op(&mut self, r: &UserOp<'_>) -> Result<(), TxError> {
        Ok(Lite::put_user_op(self.conn, r.user_id, r.key, r.seq, r.stored, r.now).await?)
    }
}

/// Loads, in a few statements, every op key and note the batch's mutations name.
async fn prefetch(
    conn: &mut SqliteConnection,
    batch: &[(Job, oneshot::Sender<Result<Output, StoreError>>)],
    pending: &mut Pending,
) -> Result<(), StoreError> {
    let mut keys: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<(String, String)> = Vec::new();
    for (job, _) in batch {
        let Job::Mutate(m, _) = job else { continue };
        for k in m.idempotency_keys() {
            keys.push((m.board.clone(), k));
        }
        match &m.action {
            Action::UpdateNote { id, .. }
            | Action::DeleteNote { id }
            | Action::EditNote { id, .. }
            | Action::RestoreNote { id } => notes.push((m.board.clone(), id.clone())),
            Action::CreateNote(c) => notes.extend(c.id.clone().map(|id| (m.board.clone(), id))),
            _ => {}
        }
    }
    keys.sort();
    keys.dedup();
    notes.sort();
    notes.dedup();
    for chunk in keys.chunks(PREFETCH_CHUNK) {
        let padded = pad(chunk);
        let sql = format!(
            "SELECT board_id, key, seq, status, body FROM ops WHERE {}",
            repeat("(board_id = ? AND key = ?)", padded.len(), " OR ")
        );
        let mut q = sqlx::query(&sql);
        for (b, k) in &padded {
            q = q.bind(b).bind(k);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let (key, applied) = op_row(&row)?;
            pending.ops.insert(key, applied);
        }
    }
    for chunk in notes.chunks(PREFETCH_CHUNK) {
        let padded = pad(chunk);
        let sql = format!(
            "{} WHERE {}",
            rows::NOTE_SELECT,
            repeat("(n.board_id = ? AND n.id = ?)", padded.len(), " OR ")
        );
        let mut q = sqlx::query(&sql);
        for (b, id) in &padded {
            q = q.bind(b).bind(id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let rec = rows::note(&row)?;
            pending
                .notes
                .insert((rec.note.board.clone(), rec.note.id.clone()), Some(rec));
        }
        for key in chunk {
            pending.notes.entry(key.clone()).or_insert(None);
        }
    }
    Ok(())
}

/// Writes the `touched` notes of `table` as `state` now holds them: the
/// present ones upserted, the absent ones deleted, each once, in multi-row
/// statements.
async fn write_notes(
    conn: &mut SqliteConnection,
    table: NoteTable,
    touched: Vec<(String, String)>,
    state: &HashMap<(String, String), Option<NoteRecord>>,
) -> Result<(), StoreError> {
    let mut upserts = Vec::new();
    let mut deletes = Vec::new();
    for key in touched {
        match state.get(&key) {
            Some(Some(rec)) => upserts.push(rec.clone()),
            _ => deletes.push(key),
        }
    }
    upserts.sort_by(|a, b| (&a.note.board, &a.note.id).cmp(&(&b.note.board, &b.note.id)));
    upserts.dedup_by(|a, b| a.note.board == b.note.board && a.note.id == b.note.id);
    deletes.sort();
    deletes.dedup();
    for chunk in pow2_chunks(&upserts) {
        Lite::upsert_notes(conn, table, chunk).await?;
    }
    for chunk in pow2_chunks(&deletes) {
        Lite::delete_notes(conn, table, chunk).await?;
    }
    Ok(())
}

/// Writes everything the batch's mutations decided so far, a few statements per table.
async fn flush(conn: &mut SqliteConnection, pending: &mut Pending) -> Result<(), StoreError> {
    let touched = std::mem::take(&mut pending.touched);
    write_notes(conn, NoteTable::Live, touched, &pending.notes).await?;
    let touched = std::mem::take(&mut pending.touched_deleted);
    write_notes(conn, NoteTable::Deleted, touched, &pending.deleted).await?;
    let events = std::mem::take(&mut pending.events);
    for chunk in pow2_chunks(&events) {
        let sql = format!(
            "INSERT INTO events (board_id, seq, at, body) VALUES {}",
            repeat("(?, ?, ?, ?)", chunk.len(), ", ")
        );
        let mut q = sqlx::query(&sql);
        for (b, seq, at, body) in chunk {
            let body = std::str::from_utf8(body)
                .map_err(|e| StoreError::Db(format!("event encode: {e}")))?;
            q = q.bind(b).bind(*seq as i64).bind(*at).bind(body);
        }
        q.execute(&mut *conn).await?;
    }
    let ops = std::mem::take(&mut pending.new_ops);
    for chunk in pow2_chunks(&ops) {
        let sql = format!(
            "INSERT INTO ops (board_id, key, seq, status, body) VALUES {}",
            repeat("(?, ?, ?, ?, ?)", chunk.len(), ", ")
        );
        let mut q = sqlx::query(&sql);
        for (b, k, seq, status, body) in chunk {
            q = q
                .bind(b)
                .bind(k)
                .bind(*seq as i64)
                .bind(*status)
                .bind(body.as_ref());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_and_cover_everything() {
        let v: Vec<u32> = (0..300).collect();
        let chunks = pow2_chunks(&v);
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            vec![128, 128, 32, 8, 4]
        );
        assert_eq!(chunks.concat(), v);
        assert!(pow2_chunks::<u32>(&[]).is_empty());
        assert_eq!(pad(&[1, 2, 3]), vec![1, 2, 3, 3]);
    }
}
