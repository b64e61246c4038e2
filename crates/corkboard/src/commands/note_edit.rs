//! `note.edit`: merge a Yjs update into a note's text
//! (`{board, id, op?, update}` → `{note, seq}`; protocol.md, "Collaborative text").

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde_json::json;

use crate::core::{self, Action, ApiError, Outcome};
use crate::service::{App, Principal};

use super::{Command, Ids};

/// Merges a client's update character by character: concurrent edits never conflict.
#[derive(Debug)]
pub struct NoteEdit {
    pub board: String,
    pub id: String,
    pub op: Option<String>,
    /// The update, decoded from base64.
    pub update: Vec<u8>,
}

impl Command for NoteEdit {
    const METHOD: &'static str = "note.edit";
    const IDS: &'static [&'static str] = &["board", "id"];
    type Body = core::NoteEdit;
    type Output = Outcome;

    fn parse(mut ids: Ids, body: Self::Body) -> Result<Self, ApiError> {
        let update = B64.decode(body.update.as_bytes()).map_err(|e| {
            ApiError::bad_request(format!("update must be base64 (standard alphabet): {e}"))
                .with_details(json!({"field": "update"}))
        })?;
        Ok(Self {
            board: ids.take(),
            id: ids.take(),
            op: body.op,
            update,
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<Outcome, ApiError> {
        let action = Action::EditNote {
            id: self.id,
            update: self.update,
        };
        Ok(app
            .mutate(caller, &self.board, self.op, action)
            .await?
            .outcome)
    }
}
