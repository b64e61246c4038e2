//! The embedded store: one SQLite file in WAL mode, a pool of read-only
//! connections for queries, and one writer task (see [`writer`]) for every
//! change. `synchronous=FULL`: a commit is on disk before anyone is answered.

pub mod backup;
mod backup_api;
pub mod data_lock;
pub mod restore;
mod writer;

use std::path::Path;
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
use crate::store::schema;
use crate::store::sql::Lite;
use crate::store::{
    Applied, BoardCreated, Credential, CredentialKind, EventSink, EventsAfter, HistoryEvents,
    InviteCount, InviteInfo, InviteRecord, NewBoard, NewCredential, NewInvite, SessionInfo,
    Snapshot, Store, StoreError, TokenInfo,
};
use data_lock::DataDirLock;
use writer::{Envelope, Job, Output, Writer};

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "corkboard.db";

/// The SQLite schema's migrations, built into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Queued writes before callers wait (backpressure on the writer task).
const WRITE_QUEUE: usize = 8192;

/// History checkpoints a reader may have produced and not yet handed to
/// the writer (each up to the board's whole state): what bounds the memory
/// a cold history read takes.
const CHECKPOINT_QUEUE: usize = 4;

/// SQLite implementation of [`Store`].
pub struct SqliteStore {
    read: SqlitePool,
    /// `--history-checkpoint-every` (0: off).
    checkpoint_every: u64,
    tx: mpsc::Sender<Envelope>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// This store's hold on the data directory, released by `close`.
    lock: parking_lot::Mutex<Option<DataDirLock>>,
}

impl SqliteStore {
    /// Locks `dir` (see [`data_lock`]), opens (creating if needed)
    /// `dir/corkboard.db`, runs migrations and starts the writer.
    ///
    /// # Errors
    /// When the directory is in use by another server, or the database
    /// cannot be created or migrated (a schema newer than this binary's included).
    pub async fn open(
        dir: &Path,
        sink: Arc<dyn EventSink>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Db(format!("create {}: {e}", dir.display())))?;
        let lock = DataDirLock::acquire(dir).map_err(StoreError::Db)?;
        let path = dir.join(DB_FILE);
        // A file name, not a `sqlite://` URL: a path with `?` or `#` stays whole.
        let base = SqliteConnectOptions::new()
            .filename(&path)
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
        if let Err(e) = MIGRATOR.run(&mut conn).await {
            let latest = sqlx::query_scalar::<_, Option<i64>>(schema::LATEST_SQL)
                .fetch_one(&mut conn)
                .await
                .ok()
                .flatten();
            return Err(StoreError::Db(schema::explain(&e, latest, &MIGRATOR)));
        }
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(base.read_only(true))
            .await?;
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        let checkpoint_every = limits.history_checkpoint_every;
        let task = tokio::spawn(Writer::new(conn, sink, limits, clock).run(rx));
        Ok(Self {
            read,
            checkpoint_every,
            tx,
            writer: Mutex::new(Some(task)),
            lock: parking_lot::Mutex::new(Some(lock)),
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

    async fn suggest_users(
        &self,
        user_id: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        Lite::suggest_users(&mut *self.read.acquire().await?, user_id, prefix, limit).await
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

    async fn notifications_before(
        &self,
        user_id: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Notification>, StoreError> {
        let mut c = self.read.acquire().await?;
        Lite::notifications_before(&mut *c, user_id, before, limit).await
    }

    async fn mark_one_read(&self, user_id: &str, id: u64) -> Result<Option<u64>, StoreError> {
        match self
            .write(Job::MarkOneRead {
                user_id: user_id.into(),
                id,
            })
            .await?
        {
            Output::MaybeCount(c) => Ok(c),
            o => Err(unexpected(o)),
        }
    }

    async fn search(
        &self,
        user_id: &str,
        query: &crate::store::search::Query,
        limit: usize,
    ) -> Result<Vec<crate::store::search::Hit>, StoreError> {
        let mut c = self.read.acquire().await?;
        crate::store::search::sqlite(&mut c, user_id, query, limit).await
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
        written!(
            self,
            Job::Mutate(m, tracing::Span::current()),
            Output::Applied
        )
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

    async fn history(
        &self,
        board: &str,
        user_id: &str,
        seq: u64,
    ) -> Result<Option<Snapshot>, StoreError> {
        let tx = self.read.begin().await?;
        let (keep, mut kept) = mpsc::channel(CHECKPOINT_QUEUE);
        let read = async move {
            let every = self.checkpoint_every;
            Lite::history(tx, board, user_id, seq, every, &keep).await
        };
        // Stored while the replay goes on, a few per writer job.
        let store = async {
            let mut batch = Vec::new();
            while kept.recv_many(&mut batch, CHECKPOINT_QUEUE).await > 0 {
                let cps = std::mem::take(&mut batch);
                if let Err(e) = self.write(Job::SaveCheckpoints(cps)).await {
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
        Lite::history_events(self.read.begin().await?, board, user_id, after, limit).await
    }

    async fn prune(&self, now: Timestamp) -> Result<u64, StoreError> {
        written!(self, Job::Prune { now }, Output::Count)
    }

    async fn close(&self) {
        // Readers first: the last connection to close checkpoints the WAL into
        // the database and removes it, and only the writer may (the readers are
        // read-only), so a stopped server leaves one file to copy.
        self.read.close().await;
        let _ = self.tx.send(None).await;
        if let Some(task) = self.writer.lock().await.take() {
            let _ = task.await;
        }
        self.lock.lock().take();
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

    /// A history read stores a checkpoint at each multiple of
    /// `history_checkpoint_every` it replays past, and later reads start from
    /// the nearest one (shown by altering one: its title comes back); one that
    /// does not parse is skipped for a replay from the start.
    #[tokio::test]
    async fn history_reads_store_and_use_checkpoints() {
        use crate::core::{Action, Mutation, NoteCreate};
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            let limits = Limits {
                history_checkpoint_every: 5,
                ..Limits::default()
            };
            let sink = Arc::new(crate::store::NullSink);
            SqliteStore::open(dir.path(), sink, limits, Arc::new(SystemClock))
        };
        let s = open().await.unwrap();
        let u = s.create_user("u1", "ann", "h", Timestamp(1)).await.unwrap();
        s.create_board("b", &u, "First", Timestamp(1))
            .await
            .unwrap();
        for i in 0..23 {
            let action = match i {
                12 => Action::RenameBoard {
                    title: "Second".into(),
                },
                _ => Action::CreateNote(NoteCreate::default()),
            };
            let m = Mutation {
                board: "b".into(),
                actor: u.clone(),
                op: None,
                action,
            };
            s.mutate(m).await.unwrap();
        }
        let h = s.history("b", "u1", 22).await.unwrap().unwrap();
        assert_eq!((h.notes.len(), h.board.title.as_str()), (21, "Second"));
        s.close().await;
        let mut c = SqliteConnectOptions::new()
            .filename(dir.path().join(DB_FILE))
            .connect()
            .await
            .unwrap();
        let seqs: Vec<i64> = sqlx::query_scalar(
            "SELECT seq FROM history_checkpoints WHERE board_id = 'b' ORDER BY seq",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert_eq!(seqs, vec![5, 10, 15, 20]);
        sqlx::query(
            "UPDATE history_checkpoints SET state = json_set(state, '$.title', 'Altered') \
             WHERE seq = 20",
        )
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query("UPDATE history_checkpoints SET state = 'not json' WHERE seq = 15")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let s = open().await.unwrap();
        let h = s.history("b", "u1", 21).await.unwrap().unwrap();
        assert_eq!(h.board.title, "Altered", "read from checkpoint 20");
        let h = s.history("b", "u1", 17).await.unwrap().unwrap();
        assert_eq!((h.notes.len(), h.board.title.as_str()), (16, "Second"));
        let h = s.history("b", "u1", 9).await.unwrap().unwrap();
        assert_eq!((h.notes.len(), h.board.title.as_str()), (9, "First"));
        s.close().await;
    }

    /// Boards from before history was kept: one pruned then (its first
    /// events deleted) answers `gone` below its first kept event; one never
    /// pruned but created before the initial title was recorded rebuilds
    /// every seq when it was never renamed, and `gone` before its first
    /// rename otherwise.
    #[tokio::test]
    async fn history_of_boards_from_before_it_was_kept() {
        use crate::core::{Action, ErrorCode, Mutation, NoteCreate};
        let dir = tempfile::tempdir().unwrap();
        let open = || open_at(dir.path());
        let s = open().await.unwrap();
        let u = s.create_user("u1", "ann", "h", Timestamp(1)).await.unwrap();
        let mutate = |board: &str, action: Action| Mutation {
            board: board.into(),
            actor: u.clone(),
            op: None,
            action,
        };
        let note = || Action::CreateNote(NoteCreate::default());
        let rename = |t: &str| Action::RenameBoard { title: t.into() };
        for b in ["pruned", "plain", "renamed"] {
            s.create_board(b, &u, "First", Timestamp(1)).await.unwrap();
        }
        for a in [note(), note(), rename("Second"), note(), note()] {
            s.mutate(mutate("pruned", a)).await.unwrap();
        }
        for a in [note(), note()] {
            s.mutate(mutate("plain", a)).await.unwrap();
        }
        for a in [note(), rename("Second"), note()] {
            s.mutate(mutate("renamed", a)).await.unwrap();
        }
        s.close().await;
        let mut c = SqliteConnectOptions::new()
            .filename(dir.path().join(DB_FILE))
            .connect()
            .await
            .unwrap();
        for sql in [
            "UPDATE boards SET initial_title = NULL",
            "DELETE FROM events WHERE board_id = 'pruned' AND seq <= 2",
            "UPDATE boards SET log_floor = 2 WHERE id = 'pruned'",
        ] {
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        c.close().await.unwrap();
        let s = open().await.unwrap();
        fn code<T: std::fmt::Debug>(r: Result<T, StoreError>) -> (ErrorCode, serde_json::Value) {
            match r {
                Err(StoreError::Rejected(e)) => (e.code, e.details.unwrap()["from"].clone()),
                other => panic!("a rejection expected, got {other:?}"),
            }
        }
        for at in 0..5 {
            let r = s.history("pruned", "u1", at).await;
            assert_eq!(code(r), (ErrorCode::Gone, serde_json::json!(5)), "seq {at}");
        }
        let now = s.history("pruned", "u1", 5).await.unwrap().unwrap();
        assert_eq!((now.notes.len(), now.board.title.as_str()), (4, "Second"));
        let r = s.history_events("pruned", "u1", 1, 10).await;
        assert_eq!(code(r), (ErrorCode::Gone, serde_json::json!(2)));
        let page = s
            .history_events("pruned", "u1", 2, 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((page.events.len(), page.seq), (3, 5));
        for at in 0..=2 {
            let h = s.history("plain", "u1", at).await.unwrap().unwrap();
            assert_eq!(
                (h.notes.len() as u64, h.board.title.as_str()),
                (at, "First")
            );
        }
        let r = s.history("renamed", "u1", 1).await;
        assert_eq!(code(r), (ErrorCode::Gone, serde_json::json!(2)));
        let h = s.history("renamed", "u1", 2).await.unwrap().unwrap();
        assert_eq!((h.notes.len(), h.board.title.as_str()), (1, "Second"));
        s.close().await;
    }

    /// What a history read costs on a board of `HISTORY_EVENTS` events
    /// (default 100,000: 500 notes, then moves and text changes), with
    /// checkpoints off (a replay from the start) and on (every 1,000, the
    /// default): times at random seqs (p50, p99, max, the first read apart,
    /// which stores the checkpoints it passes), and the bytes stored per event.
    /// Run with `cargo test -p corkboard --release --lib history_replay_cost --
    /// --ignored --nocapture` (a debug build is about 5× slower).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a measurement, not a check"]
    async fn history_replay_cost() {
        use crate::core::{Action, Mutation, NoteCreate, NoteUpdate};
        use std::time::{Duration, Instant};
        let total: u64 = std::env::var("HISTORY_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(open_at(dir.path()).await.unwrap());
        let u = s.create_user("u1", "ann", "h", Timestamp(1)).await.unwrap();
        s.create_board("b", &u, "T", Timestamp(1)).await.unwrap();
        let mutate = move |action: Action| Mutation {
            board: "b".into(),
            actor: u.clone(),
            op: None,
            action,
        };
        let (notes, writers) = (500u64, 32u64);
        let mut ids = Vec::new();
        for i in 0..notes {
            let a = s
                .mutate(mutate(Action::CreateNote(NoteCreate {
                    x: i as f64,
                    text: Some(format!("note {i} with some text in it")),
                    ..Default::default()
                })))
                .await
                .unwrap();
            let crate::core::Outcome::NoteCreated { note, .. } = a.outcome else {
                panic!()
            };
            ids.push(note.id);
        }
        let ids = Arc::new(ids);
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (s, ids, mutate) = (s.clone(), ids.clone(), mutate.clone());
            tasks.push(tokio::spawn(async move {
                for i in (w..total - notes).step_by(writers as usize) {
                    let id = ids[(i % notes) as usize].clone();
                    // One change in ten is a text change, the rest moves.
                    let update = if i % 10 == 0 {
                        NoteUpdate {
                            text: Some(format!("note {i}, rewritten")),
                            ..Default::default()
                        }
                    } else {
                        NoteUpdate {
                            x: Some(i as f64),
                            y: Some(1.5),
                            ..Default::default()
                        }
                    };
                    s.mutate(mutate(Action::UpdateNote { id, update }))
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        eprintln!("loaded {} changes in {:?}", total - notes, t0.elapsed());
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut random_seq = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            1 + rng % (total - 1)
        };
        let stats = |mut t: Vec<Duration>| {
            t.sort();
            let at = |q: f64| t[((t.len() as f64 * q) as usize).min(t.len() - 1)];
            format!("p50 {:?}, p99 {:?}, max {:?}", at(0.5), at(0.99), at(1.0))
        };
        // Checkpoints off: each read replays from the board's creation.
        let mut off = Vec::new();
        for _ in 0..10 {
            let at = random_seq();
            let (keep, _kept) = mpsc::channel(1);
            let t = Instant::now();
            let tx = s.read.begin().await.unwrap();
            Lite::history(tx, "b", "u1", at, 0, &keep)
                .await
                .unwrap()
                .unwrap();
            off.push(t.elapsed());
        }
        eprintln!("checkpoints off, 10 random seqs: {}", stats(off));
        // On (the store's default): the first read stores what it passes.
        let t = Instant::now();
        s.history("b", "u1", total - 1).await.unwrap().unwrap();
        eprintln!(
            "checkpoints on, first read at seq {}: {:?}",
            total - 1,
            t.elapsed()
        );
        let mut on = Vec::new();
        for _ in 0..500 {
            let at = random_seq();
            let t = Instant::now();
            s.history("b", "u1", at).await.unwrap().unwrap();
            on.push(t.elapsed());
        }
        eprintln!("checkpoints on, 500 random seqs: {}", stats(on));
        let sum = |sql: &'static str| {
            let s = s.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&s.read)
                    .await
                    .unwrap()
            }
        };
        let events = sum("SELECT SUM(LENGTH(body)) + 24 * COUNT(*) FROM events").await;
        let cps = sum("SELECT COALESCE(SUM(LENGTH(state)), 0) FROM history_checkpoints").await;
        eprintln!(
            "stored per event: {} bytes of event, {} bytes of checkpoint",
            events / total as i64,
            cps / total as i64
        );
        let t = Instant::now();
        let page = s.history_events("b", "u1", 0, 1000).await.unwrap().unwrap();
        eprintln!(
            "history_events limit=1000: {:?} ({} events)",
            t.elapsed(),
            page.events.len()
        );
        s.close().await;
    }

    /// `--data` is a path, not part of a URL: `?`, `#` and `%` are file name characters.
    #[tokio::test]
    async fn a_data_directory_with_url_characters_in_its_name_works() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("a?b#c d%20");
        let s = open_at(&data).await.unwrap();
        s.create_user("u1", "ann", "h", Timestamp(1)).await.unwrap();
        s.close().await;
        assert!(data.join(DB_FILE).is_file(), "the database is in {data:?}");
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
