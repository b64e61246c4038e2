//! Decoding a client's text frame, in the two steps the reader takes with
//! the rate limit between them: the envelope (a JSON object with a string
//! `type`, and its `id`), then the typed [`ClientMessage`]. Pure, so the
//! fuzz targets in `fuzz/` run exactly what the server runs.

use serde_json::Value;

use crate::core::{ApiError, ClientMessage, ErrorCode};

/// A text frame read as a JSON object, with its `type` and `id` taken out
/// for the rate limit and the error replies, not yet decoded further.
#[derive(Debug)]
pub struct Envelope {
    /// The whole message.
    value: Value,
    /// The `id` member, echoed in an error reply.
    pub id: Option<Value>,
    /// The `type` member.
    pub ty: String,
}

/// A frame that could not be decoded: the error reply's `id` and the error
/// (boxed: the error path is the rare one).
pub type Rejected = Box<(Option<Value>, ApiError)>;

/// First step: the frame must be a JSON object with a string `type`.
///
/// # Errors
/// `invalid_message` (the reply carries no id).
pub fn envelope(text: &str) -> Result<Envelope, ApiError> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return Err(ApiError::new(
                ErrorCode::InvalidMessage,
                "a message must be a JSON object",
            ))
        }
        Err(e) => {
            return Err(ApiError::new(
                ErrorCode::InvalidMessage,
                format!("invalid JSON: {e}"),
            ))
        }
    };
    let id = value.get("id").cloned();
    let Some(ty) = value.get("type").and_then(Value::as_str).map(str::to_owned) else {
        // The contract answers a message without `type` with `"id": null`.
        return Err(ApiError::new(
            ErrorCode::InvalidMessage,
            "a message needs a string \"type\"",
        ));
    };
    Ok(Envelope { value, id, ty })
}

impl Envelope {
    /// Second step (after the rate limit): the typed message.
    ///
    /// # Errors
    /// `unknown_type`, or `bad_request` for a known type whose fields do not
    /// decode (a malformed signal's reply has no id: signals have none).
    pub fn message(self) -> Result<ClientMessage, Rejected> {
        let Envelope { value, id, ty } = self;
        if !ClientMessage::TYPES.contains(&ty.as_str()) {
            let e = ApiError::new(
                ErrorCode::UnknownType,
                format!("unknown message type {ty:?}"),
            );
            return Err(Box::new((id, e)));
        }
        serde_json::from_value::<ClientMessage>(value).map_err(|e| {
            let id = if ty == "signal" { None } else { id };
            Box::new((id, ApiError::bad_request(format!("invalid {ty}: {e}"))))
        })
    }
}

/// Both steps, without the rate limit between them: what the server makes
/// of one text frame (the fuzz targets' entry point).
///
/// # Errors
/// What [`envelope`] and [`Envelope::message`] reject.
pub fn decode_client_frame(text: &str) -> Result<ClientMessage, Rejected> {
    envelope(text).map_err(|e| Box::new((None, e)))?.message()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_decode_or_are_rejected_with_the_contract_code() {
        let m = decode_client_frame(r#"{"type":"ping","t":5}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Ping {
                t: Some(Value::from(5))
            }
        );
        for (text, code, id) in [
            ("[1]", ErrorCode::InvalidMessage, None),
            ("{", ErrorCode::InvalidMessage, None),
            (r#"{"id":1}"#, ErrorCode::InvalidMessage, None),
            (r#"{"type":"x","id":2}"#, ErrorCode::UnknownType, Some(2)),
            (r#"{"type":"rpc","id":3}"#, ErrorCode::BadRequest, Some(3)),
            (r#"{"type":"signal","id":4}"#, ErrorCode::BadRequest, None),
        ] {
            let (got_id, e) = *decode_client_frame(text).unwrap_err();
            assert_eq!(e.code, code, "{text}");
            assert_eq!(got_id, id.map(Value::from), "{text}");
        }
    }
}
