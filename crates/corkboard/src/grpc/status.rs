//! The one table from the contract's error codes to gRPC status codes (the
//! mapping in the proto's header), with the contract's code in the
//! `corkboard-error-code` trailer and, for `conflict`, the current note in
//! the standard rich details (`google.rpc.Status` with an `Any` Note).

use prost::Message;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

use super::convert;
use super::pb;
use crate::core::{ApiError, ErrorCode, Note};
use crate::realtime::CloseReason;

/// The trailer that carries the contract's error code on every non-OK status.
pub const ERROR_CODE_TRAILER: &str = "corkboard-error-code";

/// The gRPC code of a contract error code.
pub fn code(c: ErrorCode) -> Code {
    match c {
        ErrorCode::Unauthorized => Code::Unauthenticated,
        ErrorCode::Forbidden => Code::PermissionDenied,
        ErrorCode::NotFound | ErrorCode::Gone => Code::NotFound,
        ErrorCode::Conflict => Code::Aborted,
        ErrorCode::BadRequest
        | ErrorCode::InvalidMessage
        | ErrorCode::UnknownType
        | ErrorCode::UnknownMethod => Code::InvalidArgument,
        ErrorCode::TooLarge | ErrorCode::RateLimited => Code::ResourceExhausted,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::Internal => Code::Internal,
    }
}

/// `google.rpc.Status`, the standard payload of `grpc-status-details-bin`.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<prost_types::Any>,
}

/// The type URL of a Note packed in an `Any`.
pub const NOTE_TYPE_URL: &str = "type.googleapis.com/corkboard.v1.Note";

/// The current note a `conflict` carries in its details (`{"note": …}`).
pub fn conflict_note(e: &ApiError) -> Option<Note> {
    let note = e.details.as_ref()?.get("note")?;
    serde_json::from_value(note.clone()).ok()
}

/// A contract error as a gRPC status.
pub fn status(e: &ApiError) -> Status {
    let code = code(e.code);
    let mut meta = MetadataMap::new();
    meta.insert(ERROR_CODE_TRAILER, code_value(e.code));
    match conflict_note(e) {
        Some(note) if e.code == ErrorCode::Conflict => {
            let details = RpcStatus {
                code: code as i32,
                message: e.message.clone(),
                details: vec![prost_types::Any {
                    type_url: NOTE_TYPE_URL.into(),
                    value: convert::note(note).encode_to_vec(),
                }],
            };
            Status::with_details_and_metadata(
                code,
                e.message.clone(),
                details.encode_to_vec().into(),
                meta,
            )
        }
        _ => Status::with_metadata(code, e.message.clone(), meta),
    }
}

fn code_value(c: ErrorCode) -> MetadataValue<tonic::metadata::Ascii> {
    MetadataValue::from_static(c.as_str())
}

/// A contract error as the `Error` message of a Connect session.
pub fn error_message(e: &ApiError, board: Option<&str>) -> pb::Error {
    pb::Error {
        code: e.code.as_str().into(),
        message: e.message.clone(),
        current: conflict_note(e).map(convert::note),
        board: board.unwrap_or_default().into(),
    }
}

/// How a stream ends when its outbox closes for `reason`.
pub fn closed(reason: CloseReason) -> Status {
    let (c, message) = match reason {
        CloseReason::Shutdown => (ErrorCode::Unavailable, "the server is shutting down"),
        CloseReason::CredentialRevoked => (
            ErrorCode::Unauthorized,
            "the token was revoked or the session ended",
        ),
        CloseReason::OutboxFull | CloseReason::ReplayOverflow | CloseReason::WriteStalled => (
            ErrorCode::RateLimited,
            "the stream fell too far behind; resume with `since`",
        ),
        CloseReason::EventGap | CloseReason::ReplayGap | CloseReason::HubLagged => (
            ErrorCode::Unavailable,
            "the stream lost its place; resume with `since`",
        ),
        CloseReason::AccessRevoked | CloseReason::BoardDeleted => {
            (ErrorCode::NotFound, "access to the board was lost")
        }
        CloseReason::SubscribeFailed | CloseReason::ReplayFailed => {
            (ErrorCode::Unavailable, "the subscription could not start")
        }
        CloseReason::RateLimited | CloseReason::TooManyInvalidMessages => {
            (ErrorCode::RateLimited, "too many requests")
        }
        CloseReason::MessageTooBig => (ErrorCode::TooLarge, "message too big"),
        CloseReason::HeartbeatTimeout => (ErrorCode::Unavailable, "keepalive timed out"),
        CloseReason::ClientClosed
        | CloseReason::ProtocolError
        | CloseReason::BinaryFrame
        | CloseReason::InvalidUtf8
        | CloseReason::ReadFailed => (ErrorCode::Unavailable, "the stream ended"),
    };
    status(&ApiError::new(c, message))
}

/// Gives a status that tonic produced itself (a request that did not decode,
/// a message over the size limit, an unknown method) the contract's code:
/// `OUT_OF_RANGE` for an oversized message becomes `RESOURCE_EXHAUSTED`,
/// a decode failure (`INTERNAL` without our trailer) `INVALID_ARGUMENT`.
/// Statuses that already carry the trailer are ours and left alone.
pub fn normalize(code: Code, has_trailer: bool) -> Option<(Code, ErrorCode)> {
    if has_trailer || code == Code::Ok {
        return None;
    }
    Some(match code {
        Code::OutOfRange | Code::ResourceExhausted => {
            (Code::ResourceExhausted, ErrorCode::TooLarge)
        }
        Code::Internal | Code::InvalidArgument => {
            (Code::InvalidArgument, ErrorCode::InvalidMessage)
        }
        Code::Unimplemented => (Code::Unimplemented, ErrorCode::UnknownMethod),
        Code::Unauthenticated => (Code::Unauthenticated, ErrorCode::Unauthorized),
        Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded => {
            (code, ErrorCode::Unavailable)
        }
        _ => (code, ErrorCode::Internal),
    })
}

/// A stream message that did not decode (mid-stream, on Connect).
pub fn from_decode(s: &Status) -> Status {
    let (_, c) = normalize(s.code(), false).unwrap_or((Code::Internal, ErrorCode::Internal));
    status(&ApiError::new(c, s.message().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every contract code has a gRPC code and the trailer.
    #[test]
    fn every_code_maps_with_its_trailer() {
        for c in ErrorCode::ALL {
            let s = status(&ApiError::new(c, "x"));
            assert_eq!(s.code(), code(c));
            assert_eq!(
                s.metadata()
                    .get(ERROR_CODE_TRAILER)
                    .unwrap()
                    .to_str()
                    .unwrap(),
                c.as_str()
            );
        }
        assert_eq!(code(ErrorCode::Conflict), Code::Aborted);
        assert_eq!(code(ErrorCode::RateLimited), Code::ResourceExhausted);
    }

    #[test]
    fn tonic_statuses_get_contract_codes() {
        assert_eq!(
            normalize(Code::OutOfRange, false),
            Some((Code::ResourceExhausted, ErrorCode::TooLarge))
        );
        assert_eq!(
            normalize(Code::Internal, false),
            Some((Code::InvalidArgument, ErrorCode::InvalidMessage))
        );
        assert_eq!(normalize(Code::Internal, true), None);
        assert_eq!(normalize(Code::Ok, false), None);
    }
}
