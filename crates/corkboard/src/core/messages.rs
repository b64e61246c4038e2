//! The WebSocket messages of the contract (protocol.md, "WebSocket"), as
//! Rust types. The server parses [`ClientMessage`] and writes
//! [`ServerMessage`]; ts-rs exports both to the web client
//! (`web/src/realtime/generated.ts`), so a field renamed on one side only
//! fails a test (the bindings check here, `tsc` there).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ApiError, ErrorCode};
use super::event::Event;
use super::model::{Board, Note, Presence, User};

/// A message from client to server.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Start (or restart) a subscription, replaying after `since`.
    Subscribe {
        board: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        since: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "unknown")]
        id: Option<Value>,
    },
    /// End a subscription.
    Unsubscribe { board: String },
    /// Call a method of the command registry; answered by `result` or `error`.
    Rpc {
        #[ts(type = "unknown")]
        id: Value,
        method: String,
        #[serde(default)]
        #[ts(type = "unknown")]
        params: Value,
    },
    /// An ephemeral signal to the board's other subscribers.
    Signal {
        board: String,
        name: String,
        #[serde(default)]
        #[ts(type = "unknown")]
        data: Value,
    },
    /// The browser's own heartbeat; answered by `pong` with the same `t`.
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "unknown")]
        t: Option<Value>,
    },
}

impl ClientMessage {
    /// Every `type` a client may send (a message of another type is `unknown_type`).
    pub const TYPES: &'static [&'static str] =
        &["subscribe", "unsubscribe", "rpc", "signal", "ping"];
}

/// Why a subscription ended without the client asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum UnsubscribeReason {
    /// The user lost access (removed from the board).
    Revoked,
    /// The board was deleted.
    Deleted,
}

impl UnsubscribeReason {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UnsubscribeReason::Revoked => "revoked",
            UnsubscribeReason::Deleted => "deleted",
        }
    }
}

/// The board in a `subscribed` message without `since`: `{board, notes}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct SnapshotBody {
    pub board: Board,
    pub notes: Vec<Note>,
}

/// The `error` of an error message or body: `{code, message, details?}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "unknown")]
    pub details: Option<Value>,
}

impl From<&ApiError> for ErrorBody {
    fn from(e: &ApiError) -> Self {
        Self {
            code: e.code,
            message: e.message.clone(),
            details: e.details.clone(),
        }
    }
}

/// A message from server to client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First message of every connection.
    Welcome {
        session: String,
        user: User,
        heartbeat_ms: u64,
        server: String,
    },
    /// A subscription is live: after `replayed` events, or from `snapshot`.
    Subscribed {
        board: String,
        seq: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        replayed: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        snapshot: Option<SnapshotBody>,
    },
    /// A subscription ended: asked for (no reason), or access lost.
    Unsubscribed {
        board: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        reason: Option<UnsubscribeReason>,
    },
    /// A committed board event, `{"type":"event", ...Event}`.
    Event(Event),
    /// Who joined or left, or the full list once after `subscribed`.
    Presence {
        board: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        joined: Option<Vec<Presence>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        left: Option<Vec<Presence>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        members: Option<Vec<Presence>>,
    },
    /// The answer to an RPC.
    Result {
        #[ts(type = "unknown")]
        id: Value,
        #[ts(type = "unknown")]
        result: Value,
    },
    /// A failed RPC, subscribe or signal, or a bad message (`id` is null then).
    Error {
        #[ts(type = "unknown")]
        id: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        board: Option<String>,
        error: ErrorBody,
    },
    /// Another subscriber's signal.
    Signal {
        board: String,
        from: User,
        name: String,
        #[ts(type = "unknown")]
        data: Value,
    },
    /// The answer to `ping`.
    Pong {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional, type = "unknown")]
        t: Option<Value>,
    },
}

impl ServerMessage {
    /// The message as one JSON text.
    pub fn to_json(&self) -> String {
        // Every field is a plain value or a map with string keys: this cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }

    /// An `error` message.
    pub fn error(id: Option<&Value>, board: Option<&str>, e: &ApiError) -> Self {
        ServerMessage::Error {
            id: id.cloned().unwrap_or(Value::Null),
            board: board.map(str::to_owned),
            error: e.into(),
        }
    }
}

/// The contract's rules for a signal a client sends: `name` is one of
/// [`SIGNAL_NAMES`] (the contract's `typing`, `cursor` and `selection`, and
/// this server's `viewport` and `drag`), and `data` is at most 1 KiB of JSON.
/// Returns whether it is a cursor (only the newest per sender matters).
///
/// # Errors
/// `bad_request` for another name, `too_large` for bigger data.
pub fn check_signal(name: &str, data: &Value) -> Result<bool, ApiError> {
    if !SIGNAL_NAMES.contains(&name) {
        return Err(ApiError::bad_request(
            "signal name must be typing, cursor, selection, viewport or drag",
        ));
    }
    if data.to_string().len() > SIGNAL_DATA_BYTES {
        return Err(ApiError::too_large("signal data is over 1 KiB"));
    }
    Ok(name == "cursor")
}

/// The signal names a client may send. `viewport` (what part of the board a
/// user is looking at, for "follow") and `drag` (a note's position while it
/// is being dragged, so others see the drag live) extend the contract's three.
pub const SIGNAL_NAMES: [&str; 5] = ["typing", "cursor", "selection", "viewport", "drag"];

/// The largest signal `data`, in bytes of JSON.
pub const SIGNAL_DATA_BYTES: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The five names pass, only `cursor` coalesces, and anything else or
    /// data over 1 KiB is refused with the contract's codes.
    #[test]
    fn signal_names_and_sizes() {
        for name in SIGNAL_NAMES {
            assert_eq!(
                check_signal(name, &json!({"x": 1})).unwrap(),
                name == "cursor"
            );
        }
        let shout = check_signal("shout", &json!({})).unwrap_err();
        assert_eq!(shout.code, crate::core::ErrorCode::BadRequest);
        let big = json!({"s": "x".repeat(SIGNAL_DATA_BYTES)});
        let too_big = check_signal("viewport", &big).unwrap_err();
        assert_eq!(too_big.code, crate::core::ErrorCode::TooLarge);
    }

    /// Every client type decodes, and `TYPES` lists exactly them.
    #[test]
    fn client_types_are_the_enum() {
        let samples = [
            json!({"type": "subscribe", "board": "b", "since": 3, "id": 1}),
            json!({"type": "unsubscribe", "board": "b"}),
            json!({"type": "rpc", "id": 1, "method": "board.get", "params": {"board": "b"}}),
            json!({"type": "signal", "board": "b", "name": "cursor", "data": {"x": 1}}),
            json!({"type": "ping", "t": 5}),
        ];
        let mut types = Vec::new();
        for s in samples {
            let m: ClientMessage = serde_json::from_value(s.clone()).unwrap();
            assert_eq!(serde_json::to_value(&m).unwrap(), s, "round trip");
            types.push(s["type"].as_str().unwrap().to_owned());
        }
        assert_eq!(types, ClientMessage::TYPES);
    }

    /// Server messages have the contract's shapes.
    #[test]
    fn server_messages_have_the_contract_shape() {
        let m = ServerMessage::Subscribed {
            board: "b".into(),
            seq: 4,
            replayed: Some(2),
            snapshot: None,
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"type": "subscribed", "board": "b", "seq": 4, "replayed": 2})
        );
        let e = ServerMessage::error(None, Some("b"), &ApiError::not_found("gone"));
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"type": "error", "id": null, "board": "b",
                   "error": {"code": "not_found", "message": "gone"}})
        );
        let u = ServerMessage::Unsubscribed {
            board: "b".into(),
            reason: Some(UnsubscribeReason::Deleted),
        };
        assert_eq!(
            u.to_json(),
            r#"{"type":"unsubscribed","board":"b","reason":"deleted"}"#
        );
        assert_eq!(
            ServerMessage::Pong { t: None }.to_json(),
            r#"{"type":"pong"}"#
        );
    }
}
