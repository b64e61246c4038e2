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

mod rows;
pub mod testing;

use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection, Postgres, Transaction};
use tokio::sync::Mutex;

use crate::core::{
    plan, Action, ApiError, Board, Clock, Ctx, Effect, Limits, Mutation, NewNotification,
    NoteRecord, Notification, Role, Timestamp, User,
};
use crate::store::{
    Applied, CommittedEvent, Credential, CredentialKind, EventSink, EventsAfter, NewCredential,
    NewInvite, Snapshot, Store, StoreError, TokenInfo,
};

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

/// The board row with the actor's role, for a mutation (append `WHERE … FOR UPDATE OF b`).
static BOARD_FOR_MUTATION: LazyLock<String> = LazyLock::new(|| {
    rows::BOARD_SELECT.replace(
        "SELECT b.id",
        "SELECT (SELECT mm.role FROM members mm WHERE mm.board_id = b.id AND mm.user_id = $2) \
         AS actor_role, b.id",
    )
});

/// The board row with the member's role (append `, members m WHERE …`).
static BOARD_WITH_ROLE: LazyLock<String> =
    LazyLock::new(|| rows::BOARD_SELECT.replace("SELECT b.id", "SELECT m.role, b.id"));

/// PostgreSQL implementation of [`Store`].
pub struct PgStore {
    pool: PgPool,
    sink: Arc<dyn EventSink>,
    limits: Limits,
    clock: Arc<dyn Clock>,
    stripes: Vec<Mutex<()>>,
    closed: AtomicBool,
}

/// What went wrong inside a transaction (kept apart so deadlocks can be retried).
enum TxError {
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
    fn retryable(&self) -> bool {
        match self {
            TxError::Sql(e) => e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "40P01" || c == "40001"),
            _ => false,
        }
    }
}

/// The result of a mutation's transaction before commit.
enum Outcome {
    /// Nothing to write (a replay, or a plan without an event): roll back.
    Answer(Applied),
    /// Commit, then hand the event to the sink.
    Commit(Applied, Arc<CommittedEvent>),
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
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Db(format!("migrate: {e}")))?;
        Ok(Self {
            pool,
            sink,
            limits,
            clock,
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            closed: AtomicBool::new(false),
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
        match self.mutate_in(&mut tx, m).await {
            Ok(Outcome::Answer(a)) => {
                tx.rollback().await?;
                Ok(a)
            }
            Ok(Outcome::Commit(a, event)) => {
                let started = std::time::Instant::now();
                tx.commit().await?;
                metrics::histogram!("corkboard_store_commit_seconds").record(started.elapsed());
                self.sink.committed(event);
                Ok(a)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn mutate_in(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        m: &Mutation,
    ) -> Result<Outcome, TxError> {
        let now = self.clock.now();
        let Some(row) = sqlx::query(&format!(
            "{} WHERE b.id = $1 FOR UPDATE OF b",
            *BOARD_FOR_MUTATION
        ))
        .bind(&m.board)
        .bind(&m.actor.id)
        .fetch_optional(&mut **tx)
        .await?
        else {
            return Err(ApiError::not_found("board not found").into());
        };
        let (state, _floor) = rows::board_state(&row)?;
        let actor_role = rows::col::<Option<String>>(&row, "actor_role")?
            .map(|r| rows::role(&r))
            .transpose()?;
        if actor_role.is_none() && !matches!(m.action, Action::Join { .. }) {
            return Err(ApiError::not_found("board not found").into());
        }
        // Idempotent retry: answer with what the first attempt answered.
        let keys = m.idempotency_keys();
        if !keys.is_empty() {
            let found = sqlx::query(
                "SELECT key, seq, status, body FROM ops WHERE board_id = $1 AND key = ANY($2)",
            )
            .bind(&m.board)
            .bind(&keys)
            .fetch_all(&mut **tx)
            .await?;
            for key in &keys {
                let Some(r) = found
                    .iter()
                    .find(|r| rows::col::<String>(r, "key").is_ok_and(|k| &k == key))
                else {
                    continue;
                };
                let outcome = crate::core::Outcome::from_stored(
                    rows::col::<i64>(r, "status")?,
                    &rows::col::<String>(r, "body")?,
                )
                .map_err(StoreError::Db)?;
                return Ok(Outcome::Answer(Applied {
                    outcome,
                    seq: rows::uint(r, "seq")?,
                    replayed: true,
                }));
            }
        }
        let note_id = match &m.action {
            Action::UpdateNote { id, .. } | Action::DeleteNote { id } => Some(id),
            Action::CreateNote(c) => c.id.as_ref(),
            _ => None,
        };
        let note = match note_id {
            Some(id) => sqlx::query(&format!(
                "{} WHERE n.board_id = $1 AND n.id = $2",
                rows::NOTE_SELECT
            ))
            .bind(&m.board)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| rows::note(&r))
            .transpose()?,
            None => None,
        };
        let target = match &m.action {
            Action::SetRole { user_id, .. } | Action::RemoveMember { user_id } => sqlx::query(
                "SELECT u.id, u.username, m.role FROM members m JOIN users u ON u.id = m.user_id \
                     WHERE m.board_id = $1 AND m.user_id = $2",
            )
            .bind(&m.board)
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| {
                Ok::<_, StoreError>((
                    rows::user(&r, "id", "username")?,
                    rows::role(&rows::col::<String>(&r, "role")?)?,
                ))
            })
            .transpose()?,
            _ => None,
        };
        let new_id = uuid::Uuid::now_v7().to_string();
        let ctx = Ctx {
            board: &state,
            actor_role,
            note: note.as_ref(),
            target: target.as_ref().map(|(u, r)| (u, *r)),
            limits: &self.limits,
            now,
        };
        let p = plan(&ctx, m, &new_id)?;
        let Some(event) = p.event else {
            return Ok(Outcome::Answer(Applied {
                outcome: p.outcome,
                seq: state.seq,
                replayed: false,
            }));
        };
        let seq = event.seq;
        let json = serde_json::to_string(&event)
            .map_err(|e| StoreError::Db(format!("event encode: {e}")))?;
        let (note_delta, title) = apply_effect(tx, &m.board, &p.effect, now).await?;
        let notifications = if p.mentions.is_empty() {
            Vec::new()
        } else {
            let rec = match &p.effect {
                Effect::InsertNote(r) | Effect::UpdateNote(r) => Some(r),
                _ => None,
            };
            notify_mentions(tx, m, &p.mentions, rec, now).await?
        };
        if !matches!(p.effect, Effect::DeleteBoard) {
            let (stored_kind, stored_body) = p.outcome.to_stored();
            // The event, the op keys and the board's new seq in one round trip.
            let r = sqlx::query(
                "WITH e AS (INSERT INTO events (board_id, seq, at, body) VALUES ($1, $2, $3, $4)), \
                 o AS (INSERT INTO ops (board_id, key, seq, status, body) \
                       SELECT $1, k, $2, $5, $6 FROM unnest($7::text[]) AS k) \
                 UPDATE boards SET seq = $2, updated_at = $3, title = COALESCE($8, title), \
                 note_count = note_count + $9 WHERE id = $1",
            )
            .bind(&m.board)
            .bind(seq as i64)
            .bind(now.0)
            .bind(&json)
            .bind(stored_kind)
            .bind(stored_body)
            .bind(&keys)
            .bind(title)
            .bind(note_delta)
            .execute(&mut **tx)
            .await?;
            if r.rows_affected() != 1 {
                return Err(
                    StoreError::Db(format!("board {} vanished under its lock", m.board)).into(),
                );
            }
        }
        let committed = Arc::new(CommittedEvent {
            event,
            json: Bytes::from(json),
            notifications,
            remote: false,
        });
        Ok(Outcome::Commit(
            Applied {
                outcome: p.outcome,
                seq,
                replayed: false,
            },
            committed,
        ))
    }

    /// Runs `SELECT`s in one read-only snapshot (the rows agree with each other).
    async fn read_tx(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.check_open()?;
        Ok(self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await?)
    }

    async fn prune_board(&self, id: &str, now: Timestamp) -> Result<u64, StoreError> {
        let keep = self.limits.log_min_events as i64;
        let cutoff_at = now.0.saturating_sub(self.limits.log_min_age_ms);
        let mut tx = self.pool.begin().await?;
        // Lock the board first, as a mutation does, so the two never deadlock.
        let Some(row) = sqlx::query("SELECT seq, log_floor FROM boards WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(0);
        };
        let seq: i64 = rows::col(&row, "seq")?;
        let floor: i64 = rows::col(&row, "log_floor")?;
        let newest_droppable: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(seq) FROM events WHERE board_id = $1 AND seq <= $2 AND at < $3",
        )
        .bind(id)
        .bind(seq - keep)
        .bind(cutoff_at)
        .fetch_one(&mut *tx)
        .await?;
        let Some(new_floor) = newest_droppable.filter(|f| *f > floor) else {
            tx.rollback().await?;
            return Ok(0);
        };
        let removed = sqlx::query("DELETE FROM events WHERE board_id = $1 AND seq <= $2")
            .bind(id)
            .bind(new_floor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM ops WHERE board_id = $1 AND seq <= $2")
            .bind(id)
            .bind(new_floor)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE boards SET log_floor = $1 WHERE id = $2")
            .bind(new_floor)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(removed)
    }
}

/// Writes a plan's rows. Returns the change in the board's note count and its new title.
async fn apply_effect(
    conn: &mut PgConnection,
    board: &str,
    effect: &Effect,
    now: Timestamp,
) -> Result<(i64, Option<String>), sqlx::Error> {
    match effect {
        Effect::None => {}
        Effect::InsertNote(r) | Effect::UpdateNote(r) => {
            let (n, f) = (&r.note, &r.fields);
            let inserted: bool = sqlx::query_scalar(
                "INSERT INTO notes (id, board_id, created_by, text, x, y, w, h, color, version, \
                 updated_at, text_v, x_v, y_v, w_v, h_v, color_v) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                 ON CONFLICT (board_id, id) DO UPDATE SET text = excluded.text, x = excluded.x, \
                 y = excluded.y, w = excluded.w, h = excluded.h, color = excluded.color, \
                 version = excluded.version, updated_at = excluded.updated_at, \
                 text_v = excluded.text_v, x_v = excluded.x_v, y_v = excluded.y_v, \
                 w_v = excluded.w_v, h_v = excluded.h_v, color_v = excluded.color_v \
                 RETURNING (xmax = 0)",
            )
            .bind(&n.id)
            .bind(board)
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
            .bind(f.color as i64)
            .fetch_one(&mut *conn)
            .await?;
            return Ok((i64::from(inserted), None));
        }
        Effect::DeleteNote(id) => {
            let r = sqlx::query("DELETE FROM notes WHERE board_id = $1 AND id = $2")
                .bind(board)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            return Ok((-(r.rows_affected() as i64), None));
        }
        Effect::RenameBoard(title) => return Ok((0, Some(title.clone()))),
        Effect::DeleteBoard => {
            for table in [
                "notes",
                "events",
                "ops",
                "members",
                "invites",
                "notifications",
            ] {
                sqlx::query(&format!("DELETE FROM {table} WHERE board_id = $1"))
                    .bind(board)
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query("DELETE FROM boards WHERE id = $1")
                .bind(board)
                .execute(&mut *conn)
                .await?;
        }
        Effect::PutMember(user, role) => {
            sqlx::query(
                "INSERT INTO members (board_id, user_id, role, joined_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (board_id, user_id) DO UPDATE SET role = excluded.role",
            )
            .bind(board)
            .bind(&user.id)
            .bind(role.as_str())
            .bind(now.0)
            .execute(&mut *conn)
            .await?;
        }
        Effect::RemoveMember(user_id) => {
            sqlx::query("DELETE FROM members WHERE board_id = $1 AND user_id = $2")
                .bind(board)
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok((0, None))
}

/// Inserts a notification with the user's next id (locking the user's counter until commit).
async fn insert_notification(
    conn: &mut PgConnection,
    n: &NewNotification,
) -> Result<Notification, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "WITH c AS ( \
           INSERT INTO notification_counters (user_id, last_id) VALUES ($1, 1) \
           ON CONFLICT (user_id) DO UPDATE SET last_id = notification_counters.last_id + 1 \
           RETURNING last_id) \
         INSERT INTO notifications (user_id, id, kind, board_id, note_id, by_id, at, text) \
         SELECT $1, c.last_id, $2, $3, $4, $5, $6, $7 FROM c RETURNING id",
    )
    .bind(&n.user_id)
    .bind(n.kind)
    .bind(&n.board)
    .bind(&n.note)
    .bind(&n.by.id)
    .bind(n.at.0)
    .bind(&n.text)
    .fetch_one(&mut *conn)
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
/// Recipients are taken in user id order, so counters are always locked in one order.
async fn notify_mentions(
    conn: &mut PgConnection,
    m: &Mutation,
    names: &[String],
    note: Option<&NoteRecord>,
    at: Timestamp,
) -> Result<Vec<(String, Notification)>, StoreError> {
    let Some(rec) = note else {
        return Ok(Vec::new());
    };
    let targets = sqlx::query(
        "SELECT u.id, u.username FROM users u JOIN members m ON m.user_id = u.id \
         WHERE m.board_id = $1 AND u.username = ANY($2) ORDER BY u.id",
    )
    .bind(&m.board)
    .bind(names)
    .fetch_all(&mut *conn)
    .await?;
    let text: String = rec.note.text.chars().take(280).collect();
    let mut out = Vec::new();
    for row in targets {
        let u = rows::user(&row, "id", "username")?;
        if u.id == m.actor.id {
            continue;
        }
        let n = insert_notification(
            conn,
            &NewNotification {
                user_id: u.id.clone(),
                kind: "mention",
                board: Some(m.board.clone()),
                note: Some(rec.note.id.clone()),
                by: m.actor.clone(),
                at,
                text: text.clone(),
            },
        )
        .await?;
        out.push((u.id, n));
    }
    Ok(out)
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
        self.check_open()?;
        let r = sqlx::query(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(id)
        .bind(username)
        .bind(password_hash)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(ApiError::conflict("username is taken")
                .with_details(serde_json::json!({"field": "username"}))
                .into());
        }
        Ok(User {
            id: id.to_owned(),
            username: username.to_owned(),
        })
    }

    async fn find_login(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        self.check_open()?;
        let row = sqlx::query("SELECT id, username, password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok((
                rows::user(&r, "id", "username")?,
                rows::col(&r, "password_hash")?,
            ))
        })
        .transpose()
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.check_open()?;
        let row = sqlx::query("SELECT id, username FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| rows::user(&r, "id", "username")).transpose()
    }

    async fn create_credential(&self, c: NewCredential) -> Result<(), StoreError> {
        self.check_open()?;
        sqlx::query(
            "INSERT INTO credentials (id, user_id, kind, name, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.id)
        .bind(&c.user_id)
        .bind(c.kind.as_str())
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(c.created_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_credential(&self, secret_hash: &str) -> Result<Option<Credential>, StoreError> {
        self.check_open()?;
        let row = sqlx::query(
            "SELECT c.id, c.kind, u.id AS user_id, u.username FROM credentials c \
             JOIN users u ON u.id = c.user_id WHERE c.secret_hash = $1 AND c.revoked_at IS NULL",
        )
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let kind = match rows::col::<String>(&r, "kind")?.as_str() {
                "session" => CredentialKind::Session,
                _ => CredentialKind::Token,
            };
            Ok(Credential {
                id: rows::col(&r, "id")?,
                kind,
                user: rows::user(&r, "user_id", "username")?,
            })
        })
        .transpose()
    }

    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>, StoreError> {
        self.check_open()?;
        let list = sqlx::query(
            "SELECT id, name, created_at FROM credentials \
             WHERE user_id = $1 AND kind = 'token' AND revoked_at IS NULL ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        list.iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: rows::col(r, "id")?,
                    name: rows::col::<Option<String>>(r, "name")?.unwrap_or_default(),
                    created_at: Timestamp(rows::col(r, "created_at")?),
                })
            })
            .collect()
    }

    async fn revoke_credential(
        &self,
        user_id: &str,
        id: &str,
        kind: CredentialKind,
    ) -> Result<bool, StoreError> {
        self.check_open()?;
        let r = sqlx::query(
            "UPDATE credentials SET revoked_at = $1 \
             WHERE id = $2 AND user_id = $3 AND kind = $4 AND revoked_at IS NULL",
        )
        .bind(self.clock.now().0)
        .bind(id)
        .bind(user_id)
        .bind(kind.as_str())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn create_board(
        &self,
        id: &str,
        owner: &User,
        title: &str,
        now: Timestamp,
    ) -> Result<Board, StoreError> {
        self.check_open()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO boards (id, title, owner_id, seq, log_floor, note_count, created_at, \
             updated_at) VALUES ($1, $2, $3, 0, 0, 0, $4, $4)",
        )
        .bind(id)
        .bind(title)
        .bind(&owner.id)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO members (board_id, user_id, role, joined_at) VALUES ($1, $2, 'owner', $3)",
        )
        .bind(id)
        .bind(&owner.id)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Board {
            id: id.to_owned(),
            title: title.to_owned(),
            owner: owner.clone(),
            role: Role::Owner,
            seq: 0,
            created_at: now,
            updated_at: now,
        })
    }

    async fn list_boards(&self, user_id: &str) -> Result<Vec<Board>, StoreError> {
        self.check_open()?;
        let list = sqlx::query(&format!(
            "{}, members m WHERE m.board_id = b.id AND m.user_id = $1 \
             ORDER BY b.created_at DESC, b.id DESC",
            *BOARD_WITH_ROLE
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        list.iter()
            .map(|r| {
                let (state, _) = rows::board_state(r)?;
                Ok(state.view(rows::role(&rows::col::<String>(r, "role")?)?))
            })
            .collect()
    }

    async fn board_for(&self, board: &str, user_id: &str) -> Result<Option<Board>, StoreError> {
        self.check_open()?;
        let row = sqlx::query(&format!(
            "{}, members m WHERE b.id = $1 AND m.board_id = b.id AND m.user_id = $2",
            *BOARD_WITH_ROLE
        ))
        .bind(board)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let (state, _) = rows::board_state(&r)?;
            Ok(state.view(rows::role(&rows::col::<String>(&r, "role")?)?))
        })
        .transpose()
    }

    async fn snapshot(&self, board: &str, user_id: &str) -> Result<Option<Snapshot>, StoreError> {
        // One repeatable-read transaction: the notes and the seq come from the same instant.
        let mut tx = self.read_tx().await?;
        let row = sqlx::query(&format!(
            "{}, members m WHERE b.id = $1 AND m.board_id = b.id AND m.user_id = $2",
            *BOARD_WITH_ROLE
        ))
        .bind(board)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let (state, _) = rows::board_state(&row)?;
        let board_view = state.view(rows::role(&rows::col::<String>(&row, "role")?)?);
        let notes = sqlx::query(&format!(
            "{} WHERE n.board_id = $1 ORDER BY n.id",
            rows::NOTE_SELECT
        ))
        .bind(board)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| rows::note(r).map(|rec| rec.note))
        .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await?;
        Ok(Some(Snapshot {
            seq: board_view.seq,
            board: board_view,
            notes,
        }))
    }

    async fn members(&self, board: &str) -> Result<Vec<(User, Role)>, StoreError> {
        self.check_open()?;
        let list = sqlx::query(
            "SELECT u.id, u.username, m.role FROM members m JOIN users u ON u.id = m.user_id \
             WHERE m.board_id = $1 ORDER BY m.role = 'owner' DESC, m.joined_at, u.username",
        )
        .bind(board)
        .fetch_all(&self.pool)
        .await?;
        list.iter()
            .map(|r| {
                Ok((
                    rows::user(r, "id", "username")?,
                    rows::role(&rows::col::<String>(r, "role")?)?,
                ))
            })
            .collect()
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<Option<Notification>, StoreError> {
        self.check_open()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO invites (token, board_id, role, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&invite.token)
        .bind(&invite.board)
        .bind(invite.role.as_str())
        .bind(&invite.created_by.id)
        .bind(invite.created_at.0)
        .execute(&mut *tx)
        .await?;
        let notified = match &invite.notify {
            Some(to) => Some(
                insert_notification(
                    &mut tx,
                    &NewNotification {
                        user_id: to.id.clone(),
                        kind: "invited",
                        board: Some(invite.board.clone()),
                        note: None,
                        by: invite.created_by.clone(),
                        at: invite.created_at,
                        text: invite.token.clone(),
                    },
                )
                .await?,
            ),
            None => None,
        };
        tx.commit().await?;
        Ok(notified)
    }

    async fn find_invite(&self, token: &str) -> Result<Option<(String, Role)>, StoreError> {
        self.check_open()?;
        let row = sqlx::query("SELECT board_id, role FROM invites WHERE token = $1")
            .bind(token)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok((
                rows::col(&r, "board_id")?,
                rows::role(&rows::col::<String>(&r, "role")?)?,
            ))
        })
        .transpose()
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
        self.check_open()?;
        sqlx::query("SELECT id, seq FROM boards WHERE id = ANY($1)")
            .bind(boards)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((rows::col::<String>(r, "id")?, rows::uint(r, "seq")?)))
            .collect()
    }

    async fn events_after(
        &self,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventsAfter, StoreError> {
        let mut tx = self.read_tx().await?;
        let Some(row) = sqlx::query("SELECT seq, log_floor FROM boards WHERE id = $1")
            .bind(board)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Err(ApiError::not_found("board not found").into());
        };
        let seq = rows::uint(&row, "seq")?;
        let floor = rows::uint(&row, "log_floor")?;
        if after < floor {
            tx.rollback().await?;
            return Ok(EventsAfter::TooOld { seq });
        }
        if after > seq {
            tx.rollback().await?;
            return Ok(EventsAfter::Future { seq });
        }
        let events = sqlx::query_scalar::<_, String>(
            "SELECT body FROM events WHERE board_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(board)
        .bind(after as i64)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(Bytes::from)
        .collect();
        tx.commit().await?;
        Ok(EventsAfter::Events { events, seq })
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.check_open()?;
        let keep = self.limits.log_min_events as i64;
        let candidates: Vec<String> =
            sqlx::query_scalar("SELECT id FROM boards WHERE seq - log_floor > $1 ORDER BY id")
                .bind(keep)
                .fetch_all(&self.pool)
                .await?;
        let mut removed = 0;
        for id in candidates {
            removed += self.prune_board(&id, now).await?;
        }
        Ok(removed)
    }

    async fn add_notification(&self, n: NewNotification) -> Result<Notification, StoreError> {
        self.check_open()?;
        let mut conn = self.pool.acquire().await?;
        Ok(insert_notification(&mut conn, &n).await?)
    }

    async fn notifications(
        &self,
        user_id: &str,
        after: u64,
        limit: usize,
        ascending: bool,
    ) -> Result<Vec<Notification>, StoreError> {
        self.check_open()?;
        let order = if ascending { "ASC" } else { "DESC" };
        let list = sqlx::query(&format!(
            "{} WHERE n.user_id = $1 AND n.id > $2 ORDER BY n.id {order} LIMIT $3",
            rows::NOTIFICATION_SELECT
        ))
        .bind(user_id)
        .bind(after as i64)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        list.iter().map(rows::notification).collect()
    }

    async fn unread_count(&self, user_id: &str) -> Result<u64, StoreError> {
        self.check_open()?;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND NOT read",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    async fn mark_read(&self, user_id: &str, up_to: u64) -> Result<u64, StoreError> {
        self.check_open()?;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE notifications SET read = TRUE WHERE user_id = $1 AND id <= $2 AND NOT read",
        )
        .bind(user_id)
        .bind(i64::try_from(up_to).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        let unread: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND NOT read",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(unread.max(0) as u64)
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Waits for connections in use (transactions in flight finish first).
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests;
