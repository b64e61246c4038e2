//! Mutations: what a client asks for, and the pure decision of what it does.
//!
//! [`plan`] takes the state the store loaded inside its transaction and an
//! [`Action`], checks authorization, limits and the conflict rule, and returns
//! a [`Plan`]: the rows to write, the event to append and the response to
//! remember for idempotent retries. It does no I/O, so both store
//! implementations share it and it is tested here without a database.

use std::cell::RefCell;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use super::error::ApiError;
use super::event::{Event, EventBody, NoteDelta};
use super::model::{
    chars, check_client_id, check_no_control, check_title, Board, Color, FieldVersions, Limits,
    Note, NoteRecord, Role, User, DEFAULT_H, DEFAULT_W,
};
use super::outcome::Outcome;
use super::text::TextDoc;
use super::time::Timestamp;
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};

/// Deserializes a present field as `Some(value)` and refuses `null`, so that
/// "absent" and "null" are not confused in partial updates.
pub(crate) fn non_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// Body of a note create (`Create` in the contract).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NoteCreate {
    #[serde(default, deserialize_with = "non_null")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub op: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub text: Option<String>,
    pub x: f64,
    pub y: f64,
    #[serde(default, deserialize_with = "non_null")]
    pub w: Option<f64>,
    #[serde(default, deserialize_with = "non_null")]
    pub h: Option<f64>,
    #[serde(default, deserialize_with = "non_null")]
    pub color: Option<Color>,
}

/// Body of a note update (`Update` in the contract): only present fields change.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NoteUpdate {
    #[serde(default, deserialize_with = "non_null")]
    pub op: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub base_version: Option<u64>,
    #[serde(default, deserialize_with = "non_null")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "non_null")]
    pub x: Option<f64>,
    #[serde(default, deserialize_with = "non_null")]
    pub y: Option<f64>,
    #[serde(default, deserialize_with = "non_null")]
    pub w: Option<f64>,
    #[serde(default, deserialize_with = "non_null")]
    pub h: Option<f64>,
    #[serde(default, deserialize_with = "non_null")]
    pub color: Option<Color>,
}

/// Optional body of a note delete: `{op?}`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NoteDelete {
    #[serde(default, deserialize_with = "non_null")]
    pub op: Option<String>,
}

/// Body of a mutation that takes nothing but its idempotency key, `{op?}`
/// (note delete, note restore, board delete).
pub type OpOnly = NoteDelete;

/// Body of a collaborative text edit (`note.edit`): a Yjs update (v1), base64.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NoteEdit {
    #[serde(default, deserialize_with = "non_null")]
    pub op: Option<String>,
    pub update: String,
}

/// What a mutation does to a board.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    CreateNote(NoteCreate),
    UpdateNote {
        id: String,
        update: NoteUpdate,
    },
    DeleteNote {
        id: String,
    },
    /// Merge a client's Yjs update (decoded bytes) into the note's text document.
    EditNote {
        id: String,
        update: Vec<u8>,
    },
    /// Bring a deleted note back under its id, as it was when deleted.
    RestoreNote {
        id: String,
    },
    RenameBoard {
        title: String,
    },
    DeleteBoard,
    /// An invite was accepted: join with `role` (the store resolved the token).
    Join {
        role: Role,
        /// The invite accepted: the store checks, in the mutation's
        /// transaction, that it is still usable and not older than the
        /// user's last removal or demotion, and counts the use.
        invite: Option<InviteUse>,
    },
    SetRole {
        user_id: String,
        role: Role,
    },
    RemoveMember {
        user_id: String,
    },
}

impl Action {
    /// The least role that may take this action at all, checked before an
    /// idempotent replay too (a viewer never gets an editor's remembered
    /// answer). `None`: the rules depend on the target (see `plan`).
    pub fn least_role(&self) -> Option<Role> {
        match self {
            Action::CreateNote(_)
            | Action::UpdateNote { .. }
            | Action::DeleteNote { .. }
            | Action::EditNote { .. }
            | Action::RestoreNote { .. }
            | Action::RenameBoard { .. } => Some(Role::Editor),
            Action::DeleteBoard => Some(Role::Owner),
            Action::Join { .. } | Action::SetRole { .. } | Action::RemoveMember { .. } => None,
        }
    }
}

/// The invite a [`Action::Join`] goes through.
#[derive(Clone, Debug, PartialEq)]
pub struct InviteUse {
    pub id: String,
    pub created_at: Timestamp,
}

/// A change requested by `actor` on `board`, with its idempotency key.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutation {
    pub board: String,
    pub actor: User,
    pub op: Option<String>,
    pub action: Action,
}

impl Mutation {
    /// The keys under which this mutation's outcome is remembered: its `op`,
    /// and for a create with a client-chosen id, that id.
    pub fn idempotency_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        // Scoped to the actor: another member sending the same op id makes
        // a change of their own, never a replay of someone else's answer.
        if let Some(op) = &self.op {
            keys.push(format!("op:{}:{op}", self.actor.id));
        }
        if let Action::CreateNote(c) = &self.action {
            if let Some(id) = &c.id {
                keys.push(format!("note:{id}"));
            }
        }
        keys
    }

    /// The key a board delete's answer is remembered under for its actor
    /// (the board, and the ops it held, are gone after it): `None` without
    /// an `op` or for any other action.
    pub fn user_op_key(&self) -> Option<String> {
        match (&self.action, &self.op) {
            (Action::DeleteBoard, Some(op)) => Some(format!("board.delete:{}:{op}", self.board)),
            _ => None,
        }
    }

    /// Shape checks that need no state: ids, limits on values, empty updates.
    ///
    /// # Errors
    /// `bad_request` or `too_large` describing the first problem.
    pub fn validate(&self, limits: &Limits) -> Result<(), ApiError> {
        if let Some(op) = &self.op {
            check_client_id("op", op)?;
        }
        match &self.action {
            Action::CreateNote(c) => {
                if let Some(id) = &c.id {
                    check_client_id("id", id)?;
                }
                check_text(c.text.as_deref(), limits)?;
                check_coord("x", Some(c.x))?;
                check_coord("y", Some(c.y))?;
                check_size("w", c.w)?;
                check_size("h", c.h)?;
            }
            Action::UpdateNote { update: u, .. } => {
                if u.text.is_none()
                    && u.x.is_none()
                    && u.y.is_none()
                    && u.w.is_none()
                    && u.h.is_none()
                    && u.color.is_none()
                {
                    return Err(ApiError::bad_request(
                        "an update must name at least one of text, x, y, w, h, color",
                    ));
                }
                check_text(u.text.as_deref(), limits)?;
                check_coord("x", u.x)?;
                check_coord("y", u.y)?;
                check_size("w", u.w)?;
                check_size("h", u.h)?;
            }
            Action::RenameBoard { title } => check_title(title)?,
            Action::SetRole { role, .. } | Action::Join { role, .. } => {
                if *role == Role::Owner {
                    return Err(ApiError::bad_request("role must be editor or viewer")
                        .with_details(json!({"field": "role"})));
                }
            }
            Action::EditNote { update, .. } => {
                if update.is_empty() {
                    return Err(ApiError::bad_request("update is empty")
                        .with_details(json!({"field": "update"})));
                }
            }
            Action::DeleteNote { .. }
            | Action::RestoreNote { .. }
            | Action::DeleteBoard
            | Action::RemoveMember { .. } => {}
        }
        Ok(())
    }
}

/// A board at its note limit takes no new note (create, restore).
fn check_room(board: &BoardState, limits: &Limits) -> Result<(), ApiError> {
    if board.note_count >= limits.notes_per_board as u64 {
        return Err(ApiError::too_large(format!(
            "a board holds at most {} notes",
            limits.notes_per_board
        ))
        .with_details(json!({"limit": limits.notes_per_board})));
    }
    Ok(())
}

/// Runs `f` on the note's document: the warm one the store passed, or one
/// decoded from the note.
fn with_text<T>(
    ctx: &Ctx<'_>,
    rec: &NoteRecord,
    f: impl FnOnce(&mut TextDoc) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    match ctx.text {
        Some(cell) => f(&mut cell.borrow_mut()),
        None => f(&mut load_text(rec)?),
    }
}

/// The note's text document as stored (or seeded from its text).
pub fn load_text(rec: &NoteRecord) -> Result<TextDoc, ApiError> {
    TextDoc::from_stored(rec.text_state.as_deref(), &rec.note.text).map_err(|e| {
        tracing::error!(note = %rec.note.id, "stored text document: {e}");
        ApiError::internal()
    })
}

fn check_text(text: Option<&str>, limits: &Limits) -> Result<(), ApiError> {
    if let Some(t) = text {
        check_no_control("text", t)?;
        if chars(t) > limits.note_text_chars {
            return Err(ApiError::too_large(format!(
                "text is longer than {} characters",
                limits.note_text_chars
            ))
            .with_details(json!({"field": "text", "limit": limits.note_text_chars})));
        }
    }
    Ok(())
}

fn check_coord(field: &str, v: Option<f64>) -> Result<(), ApiError> {
    match v {
        Some(v) if !v.is_finite() => Err(ApiError::bad_request(format!(
            "{field} must be a finite number"
        ))
        .with_details(json!({"field": field}))),
        _ => Ok(()),
    }
}

fn check_size(field: &str, v: Option<f64>) -> Result<(), ApiError> {
    match v {
        Some(v) if !(v.is_finite() && v > 0.0) => Err(ApiError::bad_request(format!(
            "{field} must be a positive finite number"
        ))
        .with_details(json!({"field": field}))),
        _ => Ok(()),
    }
}

/// The board as the store holds it, independent of any caller.
#[derive(Clone, Debug, PartialEq)]
pub struct BoardState {
    pub id: String,
    pub title: String,
    pub owner: User,
    pub seq: u64,
    pub note_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl BoardState {
    /// The board as `role` sees it.
    pub fn view(&self, role: Role) -> Board {
        Board {
            id: self.id.clone(),
            title: self.title.clone(),
            owner: self.owner.clone(),
            role,
            seq: self.seq,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Everything [`plan`] needs, loaded by the store inside its transaction.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub board: &'a BoardState,
    /// The actor's role on the board; `None` for a non-member.
    pub actor_role: Option<Role>,
    /// For update/delete/edit/restore: the note named. For create with an
    /// id: any note already holding that id (on any board).
    pub note: Option<&'a NoteRecord>,
    /// For restore: the note as it was when deleted, if it was.
    pub deleted: Option<&'a NoteRecord>,
    /// For a text change: the note's document, when the store had it warm
    /// (else `plan` decodes it from the note). Left changed by a successful
    /// plan, so the store can keep it warm for the next change.
    pub text: Option<&'a RefCell<TextDoc>>,
    /// For member changes: the target member and their role, if a member.
    pub target: Option<(&'a User, Role)>,
    pub limits: &'a Limits,
    pub now: Timestamp,
}

/// The rows a mutation writes (the store turns each into SQL).
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Nothing to write (e.g. joining a board one already belongs to).
    None,
    InsertNote(NoteRecord),
    UpdateNote(NoteRecord),
    /// The note goes; the record is kept as it was, for `note.restore`.
    DeleteNote(NoteRecord),
    /// A deleted note comes back (its kept record is dropped).
    RestoreNote(NoteRecord),
    RenameBoard(String),
    DeleteBoard,
    PutMember(User, Role),
    /// A member's role is lowered: older invites can no longer bring them back.
    Demote(User, Role),
    /// A membership ends; with `cut` (removed by the owner) older invites
    /// can no longer bring them back.
    RemoveMember {
        user_id: String,
        cut: bool,
    },
}

/// The decision for one mutation.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub effect: Effect,
    /// The event to append, at `board.seq + 1`; `None` when nothing changed.
    pub event: Option<Event>,
    /// The answer, remembered under the idempotency keys and replayed on retry.
    pub outcome: Outcome,
    /// Usernames this change newly mentions in a note's text (the store
    /// notifies those who are members of the board).
    pub mentions: Vec<String>,
}

/// Decides what `m` does given `ctx`. Pure: no I/O, no clock, no randomness
/// (a note id the client did not choose is passed in as `new_note_id`).
///
/// # Errors
/// The contract error the client gets; nothing is written.
pub fn plan(ctx: &Ctx<'_>, m: &Mutation, new_note_id: &str) -> Result<Plan, ApiError> {
    let role = ctx
        .actor_role
        .filter(|_| !matches!(m.action, Action::Join { .. }));
    let board = ctx.board;
    let seq = board.seq + 1;
    let now = ctx.now;
    let event = |body: EventBody| Event {
        board: board.id.clone(),
        seq,
        by: m.actor.clone(),
        op: m.op.clone(),
        at: now,
        body,
    };
    let require = |min: Role, what: &str| -> Result<Role, ApiError> {
        match role {
            None => Err(ApiError::not_found("board not found")),
            Some(r) if r >= min => Ok(r),
            Some(_) => Err(ApiError::forbidden(format!(
                "{what} needs the {} role",
                min.as_str()
            ))),
        }
    };
    match &m.action {
        Action::CreateNote(c) => {
            require(Role::Editor, "creating a note")?;
            if ctx.note.is_some() {
                return Err(ApiError::conflict("a note with this id already exists")
                    .with_details(json!({"field": "id"})));
            }
            check_room(board, ctx.limits)?;
            let note = Note {
                id: c.id.clone().unwrap_or_else(|| new_note_id.to_owned()),
                board: board.id.clone(),
                text: c.text.clone().unwrap_or_default(),
                x: c.x,
                y: c.y,
                w: c.w.unwrap_or(DEFAULT_W),
                h: c.h.unwrap_or(DEFAULT_H),
                color: c.color.unwrap_or_default(),
                version: seq,
                created_by: m.actor.clone(),
                updated_at: now,
            };
            let mentions = crate::core::notification::new_mentions("", &note.text);
            Ok(Plan {
                mentions,
                effect: Effect::InsertNote(NoteRecord {
                    note: note.clone(),
                    fields: FieldVersions::all(seq),
                    text_state: None,
                }),
                event: Some(event(EventBody::NoteCreated { note: note.clone() })),
                outcome: Outcome::NoteCreated { note, seq },
            })
        }
        Action::UpdateNote { id, update: u } => {
            require(Role::Editor, "updating a note")?;
            let rec = ctx
                .note
                .filter(|r| r.note.board == board.id && &r.note.id == id)
                .ok_or_else(|| ApiError::not_found("note not found"))?;
            if let Some(base) = u.base_version {
                let f = &rec.fields;
                // Not text (protocol.md, "Collaborative text"): a replacement
                // is applied as the smallest diff from the current text, so
                // concurrent character edits merge instead of conflicting.
                let changed = [
                    (u.x.is_some(), f.x, "x"),
                    (u.y.is_some(), f.y, "y"),
                    (u.w.is_some(), f.w, "w"),
                    (u.h.is_some(), f.h, "h"),
                    (u.color.is_some(), f.color, "color"),
                ];
                let clashing: Vec<&str> = changed
                    .iter()
                    .filter(|(named, v, _)| *named && *v > base)
                    .map(|(_, _, name)| *name)
                    .collect();
                if !clashing.is_empty() {
                    return Err(ApiError::conflict(format!(
                        "changed since version {base}: {}",
                        clashing.join(", ")
                    ))
                    .with_details(json!({"note": rec.note, "fields": clashing})));
                }
            }
            let mut next = rec.clone();
            let delta = NoteDelta {
                text: u.text.clone(),
                x: u.x,
                y: u.y,
                w: u.w,
                h: u.h,
                color: u.color,
            };
            let mut text_update = None;
            if let Some(t) = &u.text {
                let change = with_text(ctx, rec, |doc| {
                    doc.replace(t, ctx.limits.note_state_bytes, rec.text_state.as_deref())
                })?;
                if !change.is_noop() {
                    text_update = Some(B64.encode(&change.update));
                    next.text_state = Some(change.stored.into());
                }
                next.note.text = t.clone();
                next.fields.text = seq;
            }
            if let Some(v) = u.x {
                next.note.x = v;
                next.fields.x = seq;
            }
            if let Some(v) = u.y {
                next.note.y = v;
                next.fields.y = seq;
            }
            if let Some(v) = u.w {
                next.note.w = v;
                next.fields.w = seq;
            }
            if let Some(v) = u.h {
                next.note.h = v;
                next.fields.h = seq;
            }
            if let Some(v) = u.color {
                next.note.color = v;
                next.fields.color = seq;
            }
            next.note.version = seq;
            next.note.updated_at = now;
            let mentions = match &u.text {
                Some(t) => crate::core::notification::new_mentions(&rec.note.text, t),
                None => Vec::new(),
            };
            Ok(Plan {
                mentions,
                outcome: Outcome::NoteUpdated {
                    note: next.note.clone(),
                    seq,
                },
                effect: Effect::UpdateNote(next),
                event: Some(event(EventBody::NoteUpdated {
                    id: id.clone(),
                    version: seq,
                    delta,
                    text_update,
                })),
            })
        }
        Action::EditNote { id, update } => {
            require(Role::Editor, "editing a note")?;
            let rec = ctx
                .note
                .filter(|r| r.note.board == board.id && &r.note.id == id)
                .ok_or_else(|| ApiError::not_found("note not found"))?;
            let change = with_text(ctx, rec, |doc| {
                doc.apply(
                    update,
                    ctx.limits.note_text_chars,
                    ctx.limits.note_state_bytes,
                    rec.text_state.as_deref(),
                )
            })?;
            if change.is_noop() {
                // Already merged (a retry without an op, or an echo): nothing to commit.
                return Ok(Plan {
                    effect: Effect::None,
                    event: None,
                    outcome: Outcome::NoteUpdated {
                        note: rec.note.clone(),
                        seq: board.seq,
                    },
                    mentions: Vec::new(),
                });
            }
            let mut next = rec.clone();
            let mentions = crate::core::notification::new_mentions(&rec.note.text, &change.text);
            next.note.text = change.text.clone();
            next.note.version = seq;
            next.note.updated_at = now;
            next.fields.text = seq;
            next.text_state = Some(change.stored.into());
            Ok(Plan {
                mentions,
                outcome: Outcome::NoteUpdated {
                    note: next.note.clone(),
                    seq,
                },
                effect: Effect::UpdateNote(next),
                event: Some(event(EventBody::NoteUpdated {
                    id: id.clone(),
                    version: seq,
                    delta: NoteDelta {
                        text: Some(change.text),
                        ..NoteDelta::default()
                    },
                    text_update: Some(B64.encode(&change.update)),
                })),
            })
        }
        Action::RestoreNote { id } => {
            require(Role::Editor, "restoring a note")?;
            if ctx.note.is_some_and(|r| r.note.board == board.id) {
                return Err(ApiError::conflict("the note is not deleted")
                    .with_details(json!({"field": "id"})));
            }
            let kept = ctx
                .deleted
                .filter(|r| r.note.board == board.id && &r.note.id == id)
                .ok_or_else(|| ApiError::not_found("note not found"))?;
            check_room(board, ctx.limits)?;
            let mut back = kept.clone();
            back.note.version = seq;
            back.note.updated_at = now;
            back.fields = FieldVersions::all(seq);
            Ok(Plan {
                mentions: Vec::new(),
                outcome: Outcome::NoteUpdated {
                    note: back.note.clone(),
                    seq,
                },
                event: Some(event(EventBody::NoteCreated {
                    note: back.note.clone(),
                })),
                effect: Effect::RestoreNote(back),
            })
        }
        Action::DeleteNote { id } => {
            require(Role::Editor, "deleting a note")?;
            let rec = ctx
                .note
                .filter(|r| r.note.board == board.id && &r.note.id == id)
                .ok_or_else(|| ApiError::not_found("note not found"))?;
            // Kept as it was, stamped with when it went (pruned after
            // --deleted-note-ttl).
            let mut kept = rec.clone();
            kept.note.updated_at = now;
            Ok(Plan {
                effect: Effect::DeleteNote(kept),
                event: Some(event(EventBody::NoteDeleted { id: id.clone() })),
                outcome: Outcome::NoteDeleted { seq },
                mentions: Vec::new(),
            })
        }
        Action::RenameBoard { title } => {
            let r = require(Role::Editor, "renaming the board")?;
            let mut after = board.clone();
            after.title = title.clone();
            after.seq = seq;
            after.updated_at = now;
            Ok(Plan {
                effect: Effect::RenameBoard(title.clone()),
                event: Some(event(EventBody::BoardUpdated {
                    title: title.clone(),
                })),
                outcome: Outcome::BoardRenamed {
                    board: after.view(r),
                },
                mentions: Vec::new(),
            })
        }
        Action::DeleteBoard => {
            require(Role::Owner, "deleting the board")?;
            Ok(Plan {
                effect: Effect::DeleteBoard,
                event: Some(event(EventBody::BoardDeleted {})),
                outcome: Outcome::BoardDeleted,
                mentions: Vec::new(),
            })
        }
        Action::Join { role, .. } => {
            if let Some(existing) = ctx.actor_role {
                return Ok(Plan {
                    effect: Effect::None,
                    event: None,
                    outcome: Outcome::Joined {
                        board: board.view(existing),
                    },
                    mentions: Vec::new(),
                });
            }
            let mut after = board.clone();
            after.seq = seq;
            after.updated_at = now;
            Ok(Plan {
                effect: Effect::PutMember(m.actor.clone(), *role),
                event: Some(event(EventBody::MemberJoined {
                    user: m.actor.clone(),
                    role: *role,
                })),
                outcome: Outcome::Joined {
                    board: after.view(*role),
                },
                mentions: Vec::new(),
            })
        }
        Action::SetRole { user_id, role: new } => {
            require(Role::Owner, "changing roles")?;
            let (user, old) = ctx
                .target
                .filter(|(u, _)| &u.id == user_id)
                .ok_or_else(|| ApiError::not_found("member not found"))?;
            if user.id == board.owner.id {
                return Err(ApiError::forbidden("the owner's role cannot change"));
            }
            let effect = if *new < old {
                Effect::Demote(user.clone(), *new)
            } else {
                Effect::PutMember(user.clone(), *new)
            };
            Ok(Plan {
                effect,
                event: Some(event(EventBody::MemberUpdated {
                    user: user.clone(),
                    role: *new,
                })),
                outcome: Outcome::RoleChanged {
                    user: user.clone(),
                    role: *new,
                },
                mentions: Vec::new(),
            })
        }
        Action::RemoveMember { user_id } => {
            let r = require(Role::Viewer, "leaving")?;
            let (user, old) = ctx
                .target
                .filter(|(u, _)| &u.id == user_id)
                .ok_or_else(|| ApiError::not_found("member not found"))?;
            if user.id == board.owner.id {
                return Err(ApiError::forbidden(
                    "the owner cannot leave or be removed; delete the board instead",
                ));
            }
            if r != Role::Owner && user.id != m.actor.id {
                return Err(ApiError::forbidden(
                    "removing a member needs the owner role",
                ));
            }
            Ok(Plan {
                effect: Effect::RemoveMember {
                    user_id: user.id.clone(),
                    cut: user.id != m.actor.id,
                },
                event: Some(event(EventBody::MemberLeft {
                    user: user.clone(),
                    role: old,
                })),
                outcome: Outcome::MemberRemoved,
                mentions: Vec::new(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: &str) -> User {
        User {
            id: format!("u-{n}"),
            username: n.into(),
        }
    }

    fn board() -> BoardState {
        BoardState {
            id: "b1".into(),
            title: "T".into(),
            owner: user("own"),
            seq: 10,
            note_count: 1,
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        }
    }

    fn note_rec(fields: FieldVersions) -> NoteRecord {
        NoteRecord {
            note: Note {
                id: "n1".into(),
                board: "b1".into(),
                text: "hi".into(),
                x: 0.0,
                y: 0.0,
                w: 200.0,
                h: 140.0,
                color: Color::Yellow,
                version: 10,
                created_by: user("own"),
                updated_at: Timestamp(1),
            },
            fields,
            text_state: None,
        }
    }

    fn mutation(actor: &str, action: Action) -> Mutation {
        Mutation {
            board: "b1".into(),
            actor: user(actor),
            op: None,
            action,
        }
    }

    fn ctx<'a>(
        b: &'a BoardState,
        role: Option<Role>,
        note: Option<&'a NoteRecord>,
        limits: &'a Limits,
    ) -> Ctx<'a> {
        Ctx {
            board: b,
            actor_role: role,
            note,
            deleted: None,
            text: None,
            target: None,
            limits,
            now: Timestamp(99),
        }
    }

    fn upd(f: impl FnOnce(&mut NoteUpdate)) -> Action {
        let mut u = NoteUpdate::default();
        f(&mut u);
        Action::UpdateNote {
            id: "n1".into(),
            update: u,
        }
    }

    #[test]
    fn create_takes_the_next_seq_and_defaults() {
        let (b, l) = (board(), Limits::default());
        let m = mutation(
            "ed",
            Action::CreateNote(NoteCreate {
                x: 1.0,
                y: 2.0,
                ..Default::default()
            }),
        );
        let p = plan(&ctx(&b, Some(Role::Editor), None, &l), &m, "gen").unwrap();
        let Effect::InsertNote(rec) = &p.effect else {
            panic!("{p:?}")
        };
        assert_eq!(rec.note.id, "gen");
        assert_eq!(
            (rec.note.w, rec.note.h, rec.note.color),
            (200.0, 140.0, Color::Yellow)
        );
        assert_eq!(rec.note.version, 11);
        assert_eq!(p.event.as_ref().unwrap().seq, 11);
        assert!(matches!(p.outcome, Outcome::NoteCreated { seq: 11, .. }));
    }

    #[test]
    fn authorization_matrix_for_note_writes() {
        let (b, l) = (board(), Limits::default());
        let m = mutation("x", Action::CreateNote(NoteCreate::default()));
        let err = |r| plan(&ctx(&b, r, None, &l), &m, "g").unwrap_err().code;
        use crate::core::error::ErrorCode::*;
        assert_eq!(err(None), NotFound);
        assert_eq!(err(Some(Role::Viewer)), Forbidden);
        assert!(plan(&ctx(&b, Some(Role::Owner), None, &l), &m, "g").is_ok());
    }

    #[test]
    fn note_limit_is_too_large() {
        let (mut b, l) = (board(), Limits::default());
        b.note_count = 5000;
        let m = mutation("x", Action::CreateNote(NoteCreate::default()));
        let e = plan(&ctx(&b, Some(Role::Editor), None, &l), &m, "g").unwrap_err();
        assert_eq!(e.code, crate::core::error::ErrorCode::TooLarge);
    }

    #[test]
    fn update_delta_holds_exactly_the_named_fields() {
        let (b, l) = (board(), Limits::default());
        let rec = note_rec(FieldVersions::all(3));
        let m = mutation("ed", upd(|u| u.x = Some(5.0)));
        let p = plan(&ctx(&b, Some(Role::Editor), Some(&rec), &l), &m, "").unwrap();
        let v = serde_json::to_value(p.event.unwrap()).unwrap();
        assert_eq!(v["delta"], json!({"x": 5.0}));
        assert_eq!(v["version"], 11);
        let Effect::UpdateNote(next) = p.effect else {
            panic!()
        };
        assert_eq!(next.fields.x, 11);
        assert_eq!(next.fields.y, 3);
        assert_eq!(next.note.updated_at, Timestamp(99));
    }

    #[test]
    fn base_version_conflicts_only_on_fields_changed_since() {
        let (b, l) = (board(), Limits::default());
        // text changed at 8, x at 3.
        let rec = note_rec(FieldVersions {
            text: 8,
            ..FieldVersions::all(3)
        });
        let c = ctx(&b, Some(Role::Editor), Some(&rec), &l);
        // Moving with base 5: x unchanged since 5 → fine.
        let ok = mutation(
            "ed",
            upd(|u| {
                u.base_version = Some(5);
                u.x = Some(1.0)
            }),
        );
        assert!(plan(&c, &ok, "").is_ok());
        // Moving with base 2: x changed at 3 → conflict with the note.
        let bad = mutation(
            "ed",
            upd(|u| {
                u.base_version = Some(2);
                u.x = Some(1.0)
            }),
        );
        let e = plan(&c, &bad, "").unwrap_err();
        assert_eq!(e.code, crate::core::error::ErrorCode::Conflict);
        assert_eq!(e.details.unwrap()["note"]["text"], "hi");
        // Editing text with base 5 (text changed at 8) is not a conflict:
        // the replacement applies as the smallest diff from the current text.
        let stale = mutation(
            "ed",
            upd(|u| {
                u.base_version = Some(5);
                u.text = Some("h!".into());
            }),
        );
        let p = plan(&c, &stale, "").unwrap();
        let Outcome::NoteUpdated { note, .. } = p.outcome else {
            panic!("note.updated expected")
        };
        assert_eq!(note.text, "h!");
        // Without base_version: last writer wins.
        let lww = mutation("ed", upd(|u| u.text = Some("mine".into())));
        assert!(plan(&c, &lww, "").is_ok());
        // base_version equal to the field's version is not a conflict.
        let eq = mutation(
            "ed",
            upd(|u| {
                u.base_version = Some(8);
                u.text = Some("x".into())
            }),
        );
        assert!(plan(&c, &eq, "").is_ok());
    }

    #[test]
    fn update_of_missing_or_foreign_note_is_not_found() {
        let (b, l) = (board(), Limits::default());
        let mut rec = note_rec(FieldVersions::all(1));
        rec.note.board = "other".into();
        let m = mutation("ed", upd(|u| u.x = Some(1.0)));
        for n in [None, Some(&rec)] {
            let e = plan(&ctx(&b, Some(Role::Editor), n, &l), &m, "").unwrap_err();
            assert_eq!(e.code, crate::core::error::ErrorCode::NotFound);
        }
    }

    #[test]
    fn validate_rejects_empty_updates_and_bad_values() {
        let l = Limits::default();
        let code = |a: Action| mutation("x", a).validate(&l).unwrap_err().code;
        use crate::core::error::ErrorCode::*;
        assert_eq!(code(upd(|_| {})), BadRequest);
        assert_eq!(code(upd(|u| u.w = Some(0.0))), BadRequest);
        assert_eq!(code(upd(|u| u.h = Some(-1.0))), BadRequest);
        assert_eq!(code(upd(|u| u.x = Some(f64::NAN))), BadRequest);
        assert_eq!(code(upd(|u| u.text = Some("a".repeat(10_001)))), TooLarge);
        assert!(mutation("x", upd(|u| u.text = Some("é".repeat(10_000))))
            .validate(&l)
            .is_ok());
        assert_eq!(
            code(Action::RenameBoard {
                title: String::new()
            }),
            BadRequest
        );
        assert_eq!(
            code(Action::SetRole {
                user_id: "u".into(),
                role: Role::Owner
            }),
            BadRequest
        );
        let mut m = mutation("x", upd(|u| u.x = Some(1.0)));
        m.op = Some("bad op!".into());
        assert_eq!(m.validate(&l).unwrap_err().code, BadRequest);
    }

    #[test]
    fn update_bodies_refuse_null_and_unknown_fields() {
        assert!(serde_json::from_str::<NoteUpdate>(r#"{"x": null}"#).is_err());
        assert!(serde_json::from_str::<NoteUpdate>(r#"{"x": 1, "z": 2}"#).is_err());
        assert!(serde_json::from_str::<NoteUpdate>(r#"{"color": "orange"}"#).is_err());
        assert!(serde_json::from_str::<NoteUpdate>(r#"{"x": "1"}"#).is_err());
        let u: NoteUpdate = serde_json::from_str(r#"{"x": 1}"#).unwrap();
        assert_eq!(u.x, Some(1.0));
        assert!(serde_json::from_str::<NoteCreate>(r#"{"y": 1}"#).is_err());
    }

    #[test]
    fn idempotency_keys_cover_op_and_create_id() {
        let mut m = mutation(
            "x",
            Action::CreateNote(NoteCreate {
                id: Some("n".into()),
                ..Default::default()
            }),
        );
        m.op = Some("o".into());
        let op_key = format!("op:{}:o", m.actor.id);
        assert_eq!(m.idempotency_keys(), vec![op_key.as_str(), "note:n"]);
    }

    #[test]
    fn only_a_board_delete_with_an_op_has_a_user_op_key() {
        let mut m = mutation("x", Action::DeleteBoard);
        assert_eq!(m.user_op_key(), None);
        m.op = Some("o".into());
        assert_eq!(m.user_op_key().as_deref(), Some("board.delete:b1:o"));
        m.action = Action::RenameBoard { title: "t".into() };
        assert_eq!(m.user_op_key(), None);
    }

    #[test]
    fn member_rules() {
        let (b, l) = (board(), Limits::default());
        let ed = user("ed");
        let own = user("own");
        let mk = |actor: &str, role, target: Option<(&User, Role)>, a: Action| {
            let c = Ctx {
                board: &b,
                actor_role: role,
                note: None,
                deleted: None,
                text: None,
                target,
                limits: &l,
                now: Timestamp(5),
            };
            plan(&c, &mutation(actor, a), "")
        };
        let rm = |id: &str| Action::RemoveMember { user_id: id.into() };
        use crate::core::error::ErrorCode::*;
        // An editor leaves on their own.
        assert!(mk(
            "ed",
            Some(Role::Editor),
            Some((&ed, Role::Editor)),
            rm("u-ed")
        )
        .is_ok());
        // An editor cannot remove someone else.
        let v = user("v");
        assert_eq!(
            mk(
                "ed",
                Some(Role::Editor),
                Some((&v, Role::Viewer)),
                rm("u-v")
            )
            .unwrap_err()
            .code,
            Forbidden
        );
        // The owner cannot leave.
        assert_eq!(
            mk(
                "own",
                Some(Role::Owner),
                Some((&own, Role::Owner)),
                rm("u-own")
            )
            .unwrap_err()
            .code,
            Forbidden
        );
        // The owner's role is fixed.
        let set = Action::SetRole {
            user_id: "u-own".into(),
            role: Role::Viewer,
        };
        assert_eq!(
            mk("own", Some(Role::Owner), Some((&own, Role::Owner)), set)
                .unwrap_err()
                .code,
            Forbidden
        );
        // Joining twice changes nothing and keeps the existing role.
        let p = mk(
            "ed",
            Some(Role::Editor),
            None,
            Action::Join {
                role: Role::Viewer,
                invite: None,
            },
        )
        .unwrap();
        assert!(p.event.is_none());
        assert!(matches!(&p.outcome, Outcome::Joined { board } if board.role == Role::Editor));
        let p = mk(
            "new",
            None,
            None,
            Action::Join {
                role: Role::Viewer,
                invite: None,
            },
        )
        .unwrap();
        assert_eq!(p.event.unwrap().kind(), "member.joined");
        // Lowering a role or removing someone else marks a cut; raising a
        // role or leaving on one's own does not.
        let set = |role| Action::SetRole {
            user_id: "u-ed".into(),
            role,
        };
        let p = mk(
            "own",
            Some(Role::Owner),
            Some((&ed, Role::Editor)),
            set(Role::Viewer),
        )
        .unwrap();
        assert_eq!(p.effect, Effect::Demote(ed.clone(), Role::Viewer));
        let p = mk(
            "own",
            Some(Role::Owner),
            Some((&ed, Role::Viewer)),
            set(Role::Editor),
        )
        .unwrap();
        assert_eq!(p.effect, Effect::PutMember(ed.clone(), Role::Editor));
        let p = mk(
            "own",
            Some(Role::Owner),
            Some((&ed, Role::Editor)),
            rm("u-ed"),
        )
        .unwrap();
        let cut = |cut| Effect::RemoveMember {
            user_id: "u-ed".into(),
            cut,
        };
        assert_eq!(p.effect, cut(true));
        let p = mk(
            "ed",
            Some(Role::Editor),
            Some((&ed, Role::Editor)),
            rm("u-ed"),
        )
        .unwrap();
        assert_eq!(p.effect, cut(false));
    }
}
