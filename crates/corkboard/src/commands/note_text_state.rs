//! `note.text_state`: a note's whole text document (`{board, id}` → `{state, version}`).

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde::Serialize;

use crate::core::ApiError;
use crate::service::{App, Principal};

use super::{Command, Empty, Ids};

/// Reads the document a client starts collaborative editing from.
#[derive(Debug)]
pub struct NoteTextState {
    pub board: String,
    pub id: String,
}

/// The document as one Yjs update (v1, base64) and the note's version.
#[derive(Debug, Serialize)]
pub struct TextState {
    pub state: String,
    pub version: u64,
}

impl Command for NoteTextState {
    const METHOD: &'static str = "note.text_state";
    const IDS: &'static [&'static str] = &["board", "id"];
    type Body = Empty;
    type Output = TextState;

    fn parse(mut ids: Ids, _: Empty) -> Result<Self, ApiError> {
        Ok(Self {
            board: ids.take(),
            id: ids.take(),
        })
    }

    async fn run(self, app: &App, caller: &Principal) -> Result<TextState, ApiError> {
        let (state, version) = app.text_state(caller, &self.board, &self.id).await?;
        Ok(TextState {
            state: B64.encode(state),
            version,
        })
    }
}
