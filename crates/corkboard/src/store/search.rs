//! Full-text search over the boards a user belongs to: their titles and
//! their live notes' text.
//!
//! The indexes follow the rows by themselves, inside the transaction that
//! writes them, so no write path can forget them: on SQLite, triggers on
//! `notes` and `boards` keep an FTS5 table (`search_fts`, keyed through
//! `search_keys`) in step with every insert, text change, delete, restore,
//! rename and board delete (migration `0009_search.sql`); on PostgreSQL,
//! `notes.search` and `boards.search` are generated `tsvector` columns
//! (lowercase, `unaccent`ed, not stemmed) with GIN indexes (migration
//! `0008_search.sql`). The query itself is parsed in
//! [`crate::core::search`]: user input never reaches either query language
//! as syntax.

pub use crate::core::search::Query;

use sqlx::{PgConnection, SqliteConnection};

use crate::core::{Board, Color};
use crate::store::rows::{self, Cols};
use crate::store::StoreError;

/// One match: a board (by its title) or one of its notes.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The board, as the caller sees it (with their role).
    pub board: Board,
    /// The note matched, or `None` when the board's title matched.
    pub note: Option<HitNote>,
    /// The text that matched: the note's text, or the board's title.
    pub text: String,
}

/// The note of a [`Hit`].
#[derive(Debug, Clone, PartialEq)]
pub struct HitNote {
    pub id: String,
    pub color: Color,
}

/// The board columns (with the caller's `role`), the matched `note_id`
/// (`''` for a title), `note_text` and `note_color`.
macro_rules! hit_columns {
    () => {
        "m.role, b.id, b.title, b.owner_id, o.username AS owner_name, b.seq, b.log_floor, \
         b.created_at, b.updated_at, h.note_id, h.note_text, h.note_color"
    };
}

const SQLITE: &str = concat!(
    "SELECT ",
    hit_columns!(),
    " FROM (SELECT k.board_id, k.note_id, n.text AS note_text, n.color AS note_color, \
       f.rank AS score \
       FROM search_fts f JOIN search_keys k ON k.rowid = f.rowid \
       JOIN members mm ON mm.board_id = k.board_id AND mm.user_id = ?1 \
       LEFT JOIN notes n ON n.board_id = k.board_id AND n.id = k.note_id \
       WHERE search_fts MATCH ?2) h \
     JOIN boards b ON b.id = h.board_id JOIN users o ON o.id = b.owner_id \
     JOIN members m ON m.board_id = b.id AND m.user_id = ?1 \
     ORDER BY h.score, b.updated_at DESC LIMIT ?3"
);

const POSTGRES: &str = concat!(
    "WITH q AS (SELECT to_tsquery('simple', $2) AS q) SELECT ",
    hit_columns!(),
    " FROM (SELECT n.board_id, n.id AS note_id, n.text AS note_text, n.color AS note_color, \
         ts_rank(n.search, q.q) AS score \
         FROM q, members mm JOIN notes n ON n.board_id = mm.board_id \
         WHERE mm.user_id = $1 AND n.search @@ q.q \
       UNION ALL \
       SELECT bb.id, '', NULL, NULL, ts_rank(bb.search, q.q) + 1.0 \
         FROM q, members mm JOIN boards bb ON bb.id = mm.board_id \
         WHERE mm.user_id = $1 AND bb.search @@ q.q) h \
     JOIN boards b ON b.id = h.board_id JOIN users o ON o.id = b.owner_id \
     JOIN members m ON m.board_id = b.id AND m.user_id = $1 \
     ORDER BY h.score DESC, b.updated_at DESC LIMIT $3"
);

fn hit(r: &impl Cols) -> Result<Hit, StoreError> {
    let board = rows::board_state(r, 0)?.view(rows::role_col(r, "role")?);
    let note_id = r.text("note_id")?;
    let (note, text) = if note_id.is_empty() {
        (None, board.title.clone())
    } else {
        let color = r.opt_text("note_color")?.unwrap_or_default();
        let color =
            Color::parse(&color).ok_or_else(|| StoreError::Db(format!("bad color {color:?}")))?;
        let text = r.opt_text("note_text")?.unwrap_or_default();
        (Some(HitNote { id: note_id, color }), text)
    };
    Ok(Hit { board, note, text })
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Searches on SQLite (FTS5, best `bm25` rank first).
///
/// # Errors
/// When the database fails.
pub async fn sqlite(
    c: &mut SqliteConnection,
    user_id: &str,
    q: &Query,
    n: usize,
) -> Result<Vec<Hit>, StoreError> {
    if q.terms().is_empty() {
        return Ok(Vec::new());
    }
    let found = sqlx::query(SQLITE)
        .bind(user_id)
        .bind(q.fts5())
        .bind(limit(n))
        .fetch_all(c)
        .await?;
    found.iter().map(hit).collect()
}

/// Searches on PostgreSQL (`tsvector`, titles first, then best `ts_rank`).
///
/// # Errors
/// When the database fails.
pub async fn postgres(
    c: &mut PgConnection,
    user_id: &str,
    q: &Query,
    n: usize,
) -> Result<Vec<Hit>, StoreError> {
    if q.terms().is_empty() {
        return Ok(Vec::new());
    }
    let found = sqlx::query(POSTGRES)
        .bind(user_id)
        .bind(q.tsquery())
        .bind(limit(n))
        .fetch_all(c)
        .await?;
    found.iter().map(hit).collect()
}
