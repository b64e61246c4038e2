//! A WebSocket text frame, decoded as the reader decodes it
//! (`corkboard::decoders::decode_client_frame`), then what the reader does
//! next without I/O: the registry's parse of an `rpc`'s params and the check
//! of a `signal`.
//!
//! Invariants: a rejection carries one of the codes the contract gives a bad
//! frame; a decoded message re-encodes to a frame that decodes to the same
//! kind of message with the same names.

#![no_main]

use corkboard::core::ErrorCode;
use corkboard::decoders::{check_signal, decode_client_frame, parse_json, ClientMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 (the WebSocket layer refuses others).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let msg = match decode_client_frame(text) {
        Ok(m) => m,
        Err(rejected) => {
            let e = &rejected.1;
            assert!(
                matches!(
                    e.code,
                    ErrorCode::InvalidMessage | ErrorCode::UnknownType | ErrorCode::BadRequest
                ),
                "unexpected code {:?} for a bad frame",
                e.code
            );
            return;
        }
    };
    let again = serde_json::to_string(&msg).expect("a decoded message encodes");
    let back = decode_client_frame(&again).expect("a re-encoded message decodes");
    assert_eq!(names(&msg), names(&back), "{again}");
    match msg {
        ClientMessage::Rpc { method, params, .. } => {
            if let Err(e) = parse_json(&method, params) {
                assert!(
                    matches!(e.code, ErrorCode::UnknownMethod | ErrorCode::BadRequest),
                    "unexpected code {:?} for bad params",
                    e.code
                );
            }
        }
        ClientMessage::Signal { name, data, .. } => {
            let _ = check_signal(&name, &data);
        }
        _ => {}
    }
});

/// The message's kind and string fields (numbers may differ in their last
/// bit after a float round trip, so they are not compared).
fn names(m: &ClientMessage) -> (&'static str, Vec<&str>) {
    match m {
        ClientMessage::Subscribe { board, since, .. } => (
            "subscribe",
            vec![board.as_str(), if since.is_some() { "since" } else { "" }],
        ),
        ClientMessage::Unsubscribe { board } => ("unsubscribe", vec![board.as_str()]),
        ClientMessage::Rpc { method, .. } => ("rpc", vec![method.as_str()]),
        ClientMessage::Signal { board, name, .. } => {
            ("signal", vec![board.as_str(), name.as_str()])
        }
        ClientMessage::Ping { .. } => ("ping", vec![]),
    }
}
