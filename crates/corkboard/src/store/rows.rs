//! Decoding rows into core types without panicking on bad data, once for
//! both databases: [`Cols`] reads a column of any sqlx row whose database
//! decodes the few types the schema uses, and every decoder below is written
//! against it. A value of the wrong type is an error, never a default.

use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::core::{
    BoardState, Color, FieldVersions, Note, NoteRecord, Notification, Role, Timestamp, User,
};
use crate::store::{Credential, CredentialKind, SessionInfo, StoreError, TokenInfo};

/// The note columns a client sees, with the field versions (a literal,
/// for `concat!`; table alias `n`, creator `u`).
macro_rules! note_columns {
    () => {
        "n.id, n.board_id, n.text, n.x, n.y, n.w, n.h, n.color, \
         n.version, n.created_by, u.username AS created_by_name, n.updated_at, \
         n.text_v, n.x_v, n.y_v, n.w_v, n.h_v, n.color_v"
    };
}

/// Every note column with the text document, joined with the creator's
/// name (a literal, for `concat!`); use with [`note`].
macro_rules! note_select {
    () => {
        concat!(
            "SELECT ",
            note_columns!(),
            ", n.text_state FROM notes n JOIN users u ON u.id = n.created_by"
        )
    };
}

/// The note columns without the text document (snapshots); use with [`note_view`].
macro_rules! note_view_select {
    () => {
        concat!(
            "SELECT ",
            note_columns!(),
            " FROM notes n JOIN users u ON u.id = n.created_by"
        )
    };
}

/// A deleted note's columns, as [`note_select`] (use with [`note`]).
macro_rules! deleted_note_select {
    () => {
        concat!(
            "SELECT ",
            note_columns!(),
            ", n.text_state FROM deleted_notes n JOIN users u ON u.id = n.created_by"
        )
    };
}

/// The board columns and `FROM`, joined with the owner's name (after
/// `SELECT` and any extra columns); use with [`board_state`].
macro_rules! board_columns {
    () => {
        "b.id, b.title, b.owner_id, o.username AS owner_name, \
         b.seq, b.log_floor, b.created_at, b.updated_at \
         FROM boards b JOIN users o ON o.id = b.owner_id"
    };
}

/// The notification columns, joined with the actor's name; use with [`notification`].
macro_rules! notification_select {
    () => {
        "SELECT n.id, n.kind, n.board_id, n.note_id, n.by_id, \
         u.username AS by_name, n.at, n.text, n.read \
         FROM notifications n JOIN users u ON u.id = n.by_id"
    };
}

/// The note columns; use with [`note`].
pub const NOTE_SELECT: &str = note_select!();

/// Typed column reads over any row type whose database decodes the schema's
/// types (text, integers, reals, booleans, nullable text).
pub trait Cols {
    /// Column `name` as text.
    ///
    /// # Errors
    /// When the column is missing or not text.
    fn text(&self, name: &str) -> Result<String, StoreError>;
    /// Column `name` as nullable text.
    ///
    /// # Errors
    /// When the column is missing, or neither NULL nor text.
    fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Column `name` as an integer.
    ///
    /// # Errors
    /// When the column is missing or not an integer.
    fn int(&self, name: &str) -> Result<i64, StoreError>;
    /// Column `name` as a nullable integer.
    ///
    /// # Errors
    /// When the column is missing, or neither NULL nor an integer.
    fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError>;
    /// Column `name` as nullable bytes.
    ///
    /// # Errors
    /// When the column is missing, or neither NULL nor bytes.
    fn opt_blob(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Column `name` as a real number.
    ///
    /// # Errors
    /// When the column is missing or not a number.
    fn real(&self, name: &str) -> Result<f64, StoreError>;
    /// Column `name` as a boolean (SQLite stores 0 or 1).
    ///
    /// # Errors
    /// When the column is missing or not a boolean.
    fn flag(&self, name: &str) -> Result<bool, StoreError>;

    /// Column `name` as a non-negative integer.
    ///
    /// # Errors
    /// When the column is missing, not an integer, or negative.
    fn uint(&self, name: &str) -> Result<u64, StoreError> {
        let v = self.int(name)?;
        u64::try_from(v).map_err(|_| StoreError::Db(format!("column {name}: negative")))
    }
}

fn col<'r, R, T>(row: &'r R, name: &str) -> Result<T, StoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Db(format!("column {name}: {e}")))
}

impl<R> Cols for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn opt_blob(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        col(self, name)
    }
    fn text(&self, name: &str) -> Result<String, StoreError> {
        col(self, name)
    }
    fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        col(self, name)
    }
    fn int(&self, name: &str) -> Result<i64, StoreError> {
        col(self, name)
    }
    fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError> {
        col(self, name)
    }
    fn real(&self, name: &str) -> Result<f64, StoreError> {
        col(self, name)
    }
    fn flag(&self, name: &str) -> Result<bool, StoreError> {
        col(self, name)
    }
}

/// Parses a stored role.
///
/// # Errors
/// When `s` is not a role.
pub fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Db(format!("bad role {s:?}")))
}

/// Column `name` as a role.
///
/// # Errors
/// When the column is missing or not a role.
pub fn role_col(row: &impl Cols, name: &str) -> Result<Role, StoreError> {
    role(&row.text(name)?)
}

/// A [`User`] from `id`/`name` columns.
///
/// # Errors
/// When a column is missing or not text.
pub fn user(row: &impl Cols, id: &str, name: &str) -> Result<User, StoreError> {
    Ok(User {
        id: row.text(id)?,
        username: row.text(name)?,
    })
}

/// A user and a role (`id`, `username`, `role`).
///
/// # Errors
/// When a column is missing or malformed.
pub fn member(row: &impl Cols) -> Result<(User, Role), StoreError> {
    Ok((user(row, "id", "username")?, role_col(row, "role")?))
}

/// A note row selected with [`NOTE_SELECT`] (or the deleted notes' select).
///
/// # Errors
/// When a column is missing or malformed.
pub fn note(row: &impl Cols) -> Result<NoteRecord, StoreError> {
    let (note, fields) = note_fields(row)?;
    Ok(NoteRecord {
        note,
        fields,
        text_state: row.opt_blob("text_state")?.map(Into::into),
    })
}

/// A note row as clients see it (any note select).
///
/// # Errors
/// When a column is missing or malformed.
pub fn note_view(row: &impl Cols) -> Result<Note, StoreError> {
    note_fields(row).map(|(n, _)| n)
}

fn note_fields(row: &impl Cols) -> Result<(Note, FieldVersions), StoreError> {
    let color = row.text("color")?;
    Ok((
        Note {
            id: row.text("id")?,
            board: row.text("board_id")?,
            text: row.text("text")?,
            x: row.real("x")?,
            y: row.real("y")?,
            w: row.real("w")?,
            h: row.real("h")?,
            color: Color::parse(&color)
                .ok_or_else(|| StoreError::Db(format!("bad color {color:?}")))?,
            version: row.uint("version")?,
            created_by: user(row, "created_by", "created_by_name")?,
            updated_at: Timestamp(row.int("updated_at")?),
        },
        FieldVersions {
            text: row.uint("text_v")?,
            x: row.uint("x_v")?,
            y: row.uint("y_v")?,
            w: row.uint("w_v")?,
            h: row.uint("h_v")?,
            color: row.uint("color_v")?,
        },
    ))
}

/// A board row selected with [`BOARD_SELECT`], with the note count the
/// caller knows (reads that only show the board pass 0).
///
/// # Errors
/// When a column is missing or malformed.
pub fn board_state(row: &impl Cols, note_count: u64) -> Result<BoardState, StoreError> {
    Ok(BoardState {
        id: row.text("id")?,
        title: row.text("title")?,
        owner: user(row, "owner_id", "owner_name")?,
        seq: row.uint("seq")?,
        note_count,
        created_at: Timestamp(row.int("created_at")?),
        updated_at: Timestamp(row.int("updated_at")?),
    })
}

/// A notification row selected with [`NOTIFICATION_SELECT`].
///
/// # Errors
/// When a column is missing or malformed.
pub fn notification(row: &impl Cols) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: row.uint("id")?,
        kind: row.text("kind")?,
        board: row.opt_text("board_id")?,
        note: row.opt_text("note_id")?,
        by: user(row, "by_id", "by_name")?,
        at: Timestamp(row.int("at")?),
        text: row.text("text")?,
        read: row.flag("read")?,
    })
}

/// A credential row (`id`, `kind`, `user_id`, `username`).
///
/// # Errors
/// When a column is missing or malformed (an unknown kind included).
pub fn credential(row: &impl Cols) -> Result<Credential, StoreError> {
    let kind = match row.text("kind")?.as_str() {
        "session" => CredentialKind::Session,
        "token" => CredentialKind::Token,
        other => return Err(StoreError::Db(format!("bad credential kind {other:?}"))),
    };
    Ok(Credential {
        id: row.text("id")?,
        kind,
        user: user(row, "user_id", "username")?,
        created_at: Timestamp(row.int("created_at")?),
        last_used_at: Timestamp(row.int("last_used_at")?),
    })
}

/// A session row (`id`, `created_at`, `last_used_at`, `user_agent`, `ip`).
///
/// # Errors
/// When a column is missing or malformed.
pub fn session(row: &impl Cols) -> Result<SessionInfo, StoreError> {
    Ok(SessionInfo {
        id: row.text("id")?,
        created_at: Timestamp(row.int("created_at")?),
        last_used_at: Timestamp(row.int("last_used_at")?),
        user_agent: row.opt_text("user_agent")?,
        ip: row.opt_text("ip")?,
    })
}

/// A token row (`id`, `name`, `created_at`); a token without a name lists as "".
///
/// # Errors
/// When a column is missing or malformed.
pub fn token(row: &impl Cols) -> Result<TokenInfo, StoreError> {
    Ok(TokenInfo {
        id: row.text("id")?,
        name: row.opt_text("name")?.unwrap_or_default(),
        created_at: Timestamp(row.int("created_at")?),
    })
}
