//! The command registry: every operation a client can ask for, one file
//! each, with typed params and a typed result. This is the only list of
//! method names in the crate.
//!
//! A door (REST, WebSocket RPC, gRPC) is a thin adapter: it authenticates
//! the caller, builds a command from its own input with [`Command::parse`]
//! (the ids in [`Command::IDS`] come from the REST path or from the RPC
//! params, the rest from the body), runs it with [`Command::run`], and
//! encodes the result and the [`ApiError`] in its own form. A command added
//! here is reachable from every door that exposes it: WebSocket RPC reaches
//! every command by name through [`call_json`]; REST names the command type
//! in its route table.

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::{ApiError, ErrorCode};
use crate::service::{App, Principal};
use crate::telemetry;
use tracing::Instrument as _;

pub mod board_create;
pub mod board_delete;
pub mod board_get;
pub mod board_history;
pub mod board_history_events;
pub mod board_list;
pub mod board_presence;
pub mod board_rename;
pub mod invite_accept;
pub mod invite_create;
pub mod invite_list;
pub mod invite_preview;
pub mod invite_revoke;
pub mod member_list;
pub mod member_remove;
pub mod member_update;
pub mod note_create;
pub mod note_delete;
pub mod note_edit;
pub mod note_restore;
pub mod note_text_state;
pub mod note_update;
pub mod notification_list;
pub mod notification_read;
pub mod notification_read_one;
pub mod search_query;
pub mod session_list;
pub mod session_revoke;
pub mod session_revoke_others;
pub mod token_create;
pub mod token_list;
pub mod token_revoke;
pub mod user_suggest;

/// One operation, written once for every door.
pub trait Command: Sized + Send + 'static {
    /// The method name every door knows it by, e.g. `note.create`.
    const METHOD: &'static str;
    /// The ids the call names outside its body, in order: REST carries them
    /// in the path, RPC as string params of these names.
    const IDS: &'static [&'static str];
    /// The rest of the params (unknown fields are refused where the
    /// contract says so).
    type Body: DeserializeOwned + Send + 'static;
    /// The typed result.
    type Output: Serialize + Send + 'static;

    /// Builds the command from its ids (exactly [`Command::IDS`], in order)
    /// and body, checking what the types alone do not.
    ///
    /// # Errors
    /// `bad_request` for params that decode but make no sense.
    fn parse(ids: Ids, body: Self::Body) -> Result<Self, ApiError>;

    /// Runs the command for `caller`.
    ///
    /// # Errors
    /// The contract error the caller gets; each door encodes it.
    fn run(
        self,
        app: &App,
        caller: &Principal,
    ) -> impl Future<Output = Result<Self::Output, ApiError>> + Send;

    /// Runs the command in its `command` span (see [`telemetry`]): what
    /// every door calls, so that each command is traced once.
    ///
    /// # Errors
    /// Those of [`Command::run`].
    fn execute(
        self,
        app: &App,
        caller: &Principal,
    ) -> impl Future<Output = Result<Self::Output, ApiError>> + Send {
        self.run(app, caller)
            .instrument(telemetry::command_span(Self::METHOD))
    }
}

/// The ids of a call, in the order of [`Command::IDS`].
#[derive(Debug)]
pub struct Ids(std::vec::IntoIter<String>);

impl Ids {
    /// Ids in [`Command::IDS`] order (a door guarantees the count).
    pub fn new(ids: Vec<String>) -> Self {
        Self(ids.into_iter())
    }

    /// The next id.
    pub fn take(&mut self) -> String {
        self.0.next().unwrap_or_default()
    }
}

/// An optional body holding only an idempotency key: `{op?}` (a retry
/// with the same `op` applies nothing twice and answers as the first did).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpBody {
    #[serde(default)]
    pub op: Option<String>,
}

/// A body with no fields; unknown fields are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// A result with nothing in it (REST answers 204, RPC `null`).
#[derive(Debug, Serialize)]
pub struct Done;

/// Decodes a command from one JSON object holding its ids and body fields
/// (the RPC form: `{"board": …, "id": …, …body}`).
///
/// # Errors
/// `bad_request` for a missing or non-string id, or a body that does not decode.
pub fn from_json<C: Command>(params: Value) -> Result<C, ApiError> {
    let mut obj = match params {
        Value::Object(o) => o,
        Value::Null => Map::new(),
        _ => return Err(ApiError::bad_request("params must be an object")),
    };
    let mut ids = Vec::with_capacity(C::IDS.len());
    for key in C::IDS {
        match obj.remove(*key) {
            Some(Value::String(s)) => ids.push(s),
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "params.{key} must be a string"
                )))
            }
            None => return Err(ApiError::bad_request(format!("params.{key} is required"))),
        }
    }
    let body = serde_json::from_value(Value::Object(obj))
        .map_err(|e| ApiError::bad_request(format!("invalid params: {e}")))?;
    C::parse(Ids::new(ids), body)
}

/// Decodes a REST body (already read, within the limit) into `T`.
///
/// # Errors
/// `bad_request`: anything but a JSON object, malformed JSON, or a body the
/// type refuses.
pub fn body_from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body of the contract is an object; serde would also read a JSON
    // array positionally into a struct, so refuse anything else up front.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    // serde_json skips an ignored member's string without checking its
    // UTF-8: check the whole body, so what is not JSON is refused everywhere
    // (fuzz target `rest_body`).
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON: not UTF-8: {e}")))?;
    serde_json::from_str(text).map_err(|e| {
        let msg = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("malformed JSON: {e}")
            }
            _ => format!("invalid body: {e}"),
        };
        ApiError::bad_request(msg)
    })
}

/// Builds `C` from the REST form: ids from the path, body bytes decoded as
/// the JSON-body routes decode them.
fn from_rest<C: Command>(ids: Vec<String>, body: &[u8]) -> Result<C, ApiError> {
    C::parse(Ids::new(ids), body_from_slice(body)?)
}

async fn run_json<C: Command>(
    app: &App,
    caller: &Principal,
    params: Value,
) -> Result<Value, ApiError> {
    let out = from_json::<C>(params)?.execute(app, caller).await?;
    serde_json::to_value(out).map_err(|e| {
        tracing::error!(error = %e, method = C::METHOD, "result encoding failed");
        ApiError::internal()
    })
}

/// Declares the registry: the method list and the dispatch by name.
macro_rules! registry {
    ($($cmd:path),* $(,)?) => {
        /// Every method name, in registry order.
        pub const METHODS: &[&str] = &[$(<$cmd as Command>::METHOD),*];

        /// Runs the command named `method` with JSON `params` (ids inside
        /// the params) and returns its result as JSON: the RPC form.
        ///
        /// # Errors
        /// `unknown_method`, `bad_request` for bad params, or what the command rejects.
        pub async fn call_json(
            app: &App,
            caller: &Principal,
            method: &str,
            params: Value,
        ) -> Result<Value, ApiError> {
            $(
                if method == <$cmd as Command>::METHOD {
                    return Box::pin(run_json::<$cmd>(app, caller, params)).await;
                }
            )*
            Err(ApiError::new(
                ErrorCode::UnknownMethod,
                format!("unknown method {method:?}"),
            )
            .with_details(serde_json::json!({ "methods": METHODS })))
        }

        /// The ids (outside the body) of the command named `method`.
        pub fn method_ids(method: &str) -> Option<&'static [&'static str]> {
            $(
                if method == <$cmd as Command>::METHOD {
                    return Some(<$cmd as Command>::IDS);
                }
            )*
            None
        }

        /// Builds (without running) the command named `method` from JSON
        /// `params`, as [`call_json`] does: the decoding every RPC runs,
        /// exposed for the fuzz targets in `fuzz/`.
        ///
        /// # Errors
        /// `unknown_method`, or `bad_request` for params that do not decode.
        pub fn parse_json(method: &str, params: Value) -> Result<(), ApiError> {
            $(
                if method == <$cmd as Command>::METHOD {
                    return from_json::<$cmd>(params).map(drop);
                }
            )*
            Err(ApiError::new(ErrorCode::UnknownMethod, "unknown method"))
        }

        /// Builds (without running) the command named `method` from its
        /// REST form, the path `ids` and a JSON body, as the JSON-body
        /// routes do: exposed for the fuzz targets in `fuzz/`.
        ///
        /// # Errors
        /// `unknown_method`, or `bad_request` for a body that does not decode.
        pub fn parse_rest(method: &str, ids: Vec<String>, body: &[u8]) -> Result<(), ApiError> {
            $(
                if method == <$cmd as Command>::METHOD {
                    return from_rest::<$cmd>(ids, body).map(drop);
                }
            )*
            Err(ApiError::new(ErrorCode::UnknownMethod, "unknown method"))
        }
    };
}

registry!(
    note_create::NoteCreate,
    note_update::NoteUpdate,
    note_delete::NoteDelete,
    note_edit::NoteEdit,
    note_restore::NoteRestore,
    note_text_state::NoteTextState,
    board_list::BoardList,
    board_create::BoardCreate,
    board_get::BoardGet,
    board_history::BoardHistory,
    board_history_events::BoardHistoryEvents,
    board_rename::BoardRename,
    board_delete::BoardDelete,
    board_presence::BoardPresence,
    invite_create::InviteCreate,
    invite_accept::InviteAccept,
    invite_preview::InvitePreview,
    invite_list::InviteList,
    invite_revoke::InviteRevoke,
    member_list::MemberList,
    user_suggest::UserSuggest,
    member_update::MemberUpdate,
    member_remove::MemberRemove,
    token_create::TokenCreate,
    token_list::TokenList,
    token_revoke::TokenRevoke,
    session_list::SessionList,
    session_revoke::SessionRevoke,
    session_revoke_others::SessionRevokeOthers,
    notification_list::NotificationList,
    notification_read::NotificationRead,
    notification_read_one::NotificationReadOne,
    search_query::SearchQuery,
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Method names are unique and spelled `noun.verb`.
    #[test]
    fn methods_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for m in METHODS {
            assert!(seen.insert(*m), "{m} registered twice");
            let (noun, verb) = m.split_once('.').expect("noun.verb");
            assert!(!noun.is_empty() && !verb.is_empty() && !verb.contains('.'));
        }
    }

    /// A body that is not UTF-8 is refused, even inside a member the body
    /// type ignores (found by the `rest_body` fuzz target).
    #[test]
    fn rest_bodies_must_be_utf8_even_in_ignored_members() {
        let e = body_from_slice::<notification_list::After>(b"{\"x\":\"\xff\"}").unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(body_from_slice::<notification_list::After>(b"{\"x\":\"\xc3\xa9\"}").is_ok());
    }

    /// Ids come out of the params; a missing or non-string id is `bad_request`.
    #[test]
    fn ids_are_taken_from_the_params() {
        let c: note_delete::NoteDelete =
            from_json(serde_json::json!({"board": "b", "id": "n", "op": "o1"})).unwrap();
        assert_eq!((c.board.as_str(), c.id.as_str()), ("b", "n"));
        assert_eq!(c.body.op.as_deref(), Some("o1"));
        for bad in [
            serde_json::json!({"id": "n"}),
            serde_json::json!({"board": 1, "id": "n"}),
            serde_json::json!({"board": "b", "id": "n", "extra": 1}),
            serde_json::json!([1]),
        ] {
            let e = from_json::<note_delete::NoteDelete>(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest);
        }
    }
}
