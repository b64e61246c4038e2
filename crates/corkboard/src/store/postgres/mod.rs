//! The cluster store: PostgreSQL through a connection pool, shared by every
//! node. Each write is one transaction; acknowledged means committed.
//!
//! A mutation locks its board's row (`SELECT … FOR UPDATE`), loads what
//! [`crate::core::plan`] needs, applies the plan, bumps `boards.seq`,
//! appends the event and remembers the op keys, all in that transaction: two
//! nodes writing to one board queue on the row lock, so the board's seqs
//! have no gap and no duplicate. Within a node, a per-board guard (a striped
//! set of async mutexes) is held from before the row lock until the event has
//! been handed to the [`EventSink`], so this node fans out each board's
//! events in commit order, and writers to one board wait in memory instead
//! of holding pooled connections while they queue on the lock.
//!
//! Notification ids come from a per-user counter row bumped in the same
//! transaction as the notification; the row stays locked until commit, so a
//! user's ids are committed in increasing order.

pub mod testing;

use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, Postgres, Transaction};
use tokio::sync::Mutex;
use tracing::Instrument as _;

use crate::core::text::{TextCache, TextDoc, CACHE_MAX_DOCS};
use crate::core::{
    Board, BoardState, Clock, Effect, Limits, Mutation, NewNotification, NoteRecord, Notification,
    Role, Timestamp, User,
};
use crate::store::pipeline::{self, Append, MutationTx, Step, TxError, UserOp};
use crate::store::rows::{self, Cols};
use crate::store::sql::{self, big, NoteTable, Pg, Sql};
use crate::store::{
    Applied, BoardCreated, Credential, CredentialKind, EventSink, EventsAfter, HistoryEvents,
    InviteCount, InviteInfo, InviteRecord, NewBoard, NewCredential, NewInvite, SessionInfo,
    Snapshot, Store, StoreError, TokenInfo,
};
use crate::telemetry;

/// The shared statements inside a mutation's transaction (errors keep their
/// database code, for the deadlock retry).
type PgTx = Sql<Postgres, TxError>;

/// The PostgreSQL schema's migrations, built into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Default number of pooled connections per node.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// Per-board guards; boards hash onto these (a collision only serializes two boards).
const STRIPES: usize = 256;

/// Attempts of a mutation that PostgreSQL aborted as a deadlock or serialization failure.
const MAX_ATTEMPTS: usize = 3;

/// Is `url` a PostgreSQL connection URL (`postgres://` or `postgresql://`)?
pub fn is_postgres_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` without its password (for logs and error messages).
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[start..];
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) if rest[..at].contains(':') => {
            let user = rest[..at].split(':').next().unwrap_or_default();
            format!("{}{user}:***@{}", &url[..start], &rest[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The board row, locked, with its note count and the actor's role.
const BOARD_FOR_MUTATION: &str = concat!(
    "SELECT (SELECT mm.role FROM members mm WHERE mm.board_id = b.id AND mm.user_id = $1) \
     AS actor_role, b.note_count, ",
    board_columns!(),
    " WHERE b.id = $2 FOR UPDATE OF b"
);

/// History checkpoints a reader may have produced and not yet stored (each
/// up to the board's whole state): what bounds a cold history read's memory.
const CHECKPOINT_QUEUE: usize = 4;

/// PostgreSQL implementation of [`Store`].
pub struct PgStore {
    pool: PgPool,
    sink: Arc<dyn EventSink>,
    limits: Limits,
    clock: Arc<dyn Clock>,
    stripes: Vec<Mutex<()>>,
    closed: AtomicBool,
    /// Text documents kept warm between edits made through this node (an
    /// edit made elsewhere changes the note's text version: a miss).
    texts: parking_lot::Mutex<TextCache>,
}

impl PgStore {
    /// Connects to `url` with a pool of `pool_size` connections and runs the migrations.
    ///
    /// # Errors
    /// When the URL is invalid, the server cannot be reached or migrating fails.
    pub async fn open(
        url: &str,
        pool_size: u32,
        sink: Arc<dyn EventSink>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?
            .application_name("corkboard")
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        // The migrator holds an advisory lock, so nodes starting together migrate once.
        if let Err(e) = MIGRATOR.run(&pool).await {
            let latest = sqlx::query_scalar::<_, Option<i64>>(crate::store::schema::LATEST_SQL)
                .fetch_one(&pool)
                .await
                .ok()
                .flatten();
            pool.close().await;
            return Err(StoreError::Db(crate::store::schema::explain(
                &e, latest, &MIGRATOR,
            )));
        }
        let text_cache_bytes = limits.text_cache_bytes;
        Ok(Self {
            pool,
            sink,
            limits,
            clock,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            closed: AtomicBool::new(false),
            texts: parking_lot::Mutex::new(TextCache::new(text_cache_bytes, CACHE_MAX_DOCS)),
        })
    }

    fn check_open(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::Acquire) {
            Err(StoreError::Unavailable)
        } else {
            Ok(())
        }
    }

    fn stripe(&self, board: &str) -> &Mutex<()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        board.hash(&mut h);
        &self.stripes[(h.finish() as usize) % STRIPES]
    }

    /// One attempt at a mutation: its transaction, committed if it wrote
    /// anything. The caller holds the board's guard.
    async fn mutate_once(&self, m: &Mutation) -> Result<Applied, TxError> {
        let mut tx = self.pool.begin().await?;
        let mut conn = MutationConn {
            tx: &mut tx,
            texts: &self.texts,
            kept: None,
        };
        // Ends when this function returns: after the commit and the hand-off to the sink.
        let span = telemetry::commit_span(&tracing::Span::current(), &m.board);
        let step = pipeline::mutate(&mut conn, m, &self.limits, self.clock.now())
            .instrument(span.clone())
            .await;
        let kept = conn.kept.take();
        match step {
            Ok(Step::Answer(a)) => {
                tx.rollback().await?;
                Ok(a)
            }
            Ok(Step::Commit(a, event)) => {
                let started = std::time::Instant::now();
                tx.commit().await?;
                metrics::histogram!("corkboard_store_commit_seconds").record(started.elapsed());
                if let Some((board, note, version, doc, bytes)) = kept {
                    self.texts.lock().put(&board, &note, version, doc, bytes);
                }
                self.sink.committed(event);
                Ok(a)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// A read-only repeatable-read transaction: its `SELECT`s see one instant.
    async fn read_tx(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.check_open()?;
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    /// A pooled connection, for one statement (or a few that need not agree).
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Postgres>, StoreError> {
        self.check_open()?;
        Ok(self.pool.acquire().await?)
    }
}

/// A mutation's transaction: the pipeline's primitives in SQL, writing as it goes.
struct MutationConn<'a> {
    tx: &'a mut Transaction<'static, Postgres>,
    texts: &'a parking_lot::Mutex<TextCache>,
    /// The document the mutation changed, kept warm once it commits.
    kept: Option<(String, String, u64, TextDoc, usize)>,
}

impl MutationConn<'_> {
    fn c(&mut self) -> &mut PgConnection {
        &mut *self.tx
    }
}

impl MutationTx for MutationConn<'_> {
    type Error = TxError;

    async fn board(
        &mut self,
        board: &str,
        actor: &str,
    ) -> Result<Option<(BoardState, Option<Role>)>, TxError> {
        // Locks the board row until commit: writers to one board queue here.
        let row = sqlx::query(BOARD_FOR_MUTATION)
            .bind(actor)
            .bind(board)
            .fetch_optional(self.c())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let state = rows::board_state(&row, row.uint("note_count")?)?;
        let role = row
            .opt_text("actor_role")?
            .map(|r| rows::role(&r))
            .transpose()?;
        Ok(Some((state, role)))
    }

    async fn remembered(
        &mut self,
        board: &str,
        keys: &[String],
    ) -> Result<Option<Applied>, TxError> {
        PgTx::remembered(self.c(), board, keys).await
    }

    async fn note(&mut self, board: &str, id: &str) -> Result<Option<NoteRecord>, TxError> {
        PgTx::note(self.c(), board, id).await
    }

    fn take_text(&mut self, board: &str, rec: &NoteRecord) -> Option<TextDoc> {
        self.texts.lock().take(board, &rec.note.id, rec.fields.text)
    }

    fn keep_text(&mut self, board: &str, rec: &NoteRecord, doc: TextDoc, bytes: usize) {
        let v = rec.fields.text;
        self.kept = Some((board.to_owned(), rec.note.id.clone(), v, doc, bytes));
    }

    async fn deleted_note(&mut self, board: &str, id: &str) -> Result<Option<NoteRecord>, TxError> {
        PgTx::deleted_note(self.c(), board, id).await
    }

    async fn member(
        &mut self,
        board: &str,
        user_id: &str,
    ) -> Result<Option<(User, Role)>, TxError> {
        PgTx::member(self.c(), board, user_id).await
    }

    async fn members_named(&mut self, board: &str, names: &[String]) -> Result<Vec<User>, TxError> {
        PgTx::members_named(self.c(), board, names).await
    }

    async fn apply(&mut self, board: &str, effect: &Effect, now: Timestamp) -> Result<(), TxError> {
        let c = self.c();
        match effect {
            // The board row changes in `append`.
            Effect::None | Effect::RenameBoard(_) => Ok(()),
            Effect::InsertNote(r) | Effect::UpdateNote(r) => {
                PgTx::upsert_notes(c, NoteTable::Live, std::slice::from_ref(r)).await
            }
            Effect::RestoreNote(r) => {
                let key = [(board.to_owned(), r.note.id.clone())];
                PgTx::delete_notes(c, NoteTable::Deleted, &key).await?;
                PgTx::upsert_notes(c, NoteTable::Live, std::slice::from_ref(r)).await
            }
            Effect::DeleteNote(r) => {
                let key = [(board.to_owned(), r.note.id.clone())];
                PgTx::delete_notes(c, NoteTable::Live, &key).await?;
                PgTx::upsert_notes(c, NoteTable::Deleted, std::slice::from_ref(r)).await
            }
            Effect::DeleteBoard => PgTx::delete_board(c, board).await,
            Effect::PutMember(user, role) => PgTx::put_member(c, board, user, *role, now).await,
            Effect::Demote(user, role) => {
                PgTx::put_member(c, board, user, *role, now).await?;
                PgTx::cut_member(c, board, &user.id, now).await
            }
            Effect::RemoveMember { user_id, cut } => {
                PgTx::remove_member(c, board, user_id).await?;
                if *cut {
                    PgTx::cut_member(c, board, user_id, now).await?;
                }
                Ok(())
            }
        }
    }

    async fn append(&mut self, a: &Append<'_>) -> Result<(), TxError> {
        let b = a.board;
        let json = std::str::from_utf8(a.event)
            .map_err(|e| StoreError::Db(format!("event encode: {e}")))?;
        // The event, the op keys and the board's new state in one round trip.
        let r = sqlx::query(
            "WITH e AS (INSERT INTO events (board_id, seq, at, body) VALUES ($1, $2, $3, $4)), \
             o AS (INSERT INTO ops (board_id, key, seq, status, body) \
                   SELECT $1, k, $2, $5, $6 FROM unnest($7::text[]) AS k) \
             UPDATE boards SET seq = $2, updated_at = $3, title = $8, note_count = $9 \
             WHERE id = $1",
        )
        .bind(&b.id)
        .bind(big(b.seq))
        .bind(b.updated_at.0)
        .bind(json)
        .bind(a.stored.0)
        .bind(a.stored.1)
        .bind(a.keys)
        .bind(&b.title)
        .bind(big(b.note_count))
        .execute(self.c())
        .await?;
        if r.rows_affected() != 1 {
            return Err(StoreError::Db(format!("board {} vanished under its lock", b.id)).into());
        }
        Ok(())
    }

    async fn notify(&mut self, n: &NewNotification) -> Result<Notification, TxError> {
        PgTx::insert_notification(self.c(), n).await
    }

    async fn member_cut(
        &mut self,
        board: &str,
        user_id: &str,
    ) -> Result<Option<Timestamp>, TxError> {
        PgTx::member_cut(self.c(), board, user_id).await
    }

    async fn use_invite(&mut self, id: &str, now: Timestamp) -> Result<bool, TxError> {
        PgTx::use_invite(self.c(), id, now).await
    }

    async fn user_op(&mut self, user_id: &str, key: &str) -> Result<Option<Applied>, TxError> {
        let found = PgTx::user_op(self.c(), user_id, key).await?;
        Ok(found.map(sql::user_op_applied).transpose()?)
    }

    async fn remember_user_op(&mut self, r: &UserOp<'_>) -> Result<(), TxError> {
        PgTx::put_user_op(self.c(), r.user_id, r.key, r.seq, r.stored, r.now).await
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.check_open()?;
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_user(
        &self,
        id: &str,
        username: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        Pg::create_user(&mut *self.conn().await?, id, username, password_hash, now).await
    }

    async fn find_login(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        Pg::find_login(&mut *self.conn().await?, username).await
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Pg::find_user(&mut *self.conn().await?, username).await
    }

    async fn create_credential(&self, c: NewCredential) -> Result<(), StoreError> {
        Pg::create_credential(&mut *self.conn().await?, &c).await
    }

    async fn find_credential(&self, secret_hash: &str) -> Result<Option<Credential>, StoreError> {
        Pg::find_credential(&mut *self.conn().await?, secret_hash).await
    }

    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>, StoreError> {
        Pg::list_tokens(&mut *self.conn().await?, user_id).await
    }

    async fn revoke_credential(
        &self,
        user_id: &str,
        id: &str,
        kind: CredentialKind,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        Pg::revoke_credential(&mut *self.conn().await?, user_id, id, kind, now).await
    }

    async fn touch_credential(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        Pg::touch_credential(&mut *self.conn().await?, id, now).await
    }

    async fn list_sessions(&self, user_id: &str) -> Result<Vec<SessionInfo>, StoreError> {
        Pg::list_sessions(&mut *self.conn().await?, user_id).await
    }

    async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let now = self.clock.now();
        Pg::revoke_sessions(&mut *self.conn().await?, user_id, keep, now).await
    }

    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        Pg::set_password(&mut *tx, user_id, password_hash).await?;
        let revoked = Pg::revoke_sessions(&mut *tx, user_id, keep, now).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn expire_sessions(
        &self,
        created_by: Timestamp,
        used_by: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let now = self.clock.now();
        Pg::expire_sessions(&mut *self.conn().await?, created_by, used_by, now).await
    }

    async fn create_board_with(&self, b: NewBoard) -> Result<BoardCreated, StoreError> {
        self.check_open()?;
        let mut tx = self.pool.begin().await?;
        let created = Pg::create_board_with(&mut *tx, &b, self.limits.boards_per_user).await?;
        tx.commit().await?;
        Ok(created.answer())
    }

    async fn list_boards(&self, user_id: &str) -> Result<Vec<Board>, StoreError> {
        Pg::list_boards(&mut *self.conn().await?, user_id).await
    }

    async fn board_for(&self, board: &str, user_id: &str) -> Result<Option<Board>, StoreError> {
        Pg::board_for(&mut *self.conn().await?, board, user_id).await
    }

    async fn snapshot(&self, board: &str, user_id: &str) -> Result<Option<Snapshot>, StoreError> {
        Pg::snapshot(self.read_tx().await?, board, user_id).await
    }

    async fn suggest_users(
        &self,
        user_id: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        Pg::suggest_users(&mut *self.conn().await?, user_id, prefix, limit).await
    }

    async fn members(&self, board: &str) -> Result<Vec<(User, Role)>, StoreError> {
        Pg::members(&mut *self.conn().await?, board).await
    }

    async fn note(&self, board: &str, id: &str) -> Result<Option<NoteRecord>, StoreError> {
        Pg::note(&mut *self.conn().await?, board, id).await
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<Option<Notification>, StoreError> {
        self.check_open()?;
        let mut tx = self.pool.begin().await?;
        let notified = Pg::create_invite(&mut *tx, &invite).await?;
        tx.commit().await?;
        Ok(notified)
    }

    async fn find_invite(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<InviteRecord>, StoreError> {
        Pg::find_invite(&mut *self.conn().await?, token_hash, now).await
    }

    async fn invite_answer(
        &self,
        board: &str,
        created_by: &str,
        op: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        Pg::invite_answer(&mut *self.conn().await?, board, created_by, op).await
    }

    async fn list_invites(
        &self,
        board: &str,
        now: Timestamp,
    ) -> Result<Vec<InviteInfo>, StoreError> {
        Pg::list_invites(&mut *self.conn().await?, board, now).await
    }

    async fn revoke_invite(
        &self,
        board: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Pg::revoke_invite(&mut *self.conn().await?, board, id, now).await
    }

    async fn invites_since(
        &self,
        created_by: &str,
        target: Option<&str>,
        since: Timestamp,
    ) -> Result<InviteCount, StoreError> {
        Pg::invites_since(&mut *self.conn().await?, created_by, target, since).await
    }

    async fn mutate(&self, m: Mutation) -> Result<Applied, StoreError> {
        self.check_open()?;
        // Held from before the row lock until the sink has the event.
        let _guard = self.stripe(&m.board).lock().await;
        let mut attempt = 1;
        loop {
            match self.mutate_once(&m).await {
                Ok(a) => return Ok(a),
                Err(e) if e.retryable() && attempt < MAX_ATTEMPTS => {
                    tracing::warn!(board = %m.board, attempt, "mutation aborted by the database; retrying");
                    attempt += 1;
                }
                Err(TxError::Sql(e)) => {
                    tracing::error!(error = %e, board = %m.board, "store write failed");
                    return Err(e.into());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn board_seqs(&self, boards: &[String]) -> Result<Vec<(String, u64)>, StoreError> {
        Pg::board_seqs(&mut *self.conn().await?, boards).await
    }

    async fn events_after(
        &self,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventsAfter, StoreError> {
        Pg::events_after(self.read_tx().await?, board, after, limit).await
    }

    async fn history(
        &self,
        board: &str,
        user_id: &str,
        seq: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        let tx = self.read_tx().await?;
        let (keep, mut kept) = tokio::sync::mpsc::channel(CHECKPOINT_QUEUE);
        let read = async move {
            let every = self.limits.history_checkpoint_every;
            Pg::history(tx, board, user_id, seq, every, &keep).await
        };
        // Stored on another connection while the replay goes on.
        let store = async {
            let mut batch = Vec::new();
            while kept.recv_many(&mut batch, CHECKPOINT_QUEUE).await > 0 {
                let cps = std::mem::take(&mut batch);
                let saved = match self.conn().await {
                    Ok(mut c) => Pg::save_checkpoints(&mut c, &cps).await.map(|_| ()),
                    Err(e) => Err(e),
                };
                if let Err(e) = saved {
                    tracing::warn!(board, error = %e, "history checkpoints not stored");
                }
            }
        };
        tokio::join!(read, store).0
    }

    async fn history_events(
        &self,
        board: &str,
        user_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Option<HistoryEvents>, StoreError> {
        Pg::history_events(self.read_tx().await?, board, user_id, after, limit).await
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        let windows = sql::retention(&self.limits, now);
        let candidates = Pg::prune_candidates(&mut *self.conn().await?, windows.0).await?;
        let mut removed = 0;
        for id in candidates {
            // One transaction per board, locking its row as a mutation does.
            let mut tx = self.pool.begin().await?;
            removed += Pg::prune_board(&mut *tx, &id, windows).await?;
            tx.commit().await?;
        }
        Pg::prune_user_ops(&mut *self.conn().await?, windows.1).await?;
        let kept_since = now.0.saturating_sub(self.limits.deleted_note_ttl_ms);
        Pg::prune_deleted_notes(&mut *self.conn().await?, kept_since).await?;
        Ok(removed)
    }

    async fn add_notification(&self, n: NewNotification) -> Result<Notification, StoreError> {
        self.check_open()?;
        let mut tx = self.pool.begin().await?;
        let stored = Pg::insert_notification(&mut *tx, &n).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn notifications(
        &self,
        user_id: &str,
        after: u64,
        limit: usize,
        ascending: bool,
    ) -> Result<Vec<Notification>, StoreError> {
        let mut c = self.conn().await?;
        Pg::notifications(&mut *c, user_id, after, limit, ascending).await
    }

    async fn notifications_before(
        &self,
        user_id: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let mut c = self.conn().await?;
        Pg::notifications_before(&mut *c, user_id, before, limit).await
    }

    async fn mark_one_read(&self, user_id: &str, id: u64) -> Result<Option<u64>, StoreError> {
        self.check_open()?;
        let mut tx = self.pool.begin().await?;
        let unread = Pg::mark_one_read(&mut *tx, user_id, id).await?;
        tx.commit().await?;
        Ok(unread)
    }

    async fn search(
        &self,
        user_id: &str,
        query: &crate::store::search::Query,
        limit: usize,
    ) -> Result<Vec<crate::store::search::Hit>, StoreError> {
        let mut c = self.conn().await?;
        crate::store::search::postgres(&mut c, user_id, query, limit).await
    }

    async fn unread_count(&self, user_id: &str) -> Result<u64, StoreError> {
        Pg::unread_count(&mut *self.conn().await?, user_id).await
    }

    async fn mark_read(&self, user_id: &str, up_to: u64) -> Result<u64, StoreError> {
        self.check_open()?;
        let mut tx = self.pool.begin().await?;
        let unread = Pg::mark_read(&mut *tx, user_id, up_to).await?;
        tx.commit().await?;
        Ok(unread)
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Waits for connections in use (transactions in flight finish first).
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests;
