//! Each unary RPC (and each `Call` of a Connect session) as one command of
//! the registry: the request becomes the command's ids and body, the
//! command's typed result becomes the reply. Nothing here decides anything;
//! the rules are the commands' and the core's, as on every other door.

use super::convert;
use super::pb;
use crate::commands::{
    board_create::Title, board_get::BoardGet, board_list::BoardList, board_rename::BoardRename,
    note_create::NoteCreate, note_delete::NoteDelete, note_update::NoteUpdate, Command, Empty, Ids,
};
use crate::core::{self, ApiError, Outcome};
use crate::service::{App, Principal};

fn ids(v: Vec<String>) -> Ids {
    Ids::new(v)
}

fn note_result(o: Outcome) -> Result<pb::NoteResult, ApiError> {
    match o {
        Outcome::NoteCreated { note, seq } | Outcome::NoteUpdated { note, seq } => {
            Ok(pb::NoteResult {
                note: Some(convert::note(note)),
                seq,
            })
        }
        other => {
            tracing::error!(?other, "a note command answered with another outcome");
            Err(ApiError::internal())
        }
    }
}

/// `ListBoards`: `board.list`.
pub async fn list_boards(app: &App, p: &Principal) -> Result<pb::ListBoardsResponse, ApiError> {
    let out = BoardList::parse(ids(vec![]), Empty {})?
        .execute(app, p)
        .await?;
    Ok(pb::ListBoardsResponse {
        boards: out.boards.into_iter().map(convert::board).collect(),
    })
}

/// `GetBoard`: `board.get`.
pub async fn get_board(
    app: &App,
    p: &Principal,
    r: pb::GetBoardRequest,
) -> Result<pb::BoardSnapshot, ApiError> {
    let board = convert::required("board", r.board)?;
    let snap = BoardGet::parse(ids(vec![board]), Empty {})?
        .execute(app, p)
        .await?;
    Ok(convert::snapshot(snap))
}

/// `CreateNote`: `note.create`.
pub async fn create_note(
    app: &App,
    p: &Principal,
    r: pb::CreateNoteRequest,
) -> Result<pb::NoteResult, ApiError> {
    let (board, body) = convert::create_note(r)?;
    let out = NoteCreate::parse(ids(vec![board]), body)?
        .execute(app, p)
        .await?;
    note_result(out)
}

/// `UpdateNote`: `note.update`.
pub async fn update_note(
    app: &App,
    p: &Principal,
    r: pb::UpdateNoteRequest,
) -> Result<pb::NoteResult, ApiError> {
    let (board, id, body) = convert::update_note(r)?;
    let out = NoteUpdate::parse(ids(vec![board, id]), body)?
        .execute(app, p)
        .await?;
    note_result(out)
}

/// `DeleteNote`: `note.delete`.
pub async fn delete_note(
    app: &App,
    p: &Principal,
    r: pb::DeleteNoteRequest,
) -> Result<pb::DeleteNoteResult, ApiError> {
    let board = convert::required("board", r.board)?;
    let id = convert::required("id", r.id)?;
    let body = core::NoteDelete { op: r.op };
    match NoteDelete::parse(ids(vec![board, id]), body)?
        .execute(app, p)
        .await?
    {
        Outcome::NoteDeleted { seq } => Ok(pb::DeleteNoteResult { seq }),
        other => {
            tracing::error!(?other, "note.delete answered with another outcome");
            Err(ApiError::internal())
        }
    }
}

/// `RenameBoard` (Connect calls only): `board.rename`.
pub async fn rename_board(
    app: &App,
    p: &Principal,
    r: pb::RenameBoardRequest,
) -> Result<pb::Board, ApiError> {
    let board = convert::required("board", r.board)?;
    let body = Title {
        title: r.title,
        op: None,
    };
    match BoardRename::parse(ids(vec![board]), body)?
        .execute(app, p)
        .await?
    {
        Outcome::BoardRenamed { board } => Ok(convert::board(board)),
        other => {
            tracing::error!(?other, "board.rename answered with another outcome");
            Err(ApiError::internal())
        }
    }
}

/// Runs one `Call` of a Connect session: exactly one `CallResult`, with the
/// result or the error.
pub async fn call(app: &App, p: &Principal, c: pb::Call) -> pb::CallResult {
    use pb::call::Method;
    use pb::call_result::Result as R;
    let started = std::time::Instant::now();
    let result = match c.method {
        None => Err(ApiError::new(
            core::ErrorCode::UnknownMethod,
            "a call must name a method",
        )),
        Some(Method::CreateNote(r)) => create_note(app, p, r).await.map(R::Note),
        Some(Method::UpdateNote(r)) => update_note(app, p, r).await.map(R::Note),
        Some(Method::DeleteNote(r)) => delete_note(app, p, r).await.map(R::Deleted),
        Some(Method::RenameBoard(r)) => rename_board(app, p, r).await.map(R::Board),
        Some(Method::GetBoard(r)) => get_board(app, p, r).await.map(R::Snapshot),
    };
    metrics::histogram!("corkboard_rpc_seconds").record(started.elapsed());
    pb::CallResult {
        id: c.id,
        result: Some(result.unwrap_or_else(|e| R::Error(super::status::error_message(&e, None)))),
    }
}
