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
use serde_json::Value;
use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot};

use super::rows;
use crate::core::{
    plan, Action, ApiError, Board, BoardState, Clock, Ctx, Effect, Limits, Mutation, NoteRecord,
    Role, Timestamp, User,
};
use crate::store::{
    Applied, CommittedEvent, CredentialKind, EventSink, NewCredential, NewInvite, StoreError,
};

/// Most jobs in one transaction.
pub const MAX_BATCH: usize = 512;
/// Boards kept in the writer's cache before it is cleared.
const CACHE_BOARDS: usize = 10_000;

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
    Prune {
        now: Timestamp,
    },
}

/// What a job produced.
#[derive(Debug)]
pub enum Output {
    Applied(Applied),
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
        let mut results = Vec::with_capacity(batch.len());
        for (job, _) in batch {
            match self.exec(job).await {
                Ok((out, events)) => results.push((Ok(out), events)),
                Err(ExecError::Rejected(a)) => {
                    results.push((Err(StoreError::Rejected(a)), Vec::new()))
                }
                Err(ExecError::Db(e)) => return Err(e),
            }
        }
        self.flush_boards().await?;
        sqlx::query("COMMIT").execute(&mut self.conn).await?;
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
        for (id, seq, title, updated) in dirty {
            sqlx::query("UPDATE boards SET seq = ?, title = ?, updated_at = ? WHERE id = ?")
                .bind(seq as i64)
                .bind(title)
                .bind(updated)
                .bind(id)
                .execute(&mut self.conn)
                .await?;
        }
        Ok(())
    }

    async fn exec(&mut self, job: &Job) -> Result<(Output, Vec<Arc<CommittedEvent>>), ExecError> {
        match job {
            Job::Mutate(m) => self.mutate(m).await,
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
                if let Some(to) = &inv.notify {
                    sqlx::query(
                        "INSERT INTO notifications (user_id, id, kind, board_id, note_id, by_id, at, text) \
                         VALUES (?, (SELECT COALESCE(MAX(id), 0) + 1 FROM notifications WHERE user_id = ?), \
                                 'invited', ?, NULL, ?, ?, ?)",
                    )
                    .bind(&to.id)
                    .bind(&to.id)
                    .bind(&inv.board)
                    .bind(&inv.created_by.id)
                    .bind(inv.created_at.0)
                    .bind(&inv.token)
                    .execute(&mut self.conn)
                    .await?;
                }
                Ok((Output::Unit, vec![]))
            }
            Job::Prune { now } => Ok((Output::Count(self.prune(*now).await?), vec![])),
        }
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

    async fn load_note(&mut self, id: &str) -> Result<Option<NoteRecord>, StoreError> {
        let row = sqlx::query(&format!("{} WHERE n.id = ?", rows::NOTE_SELECT))
            .bind(id)
            .fetch_optional(&mut self.conn)
            .await?;
        row.map(|r| rows::note(&r)).transpose()
    }

    async fn mutate(
        &mut self,
        m: &Mutation,
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
            if let Some(row) =
                sqlx::query("SELECT seq, status, body FROM ops WHERE board_id = ? AND key = ?")
                    .bind(&m.board)
                    .bind(&key)
                    .fetch_optional(&mut self.conn)
                    .await?
            {
                let body: Value = serde_json::from_str(&rows::text(&row, "body")?)
                    .map_err(|e| StoreError::Db(format!("ops body: {e}")))?;
                return Ok((
                    Output::Applied(Applied {
                        status: rows::int(&row, "status")? as u16,
                        body,
                        seq: rows::uint(&row, "seq")?,
                        replayed: true,
                    }),
                    vec![],
                ));
            }
        }
        let note = match &m.action {
            Action::UpdateNote { id, .. } | Action::DeleteNote { id } => self.load_note(id).await?,
            Action::CreateNote(c) => match &c.id {
                Some(id) => self.load_note(id).await?,
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
                    status: p.status,
                    body: p.body,
                    seq: state.seq,
                    replayed: false,
                }),
                vec![],
            ));
        };
        let seq = event.seq;
        self.apply_effect(&m.board, &p.effect, now).await?;
        let json = serde_json::to_string(&event)
            .map_err(|e| StoreError::Db(format!("event encode: {e}")))?;
        if !matches!(p.effect, Effect::DeleteBoard) {
            sqlx::query("INSERT INTO events (board_id, seq, at, body) VALUES (?, ?, ?, ?)")
                .bind(&m.board)
                .bind(seq as i64)
                .bind(now.0)
                .bind(&json)
                .execute(&mut self.conn)
                .await?;
            let keys = m.idempotency_keys();
            if !keys.is_empty() {
                let body = p.body.to_string();
                for key in keys {
                    sqlx::query(
                        "INSERT INTO ops (board_id, key, seq, status, body) VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(&m.board)
                    .bind(key)
                    .bind(seq as i64)
                    .bind(p.status as i64)
                    .bind(&body)
                    .execute(&mut self.conn)
                    .await?;
                }
            }
            if let Some(c) = self.cache.get_mut(&m.board) {
                c.state.seq = seq;
                c.state.updated_at = now;
                c.dirty = true;
            }
        }
        let committed = Arc::new(CommittedEvent {
            event,
            json: Bytes::from(json),
        });
        Ok((
            Output::Applied(Applied {
                status: p.status,
                body: p.body,
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
    ) -> Result<(), StoreError> {
        match effect {
            Effect::None => {}
            Effect::InsertNote(r) | Effect::UpdateNote(r) => {
                let n = &r.note;
                let f = &r.fields;
                let insert = matches!(effect, Effect::InsertNote(_));
                let sql = if insert {
                    "INSERT INTO notes (text, x, y, w, h, color, version, updated_at, \
                     text_v, x_v, y_v, w_v, h_v, color_v, id, board_id, created_by) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                } else {
                    "UPDATE notes SET text = ?, x = ?, y = ?, w = ?, h = ?, color = ?, version = ?, \
                     updated_at = ?, text_v = ?, x_v = ?, y_v = ?, w_v = ?, h_v = ?, color_v = ? \
                     WHERE id = ? AND board_id = ?"
                };
                let mut q = sqlx::query(sql)
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
                    .bind(f.color as i64)
                    .bind(&n.id)
                    .bind(board);
                if insert {
                    q = q.bind(&n.created_by.id);
                }
                q.execute(&mut self.conn).await?;
                if insert {
                    if let Some(c) = self.cache.get_mut(board) {
                        c.state.note_count += 1;
                    }
                }
            }
            Effect::DeleteNote(id) => {
                sqlx::query("DELETE FROM notes WHERE id = ? AND board_id = ?")
                    .bind(id)
                    .bind(board)
                    .execute(&mut self.conn)
                    .await?;
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
