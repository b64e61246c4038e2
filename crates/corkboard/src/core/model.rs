//! The nouns of the contract (protocol.md, "Model"): users, boards, roles,
//! notes, and the validation rules each field carries.

use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::time::Timestamp;

/// A person, as it appears everywhere on the wire: `{id, username}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Lowercase, 3–32 chars of `[a-z0-9_.-]`.
    pub username: String,
}

/// A member's right on a board. Ordered: viewer < editor < owner.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, sends signals, mutates nothing.
    Viewer,
    /// Mutates notes and renames the board.
    Editor,
    /// Everything, including members, invites and deletion.
    Owner,
}

impl Role {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }
    /// Parses the storage spelling.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "editor" => Some(Role::Editor),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
    /// Whether this role may change notes and the board title.
    pub fn can_edit(self) -> bool {
        self >= Role::Editor
    }
}

/// The six note colours of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// The default.
    #[default]
    Yellow,
    Pink,
    Blue,
    Green,
    Purple,
    Gray,
}

impl Color {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Color::Yellow => "yellow",
            Color::Pink => "pink",
            Color::Blue => "blue",
            Color::Green => "green",
            Color::Purple => "purple",
            Color::Gray => "gray",
        }
    }
    /// Parses the storage spelling.
    pub fn parse(s: &str) -> Option<Color> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// A board as a given caller sees it (`role` is the caller's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Board {
    pub id: String,
    pub title: String,
    pub owner: User,
    pub role: Role,
    pub seq: u64,
    #[ts(type = "string")]
    pub created_at: Timestamp,
    #[ts(type = "string")]
    pub updated_at: Timestamp,
}

/// A sticky note. `version` is the board seq of its last change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Note {
    pub id: String,
    pub board: String,
    pub text: String,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub color: Color,
    pub version: u64,
    pub created_by: User,
    #[ts(type = "string")]
    pub updated_at: Timestamp,
}

/// The seq at which each field of a note last changed: the conflict rule
/// compares these with an update's `base_version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FieldVersions {
    pub text: u64,
    pub x: u64,
    pub y: u64,
    pub w: u64,
    pub h: u64,
    pub color: u64,
}

impl FieldVersions {
    /// All fields set at `seq` (a new note).
    pub fn all(seq: u64) -> Self {
        Self {
            text: seq,
            x: seq,
            y: seq,
            w: seq,
            h: seq,
            color: seq,
        }
    }
}

/// A note together with its per-field versions, as the store keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct NoteRecord {
    pub note: Note,
    pub fields: FieldVersions,
    /// The note's text document, compacted ([`crate::core::text::TextDoc`]);
    /// `None` until its text is first edited (the document is then seeded
    /// from `note.text`).
    pub text_state: Option<bytes::Bytes>,
}

/// The limits of the contract (protocol.md, "Limits"), all configurable.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Max characters of note text.
    pub note_text_chars: usize,
    /// Max bytes of a note's stored text document (its edit history, compacted).
    pub note_state_bytes: usize,
    /// Stored bytes of the text documents a store keeps decoded between edits.
    pub text_cache_bytes: usize,
    /// Max notes on one board.
    pub notes_per_board: usize,
    /// Max bytes of an HTTP body.
    pub http_body_bytes: usize,
    /// Events a board's log keeps at least.
    pub log_min_events: u64,
    /// Age (ms) within which every event is kept.
    pub log_min_age_ms: i64,
    /// Age (ms) after which a deleted note can no longer be restored.
    pub deleted_note_ttl_ms: i64,
    /// Seconds an invite lives when its creator names no `expires_in`.
    pub invite_ttl_secs: u64,
    /// The largest `expires_in` an invite may ask for, in seconds.
    pub invite_max_ttl_secs: u64,
    /// Invites one user may create per rolling hour (all boards together).
    pub invites_per_hour: u64,
    /// Invites one user may create naming the same other user per rolling
    /// day (each one notifies that user).
    pub named_invites_per_day: u64,
    /// Boards one user may own (`--max-boards-per-user`); 0: no limit.
    pub boards_per_user: u64,
    /// A history checkpoint every this many events of a board
    /// (`--history-checkpoint-every`); 0: none, history replays from the start.
    pub history_checkpoint_every: u64,
    /// Notes drawn in a board's thumbnail (`--thumbnail-notes`): the first
    /// this many in the order the board draws them.
    pub thumbnail_notes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            note_text_chars: 10_000,
            note_state_bytes: 512 << 10,
            text_cache_bytes: 8 << 20,
            notes_per_board: 5_000,
            http_body_bytes: 1 << 20,
            log_min_events: 10_000,
            log_min_age_ms: 24 * 3600 * 1000,
            deleted_note_ttl_ms: 30 * 24 * 3600 * 1000,
            invite_ttl_secs: 7 * 24 * 3600,
            invite_max_ttl_secs: 30 * 24 * 3600,
            invites_per_hour: 50,
            named_invites_per_day: 3,
            boards_per_user: 1000,
            history_checkpoint_every: 1000,
            thumbnail_notes: 500,
        }
    }
}

/// Default note width.
pub const DEFAULT_W: f64 = 200.0;
/// Default note height.
pub const DEFAULT_H: f64 = 140.0;

/// Number of characters (Unicode scalar values), the contract's length unit.
pub fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Normalizes and checks a username: lowercased, 3–32 chars of `[a-z0-9_.-]`.
///
/// # Errors
/// `bad_request` when the name does not fit the rule.
pub fn normalize_username(raw: &str) -> Result<String, ApiError> {
    let name = raw.to_lowercase();
    let n = chars(&name);
    if !(3..=32).contains(&n) {
        return Err(ApiError::bad_request("username must be 3–32 characters")
            .with_details(serde_json::json!({"field": "username"})));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
    {
        return Err(
            ApiError::bad_request("username may contain only a-z, 0-9, '_', '.' and '-'")
                .with_details(serde_json::json!({"field": "username"})),
        );
    }
    Ok(name)
}

/// Checks a password's length: 8–256 characters.
///
/// # Errors
/// `bad_request` outside that range.
pub fn check_password(p: &str) -> Result<(), ApiError> {
    let n = chars(p);
    if !(8..=256).contains(&n) {
        return Err(ApiError::bad_request("password must be 8–256 characters")
            .with_details(serde_json::json!({"field": "password"})));
    }
    Ok(())
}

/// Checks a board title: 1–200 characters, not only whitespace.
///
/// # Errors
/// `bad_request` outside that range.
pub fn check_title(t: &str) -> Result<(), ApiError> {
    check_no_control("title", t)?;
    let n = chars(t);
    if !(1..=200).contains(&n) || t.trim().is_empty() {
        return Err(
            ApiError::bad_request("title must be 1–200 characters and not blank")
                .with_details(serde_json::json!({"field": "title"})),
        );
    }
    Ok(())
}

/// The refusal of a board create by a user who owns `limit` boards
/// (`--max-boards-per-user`): `rate_limited`, with no `retry_after` (the
/// place frees up when the user deletes a board, not with time).
pub fn board_quota(limit: u64) -> ApiError {
    ApiError::new(
        super::error::ErrorCode::RateLimited,
        format!("you own {limit} boards, the most allowed; delete one first"),
    )
    .with_details(serde_json::json!({"quota": "boards_per_user", "limit": limit}))
}

/// Checks a client-chosen id (note id, op id, token name is separate):
/// 1–64 chars of `[A-Za-z0-9_-]` (UUIDs fit).
///
/// # Errors
/// `bad_request` naming `field`.
pub fn check_client_id(field: &str, v: &str) -> Result<(), ApiError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(ApiError::bad_request(format!(
            "{field} must be 1–64 characters of A-Z, a-z, 0-9, '-' and '_'"
        ))
        .with_details(serde_json::json!({"field": field})));
    }
    Ok(())
}

/// Refuses control characters in stored text, except tab, line feed and
/// carriage return. U+0000 cannot be stored in PostgreSQL's `text` at all
/// (SQLite can), so both stores give the same `bad_request` instead of one
/// answering 500; the others are escaped by JSON to six bytes each, so
/// refusing them keeps a board's snapshot within what the length limits
/// promise (at most 4 bytes per character plus quoting).
///
/// # Errors
/// `bad_request` naming the field.
pub fn check_no_control(field: &str, v: &str) -> Result<(), ApiError> {
    let Some(c) = v
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    else {
        return Ok(());
    };
    let what = if c == '\0' {
        "U+0000 (NUL)".to_owned()
    } else {
        format!(
            "control characters (U+{:04X}); only tab and line breaks are allowed",
            c as u32
        )
    };
    Err(
        ApiError::bad_request(format!("{field} must not contain {what}"))
            .with_details(serde_json::json!({"field": field})),
    )
}

/// Checks an API token name: 1–100 characters.
///
/// # Errors
/// `bad_request` outside that range.
pub fn check_token_name(name: &str) -> Result<(), ApiError> {
    check_no_control("name", name)?;
    if !(1..=100).contains(&chars(name)) || name.trim().is_empty() {
        return Err(ApiError::bad_request("name must be 1–100 characters")
            .with_details(serde_json::json!({"field": "name"})));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_except_tab_and_line_breaks() {
        assert!(check_no_control("text", "a\tb\nc\r\nd ünï 😀").is_ok());
        for bad in ["\0", "a\u{1}b", "\u{1b}[31m", "\u{7f}", "\u{85}", "x\u{9f}"] {
            let e = check_no_control("text", bad).unwrap_err();
            assert_eq!(e.code, crate::core::ErrorCode::BadRequest, "{bad:?}");
        }
        assert!(check_title("a\u{1}").is_err());
        assert!(check_token_name("t\u{2}").is_err());
    }

    #[test]
    fn usernames_are_lowercased_and_checked() {
        assert_eq!(normalize_username("Alice_1").unwrap(), "alice_1");
        assert!(normalize_username("ab").is_err());
        assert!(normalize_username(&"a".repeat(33)).is_err());
        assert!(normalize_username("a b c").is_err());
        assert!(normalize_username("émile").is_err());
        assert!(normalize_username("a.b-c_d").is_ok());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        // 8 characters, 16+ bytes.
        assert!(check_password("éééééééé").is_ok());
        assert!(check_password("ééééééé").is_err());
        assert!(check_title(&"é".repeat(200)).is_ok());
        assert!(check_title(&"é".repeat(201)).is_err());
        assert!(check_title("   ").is_err());
        assert!(check_title("").is_err());
        assert!(check_title("a\0b").is_err());
        assert!(check_token_name("a\0b").is_err());
    }

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Owner > Role::Editor && Role::Editor > Role::Viewer);
        assert!(Role::Editor.can_edit() && !Role::Viewer.can_edit());
        for r in [Role::Viewer, Role::Editor, Role::Owner] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn colors_parse_their_wire_names_only() {
        assert_eq!(Color::parse("purple"), Some(Color::Purple));
        assert_eq!(Color::parse("Purple"), None);
        assert_eq!(Color::parse("orange"), None);
    }

    #[test]
    fn client_ids_accept_uuids_only_shape() {
        assert!(check_client_id("id", "7f0c9a52-3b7e-4c8f-9d0a-1b2c3d4e5f60").is_ok());
        assert!(check_client_id("id", "").is_err());
        assert!(check_client_id("id", "a/b").is_err());
        assert!(check_client_id("id", &"a".repeat(65)).is_err());
    }
}

/// One person's presence on a board: `{user, connections, since}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Presence {
    pub user: User,
    /// Their subscriptions to the board (WebSocket and SSE, all nodes).
    pub connections: u32,
    /// When they became present.
    #[ts(type = "string")]
    pub since: Timestamp,
}
