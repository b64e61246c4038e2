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

use super::rows;
use crate::core::{
    plan, Action, ApiError, Board, BoardState, Clock, Ctx, Effect, Limits, Mutation,
    NewNotification, NoteRecord, Notification, Outcome, Role, Timestamp, User,
};
use crate::store::{
    Applied, CommittedEvent, CredentialKind, EventSink, NewCredential, NewInvite, StoreError,
};

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
    /// Event rows to insert: (board, seq, at, json).
    events: Vec<(String, u64, i64, Arc<str>)>,
    /// Op rows to insert: (board, key, seq, outcome kind, outcome body).
    new_ops: Vec<(String, String, u64, i64, Arc<str>)>,
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
    Mutate(Mutation),
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
    CreateBoard {
        id: String,
        owner: User,
        title: String,
        now: Timestamp,
    },
    CreateInvite(NewInvite),
    AddNotification(NewNotification),
    MarkRead {
        user_id: String,
        up_to: u64,
    },
    Prune {
        now: Timestamp,
    },
}

/// What a job produced.
#[derive(Debug)]
pub enum Output {
    Applied(Applied),
    Notification(Option<Notification>),
    User(User),
    Unit,
    Bool(bool),
    Board(Board),
    Count(u64),
}

/// A job and where to send its answer; `None` asks the writer to stop.
pub type Envelope = Option<(Job, oneshot::Sender<Result<Output, StoreError>>)>;

enum ExecError {
    Rejected(ApiError),
    Db(StoreError),
}

impl From<sqlx::Error> for ExecError {
    fn from(e: sqlx::Error) -> Self {
        ExecError::Db(e.into())
    }
}

impl From<StoreError> for ExecError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(a) => ExecError::Rejected(a),
            other => ExecError::Db(other),
        }
    }
}

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
        self.prefetch(batch, &mut pending).await?;
        let mut results = Vec::with_capacity(batch.len());
        for (job, _) in batch {
            let r = match job {
                Job::Mutate(m) => self.mutate(m, &mut pending).await,
                other => {
                    // Rare jobs write directly: flush first so statements stay in order.
                    self.flush(&mut pending).await?;
                    self.exec(other).await
                }
            };
            match r {
                Ok((out, events)) => results.push((Ok(out), events)),
                Err(ExecError::Rejected(a)) => {
                    results.push((Err(StoreError::Rejected(a)), Vec::new()))
                }
                Err(ExecError::Db(e)) => return Err(e),
            }
        }
        self.flush(&mut pending).await?;
        self.flush_boards().await?;
        sqlx::query("COMMIT").execute(&mut self.conn).await?;
        if self.cache.len() > CACHE_BOARDS {
            self.cache.clear();
        }
        Ok(results)
    }

    /// Loads, in a few statements, every op key and note the batch's mutations name.
    async fn prefetch(
        &mut self,
        batch: &[(Job, oneshot::Sender<Result<Output, StoreError>>)],
        pending: &mut Pending,
    ) -> Result<(), StoreError> {
        let mut keys: Vec<(String, String)> = Vec::new();
        let mut notes: Vec<(String, String)> = Vec::new();
        for (job, _) in batch {
            let Job::Mutate(m) = job else { continue };
            for k in m.idempotency_keys() {
                keys.push((m.board.clone(), k));
            }
            match &m.action {
                Action::UpdateNote { id, .. } | Action::DeleteNote { id } => {
                    notes.push((m.board.clone(), id.clone()))
                }
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
                vec!["(board_id = ? AND key = ?)"; padded.len()].join(" OR ")
            );
            let mut q = sqlx::query(&sql);
            for (b, k) in &padded {
                q = q.bind(b).bind(k);
            }
            for row in q.fetch_all(&mut self.conn).await? {
                let outcome =
                    Outcome::from_stored(rows::int(&row, "status")?, &rows::text(&row, "body")?)
                        .map_err(StoreError::Db)?;
                pending.ops.insert(
                    (rows::text(&row, "board_id")?, rows::text(&row, "key")?),
                    Applied {
                        outcome,
                        seq: rows::uint(&row, "seq")?,
                        replayed: true,
                    },
                );
            }
        }
        for chunk in notes.chunks(PREFETCH_CHUNK) {
            let padded = pad(chunk);
            let sql = format!(
                "{} WHERE {}",
                rows::NOTE_SELECT,
                vec!["(n.board_id = ? AND n.id = ?)"; padded.len()].join(" OR ")
            );
            let mut q = sqlx::query(&sql);
            for (b, id) in &padded {
                q = q.bind(b).bind(id);
            }
            for row in q.fetch_all(&mut self.conn).await? {
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

    /// Writes everything the batch's mutations decided so far, a few statements per table.
    async fn flush(&mut self, pending: &mut Pending) -> Result<(), StoreError> {
        let mut upserts = Vec::new();
        let mut deletes = Vec::new();
        for key in pending.touched.drain(..) {
            match pending.notes.get(&key) {
                Some(Some(rec)) => upserts.push(rec.clone()),
                _ => deletes.push(key),
            }
        }
        upserts.sort_by(|a, b| (&a.note.board, &a.note.id).cmp(&(&b.note.board, &b.note.id)));
        upserts.dedup_by(|a, b| a.note.board == b.note.board && a.note.id == b.note.id);
        deletes.sort();
        deletes.dedup();
        for chunk in pow2_chunks(&upserts) {
            let sql = format!(
                "INSERT INTO notes (id, board_id, created_by, text, x, y, w, h, color, version, \
                 updated_at, text_v, x_v, y_v, w_v, h_v, color_v) VALUES {} \
                 ON CONFLICT (board_id, id) DO UPDATE SET text = excluded.text, x = excluded.x, \
                 y = excluded.y, w = excluded.w, h = excluded.h, color = excluded.color, \
                 version = excluded.version, updated_at = excluded.updated_at, \
                 text_v = excluded.text_v, x_v = excluded.x_v, y_v = excluded.y_v, \
                 w_v = excluded.w_v, h_v = excluded.h_v, color_v = excluded.color_v",
                vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                let (n, f) = (&r.note, &r.fields);
                q = q
                    .bind(&n.id)
                    .bind(&n.board)
                    .bind(&n.created_by.id)
                    .bind(&n.text)
                    .bind(n.x)
                    .bind(n.y)
                    .bind(n.w)
                    .bind(n.h)
                    .bind(n.color.as_str())
                    .bind(n.version as i64)
                    .bind(n.updated_at.0)
                    .bind(f.text as i64)
                    .bind(f.x as i64)
                    .bind(f.y as i64)
                    .bind(f.w as i64)
                    .bind(f.h as i64)
                    .bind(f.color as i64);
            }
            q.execute(&mut self.conn).await?;
        }
        for chunk in pow2_chunks(&deletes) {
            let sql = format!(
                "DELETE FROM notes WHERE {}",
                vec!["(board_id = ? AND id = ?)"; chunk.len()].join(" OR ")
            );
            let mut q = sqlx::query(&sql);
            for (b, id) in chunk {
                q = q.bind(b).bind(id);
            }
            q.execute(&mut self.conn).await?;
        }
        let events = std::mem::take(&mut pending.events);
        for chunk in pow2_chunks(&events) {
            let sql = format!(
                "INSERT INTO events (board_id, seq, at, body) VALUES {}",
                vec!["(?, ?, ?, ?)"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (b, seq, at, body) in chunk {
                q = q.bind(b).bind(*seq as i64).bind(*at).bind(body.as_ref());
            }
            q.execute(&mut self.conn).await?;
        }
        let ops = std::mem::take(&mut pending.new_ops);
        for chunk in pow2_chunks(&ops) {
            let sql = format!(
                "INSERT INTO ops (board_id, key, seq, status, body) VALUES {}",
                vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ")
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
            q.execute(&mut self.conn).await?;
        }
        Ok(())
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
                vec!["(?, ?, ?, ?)"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (id, seq, title, updated) in chunk {
                q = q.bind(id).bind(*seq as i64).bind(title).bind(*updated);
            }
            q.execute(&mut self.conn).await?;
        }
        Ok(())
    }

    async fn exec(&mut self, job: &Job) -> Result<(Output, Vec<Arc<CommittedEvent>>), ExecError> {
        match job {
            Job::Mutate(m) => {
                let mut pending = Pending::default();
                let r = self.mutate(m, &mut pending).await;
                self.flush(&mut pending).await?;
                r
            }
            Job::CreateUser {
                id,
                username,
                hash,
                now,
            } => {
                let taken = sqlx::query("SELECT 1 FROM users WHERE username = ?")
                    .bind(username)
                    .fetch_optional(&mut self.conn)
                    .await?;
                if taken.is_some() {
                    return Err(ExecError::Rejected(
                        ApiError::conflict("username is taken")
                            .with_details(serde_json::json!({"field": "username"})),
                    ));
                }
                sqlx::query(
                    "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)",
                )
                .bind(id)
                .bind(username)
                .bind(hash)
                .bind(now.0)
                .execute(&mut self.conn)
                .await?;
                Ok((
                    Output::User(User {
                        id: id.clone(),
                        username: username.clone(),
                    }),
                    vec![],
                ))
            }
            Job::CreateCredential(c) => {
                sqlx::query(
                    "INSERT INTO credentials (id, user_id, kind, name, secret_hash, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&c.id)
                .bind(&c.user_id)
                .bind(c.kind.as_str())
                .bind(&c.name)
                .bind(&c.secret_hash)
                .bind(c.created_at.0)
                .execute(&mut self.conn)
                .await?;
                Ok((Output::Unit, vec![]))
            }
            Job::Revoke { user_id, id, kind } => {
                let now = self.clock.now();
                let r = sqlx::query(
                    "UPDATE credentials SET revoked_at = ? \
                     WHERE id = ? AND user_id = ? AND kind = ? AND revoked_at IS NULL",
                )
                .bind(now.0)
                .bind(id)
                .bind(user_id)
                .bind(kind.as_str())
                .execute(&mut self.conn)
                .await?;
                Ok((Output::Bool(r.rows_affected() > 0), vec![]))
            }
            Job::CreateBoard {
                id,
                owner,
                title,
                now,
            } => {
                sqlx::query(
                    "INSERT INTO boards (id, title, owner_id, seq, log_floor, created_at, updated_at) \
                     VALUES (?, ?, ?, 0, 0, ?, ?)",
                )
                .bind(id)
                .bind(title)
                .bind(&owner.id)
                .bind(now.0)
                .bind(now.0)
                .execute(&mut self.conn)
                .await?;
                sqlx::query(
                    "INSERT INTO members (board_id, user_id, role, joined_at) VALUES (?, ?, 'owner', ?)",
                )
                .bind(id)
                .bind(&owner.id)
                .bind(now.0)
                .execute(&mut self.conn)
                .await?;
                let state = BoardState {
                    id: id.clone(),
                    title: title.clone(),
                    owner: owner.clone(),
                    seq: 0,
                    note_count: 0,
                    created_at: *now,
                    updated_at: *now,
                };
                let board = state.view(Role::Owner);
                self.cache.insert(
                    id.clone(),
                    CachedBoard {
                        state,
                        roles: HashMap::from([(owner.id.clone(), Role::Owner)]),
                        dirty: false,
                    },
                );
                Ok((Output::Board(board), vec![]))
            }
            Job::CreateInvite(inv) => {
                sqlx::query(
                    "INSERT INTO invites (token, board_id, role, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
                )
                .bind(&inv.token)
                .bind(&inv.board)
                .bind(inv.role.as_str())
                .bind(&inv.created_by.id)
                .bind(inv.created_at.0)
                .execute(&mut self.conn)
                .await?;
                let notified = match &inv.notify {
                    Some(to) => Some(
                        self.insert_notification(&NewNotification {
                            user_id: to.id.clone(),
                            kind: "invited",
                            board: Some(inv.board.clone()),
                            note: None,
                            by: inv.created_by.clone(),
                            at: inv.created_at,
                            text: inv.token.clone(),
                        })
                        .await?,
                    ),
                    None => None,
                };
                Ok((Output::Notification(notified), vec![]))
            }
            Job::AddNotification(n) => Ok((
                Output::Notification(Some(self.insert_notification(n).await?)),
                vec![],
            )),
            Job::MarkRead { user_id, up_to } => {
                sqlx::query(
                    "UPDATE notifications SET read = 1 WHERE user_id = ? AND id <= ? AND read = 0",
                )
                .bind(user_id)
                .bind(*up_to as i64)
                .execute(&mut self.conn)
                .await?;
                let unread: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read = 0",
                )
                .bind(user_id)
                .fetch_one(&mut self.conn)
                .await?;
                Ok((Output::Count(unread.max(0) as u64), vec![]))
            }
            Job::Prune { now } => Ok((Output::Count(self.prune(*now).await?), vec![])),
        }
    }

    /// Inserts a notification with the user's next id.
    async fn insert_notification(
        &mut self,
        n: &NewNotification,
    ) -> Result<Notification, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO notifications (user_id, id, kind, board_id, note_id, by_id, at, text) \
             VALUES (?, (SELECT COALESCE(MAX(id), 0) + 1 FROM notifications WHERE user_id = ?), \
                     ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&n.user_id)
        .bind(&n.user_id)
        .bind(n.kind)
        .bind(&n.board)
        .bind(&n.note)
        .bind(&n.by.id)
        .bind(n.at.0)
        .bind(&n.text)
        .fetch_one(&mut self.conn)
        .await?;
        Ok(Notification {
            id: id.max(0) as u64,
            kind: n.kind.to_owned(),
            board: n.board.clone(),
            note: n.note.clone(),
            by: n.by.clone(),
            at: n.at,
            text: n.text.clone(),
            read: false,
        })
    }

    /// Notifies the board members among `names` (not the actor) of a mention.
    async fn notify_mentions(
        &mut self,
        m: &Mutation,
        names: &[String],
        note: Option<&NoteRecord>,
        at: Timestamp,
    ) -> Result<Vec<(String, Notification)>, StoreError> {
        let Some(rec) = note else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT u.id, u.username FROM users u JOIN members m ON m.user_id = u.id \
             WHERE m.board_id = ? AND u.username IN ({})",
            vec!["?"; names.len()].join(", ")
        );
        let mut q = sqlx::query(&sql).bind(&m.board);
        for n in names {
            q = q.bind(n);
        }
        let targets = q.fetch_all(&mut self.conn).await?;
        let text: String = rec.note.text.chars().take(280).collect();
        let mut out = Vec::new();
        for row in targets {
            let u = rows::user(&row, "id", "username")?;
            if u.id == m.actor.id {
                continue;
            }
            let n = self
                .insert_notification(&NewNotification {
                    user_id: u.id.clone(),
                    kind: "mention",
                    board: Some(m.board.clone()),
                    note: Some(rec.note.id.clone()),
                    by: m.actor.clone(),
                    at,
                    text: text.clone(),
                })
                .await?;
            out.push((u.id, n));
        }
        Ok(out)
    }

    /// Loads a board into the cache (if it exists) and returns it.
    async fn board(&mut self, id: &str) -> Result<Option<&mut CachedBoard>, StoreError> {
        if !self.cache.contains_key(id) {
            let Some(row) = sqlx::query(&format!("{} WHERE b.id = ?", rows::BOARD_SELECT))
                .bind(id)
                .fetch_optional(&mut self.conn)
                .await?
            else {
                return Ok(None);
            };
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE board_id = ?")
                .bind(id)
                .fetch_one(&mut self.conn)
                .await?;
            let (state, _floor) = rows::board_state(&row, count.max(0) as u64)?;
            let mut roles = HashMap::new();
            for r in sqlx::query("SELECT user_id, role FROM members WHERE board_id = ?")
                .bind(id)
                .fetch_all(&mut self.conn)
                .await?
            {
                roles.insert(
                    rows::text(&r, "user_id")?,
                    rows::role(&rows::text(&r, "role")?)?,
                );
            }
            self.cache.insert(
                id.to_owned(),
                CachedBoard {
                    state,
                    roles,
                    dirty: false,
                },
            );
        }
        Ok(self.cache.get_mut(id))
    }

    /// The note as this batch sees it (prefetched, or changed earlier in the batch).
    async fn note_in_batch(
        &mut self,
        board: &str,
        id: &str,
        pending: &mut Pending,
    ) -> Result<Option<NoteRecord>, StoreError> {
        let key = (board.to_owned(), id.to_owned());
        if let Some(n) = pending.notes.get(&key) {
            return Ok(n.clone());
        }
        let row = sqlx::query(&format!(
            "{} WHERE n.board_id = ? AND n.id = ?",
            rows::NOTE_SELECT
        ))
        .bind(board)
        .bind(id)
        .fetch_optional(&mut self.conn)
        .await?;
        let n = row.map(|r| rows::note(&r)).transpose()?;
        pending.notes.insert(key, n.clone());
        Ok(n)
    }

    async fn mutate(
        &mut self,
        m: &Mutation,
        pending: &mut Pending,
    ) -> Result<(Output, Vec<Arc<CommittedEvent>>), ExecError> {
        let now = self.clock.now();
        let limits = self.limits.clone();
        let Some(cached) = self.board(&m.board).await? else {
            return Err(ExecError::Rejected(ApiError::not_found("board not found")));
        };
        let actor_role = cached.roles.get(&m.actor.id).copied();
        let state = cached.state.clone();
        if actor_role.is_none() && !matches!(m.action, Action::Join { .. }) {
            return Err(ExecError::Rejected(ApiError::not_found("board not found")));
        }
        // Idempotent retry: answer with what the first attempt answered.
        for key in m.idempotency_keys() {
            if let Some(a) = pending.ops.get(&(m.board.clone(), key)) {
                return Ok((Output::Applied(a.clone()), vec![]));
            }
        }
        let note = match &m.action {
            Action::UpdateNote { id, .. } | Action::DeleteNote { id } => {
                self.note_in_batch(&m.board, id, pending).await?
            }
            Action::CreateNote(c) => match &c.id {
                Some(id) => self.note_in_batch(&m.board, id, pending).await?,
                None => None,
            },
            _ => None,
        };
        let target = match &m.action {
            Action::SetRole { user_id, .. } | Action::RemoveMember { user_id } => {
                let role = self
                    .cache
                    .get(&m.board)
                    .and_then(|c| c.roles.get(user_id).copied());
                match role {
                    Some(r) => {
                        let row = sqlx::query("SELECT id, username FROM users WHERE id = ?")
                            .bind(user_id)
                            .fetch_optional(&mut self.conn)
                            .await?;
                        row.map(|row| rows::user(&row, "id", "username").map(|u| (u, r)))
                            .transpose()?
                    }
                    None => None,
                }
            }
            _ => None,
        };
        let new_id = uuid::Uuid::now_v7().to_string();
        let ctx = Ctx {
            board: &state,
            actor_role,
            note: note.as_ref(),
            target: target.as_ref().map(|(u, r)| (u, *r)),
            limits: &limits,
            now,
        };
        let p = plan(&ctx, m, &new_id).map_err(ExecError::Rejected)?;
        let Some(event) = p.event else {
            return Ok((
                Output::Applied(Applied {
                    outcome: p.outcome,
                    seq: state.seq,
                    replayed: false,
                }),
                vec![],
            ));
        };
        let seq = event.seq;
        let json: Arc<str> = serde_json::to_string(&event)
            .map_err(|e| StoreError::Db(format!("event encode: {e}")))?
            .into();
        self.apply_effect(&m.board, &p.effect, now, pending).await?;
        let notifications = if p.mentions.is_empty() {
            Vec::new()
        } else {
            let rec = match &p.effect {
                Effect::InsertNote(r) | Effect::UpdateNote(r) => Some(r),
                _ => None,
            };
            self.notify_mentions(m, &p.mentions, rec, now).await?
        };
        if !matches!(p.effect, Effect::DeleteBoard) {
            pending
                .events
                .push((m.board.clone(), seq, now.0, json.clone()));
            let (kind, body) = p.outcome.to_stored();
            let body: Arc<str> = body.into();
            for key in m.idempotency_keys() {
                pending
                    .new_ops
                    .push((m.board.clone(), key.clone(), seq, kind, body.clone()));
                pending.ops.insert(
                    (m.board.clone(), key),
                    Applied {
                        outcome: p.outcome.clone(),
                        seq,
                        replayed: true,
                    },
                );
            }
            if let Some(c) = self.cache.get_mut(&m.board) {
                c.state.seq = seq;
                c.state.updated_at = now;
                c.dirty = true;
            }
        }
        let committed = Arc::new(CommittedEvent {
            event,
            json: Bytes::copy_from_slice(json.as_bytes()),
            notifications,
            remote: false,
        });
        Ok((
            Output::Applied(Applied {
                outcome: p.outcome,
                seq,
                replayed: false,
            }),
            vec![committed],
        ))
    }

    async fn apply_effect(
        &mut self,
        board: &str,
        effect: &Effect,
        now: Timestamp,
        pending: &mut Pending,
    ) -> Result<(), StoreError> {
        match effect {
            Effect::None => {}
            Effect::InsertNote(r) | Effect::UpdateNote(r) => {
                if matches!(effect, Effect::InsertNote(_)) {
                    if let Some(c) = self.cache.get_mut(board) {
                        c.state.note_count += 1;
                    }
                }
                let key = (board.to_owned(), r.note.id.clone());
                pending.notes.insert(key.clone(), Some(r.clone()));
                pending.touched.push(key);
            }
            Effect::DeleteNote(id) => {
                let key = (board.to_owned(), id.clone());
                pending.notes.insert(key.clone(), None);
                pending.touched.push(key);
                if let Some(c) = self.cache.get_mut(board) {
                    c.state.note_count = c.state.note_count.saturating_sub(1);
                }
            }
            Effect::RenameBoard(title) => {
                if let Some(c) = self.cache.get_mut(board) {
                    c.state.title = title.clone();
                }
            }
            Effect::DeleteBoard => {
                self.flush(pending).await?;
                for table in [
                    "notes",
                    "events",
                    "ops",
                    "members",
                    "invites",
                    "notifications",
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE board_id = ?"))
                        .bind(board)
                        .execute(&mut self.conn)
                        .await?;
                }
                sqlx::query("DELETE FROM boards WHERE id = ?")
                    .bind(board)
                    .execute(&mut self.conn)
                    .await?;
                self.cache.remove(board);
                pending.notes.retain(|(b, _), _| b != board);
                pending.ops.retain(|(b, _), _| b != board);
            }
            Effect::PutMember(user, role) => {
                sqlx::query(
                    "INSERT INTO members (board_id, user_id, role, joined_at) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (board_id, user_id) DO UPDATE SET role = excluded.role",
                )
                .bind(board)
                .bind(&user.id)
                .bind(role.as_str())
                .bind(now.0)
                .execute(&mut self.conn)
                .await?;
                if let Some(c) = self.cache.get_mut(board) {
                    c.roles.insert(user.id.clone(), *role);
                }
            }
            Effect::RemoveMember(user_id) => {
                sqlx::query("DELETE FROM members WHERE board_id = ? AND user_id = ?")
                    .bind(board)
                    .bind(user_id)
                    .execute(&mut self.conn)
                    .await?;
                if let Some(c) = self.cache.get_mut(board) {
                    c.roles.remove(user_id);
                }
            }
        }
        Ok(())
    }

    /// Drops events (and op ids) outside both retention windows.
    async fn prune(&mut self, now: Timestamp) -> Result<u64, StoreError> {
        let keep = self.limits.log_min_events as i64;
        let cutoff_at = now.0 - self.limits.log_min_age_ms;
        let candidates =
            sqlx::query("SELECT id, seq, log_floor FROM boards WHERE seq - log_floor > ?")
                .bind(keep)
                .fetch_all(&mut self.conn)
                .await?;
        let mut removed = 0u64;
        for row in candidates {
            let id = rows::text(&row, "id")?;
            let seq = rows::int(&row, "seq")?;
            let floor = rows::int(&row, "log_floor")?;
            let newest_droppable: Option<i64> = sqlx::query_scalar(
                "SELECT MAX(seq) FROM events WHERE board_id = ? AND seq <= ? AND at < ?",
            )
            .bind(&id)
            .bind(seq - keep)
            .bind(cutoff_at)
            .fetch_one(&mut self.conn)
            .await?;
            let Some(new_floor) = newest_droppable.filter(|f| *f > floor) else {
                continue;
            };
            let r = sqlx::query("DELETE FROM events WHERE board_id = ? AND seq <= ?")
                .bind(&id)
                .bind(new_floor)
                .execute(&mut self.conn)
                .await?;
            removed += r.rows_affected();
            sqlx::query("DELETE FROM ops WHERE board_id = ? AND seq <= ?")
                .bind(&id)
                .bind(new_floor)
                .execute(&mut self.conn)
                .await?;
            sqlx::query("UPDATE boards SET log_floor = ? WHERE id = ?")
                .bind(new_floor)
                .bind(&id)
                .execute(&mut self.conn)
                .await?;
        }
        Ok(removed)
    }
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
