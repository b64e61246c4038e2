//! The embedded store: one SQLite file in WAL mode, a pool of read-only
//! connections for queries, and one writer task (see [`writer`]) for every
//! change. `synchronous=FULL`: a commit is on disk before anyone is answered.

mod rows;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;

use crate::core::{
    Board, Clock, Limits, Mutation, NewNotification, Notification, Role, Timestamp, User,
};
use crate::store::{
    Applied, Credential, CredentialKind, EventSink, EventsAfter, NewCredential, NewInvite,
    Snapshot, Store, StoreError, TokenInfo,
};
use writer::{Envelope, Job, Output, Writer};

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "corkboard.db";

/// Queued writes before callers wait (backpressure on the writer task).
const WRITE_QUEUE: usize = 8192;

/// SQLite implementation of [`Store`].
pub struct SqliteStore {
    read: SqlitePool,
    tx: mpsc::Sender<Envelope>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl SqliteStore {
    /// Opens (creating if needed) `dir/corkboard.db`, runs migrations and starts the writer.
    ///
    /// # Errors
    /// When the directory or database cannot be created or migrated.
    pub async fn open(
        dir: &Path,
        sink: Arc<dyn EventSink>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Db(format!("create {}: {e}", dir.display())))?;
        let path = dir.join(DB_FILE);
        let base = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // A 64 MiB page cache and memory-mapped reads: the hot pages of the
            // notes, events and ops b-trees stay in memory instead of pread().
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "268435456")
            .pragma("temp_store", "memory")
            // Checkpoint less often (each one costs an fsync of the database file).
            .pragma("wal_autocheckpoint", "4000")
            .disable_statement_logging();
        let mut conn: SqliteConnection = base.clone().create_if_missing(true).connect().await?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Db(format!("migrate: {e}")))?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(base.read_only(true))
            .await?;
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let task = tokio::spawn(Writer::new(conn, sink, limits, clock).run(rx));
        Ok(Self {
            read,
            tx,
            writer: Mutex::new(Some(task)),
        })
    }

    async fn write(&self, job: Job) -> Result<Output, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Some((job, reply)))
            .await
            .map_err(|_| StoreError::Unavailable)?;
        rx.await.map_err(|_| StoreError::Unavailable)?
    }
}

fn unexpected(o: Output) -> StoreError {
    StoreError::Db(format!("writer answered with {o:?}"))
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        if self.tx.is_closed() {
            return Err(StoreError::Unavailable);
        }
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn create_user(
        &self,
        id: &str,
        username: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        match self
            .write(Job::CreateUser {
                id: id.into(),
                username: username.into(),
                hash: password_hash.into(),
                now,
            })
            .await?
        {
            Output::User(u) => Ok(u),
            o => Err(unexpected(o)),
        }
    }

    async fn find_login(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query("SELECT id, username, password_hash FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok((
                rows::user(&r, "id", "username")?,
                rows::text(&r, "password_hash")?,
            ))
        })
        .transpose()
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, username FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| rows::user(&r, "id", "username")).transpose()
    }

    async fn create_credential(&self, c: NewCredential) -> Result<(), StoreError> {
        self.write(Job::CreateCredential(c)).await.map(|_| ())
    }

    async fn find_credential(&self, secret_hash: &str) -> Result<Option<Credential>, StoreError> {
        let row = sqlx::query(
            "SELECT c.id, c.kind, u.id AS user_id, u.username FROM credentials c \
             JOIN users u ON u.id = c.user_id WHERE c.secret_hash = ? AND c.revoked_at IS NULL",
        )
        .bind(secret_hash)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            let kind = match rows::text(&r, "kind")?.as_str() {
                "session" => CredentialKind::Session,
                _ => CredentialKind::Token,
            };
            Ok(Credential {
                id: rows::text(&r, "id")?,
                kind,
                user: rows::user(&r, "user_id", "username")?,
            })
        })
        .transpose()
    }

    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>, StoreError> {
        let list = sqlx::query(
            "SELECT id, name, created_at FROM credentials \
             WHERE user_id = ? AND kind = 'token' AND revoked_at IS NULL ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        list.iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: rows::text(r, "id")?,
                    name: rows::text(r, "name").unwrap_or_default(),
                    created_at: Timestamp(rows::int(r, "created_at")?),
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
        match self
            .write(Job::Revoke {
                user_id: user_id.into(),
                id: id.into(),
                kind,
            })
            .await?
        {
            Output::Bool(b) => Ok(b),
            o => Err(unexpected(o)),
        }
    }

    async fn create_board(
        &self,
        id: &str,
        owner: &User,
        title: &str,
        now: Timestamp,
    ) -> Result<Board, StoreError> {
        match self
            .write(Job::CreateBoard {
                id: id.into(),
                owner: owner.clone(),
                title: title.into(),
                now,
            })
            .await?
        {
            Output::Board(b) => Ok(b),
            o => Err(unexpected(o)),
        }
    }

    async fn list_boards(&self, user_id: &str) -> Result<Vec<Board>, StoreError> {
        let list = sqlx::query(&format!(
            "{}, members m WHERE m.board_id = b.id AND m.user_id = ? \
             ORDER BY b.created_at DESC, b.id DESC",
            rows::BOARD_SELECT.replace("SELECT b.id", "SELECT m.role, b.id")
        ))
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        list.iter()
            .map(|r| {
                let (state, _) = rows::board_state(r, 0)?;
                Ok(state.view(rows::role(&rows::text(r, "role")?)?))
            })
            .collect()
    }

    async fn board_for(&self, board: &str, user_id: &str) -> Result<Option<Board>, StoreError> {
        let row = sqlx::query(&format!(
            "{}, members m WHERE b.id = ? AND m.board_id = b.id AND m.user_id = ?",
            rows::BOARD_SELECT.replace("SELECT b.id", "SELECT m.role, b.id")
        ))
        .bind(board)
        .bind(user_id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            let (state, _) = rows::board_state(&r, 0)?;
            Ok(state.view(rows::role(&rows::text(&r, "role")?)?))
        })
        .transpose()
    }

    async fn snapshot(&self, board: &str, user_id: &str) -> Result<Option<Snapshot>, StoreError> {
        // One read transaction: the notes and the seq come from the same instant.
        let mut tx = self.read.begin().await?;
        let row = sqlx::query(&format!(
            "{}, members m WHERE b.id = ? AND m.board_id = b.id AND m.user_id = ?",
            rows::BOARD_SELECT.replace("SELECT b.id", "SELECT m.role, b.id")
        ))
        .bind(board)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let (state, _) = rows::board_state(&row, 0)?;
        let board_view = state.view(rows::role(&rows::text(&row, "role")?)?);
        let notes = sqlx::query(&format!(
            "{} WHERE n.board_id = ? ORDER BY n.id",
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
        let list = sqlx::query(
            "SELECT u.id, u.username, m.role FROM members m JOIN users u ON u.id = m.user_id \
             WHERE m.board_id = ? ORDER BY m.role = 'owner' DESC, m.joined_at, u.username",
        )
        .bind(board)
        .fetch_all(&self.read)
        .await?;
        list.iter()
            .map(|r| {
                Ok((
                    rows::user(r, "id", "username")?,
                    rows::role(&rows::text(r, "role")?)?,
                ))
            })
            .collect()
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<Option<Notification>, StoreError> {
        match self.write(Job::CreateInvite(invite)).await? {
            Output::Notification(n) => Ok(n),
            o => Err(unexpected(o)),
        }
    }

    async fn add_notification(&self, n: NewNotification) -> Result<Notification, StoreError> {
        match self.write(Job::AddNotification(n)).await? {
            Output::Notification(Some(n)) => Ok(n),
            o => Err(unexpected(o)),
        }
    }

    async fn notifications(
        &self,
        user_id: &str,
        after: u64,
        limit: usize,
        ascending: bool,
    ) -> Result<Vec<Notification>, StoreError> {
        let order = if ascending { "ASC" } else { "DESC" };
        let list = sqlx::query(&format!(
            "{} WHERE n.user_id = ? AND n.id > ? ORDER BY n.id {order} LIMIT ?",
            rows::NOTIFICATION_SELECT
        ))
        .bind(user_id)
        .bind(after as i64)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await?;
        list.iter().map(rows::notification).collect()
    }

    async fn unread_count(&self, user_id: &str) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = ? AND read = 0")
                .bind(user_id)
                .fetch_one(&self.read)
                .await?;
        Ok(n.max(0) as u64)
    }

    async fn mark_read(&self, user_id: &str, up_to: u64) -> Result<u64, StoreError> {
        match self
            .write(Job::MarkRead {
                user_id: user_id.into(),
                up_to,
            })
            .await?
        {
            Output::Count(n) => Ok(n),
            o => Err(unexpected(o)),
        }
    }

    async fn find_invite(&self, token: &str) -> Result<Option<(String, Role)>, StoreError> {
        let row = sqlx::query("SELECT board_id, role FROM invites WHERE token = ?")
            .bind(token)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| {
            Ok((
                rows::text(&r, "board_id")?,
                rows::role(&rows::text(&r, "role")?)?,
            ))
        })
        .transpose()
    }

    async fn mutate(&self, m: Mutation) -> Result<Applied, StoreError> {
        match self.write(Job::Mutate(m)).await? {
            Output::Applied(a) => Ok(a),
            o => Err(unexpected(o)),
        }
    }

    async fn board_seqs(&self, boards: &[String]) -> Result<Vec<(String, u64)>, StoreError> {
        let ids =
            serde_json::to_string(boards).map_err(|e| StoreError::Db(format!("board ids: {e}")))?;
        sqlx::query("SELECT id, seq FROM boards WHERE id IN (SELECT value FROM json_each(?))")
            .bind(ids)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok((rows::text(r, "id")?, rows::uint(r, "seq")?)))
            .collect()
    }

    async fn events_after(
        &self,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventsAfter, StoreError> {
        let mut tx = self.read.begin().await?;
        let Some(row) = sqlx::query("SELECT seq, log_floor FROM boards WHERE id = ?")
            .bind(board)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Err(crate::core::ApiError::not_found("board not found").into());
        };
        let seq = rows::uint(&row, "seq")?;
        let floor = rows::uint(&row, "log_floor")?;
        if after < floor {
            return Ok(EventsAfter::TooOld { seq });
        }
        if after > seq {
            return Ok(EventsAfter::Future { seq });
        }
        let events = sqlx::query(
            "SELECT body FROM events WHERE board_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(board)
        .bind(after as i64)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| rows::text(r, "body").map(Bytes::from))
        .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await?;
        Ok(EventsAfter::Events { events, seq })
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        match self.write(Job::Prune { now }).await? {
            Output::Count(n) => Ok(n),
            o => Err(unexpected(o)),
        }
    }

    async fn close(&self) {
        let _ = self.tx.send(None).await;
        if let Some(task) = self.writer.lock().await.take() {
            let _ = task.await;
        }
        self.read.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::SystemClock;
    use crate::store::contract;

    /// The SQLite store passes the whole store contract suite.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_passes_the_store_contract() {
        let dirs = Arc::new(parking_lot::Mutex::new(Vec::new()));
        contract::run_all(|sink, limits| {
            let dirs = dirs.clone();
            async move {
                let dir = tempfile::tempdir().unwrap();
                let s = SqliteStore::open(dir.path(), sink, limits, Arc::new(SystemClock))
                    .await
                    .unwrap();
                dirs.lock().push(dir);
                Arc::new(s) as Arc<dyn Store>
            }
        })
        .await;
    }

    /// Data survives a reopen (the file is the state).
    #[tokio::test]
    async fn reopen_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            SqliteStore::open(
                dir.path(),
                Arc::new(crate::store::NullSink),
                Limits::default(),
                Arc::new(SystemClock),
            )
        };
        let s = open().await.unwrap();
        let u = s.create_user("u1", "ann", "h", Timestamp(1)).await.unwrap();
        s.create_board("b1", &u, "T", Timestamp(1)).await.unwrap();
        s.close().await;
        assert!(matches!(
            s.create_board("b2", &u, "T", Timestamp(1)).await,
            Err(StoreError::Unavailable)
        ));
        let s = open().await.unwrap();
        assert_eq!(s.list_boards("u1").await.unwrap().len(), 1);
        s.close().await;
    }
}
