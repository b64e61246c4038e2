//! The statements both databases run, written once.
//!
//! Every statement here is written with `?` placeholders; [`Dialect::sql`]
//! spells it for the database (`$1, $2, …` on PostgreSQL). [`Sql`] holds the
//! functions that run them on a connection of either database, so a query
//! and the decoding of its rows exist in one place. What differs stays with
//! the backend: SQLite's batched multi-row writes and in-memory board cache,
//! PostgreSQL's row locks and one-round-trip append.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::LazyLock;

use parking_lot::RwLock;
use sqlx::{Database, Encode, Executor, IntoArguments, Postgres, Sqlite, Transaction, Type};

use crate::core::{
    notification, Board, BoardState, NewNotification, NoteRecord, Notification, Role, Timestamp,
    User,
};
use crate::store::rows::{self, Cols};
use crate::store::{
    Credential, InviteCount, InviteInfo, InviteRecord, NewBoard, NewCredential, NewInvite,
    SessionInfo, Snapshot, StoreError, TokenInfo,
};

/// What differs between the two databases' spelling of the shared statements.
pub trait Dialect: Database {
    /// `sql`, written with `?` placeholders, in this database's spelling.
    fn sql(sql: &'static str) -> &'static str;
    /// A statement composed at run time (with `?` placeholders) in this database's spelling.
    fn dynamic(sql: String) -> String;
    /// Rows a statement changed.
    fn rows_affected(r: &Self::QueryResult) -> u64;
    /// Whether a write transaction locks the rows it reads to change
    /// (`SELECT … FOR UPDATE`): PostgreSQL does; SQLite's one writer needs no lock.
    const LOCKS_ROWS: bool;
    /// `(id, seq)` of the boards whose ids are in the JSON array bound as
    /// the one parameter (one statement shape whatever the number of boards).
    const BOARD_SEQS: &'static str;
}

impl Dialect for Sqlite {
    fn sql(sql: &'static str) -> &'static str {
        sql
    }
    fn dynamic(sql: String) -> String {
        sql
    }
    fn rows_affected(r: &Self::QueryResult) -> u64 {
        r.rows_affected()
    }
    const LOCKS_ROWS: bool = false;
    const BOARD_SEQS: &'static str =
        "SELECT id, seq FROM boards WHERE id IN (SELECT value FROM json_each(?))";
}

impl Dialect for Postgres {
    fn sql(sql: &'static str) -> &'static str {
        static SPELLED: LazyLock<RwLock<HashMap<&'static str, &'static str>>> =
            LazyLock::new(Default::default);
        if let Some(s) = SPELLED.read().get(sql) {
            return s;
        }
        // Leaked once per distinct statement text: the set is the fixed set of statements above.
        let spelled: &'static str = Box::leak(numbered(sql).into_boxed_str());
        SPELLED.write().insert(sql, spelled);
        spelled
    }
    fn dynamic(sql: String) -> String {
        numbered(&sql)
    }
    fn rows_affected(r: &Self::QueryResult) -> u64 {
        r.rows_affected()
    }
    const LOCKS_ROWS: bool = true;
    const BOARD_SEQS: &'static str =
        "SELECT id, seq FROM boards WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))";
}

/// `sql` with each `?` outside string literals replaced by `$1`, `$2`, ….
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut n, mut quoted) = (0, false);
    for ch in sql.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                out.push(ch);
            }
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(ch),
        }
    }
    out
}

/// `n` copies of `item` joined by `sep` (placeholder lists for multi-row statements).
pub fn repeat(item: &str, n: usize, sep: &str) -> String {
    vec![item; n].join(sep)
}

/// Where a note row lives: on the board, or kept after its delete for `note.restore`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteTable {
    Live,
    Deleted,
}

impl NoteTable {
    fn name(self) -> &'static str {
        match self {
            NoteTable::Live => "notes",
            NoteTable::Deleted => "deleted_notes",
        }
    }
}

/// `INSERT … ON CONFLICT DO UPDATE` of `n` notes into `table` (bind each
/// with [`Sql::bind_note`]).
pub fn upsert_notes(table: NoteTable, n: usize) -> String {
    format!(
        "INSERT INTO {} (id, board_id, created_by, text, x, y, w, h, color, version, \
         updated_at, text_v, x_v, y_v, w_v, h_v, color_v, text_state) VALUES {} \
         ON CONFLICT (board_id, id) DO UPDATE SET text = excluded.text, x = excluded.x, \
         y = excluded.y, w = excluded.w, h = excluded.h, color = excluded.color, \
         version = excluded.version, updated_at = excluded.updated_at, \
         text_v = excluded.text_v, x_v = excluded.x_v, y_v = excluded.y_v, \
         w_v = excluded.w_v, h_v = excluded.h_v, color_v = excluded.color_v, \
         text_state = excluded.text_state",
        table.name(),
        repeat(
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            n,
            ", "
        )
    )
}

/// `DELETE` of `n` notes by (board, id) from `table`.
pub fn delete_notes(table: NoteTable, n: usize) -> String {
    format!(
        "DELETE FROM {} WHERE {}",
        table.name(),
        repeat("(board_id = ? AND id = ?)", n, " OR ")
    )
}

/// A `u64` position or count as the `BIGINT` it is compared with; values
/// beyond `i64::MAX` (which no stored id reaches) stay the largest.
pub fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

const MEMBER: &str =
    "SELECT u.id, u.username, m.role FROM members m JOIN users u ON u.id = m.user_id \
     WHERE m.board_id = ? AND m.user_id = ?";
const MEMBERS: &str =
    "SELECT u.id, u.username, m.role FROM members m JOIN users u ON u.id = m.user_id \
     WHERE m.board_id = ? ORDER BY m.role = 'owner' DESC, m.joined_at, u.username";
/// Users who share a board with the caller (`?` 1 and 2), whose name starts
/// with a prefix (`?` 3 and 4, lowercased), by name, at most `?` 5. `substr`
/// and `length` count characters on both databases, and unlike `LIKE` no
/// character of a username (`_`) is a pattern.
const USERS_SUGGESTED: &str = "SELECT DISTINCT u.id, u.username FROM members mine \
     JOIN members them ON them.board_id = mine.board_id JOIN users u ON u.id = them.user_id \
     WHERE mine.user_id = ? AND u.id <> ? AND substr(u.username, 1, length(?)) = ? \
     ORDER BY u.username LIMIT ?";
const NOTE: &str = concat!(note_select!(), " WHERE n.board_id = ? AND n.id = ?");
const NOTES: &str = concat!(note_view_select!(), " WHERE n.board_id = ? ORDER BY n.id");
const DELETED_NOTE: &str = concat!(deleted_note_select!(), " WHERE n.board_id = ? AND n.id = ?");
const BOARD_WITH_ROLE: &str = concat!(
    "SELECT m.role, ",
    board_columns!(),
    ", members m WHERE b.id = ? AND m.board_id = b.id AND m.user_id = ?"
);
const BOARDS_OF: &str = concat!(
    "SELECT m.role, ",
    board_columns!(),
    ", members m WHERE m.board_id = b.id AND m.user_id = ? ORDER BY b.created_at DESC, b.id DESC"
);
const NOTIFICATIONS_ASC: &str = concat!(
    notification_select!(),
    " WHERE n.user_id = ? AND n.id > ? ORDER BY n.id ASC LIMIT ?"
);
const NOTIFICATIONS_DESC: &str = concat!(
    notification_select!(),
    " WHERE n.user_id = ? AND n.id > ? ORDER BY n.id DESC LIMIT ?"
);
const NOTIFICATIONS_BEFORE: &str = concat!(
    notification_select!(),
    " WHERE n.user_id = ? AND n.id < ? ORDER BY n.id DESC LIMIT ?"
);
const UNREAD: &str = "SELECT COUNT(*) AS n FROM notifications WHERE user_id = ? AND NOT read";

/// The shared statements, run on a connection of database `DB`, failing
/// with `E` (a backend's own error keeps the database's error code, which
/// PostgreSQL's deadlock retry reads).
pub struct Sql<DB, E = StoreError>(PhantomData<(DB, E)>);

/// The shared statements on SQLite.
pub type Lite = Sql<Sqlite>;
/// The shared statements on PostgreSQL.
pub type Pg = Sql<Postgres>;

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>;

impl<DB, E> Sql<DB, E>
where
    E: From<sqlx::Error> + From<StoreError>,
    DB: Dialect,
    DB::Row: Cols,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
{
    fn query<'q>(sql: &'static str) -> Query<'q, DB> {
        sqlx::query(DB::sql(sql))
    }

    async fn one(c: &mut DB::Connection, q: Query<'_, DB>) -> Result<Option<DB::Row>, E> {
        Ok(q.fetch_optional(c).await?)
    }

    async fn all(c: &mut DB::Connection, q: Query<'_, DB>) -> Result<Vec<DB::Row>, E> {
        Ok(q.fetch_all(c).await?)
    }

    async fn run(c: &mut DB::Connection, q: Query<'_, DB>) -> Result<u64, E> {
        Ok(DB::rows_affected(&q.execute(c).await?))
    }

    /// Binds a note's columns in the order of [`upsert_notes`].
    pub fn bind_note<'q>(q: Query<'q, DB>, r: &'q NoteRecord) -> Query<'q, DB> {
        let (n, f) = (&r.note, &r.fields);
        q.bind(n.id.as_str())
            .bind(n.board.as_str())
            .bind(n.created_by.id.as_str())
            .bind(n.text.as_str())
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
            .bind(r.text_state.as_deref())
    }

    /// Writes `notes` (inserted or replaced) into `table` in one statement.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn upsert_notes(
        c: &mut DB::Connection,
        table: NoteTable,
        notes: &[NoteRecord],
    ) -> Result<(), E> {
        let sql = DB::dynamic(upsert_notes(table, notes.len()));
        let mut q = sqlx::query(&sql);
        for r in notes {
            q = Self::bind_note(q, r);
        }
        Self::run(c, q).await.map(|_| ())
    }

    /// Deletes notes by (board, id) in one statement; returns how many went.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn delete_notes(
        c: &mut DB::Connection,
        table: NoteTable,
        keys: &[(String, String)],
    ) -> Result<u64, E> {
        let sql = DB::dynamic(delete_notes(table, keys.len()));
        let mut q = sqlx::query(&sql);
        for (b, id) in keys {
            q = q.bind(b.as_str()).bind(id.as_str());
        }
        Self::run(c, q).await
    }

    /// Creates a user; `conflict` if the name is taken.
    ///
    /// # Errors
    /// `conflict`, or when the database fails.
    pub async fn create_user(
        c: &mut DB::Connection,
        id: &str,
        username: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<User, E> {
        let q = Self::query(
            "INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (username) DO NOTHING",
        )
        .bind(id)
        .bind(username)
        .bind(password_hash)
        .bind(now.0);
        if Self::run(c, q).await? == 0 {
            let taken = crate::core::ApiError::conflict("username is taken")
                .with_details(serde_json::json!({"field": "username"}));
            return Err(StoreError::from(taken).into());
        }
        Ok(User {
            id: id.to_owned(),
            username: username.to_owned(),
        })
    }

    /// The user and password hash for a login.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn find_login(
        c: &mut DB::Connection,
        username: &str,
    ) -> Result<Option<(User, String)>, E> {
        let q = Self::query("SELECT id, username, password_hash FROM users WHERE username = ?")
            .bind(username);
        let found = Self::one(c, q).await?;
        Ok(found
            .map(|r| {
                Ok::<_, StoreError>((rows::user(&r, "id", "username")?, r.text("password_hash")?))
            })
            .transpose()?)
    }

    /// A user by name.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn find_user(c: &mut DB::Connection, username: &str) -> Result<Option<User>, E> {
        let q = Self::query("SELECT id, username FROM users WHERE username = ?").bind(username);
        let found = Self::one(c, q).await?;
        Ok(found
            .map(|r| rows::user(&r, "id", "username"))
            .transpose()?)
    }

    /// Stores a credential.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn create_credential(c: &mut DB::Connection, cr: &NewCredential) -> Result<(), E> {
        let q = Self::query(
            "INSERT INTO credentials \
             (id, user_id, kind, name, secret_hash, created_at, last_used_at, user_agent, ip) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(cr.id.as_str())
        .bind(cr.user_id.as_str())
        .bind(cr.kind.as_str())
        .bind(cr.name.as_deref())
        .bind(cr.secret_hash.as_str())
        .bind(cr.created_at.0)
        .bind(cr.created_at.0)
        .bind(cr.user_agent.as_deref())
        .bind(cr.ip.as_deref());
        Self::run(c, q).await.map(|_| ())
    }

    /// The live credential with this secret hash.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn find_credential(
        c: &mut DB::Connection,
        secret_hash: &str,
    ) -> Result<Option<Credential>, E> {
        let q = Self::query(
            "SELECT c.id, c.kind, c.created_at, COALESCE(c.last_used_at, c.created_at) AS last_used_at, \
             u.id AS user_id, u.username FROM credentials c \
             JOIN users u ON u.id = c.user_id WHERE c.secret_hash = ? AND c.revoked_at IS NULL",
        )
        .bind(secret_hash);
        let found = Self::one(c, q).await?;
        Ok(found.map(|r| rows::credential(&r)).transpose()?)
    }

    /// The user's live API tokens, oldest first.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn list_tokens(c: &mut DB::Connection, user_id: &str) -> Result<Vec<TokenInfo>, E> {
        let q = Self::query(
            "SELECT id, name, created_at FROM credentials \
             WHERE user_id = ? AND kind = 'token' AND revoked_at IS NULL ORDER BY created_at, id",
        )
        .bind(user_id);
        let found = Self::all(c, q).await?;
        Ok(found.iter().map(rows::token).collect::<Result<_, _>>()?)
    }

    /// Revokes one of the user's live credentials.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn revoke_credential(
        c: &mut DB::Connection,
        user_id: &str,
        id: &str,
        kind: crate::store::CredentialKind,
        now: Timestamp,
    ) -> Result<bool, E> {
        let q = Self::query(
            "UPDATE credentials SET revoked_at = ? \
             WHERE id = ? AND user_id = ? AND kind = ? AND revoked_at IS NULL",
        )
        .bind(now.0)
        .bind(id)
        .bind(user_id)
        .bind(kind.as_str());
        Ok(Self::run(c, q).await? > 0)
    }

    /// Records that a credential authenticated a request at `now`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn touch_credential(
        c: &mut DB::Connection,
        id: &str,
        now: Timestamp,
    ) -> Result<(), E> {
        let q = Self::query("UPDATE credentials SET last_used_at = ? WHERE id = ?")
            .bind(now.0)
            .bind(id);
        Self::run(c, q).await.map(|_| ())
    }

    /// The user's live sessions, oldest first.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn list_sessions(
        c: &mut DB::Connection,
        user_id: &str,
    ) -> Result<Vec<SessionInfo>, E> {
        let q = Self::query(
            "SELECT id, created_at, COALESCE(last_used_at, created_at) AS last_used_at, \
             user_agent, ip FROM credentials \
             WHERE user_id = ? AND kind = 'session' AND revoked_at IS NULL ORDER BY created_at, id",
        )
        .bind(user_id);
        let found = Self::all(c, q).await?;
        Ok(found.iter().map(rows::session).collect::<Result<_, _>>()?)
    }

    /// Revokes the user's live sessions but `keep` (none kept: `""`).
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn revoke_sessions(
        c: &mut DB::Connection,
        user_id: &str,
        keep: Option<&str>,
        now: Timestamp,
    ) -> Result<Vec<String>, E> {
        let q = Self::query(
            "UPDATE credentials SET revoked_at = ? \
             WHERE user_id = ? AND kind = 'session' AND revoked_at IS NULL AND id <> ? \
             RETURNING id",
        )
        .bind(now.0)
        .bind(user_id)
        .bind(keep.unwrap_or(""));
        let found = Self::all(c, q).await?;
        Ok(found
            .iter()
            .map(|r| r.text("id"))
            .collect::<Result<_, _>>()?)
    }

    /// Sets a user's password hash.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn set_password(c: &mut DB::Connection, user_id: &str, hash: &str) -> Result<(), E> {
        let q = Self::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(user_id);
        Self::run(c, q).await.map(|_| ())
    }

    /// Revokes the live sessions created at or before `created_by` or last
    /// used at or before `used_by`.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn expire_sessions(
        c: &mut DB::Connection,
        created_by: Timestamp,
        used_by: Timestamp,
        now: Timestamp,
    ) -> Result<Vec<String>, E> {
        let q = Self::query(
            "UPDATE credentials SET revoked_at = ? \
             WHERE kind = 'session' AND revoked_at IS NULL \
             AND (created_at <= ? OR COALESCE(last_used_at, created_at) <= ?) \
             RETURNING id",
        )
        .bind(now.0)
        .bind(created_by.0)
        .bind(used_by.0);
        let found = Self::all(c, q).await?;
        Ok(found
            .iter()
            .map(|r| r.text("id"))
            .collect::<Result<_, _>>()?)
    }

    /// Creates a board and its owner's membership (the caller's transaction makes them one).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn create_board(
        c: &mut DB::Connection,
        id: &str,
        owner: &User,
        title: &str,
        now: Timestamp,
    ) -> Result<BoardState, E> {
        let q = Self::query(
            "INSERT INTO boards \
             (id, title, initial_title, owner_id, seq, log_floor, created_at, updated_at) \
             VALUES (?, ?, ?, ?, 0, 0, ?, ?)",
        )
        .bind(id)
        .bind(title)
        .bind(title)
        .bind(owner.id.as_str())
        .bind(now.0)
        .bind(now.0);
        Self::run(c, q).await?;
        Self::put_member(c, id, owner, Role::Owner, now).await?;
        Ok(BoardState {
            id: id.to_owned(),
            title: title.to_owned(),
            owner: owner.clone(),
            seq: 0,
            note_count: 0,
            created_at: now,
            updated_at: now,
        })
    }

    /// How many boards the user owns.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn owned_boards(c: &mut DB::Connection, user_id: &str) -> Result<u64, E> {
        let q = Self::query("SELECT COUNT(*) AS n FROM boards WHERE owner_id = ?").bind(user_id);
        match Self::one(c, q).await? {
            Some(r) => Ok(r.uint("n")?),
            None => Ok(0),
        }
    }

    /// The answer remembered for `user_id` under `key`: `(seq, status, body)`.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn user_op(
        c: &mut DB::Connection,
        user_id: &str,
        key: &str,
    ) -> Result<Option<(u64, i64, String)>, E> {
        let q = Self::query("SELECT seq, status, body FROM user_ops WHERE user_id = ? AND key = ?")
            .bind(user_id)
            .bind(key);
        let found = Self::one(c, q).await?;
        Ok(found
            .map(|r| Ok::<_, StoreError>((r.uint("seq")?, r.int("status")?, r.text("body")?)))
            .transpose()?)
    }

    /// Remembers an answer for `user_id` under `key` (`stored`: status and body).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn put_user_op(
        c: &mut DB::Connection,
        user_id: &str,
        key: &str,
        seq: u64,
        stored: (i64, &str),
        now: Timestamp,
    ) -> Result<(), E> {
        let q = Self::query(
            "INSERT INTO user_ops (user_id, key, seq, status, body, at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(user_id)
        .bind(key)
        .bind(big(seq))
        .bind(stored.0)
        .bind(stored.1)
        .bind(now.0);
        Self::run(c, q).await.map(|_| ())
    }

    /// Drops deleted notes kept since before `cutoff_at` (they can no
    /// longer be restored); returns how many went.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn prune_deleted_notes(c: &mut DB::Connection, cutoff_at: i64) -> Result<u64, E> {
        Self::run(
            c,
            Self::query("DELETE FROM deleted_notes WHERE updated_at < ?").bind(cutoff_at),
        )
        .await
    }

    /// Drops per-user answers remembered before `cutoff_at`; returns how many went.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn prune_user_ops(c: &mut DB::Connection, cutoff_at: i64) -> Result<u64, E> {
        Self::run(
            c,
            Self::query("DELETE FROM user_ops WHERE at < ?").bind(cutoff_at),
        )
        .await
    }

    /// A board create inside the caller's transaction (see
    /// [`crate::store::Store::create_board_with`]): the owner's row is
    /// locked first where rows are locked, so two creates of one user (the
    /// same op, or the last place of the quota) take turns.
    ///
    /// # Errors
    /// `rate_limited` over the quota, or when the database fails.
    pub async fn create_board_with(
        c: &mut DB::Connection,
        b: &NewBoard,
        max_owned: u64,
    ) -> Result<Created, E> {
        if DB::LOCKS_ROWS {
            let q = Self::query("SELECT id FROM users WHERE id = ? FOR UPDATE")
                .bind(b.owner.id.as_str());
            Self::one(c, q).await?;
        }
        let key = b.op.as_deref().map(crate::store::board_create_key);
        if let Some(key) = &key {
            if let Some((_, _, body)) = Self::user_op(c, &b.owner.id, key).await? {
                let board = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Db(format!("stored board: {e}")))?;
                return Ok(Created::Replayed(board));
            }
        }
        if max_owned > 0 && Self::owned_boards(c, &b.owner.id).await? >= max_owned {
            return Err(StoreError::from(crate::core::board_quota(max_owned)).into());
        }
        let state = Self::create_board(c, &b.id, &b.owner, &b.title, b.now).await?;
        if let Some(key) = &key {
            let board = state.view(Role::Owner);
            let body = serde_json::to_string(&board)
                .map_err(|e| StoreError::Db(format!("board encode: {e}")))?;
            Self::put_user_op(c, &b.owner.id, key, 0, (CREATED, &body), b.now).await?;
        }
        Ok(Created::New(state))
    }

    /// Boards the user is a member of, newest first.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn list_boards(c: &mut DB::Connection, user_id: &str) -> Result<Vec<Board>, E> {
        let q = Self::query(BOARDS_OF).bind(user_id);
        let found = Self::all(c, q).await?;
        Ok(found.iter().map(board_view).collect::<Result<_, _>>()?)
    }

    /// The board as the user sees it, if a member.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn board_for(
        c: &mut DB::Connection,
        board: &str,
        user_id: &str,
    ) -> Result<Option<Board>, E> {
        let q = Self::query(BOARD_WITH_ROLE).bind(board).bind(user_id);
        let found = Self::one(c, q).await?;
        Ok(found.map(|r| board_view(&r)).transpose()?)
    }

    /// The board and its notes, if the user is a member, read in `tx` (one
    /// instant: the notes and the seq agree), which is then committed.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn snapshot(
        mut tx: Transaction<'static, DB>,
        board: &str,
        user_id: &str,
    ) -> Result<Option<Snapshot>, E> {
        let c = &mut *tx;
        let Some(view) = Self::board_for(c, board, user_id).await? else {
            return Ok(None);
        };
        let notes = Self::all(c, Self::query(NOTES).bind(board))
            .await?
            .iter()
            .map(rows::note_view)
            .collect::<Result<Vec<_>, StoreError>>()?;
        tx.commit().await?;
        Ok(Some(Snapshot {
            seq: view.seq,
            board: view,
            notes,
        }))
    }

    /// Members and roles, owner first.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn members(c: &mut DB::Connection, board: &str) -> Result<Vec<(User, Role)>, E> {
        let q = Self::query(MEMBERS).bind(board);
        let found = Self::all(c, q).await?;
        Ok(found.iter().map(rows::member).collect::<Result<_, _>>()?)
    }

    /// At most `limit` users sharing a board with `user_id` (not that user),
    /// whose username starts with `prefix` (already lowercased), by name.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn suggest_users(
        c: &mut DB::Connection,
        user_id: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<User>, E> {
        let q = Self::query(USERS_SUGGESTED)
            .bind(user_id)
            .bind(user_id)
            .bind(prefix)
            .bind(prefix)
            .bind(big(limit as u64));
        let found = Self::all(c, q).await?;
        Ok(found
            .iter()
            .map(|r| rows::user(r, "id", "username"))
            .collect::<Result<_, _>>()?)
    }

    /// One member and their role.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn member(
        c: &mut DB::Connection,
        board: &str,
        user_id: &str,
    ) -> Result<Option<(User, Role)>, E> {
        let q = Self::query(MEMBER).bind(board).bind(user_id);
        let found = Self::one(c, q).await?;
        Ok(found.map(|r| rows::member(&r)).transpose()?)
    }

    /// The board's members among these usernames, in user id order (the
    /// order notification counters are then locked in).
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn members_named(
        c: &mut DB::Connection,
        board: &str,
        names: &[String],
    ) -> Result<Vec<User>, E> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let sql = DB::dynamic(format!(
            "SELECT u.id, u.username FROM users u JOIN members m ON m.user_id = u.id \
             WHERE m.board_id = ? AND u.username IN ({}) ORDER BY u.id",
            repeat("?", names.len(), ", ")
        ));
        let mut q = sqlx::query(&sql).bind(board);
        for n in names {
            q = q.bind(n.as_str());
        }
        let found = Self::all(c, q).await?;
        Ok(found
            .iter()
            .map(|r| rows::user(r, "id", "username"))
            .collect::<Result<_, _>>()?)
    }

    /// A note of the board.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn note(
        c: &mut DB::Connection,
        board: &str,
        id: &str,
    ) -> Result<Option<NoteRecord>, E> {
        let q = Self::query(NOTE).bind(board).bind(id);
        let found = Self::one(c, q).await?;
        Ok(found.map(|r| rows::note(&r)).transpose()?)
    }

    /// A deleted note of the board, as it was when deleted.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn deleted_note(
        c: &mut DB::Connection,
        board: &str,
        id: &str,
    ) -> Result<Option<NoteRecord>, E> {
        let q = Self::query(DELETED_NOTE).bind(board).bind(id);
        let found = Self::one(c, q).await?;
        Ok(found.map(|r| rows::note(&r)).transpose()?)
    }

    /// The remembered answer under the first of `keys` that has one.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn remembered(
        c: &mut DB::Connection,
        board: &str,
        keys: &[String],
    ) -> Result<Option<crate::store::Applied>, E> {
        if keys.is_empty() {
            return Ok(None);
        }
        let sql = DB::dynamic(format!(
            "SELECT board_id, key, seq, status, body FROM ops WHERE board_id = ? AND key IN ({})",
            repeat("?", keys.len(), ", ")
        ));
        let mut q = sqlx::query(&sql).bind(board);
        for k in keys {
            q = q.bind(k.as_str());
        }
        let found = Self::all(c, q)
            .await?
            .iter()
            .map(op_row)
            .collect::<Result<HashMap<_, _>, StoreError>>()?;
        Ok(keys
            .iter()
            .find_map(|k| found.get(&(board.to_owned(), k.clone())).cloned()))
    }

    /// Adds or changes a membership.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn put_member(
        c: &mut DB::Connection,
        board: &str,
        user: &User,
        role: Role,
        now: Timestamp,
    ) -> Result<(), E> {
        let q = Self::query(
            "INSERT INTO members (board_id, user_id, role, joined_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (board_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(board)
        .bind(user.id.as_str())
        .bind(role.as_str())
        .bind(now.0);
        Self::run(c, q).await.map(|_| ())
    }

    /// Ends a membership.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn remove_member(
        c: &mut DB::Connection,
        board: &str,
        user_id: &str,
    ) -> Result<(), E> {
        let q = Self::query("DELETE FROM members WHERE board_id = ? AND user_id = ?")
            .bind(board)
            .bind(user_id);
        Self::run(c, q).await.map(|_| ())
    }

    /// Deletes a board and everything on it (its notification counters stay,
    /// so ids are never reused).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn delete_board(c: &mut DB::Connection, board: &str) -> Result<(), E> {
        for sql in [
            "DELETE FROM notes WHERE board_id = ?",
            "DELETE FROM deleted_notes WHERE board_id = ?",
            "DELETE FROM events WHERE board_id = ?",
            "DELETE FROM history_checkpoints WHERE board_id = ?",
            "DELETE FROM ops WHERE board_id = ?",
            "DELETE FROM members WHERE board_id = ?",
            "DELETE FROM invites WHERE board_id = ?",
            "DELETE FROM member_cuts WHERE board_id = ?",
            "DELETE FROM notifications WHERE board_id = ?",
            "DELETE FROM boards WHERE id = ?",
        ] {
            Self::run(c, Self::query(sql).bind(board)).await?;
        }
        Ok(())
    }

    /// Stores an invite (its token's hash) and, when it names a user, their
    /// `invited` notification.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn create_invite(
        c: &mut DB::Connection,
        inv: &NewInvite,
    ) -> Result<Option<Notification>, E> {
        let (op, answer) = match &inv.op {
            Some((op, answer)) => (Some(op.as_str()), Some(answer.as_str())),
            None => (None, None),
        };
        let q = Self::query(
            "INSERT INTO invites (id, token_hash, board_id, role, created_by, target_id, \
             created_at, expires_at, max_uses, create_op, create_answer) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(inv.id.as_str())
        .bind(inv.token_hash.as_str())
        .bind(inv.board.as_str())
        .bind(inv.role.as_str())
        .bind(inv.created_by.id.as_str())
        .bind(inv.notify.as_ref().map(|u| u.id.as_str()))
        .bind(inv.created_at.0)
        .bind(inv.expires_at.0)
        .bind(i64::from(inv.single_use))
        .bind(op)
        .bind(answer);
        Self::run(c, q).await?;
        match &inv.notify {
            Some(to) => {
                let n = notification::invited(
                    &inv.board,
                    &inv.token,
                    &inv.created_by,
                    to,
                    inv.created_at,
                );
                Ok(Some(Self::insert_notification(c, &n).await?))
            }
            None => Ok(None),
        }
    }

    /// The invite with this token hash, with its board for the preview.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn find_invite(
        c: &mut DB::Connection,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<InviteRecord>, E> {
        let q = Self::query(
            "SELECT i.id, i.role, i.created_at, i.expires_at, i.max_uses, i.uses, \
             i.revoked_at, b.id AS board_id, b.title, b.owner_id, o.username AS owner_name \
             FROM invites i JOIN boards b ON b.id = i.board_id \
             JOIN users o ON o.id = b.owner_id WHERE i.token_hash = ?",
        )
        .bind(token_hash);
        let Some(r) = Self::one(c, q).await? else {
            return Ok(None);
        };
        let (max_uses, uses) = (r.uint("max_uses")?, r.uint("uses")?);
        let expires_at = Timestamp(r.int("expires_at")?);
        Ok(Some(InviteRecord {
            id: r.text("id")?,
            board: r.text("board_id")?,
            title: r.text("title")?,
            owner: rows::user(&r, "owner_id", "owner_name")?,
            role: rows::role_col(&r, "role")?,
            created_at: Timestamp(r.int("created_at")?),
            expires_at,
            usable: r.opt_int("revoked_at")?.is_none()
                && expires_at > now
                && (max_uses == 0 || uses < max_uses),
        }))
    }

    /// The remembered answer of an invite create by `created_by` with `op`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn invite_answer(
        c: &mut DB::Connection,
        board: &str,
        created_by: &str,
        op: &str,
    ) -> Result<Option<Option<String>>, E> {
        let q = Self::query(
            "SELECT create_answer FROM invites \
             WHERE board_id = ? AND created_by = ? AND create_op = ?",
        )
        .bind(board)
        .bind(created_by)
        .bind(op);
        let found = Self::one(c, q).await?;
        Ok(found.map(|r| r.opt_text("create_answer")).transpose()?)
    }

    /// The board's unrevoked, unexpired invites, newest first.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn list_invites(
        c: &mut DB::Connection,
        board: &str,
        now: Timestamp,
    ) -> Result<Vec<InviteInfo>, E> {
        let q = Self::query(
            "SELECT i.id, i.role, t.username AS target_name, i.created_by, \
             u.username AS created_by_name, i.created_at, i.expires_at, i.max_uses, i.uses \
             FROM invites i JOIN users u ON u.id = i.created_by \
             LEFT JOIN users t ON t.id = i.target_id \
             WHERE i.board_id = ? AND i.revoked_at IS NULL AND i.expires_at > ? \
             ORDER BY i.created_at DESC, i.id DESC",
        )
        .bind(board)
        .bind(now.0);
        let mut out = Vec::new();
        for r in Self::all(c, q).await? {
            out.push(InviteInfo {
                id: r.text("id")?,
                role: rows::role_col(&r, "role")?,
                username: r.opt_text("target_name")?,
                created_by: rows::user(&r, "created_by", "created_by_name")?,
                created_at: Timestamp(r.int("created_at")?),
                expires_at: Timestamp(r.int("expires_at")?),
                single_use: r.uint("max_uses")? == 1,
                uses: r.uint("uses")?,
            });
        }
        Ok(out)
    }

    /// Revokes a live invite of the board (and forgets its replayable answer).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn revoke_invite(
        c: &mut DB::Connection,
        board: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<bool, E> {
        let q = Self::query(
            "UPDATE invites SET revoked_at = ?, create_answer = NULL \
             WHERE board_id = ? AND id = ? AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(now.0)
        .bind(board)
        .bind(id)
        .bind(now.0);
        Ok(Self::run(c, q).await? == 1)
    }

    /// Invites `created_by` created after `since`, naming `target` when given.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn invites_since(
        c: &mut DB::Connection,
        created_by: &str,
        target: Option<&str>,
        since: Timestamp,
    ) -> Result<InviteCount, E> {
        let q = match target {
            None => Self::query(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM invites \
                 WHERE created_by = ? AND created_at > ?",
            )
            .bind(created_by)
            .bind(since.0),
            Some(t) => Self::query(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM invites \
                 WHERE created_by = ? AND created_at > ? AND target_id = ?",
            )
            .bind(created_by)
            .bind(since.0)
            .bind(t),
        };
        match Self::one(c, q).await? {
            Some(r) => Ok(InviteCount {
                count: r.uint("n")?,
                oldest: r.opt_int("oldest")?.map(Timestamp),
            }),
            None => Ok(InviteCount::default()),
        }
    }

    /// Counts one use of the invite if it is usable at `now` (atomically: a
    /// single-use invite is used once).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn use_invite(c: &mut DB::Connection, id: &str, now: Timestamp) -> Result<bool, E> {
        let q = Self::query(
            "UPDATE invites SET uses = uses + 1 WHERE id = ? AND revoked_at IS NULL \
             AND expires_at > ? AND (max_uses = 0 OR uses < max_uses)",
        )
        .bind(id)
        .bind(now.0);
        Ok(Self::run(c, q).await? == 1)
    }

    /// When the user was last removed from the board or had their role lowered.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn member_cut(
        c: &mut DB::Connection,
        board: &str,
        user_id: &str,
    ) -> Result<Option<Timestamp>, E> {
        let q = Self::query("SELECT at FROM member_cuts WHERE board_id = ? AND user_id = ?")
            .bind(board)
            .bind(user_id);
        let found = Self::one(c, q).await?;
        Ok(found.map(|r| r.int("at").map(Timestamp)).transpose()?)
    }

    /// Records that the user was removed from the board or had their role lowered at `at`.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn cut_member(
        c: &mut DB::Connection,
        board: &str,
        user_id: &str,
        at: Timestamp,
    ) -> Result<(), E> {
        let q = Self::query(
            "INSERT INTO member_cuts (board_id, user_id, at) VALUES (?, ?, ?) \
             ON CONFLICT (board_id, user_id) DO UPDATE SET at = excluded.at",
        )
        .bind(board)
        .bind(user_id)
        .bind(at.0);
        Self::run(c, q).await.map(|_| ())
    }

    /// Stores a notification under the user's next id. The id comes from a
    /// per-user counter that only grows (deleting a board's notifications
    /// never hands their ids out again); the bumped counter row stays locked
    /// until commit, so a user's ids commit in increasing order.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn insert_notification(
        c: &mut DB::Connection,
        n: &NewNotification,
    ) -> Result<Notification, E> {
        let q = Self::query(
            "INSERT INTO notification_counters (user_id, last_id) VALUES (?, 1) \
             ON CONFLICT (user_id) DO UPDATE SET last_id = notification_counters.last_id + 1 \
             RETURNING last_id",
        )
        .bind(n.user_id.as_str());
        let id = match Self::one(c, q).await? {
            Some(r) => r.uint("last_id")?,
            None => return Err(StoreError::Db("notification counter: no row".into()).into()),
        };
        let q = Self::query(
            "INSERT INTO notifications (user_id, id, kind, board_id, note_id, by_id, at, text) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(n.user_id.as_str())
        .bind(big(id))
        .bind(n.kind)
        .bind(n.board.as_deref())
        .bind(n.note.as_deref())
        .bind(n.by.id.as_str())
        .bind(n.at.0)
        .bind(n.text.as_str());
        Self::run(c, q).await?;
        Ok(Notification {
            id,
            kind: n.kind.to_owned(),
            board: n.board.clone(),
            note: n.note.clone(),
            by: n.by.clone(),
            at: n.at,
            text: n.text.clone(),
            read: false,
        })
    }

    /// The user's notifications after `after`, newest first or (`ascending`) oldest first.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn notifications(
        c: &mut DB::Connection,
        user_id: &str,
        after: u64,
        limit: usize,
        ascending: bool,
    ) -> Result<Vec<Notification>, E> {
        let sql = if ascending {
            NOTIFICATIONS_ASC
        } else {
            NOTIFICATIONS_DESC
        };
        let q = Self::query(sql)
            .bind(user_id)
            .bind(big(after))
            .bind(big(limit as u64));
        let found = Self::all(c, q).await?;
        Ok(found
            .iter()
            .map(rows::notification)
            .collect::<Result<_, _>>()?)
    }

    /// How many of the user's notifications are unread.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn unread_count(c: &mut DB::Connection, user_id: &str) -> Result<u64, E> {
        match Self::one(c, Self::query(UNREAD).bind(user_id)).await? {
            Some(r) => Ok(r.uint("n")?),
            None => Ok(0),
        }
    }

    /// Marks the user's notifications up to `up_to` read; returns the unread count.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn mark_read(c: &mut DB::Connection, user_id: &str, up_to: u64) -> Result<u64, E> {
        let q = Self::query(
            "UPDATE notifications SET read = TRUE WHERE user_id = ? AND id <= ? AND NOT read",
        )
        .bind(user_id)
        .bind(big(up_to));
        Self::run(c, q).await?;
        Self::unread_count(c, user_id).await
    }

    /// The user's notifications with id < `before`, newest first (older pages of the list).
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn notifications_before(
        c: &mut DB::Connection,
        user_id: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Notification>, E> {
        let q = Self::query(NOTIFICATIONS_BEFORE)
            .bind(user_id)
            .bind(big(before))
            .bind(big(limit as u64));
        let found = Self::all(c, q).await?;
        Ok(found
            .iter()
            .map(rows::notification)
            .collect::<Result<_, _>>()?)
    }

    /// Marks one of the user's notifications read; returns the unread count,
    /// or `None` when the user has no notification with that id.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn mark_one_read(
        c: &mut DB::Connection,
        user_id: &str,
        id: u64,
    ) -> Result<Option<u64>, E> {
        let q = Self::query("SELECT 1 AS one FROM notifications WHERE user_id = ? AND id = ?")
            .bind(user_id)
            .bind(big(id));
        if Self::one(c, q).await?.is_none() {
            return Ok(None);
        }
        let q = Self::query(
            "UPDATE notifications SET read = TRUE WHERE user_id = ? AND id = ? AND NOT read",
        )
        .bind(user_id)
        .bind(big(id));
        Self::run(c, q).await?;
        Ok(Some(Self::unread_count(c, user_id).await?))
    }

    /// Events after `after`, read in `tx` (the board's seq and its log
    /// agree), which is then committed.
    ///
    /// # Errors
    /// `not_found` for an unknown board, or when the database fails.
    pub async fn events_after(
        mut tx: Transaction<'static, DB>,
        board: &str,
        after: u64,
        limit: usize,
    ) -> Result<crate::store::EventsAfter, E> {
        use crate::store::EventsAfter;
        let c = &mut *tx;
        let q = Self::query("SELECT seq, log_floor FROM boards WHERE id = ?").bind(board);
        let Some(row) = Self::one(c, q).await? else {
            let missing = crate::core::ApiError::not_found("board not found");
            return Err(StoreError::from(missing).into());
        };
        let seq = row.uint("seq")?;
        if after < row.uint("log_floor")? {
            return Ok(EventsAfter::TooOld { seq });
        }
        if after > seq {
            return Ok(EventsAfter::Future { seq });
        }
        let q = Self::query(
            "SELECT body FROM events WHERE board_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(board)
        .bind(big(after))
        .bind(big(limit as u64));
        let events = Self::all(c, q)
            .await?
            .iter()
            .map(|r| r.text("body").map(bytes::Bytes::from))
            .collect::<Result<Vec<_>, StoreError>>()?;
        tx.commit().await?;
        Ok(EventsAfter::Events { events, seq })
    }

    /// The lowest position the board's stored events all follow: 0 when
    /// its whole log is kept (always, for boards created since events are
    /// kept for history); for a board pruned before that, the position
    /// before its first kept event.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn history_floor(c: &mut DB::Connection, board: &str, seq: u64) -> Result<u64, E> {
        if seq == 0 {
            return Ok(0);
        }
        let q = Self::query("SELECT MIN(seq) AS m FROM events WHERE board_id = ?").bind(board);
        let first = match Self::one(c, q).await? {
            Some(r) => r.opt_int("m")?,
            None => None,
        };
        Ok(first.map_or(seq, |m| u64::try_from(m).unwrap_or(1).saturating_sub(1)))
    }

    /// The latest history checkpoint of `board` at or below `at` (none when
    /// `every` is 0: checkpoints are off). One that no longer parses (written
    /// by another version) is skipped with a warning: replay from further
    /// back gives the same answer.
    ///
    /// # Errors
    /// When the database fails.
    async fn checkpoint_at_or_below(
        c: &mut DB::Connection,
        board: &str,
        at: u64,
        every: u64,
    ) -> Result<Option<crate::core::HistoryState>, E> {
        if every == 0 || at < every {
            return Ok(None);
        }
        let q = Self::query(
            "SELECT seq, state FROM history_checkpoints WHERE board_id = ? AND seq <= ? \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(board)
        .bind(big(at));
        let Some(row) = Self::one(c, q).await? else {
            return Ok(None);
        };
        let seq = row.int("seq")?;
        match serde_json::from_str::<crate::core::HistoryState>(&row.text("state")?) {
            Ok(s) if i64::try_from(s.seq).ok() == Some(seq) => Ok(Some(s)),
            Ok(_) | Err(_) => {
                tracing::warn!(
                    board,
                    seq,
                    "history checkpoint unreadable; replaying from the start"
                );
                Ok(None)
            }
        }
    }

    /// Stores history checkpoints (see [`Self::history`]); one already there
    /// (another reader wrote it) or of a board deleted meanwhile is skipped.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn save_checkpoints(c: &mut DB::Connection, cps: &[Checkpoint]) -> Result<u64, E> {
        let mut saved = 0;
        for cp in cps {
            let q = Self::query(
                "INSERT INTO history_checkpoints (board_id, seq, state) \
                 SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM boards WHERE id = ?) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(cp.board.as_str())
            .bind(big(cp.seq))
            .bind(cp.state.as_str())
            .bind(cp.board.as_str());
            saved += Self::run(c, q).await?;
        }
        Ok(saved)
    }

    /// The board right after event `at` as `user_id` (a member) sees it,
    /// read in `tx` (the log and the board agree), which is then committed:
    /// replayed (see [`crate::core::HistoryState`]) from the nearest history
    /// checkpoint at or below `at`, else from the board's creation, the events
    /// streamed in chunks of [`HISTORY_CHUNK`]. With `every` > 0, the state at
    /// each multiple of `every` the replay passes is handed to `keep` (a
    /// bounded channel: the caller stores them as it reads). `None` for a
    /// non-member.
    ///
    /// # Errors
    /// `bad_request` (`details.field` `seq`) beyond the board's seq; `gone`
    /// for a position that can no longer be rebuilt (below the first event
    /// kept of a board pruned before events were kept, or before the first
    /// rename of such a board whose initial title was not recorded); or when
    /// the database fails.
    pub async fn history(
        mut tx: Transaction<'static, DB>,
        board: &str,
        user_id: &str,
        at: u64,
        every: u64,
        keep: &tokio::sync::mpsc::Sender<Checkpoint>,
    ) -> Result<Option<Snapshot>, E> {
        let c = &mut *tx;
        let Some(mut view) = Self::board_for(c, board, user_id).await? else {
            return Ok(None);
        };
        if at > view.seq {
            return Err(StoreError::from(beyond("seq", view.seq)).into());
        }
        if at == view.seq {
            // The board as it is now: its notes need no replay.
            let notes = Self::all(c, Self::query(NOTES).bind(board))
                .await?
                .iter()
                .map(rows::note_view)
                .collect::<Result<Vec<_>, StoreError>>()?;
            tx.commit().await?;
            return Ok(Some(Snapshot {
                seq: view.seq,
                board: view,
                notes,
            }));
        }
        let floor = Self::history_floor(c, board, view.seq).await?;
        if floor > 0 {
            let e = unavailable(
                "seq",
                view.seq,
                "its first events were pruned before history was kept",
            );
            return Err(StoreError::from(e).into());
        }
        let q = Self::query("SELECT initial_title FROM boards WHERE id = ?").bind(board);
        let initial = match Self::one(c, q).await? {
            Some(r) => r.opt_text("initial_title")?,
            None => None,
        };
        let mut state = match Self::checkpoint_at_or_below(c, board, at, every).await? {
            Some(s) => s,
            None => crate::core::HistoryState::new(initial),
        };
        while state.seq < at {
            let q = Self::query(
                "SELECT body FROM events WHERE board_id = ? AND seq > ? AND seq <= ? \
                 ORDER BY seq LIMIT ?",
            )
            .bind(board)
            .bind(big(state.seq))
            .bind(big(at))
            .bind(big(HISTORY_CHUNK));
            let rows = Self::all(c, q).await?;
            if rows.is_empty() {
                let gap = format!("board {board}: event {} missing", state.seq + 1);
                return Err(StoreError::Db(gap).into());
            }
            for r in &rows {
                let body = r.text("body")?;
                let e: crate::core::Event = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Db(format!("stored event: {e}")))?;
                state
                    .apply(&e)
                    .map_err(|e| StoreError::Db(format!("board {board}: {e}")))?;
                if every > 0 && state.seq % every == 0 {
                    if let Ok(json) = serde_json::to_string(&state) {
                        let cp = Checkpoint {
                            board: board.to_owned(),
                            seq: state.seq,
                            state: json,
                        };
                        // The caller stopped storing them: reading goes on.
                        let _ = keep.send(cp).await;
                    }
                }
            }
        }
        let title = match state.title.take() {
            Some(t) => t,
            None => {
                // Created before the initial title was recorded, not renamed
                // up to `at`: the current title, unless it was renamed since.
                // (A note's text cannot hold this pattern: its quotes are escaped.)
                let q = Self::query(
                    "SELECT MIN(seq) AS m FROM events WHERE board_id = ? \
                     AND body LIKE '%\"kind\":\"board.updated\"%'",
                )
                .bind(board);
                let first_rename = match Self::one(c, q).await? {
                    Some(r) => r.opt_int("m")?,
                    None => None,
                };
                if let Some(from) = first_rename {
                    let from = u64::try_from(from).unwrap_or(0);
                    let e = unavailable(
                        "seq",
                        from,
                        "its title before its first rename was not recorded",
                    );
                    return Err(StoreError::from(e).into());
                }
                view.title.clone()
            }
        };
        tx.commit().await?;
        view.title = title;
        view.seq = at;
        view.updated_at = state.at.unwrap_or(view.created_at);
        Ok(Some(Snapshot {
            seq: at,
            board: view,
            notes: state.into_notes(),
        }))
    }

    /// The board's events after `after` (at most `limit`, JSON as stored)
    /// and its seq, for a member, read in `tx`, which is then committed.
    /// `None` for a non-member.
    ///
    /// # Errors
    /// `bad_request` (`details.field` `after`) beyond the board's seq;
    /// `gone` below the first event kept of a board pruned before events
    /// were kept; or when the database fails.
    pub async fn history_events(
        mut tx: Transaction<'static, DB>,
        board: &str,
        user_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Option<crate::store::HistoryEvents>, E> {
        let c = &mut *tx;
        let Some(view) = Self::board_for(c, board, user_id).await? else {
            return Ok(None);
        };
        if after > view.seq {
            return Err(StoreError::from(beyond("after", view.seq)).into());
        }
        let floor = Self::history_floor(c, board, view.seq).await?;
        if after < floor {
            let e = unavailable(
                "after",
                floor,
                "its first events were pruned before history was kept",
            );
            return Err(StoreError::from(e).into());
        }
        let q = Self::query(
            "SELECT body FROM events WHERE board_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(board)
        .bind(big(after))
        .bind(big(limit as u64));
        let events = Self::all(c, q)
            .await?
            .iter()
            .map(|r| r.text("body").map(bytes::Bytes::from))
            .collect::<Result<Vec<_>, StoreError>>()?;
        tx.commit().await?;
        Ok(Some(crate::store::HistoryEvents {
            events,
            seq: view.seq,
        }))
    }

    /// The current seq of each of these boards that exists, in one statement
    /// of one shape however many boards (their ids travel as one JSON array).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn board_seqs(
        c: &mut DB::Connection,
        boards: &[String],
    ) -> Result<Vec<(String, u64)>, E> {
        let ids =
            serde_json::to_string(boards).map_err(|e| StoreError::Db(format!("board ids: {e}")))?;
        let found = Self::all(c, sqlx::query(DB::BOARD_SEQS).bind(ids.as_str())).await?;
        Ok(found
            .iter()
            .map(board_seq)
            .collect::<Result<_, StoreError>>()?)
    }

    /// Boards whose log is longer than `keep` events (candidates for pruning).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn prune_candidates(c: &mut DB::Connection, keep: i64) -> Result<Vec<String>, E> {
        let q =
            Self::query("SELECT id FROM boards WHERE seq - log_floor > ? ORDER BY id").bind(keep);
        let found = Self::all(c, q).await?;
        Ok(found
            .iter()
            .map(|r| r.text("id"))
            .collect::<Result<_, _>>()?)
    }

    /// Moves the board's resume window (`log_floor`) past the events outside
    /// both retention windows (older than `cutoff_at` and not among the
    /// newest `keep`) and drops their op ids. The events themselves stay, for
    /// history, as long as the board. Returns how many events left the window.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn prune_board(
        c: &mut DB::Connection,
        board: &str,
        (keep, cutoff_at): (i64, i64),
    ) -> Result<u64, E> {
        // Lock the board first, as a mutation does, so the two never deadlock.
        let lock: &'static str = if DB::LOCKS_ROWS {
            "SELECT seq, log_floor FROM boards WHERE id = ? FOR UPDATE"
        } else {
            "SELECT seq, log_floor FROM boards WHERE id = ?"
        };
        let Some(row) = Self::one(c, Self::query(lock).bind(board)).await? else {
            return Ok(0);
        };
        let (seq, floor) = (row.int("seq")?, row.int("log_floor")?);
        // Only the events inside the window are looked at (those below its
        // floor stay stored for history: scanning them would make every pass
        // grow with the board's whole log).
        let q = Self::query(
            "SELECT MAX(seq) AS m FROM events \
             WHERE board_id = ? AND seq > ? AND seq <= ? AND at < ?",
        )
        .bind(board)
        .bind(floor)
        .bind(seq - keep)
        .bind(cutoff_at);
        let newest_droppable = match Self::one(c, q).await? {
            Some(r) => r.opt_int("m")?,
            None => None,
        };
        let Some(new_floor) = newest_droppable.filter(|f| *f > floor) else {
            return Ok(0);
        };
        let q = Self::query("DELETE FROM ops WHERE board_id = ? AND seq <= ?")
            .bind(board)
            .bind(new_floor);
        Self::run(c, q).await?;
        let q = Self::query("UPDATE boards SET log_floor = ? WHERE id = ?")
            .bind(new_floor)
            .bind(board);
        Self::run(c, q).await?;
        Ok(u64::try_from(new_floor - floor).unwrap_or(0))
    }

    /// The board as stored (its note count left 0: the caller knows or counts it).
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn board(c: &mut DB::Connection, id: &str) -> Result<Option<BoardState>, E> {
        let q = Self::query(concat!("SELECT ", board_columns!(), " WHERE b.id = ?")).bind(id);
        let found = Self::one(c, q).await?;
        Ok(found.map(|r| rows::board_state(&r, 0)).transpose()?)
    }

    /// Every member's role on the board, by user id.
    ///
    /// # Errors
    /// When the database fails or a row is malformed.
    pub async fn board_roles(
        c: &mut DB::Connection,
        board: &str,
    ) -> Result<HashMap<String, Role>, E> {
        let q = Self::query("SELECT user_id, role FROM members WHERE board_id = ?").bind(board);
        let found = Self::all(c, q).await?;
        Ok(found
            .iter()
            .map(|r| Ok((r.text("user_id")?, rows::role_col(r, "role")?)))
            .collect::<Result<_, StoreError>>()?)
    }

    /// How many notes the board holds.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn note_count(c: &mut DB::Connection, board: &str) -> Result<u64, E> {
        let q = Self::query("SELECT COUNT(*) AS n FROM notes WHERE board_id = ?").bind(board);
        match Self::one(c, q).await? {
            Some(r) => Ok(r.uint("n")?),
            None => Ok(0),
        }
    }
}

/// Events read per statement while replaying history (bounds the memory of a replay).
pub const HISTORY_CHUNK: u64 = 1000;

/// A board's history state right after event `seq`, as JSON, to be stored
/// as a checkpoint (see [`Sql::history`]).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub board: String,
    pub seq: u64,
    pub state: String,
}

/// `bad_request` for a history position beyond the board's current seq.
fn beyond(field: &str, seq: u64) -> crate::core::ApiError {
    crate::core::ApiError::bad_request(format!("{field} is beyond the board's current seq {seq}"))
        .with_details(serde_json::json!({"field": field, "seq": seq}))
}

/// `gone` for a history position that can no longer be rebuilt (`why`);
/// `from` is the lowest that can.
fn unavailable(field: &str, from: u64, why: &str) -> crate::core::ApiError {
    crate::core::ApiError::new(
        crate::core::ErrorCode::Gone,
        format!("this board's history before seq {from} is not available: {why}"),
    )
    .with_details(serde_json::json!({"field": field, "from": from}))
}

/// The `status` of a remembered board create (its body is the Board).
const CREATED: i64 = 0;

/// What [`Sql::create_board_with`] did.
pub enum Created {
    /// Created the board.
    New(BoardState),
    /// The op had created it already: the board as it was answered then.
    Replayed(Board),
}

impl Created {
    /// The store's answer.
    pub fn answer(&self) -> crate::store::BoardCreated {
        match self {
            Created::New(state) => crate::store::BoardCreated {
                board: state.view(Role::Owner),
                replayed: false,
            },
            Created::Replayed(board) => crate::store::BoardCreated {
                board: board.clone(),
                replayed: true,
            },
        }
    }
}

/// The retention windows at `now`: keep the newest `log_min_events` events
/// and every event at or after the returned cutoff.
pub fn retention(limits: &crate::core::Limits, now: Timestamp) -> (i64, i64) {
    (
        big(limits.log_min_events),
        now.0.saturating_sub(limits.log_min_age_ms),
    )
}

/// A `(board id, seq)` row (`id`, `seq`).
///
/// # Errors
/// When a column is malformed.
pub fn board_seq(r: &impl Cols) -> Result<(String, u64), StoreError> {
    Ok((r.text("id")?, r.uint("seq")?))
}

/// A board row with the member's `role` column, as that member sees it.
fn board_view(r: &impl Cols) -> Result<Board, StoreError> {
    Ok(rows::board_state(r, 0)?.view(rows::role_col(r, "role")?))
}

/// A `user_ops` row of a board mutation (`seq`, `status`, `body`), as the
/// replayed answer.
///
/// # Errors
/// When the outcome cannot be decoded.
pub fn user_op_applied(
    (seq, status, body): (u64, i64, String),
) -> Result<crate::store::Applied, StoreError> {
    let outcome = crate::core::Outcome::from_stored(status, &body).map_err(StoreError::Db)?;
    Ok(crate::store::Applied {
        outcome,
        seq,
        replayed: true,
    })
}

/// An `ops` row (`board_id`, `key`, `seq`, `status`, `body`): the remembered
/// answer, decoded with the shared outcome codec, by (board, key).
///
/// # Errors
/// When a column is malformed or the outcome cannot be decoded.
pub fn op_row(r: &impl Cols) -> Result<((String, String), crate::store::Applied), StoreError> {
    let outcome = crate::core::Outcome::from_stored(r.int("status")?, &r.text("body")?)
        .map_err(StoreError::Db)?;
    Ok((
        (r.text("board_id")?, r.text("key")?),
        crate::store::Applied {
            outcome,
            seq: r.uint("seq")?,
            replayed: true,
        },
    ))
}
