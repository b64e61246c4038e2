//! Decoding PostgreSQL rows into core types without panicking on bad data.

use sqlx::postgres::PgRow;
use sqlx::Row;

use crate::core::{
    BoardState, Color, FieldVersions, Note, NoteRecord, Notification, Role, Timestamp, User,
};
use crate::store::StoreError;

/// The note columns, joined with the creator's name; use with [`note`].
pub const NOTE_SELECT: &str = "SELECT n.id, n.board_id, n.text, n.x, n.y, n.w, n.h, n.color, \
    n.version, n.created_by, u.username AS created_by_name, n.updated_at, \
    n.text_v, n.x_v, n.y_v, n.w_v, n.h_v, n.color_v \
    FROM notes n JOIN users u ON u.id = n.created_by";

/// The board columns, joined with the owner's name; use with [`board_state`].
pub const BOARD_SELECT: &str = "SELECT b.id, b.title, b.owner_id, o.username AS owner_name, \
    b.seq, b.log_floor, b.note_count, b.created_at, b.updated_at \
    FROM boards b JOIN users o ON o.id = b.owner_id";

/// The notification columns, joined with the actor's name; use with [`notification`].
pub const NOTIFICATION_SELECT: &str = "SELECT n.id, n.kind, n.board_id, n.note_id, n.by_id, \
    u.username AS by_name, n.at, n.text, n.read FROM notifications n JOIN users u ON u.id = n.by_id";

/// Reads column `name`.
pub fn col<'r, T>(row: &'r PgRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Db(format!("column {name}: {e}")))
}

/// Reads column `name` as a non-negative integer.
pub fn uint(row: &PgRow, name: &str) -> Result<u64, StoreError> {
    let v: i64 = col(row, name)?;
    u64::try_from(v).map_err(|_| StoreError::Db(format!("column {name}: negative")))
}

/// Parses a stored role.
pub fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Db(format!("bad role {s:?}")))
}

/// A [`User`] from `id`/`name` columns.
pub fn user(row: &PgRow, id: &str, name: &str) -> Result<User, StoreError> {
    Ok(User {
        id: col(row, id)?,
        username: col(row, name)?,
    })
}

/// A note row selected with [`NOTE_SELECT`].
pub fn note(row: &PgRow) -> Result<NoteRecord, StoreError> {
    let color: String = col(row, "color")?;
    Ok(NoteRecord {
        note: Note {
            id: col(row, "id")?,
            board: col(row, "board_id")?,
            text: col(row, "text")?,
            x: col(row, "x")?,
            y: col(row, "y")?,
            w: col(row, "w")?,
            h: col(row, "h")?,
            color: Color::parse(&color)
                .ok_or_else(|| StoreError::Db(format!("bad color {color:?}")))?,
            version: uint(row, "version")?,
            created_by: user(row, "created_by", "created_by_name")?,
            updated_at: Timestamp(col(row, "updated_at")?),
        },
        fields: FieldVersions {
            text: uint(row, "text_v")?,
            x: uint(row, "x_v")?,
            y: uint(row, "y_v")?,
            w: uint(row, "w_v")?,
            h: uint(row, "h_v")?,
            color: uint(row, "color_v")?,
        },
    })
}

/// A board row selected with [`BOARD_SELECT`]; also returns `log_floor`.
pub fn board_state(row: &PgRow) -> Result<(BoardState, u64), StoreError> {
    Ok((
        BoardState {
            id: col(row, "id")?,
            title: col(row, "title")?,
            owner: user(row, "owner_id", "owner_name")?,
            seq: uint(row, "seq")?,
            note_count: uint(row, "note_count")?,
            created_at: Timestamp(col(row, "created_at")?),
            updated_at: Timestamp(col(row, "updated_at")?),
        },
        uint(row, "log_floor")?,
    ))
}

/// A notification row selected with [`NOTIFICATION_SELECT`].
pub fn notification(row: &PgRow) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: uint(row, "id")?,
        kind: col(row, "kind")?,
        board: col(row, "board_id")?,
        note: col(row, "note_id")?,
        by: user(row, "by_id", "by_name")?,
        at: Timestamp(col(row, "at")?),
        text: col(row, "text")?,
        read: col(row, "read")?,
    })
}
