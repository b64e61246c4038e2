//! RPC methods over WebSocket: each decodes its params, calls the same
//! service the REST routes call, and encodes the result. A new method is one
//! new arm here.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::core::{Action, ApiError, ErrorCode, NoteCreate, NoteUpdate};
use crate::service::{App, Principal};

/// Takes a required string field out of the params object.
fn take_str(obj: &mut Map<String, Value>, key: &str) -> Result<String, ApiError> {
    match obj.remove(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::bad_request(format!(
            "params.{key} must be a string"
        ))),
        None => Err(ApiError::bad_request(format!("params.{key} is required"))),
    }
}

fn decode<T: DeserializeOwned>(obj: Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(obj))
        .map_err(|e| ApiError::bad_request(format!("invalid params: {e}")))
}

/// `{op?}` for `note.delete`, with the same rules as the REST body (`null` is refused).
type DeleteParams = crate::core::NoteDelete;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameParams {
    title: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// Runs `method` with `params` for the caller; returns the `result` value.
///
/// # Errors
/// `unknown_method`, `bad_request` for bad params, or whatever the service rejects.
pub async fn call(
    app: &App,
    p: &Principal,
    method: &str,
    params: Value,
) -> Result<Value, ApiError> {
    let mut obj = match params {
        Value::Object(o) => o,
        Value::Null => Map::new(),
        _ => return Err(ApiError::bad_request("params must be an object")),
    };
    let known = matches!(
        method,
        "note.create" | "note.update" | "note.delete" | "board.rename" | "board.get"
    );
    if !known {
        return Err(ApiError::new(
            ErrorCode::UnknownMethod,
            format!("unknown method {method:?}"),
        ));
    }
    let board = take_str(&mut obj, "board")?;
    match method {
        "note.create" => {
            let c: NoteCreate = decode(obj)?;
            let op = c.op.clone();
            result(
                app.mutate(p, &board, op, Action::CreateNote(c))
                    .await?
                    .outcome,
            )
        }
        "note.update" => {
            let id = take_str(&mut obj, "id")?;
            let u: NoteUpdate = decode(obj)?;
            let op = u.op.clone();
            result(
                app.mutate(p, &board, op, Action::UpdateNote { id, update: u })
                    .await?
                    .outcome,
            )
        }
        "note.delete" => {
            let id = take_str(&mut obj, "id")?;
            let d: DeleteParams = decode(obj)?;
            result(
                app.mutate(p, &board, d.op, Action::DeleteNote { id })
                    .await?
                    .outcome,
            )
        }
        "board.rename" => {
            let r: RenameParams = decode(obj)?;
            let a = app
                .mutate(p, &board, None, Action::RenameBoard { title: r.title })
                .await?;
            result(a.outcome)
        }
        _ => {
            let _: Empty = decode(obj)?;
            let snap = app.snapshot(p, &board).await?;
            Ok(json!({"board": snap.board, "notes": snap.notes, "seq": snap.seq}))
        }
    }
}

fn result(o: crate::core::Outcome) -> Result<Value, ApiError> {
    serde_json::to_value(o).map_err(|_| ApiError::internal())
}
