//! The embedded store: one SQLite file in WAL mode, a pool of read-only
//! connections for queries, and one writer task (see [`writer`]) for every
//! change. `synchronous=FULL`: a commit is on disk before anyone is answered.

mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;

use crate::core::{
    Board, Clock, Limits, Mutation, NewNotification, NoteRecord, Notification, Role, Timestamp,
    User,
};
use crate::store::sql::Lite;
use crate::store::{
    Applied, BoardCreated, Credential, CredentialKind, EventSink, EventsAfter, InviteCount,
    InviteInfo, InviteRecord, NewBoard, NewCredential, NewInvite, SessionInfo, Snapshot, Store,
    StoreError, TokenInfo,
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

/// Sends a job to the writer and takes its answer of the expected shape.
macro_rules! written {
    ($store:expr, $job:expr, $shape:path) => {
        match $store.write($job).await? {
            $shape(v) => Ok(v),
            o => Err(unexpected(o)),
        }
    };
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
        written!(
            self,
            Job::CreateUser {
                id: id.into(),
                username: username.into(),
                hash: password_hash.into(),
                now,
            },
            Output::User
        )
    }

    async fn find_login(&self, username: &str) -> Result<Option<(User, String)>, StoreError> {
        Lite::find_login(&mut *self.read.acquire().await?, username).await
    }

    async fn find_user(&self, username: &str) -> Result<Option<User>, StoreError> {
        Lite::find_user(&mut *self.read.acquire().await?, username).await
    }

    async fn create_credential(&self, c: NewCredential) -> Result<(), StoreError> {
        self.write(Job::CreateCredential(c)).await.map(|_| ())
    }

    async fn find_credential(&self, secret_hash: &str) -> Result<Option<Credential>, StoreError> {
        Lite::find_credential(&mut *self.read.acquire().await?, secret_hash).await
    }

    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>, StoreError> {
        Lite::list_tokens(&mut *self.read.acquire().await?, user_id).await
    }

    async fn revoke_credential(
        &self,
        user_id: &str,
        id: &str,
        kind: CredentialKind,
    ) -> Result<bool, StoreError> {
        written!(
            self,
            Job::Revoke {
                user_id: user_id.into(),
                id: id.into(),
                kind,
            },
            Output::Bool
        )
    }

    async fn touch_credential(&self, id: &str, now: Timestamp) -> Result<(), StoreError> {
        let job = Job::Touch { id: id.into(), now };
        self.write(job).await.map(|_| ())
    }

    async fn list_sessions(&self, user_id: &str) -> Result<Vec<SessionInfo>, StoreError> {
        Lite::list_sessions(&mut *self.read.acquire().await?, user_id).await
    }

    async fn revoke_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let job = Job::RevokeSessions {
            user_id: user_id.into(),
            keep: keep.map(Into::into),
        };
        written!(self, job, Output::Ids)
    }

    async fn change_password(
        &self,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let job = Job::ChangePassword {
            user_id: user_id.into(),
            hash: password_hash.into(),
            keep: keep.map(Into::into),
        };
        written!(self, job, Output::Ids)
    }

    async fn expire_sessions(
        &self,
        created_by: Timestamp,
        used_by: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let job = Job::ExpireSessions {
            created_by,
            used_by,
        };
        written!(self, job, Output::Ids)
    }

    async fn create_board_with(&self, b: NewBoard) -> Result<BoardCreated, StoreError> {
        written!(self, Job::CreateBoard(b), Output::Board)
    }

    async fn list_boards(&self, user_id: &str) -> Result<Vec<Board>, StoreError> {
        Lite::list_boards(&mut *self.read.acquire().await?, user_id).await
    }

    async fn board_for(&self, board: &str, user_id: &str) -> Result<Option<Board>, StoreError> {
        Lite::board_for(&mut *self.read.acquire().await?, board, user_id).await
    }

    async fn snapshot(&self, board: &str, user_id: &str) -> Result<Option<Snapshot>, StoreError> {
        Lite::snapshot(self.read.begin().await?, board, user_id).await
    }

    async fn members(&self, board: &str) -> Result<Vec<(User, Role)>, StoreError> {
        Lite::members(&mut *self.read.acquire().await?, board).await
    }

    async fn note(&self, board: &str, id: &str) -> Result<Option<NoteRecord>, StoreError> {
        Lite::note(&mut *self.read.acquire().await?, board, id).await
    }

    async fn create_invite(&self, invite: NewInvite) -> Result<Option<Notification>, StoreError> {
        written!(self, Job::CreateInvite(invite), Output::Notification)
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
        let mut c = self.read.acquire().await?;
        Lite::notifications(&mut *c, user_id, after, limit, ascending).await
    }

    async fn unread_count(&self, user_id: &str) -> Result<u64, StoreError> {
        Lite::unread_count(&mut *self.read.acquire().await?, user_id).await
    }

    async fn mark_read(&self, user_id: &str, up_to: u64) -> Result<u64, StoreError> {
        written!(
            self,
            Job::MarkRead {
                user_id: user_id.into(),
                up_to,
            },
            Output::Count
        )
    }

    async fn find_invite(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<InviteRecord>, StoreError> {
        Lite::find_invite(&mut *self.read.acquire().await?, token_hash, now).await
    }

    async fn invite_answer(
        &self,
        board: &str,
        created_by: &str,
        op: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        Lite::invite_answer(&mut *self.read.acquire().await?, board, created_by, op).await
    }

    async fn list_invites(
        &self,
        board: &str,
        now: Timestamp,
    ) -> Result<Vec<InviteInfo>, StoreError> {
        Lite::list_invites(&mut *self.read.acquire().await?, board, now).await
    }

    async fn revoke_invite(
        &self,
        board: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        written!(
            self,
            Job::RevokeInvite {
                board: board.into(),
                id: id.into(),
                now,
            },
            Output::Bool
        )
    }

    async fn invites_since(
        &self,
        created_by: &str,
        target: Option<&str>,
        since: Timestamp,
    ) -> Result<InviteCount, StoreError> {
        let mut c = self.read.acquire().await?;
        Lite::invites_since(&mut *c, created_by, target, since).await
    }

    async fn mutate(&self, m: Mutation) -> Result<Applied, StoreError> {
        written!(self, Job::Mutate(m), Output::Applied)
    }

    async fn board_seqs(&self, boards: &[String]) -> Result<Vec<(String, u64)>, StoreError> {
        Lite::board_seqs(&mut *self.read.acquire().await?, boards).await
    }

    async fn events_after(
        &self,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<EventsAfter, StoreError> {
        Lite::events_after(self.read.begin().await?, board, after, limit).await
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        written!(self, Job::Prune { now }, Output::Count)
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
    use sqlx::Connection;

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

    async fn open_at(dir: &Path) -> Result<SqliteStore, StoreError> {
        let sink = Arc::new(crate::store::NullSink);
        SqliteStore::open(dir, sink, Limits::default(), Arc::new(SystemClock)).await
    }

    /// A malformed stored token name is an error, as on PostgreSQL, not an
    /// empty name (the listing used to swallow the decode error).
    #[tokio::test]
    async fn list_tokens_reports_a_malformed_row() {
        let dir = tempfile::tempdir().unwrap();
        let open = || open_at(dir.path());
        let s = open().await.unwrap();
        let u = s.create_user("u1", "ann", "h", Timestamp(1)).await.unwrap();
        s.create_credential(NewCredential {
            id: "t1".into(),
            user_id: u.id.clone(),
            kind: CredentialKind::Token,
            name: Some("ci".into()),
            secret_hash: "x".into(),
            created_at: Timestamp(2),
            user_agent: None,
            ip: None,
        })
        .await
        .unwrap();
        s.close().await;
        let mut c = SqliteConnectOptions::new()
            .filename(dir.path().join(DB_FILE))
            .connect()
            .await
            .unwrap();
        sqlx::query("UPDATE credentials SET name = x'ff00' WHERE id = 't1'")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let s = open().await.unwrap();
        match s.list_tokens("u1").await {
            Err(StoreError::Db(msg)) => assert!(msg.contains("name"), "{msg}"),
            other => panic!("a decode error expected, got {other:?}"),
        }
        s.close().await;
    }

    /// Data survives a reopen (the file is the state).
    #[tokio::test]
    async fn reopen_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let open = || open_at(dir.path());
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
