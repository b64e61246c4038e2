//! A REST call: the first byte picks a command of the registry, then one
//! NUL-terminated path id per id the command names, then the JSON body. It
//! is decoded as the JSON-body routes decode it
//! (`corkboard::decoders::parse_rest`: body bytes → the command's typed
//! Body → `Command::parse`), and in the WebSocket RPC form (ids inside the
//! params, `parse_json`): every command's Body is covered through the one
//! registry.
//!
//! Invariants: a rejection is `bad_request`; a call the REST form accepts,
//! the RPC form with the same ids and fields accepts too (the doors agree).

#![no_main]

use corkboard::core::ErrorCode;
use corkboard::decoders::{method_ids, parse_json, parse_rest, METHODS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mut rest)) = data.split_first() else {
        return;
    };
    let method = METHODS[pick as usize % METHODS.len()];
    let names = method_ids(method).expect("a registered method has ids");
    let mut ids = Vec::with_capacity(names.len());
    for _ in names {
        // Path segments arrive percent-decoded, as UTF-8.
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        let Ok(id) = std::str::from_utf8(&rest[..end]) else {
            return;
        };
        ids.push(id.to_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    let body = rest;
    let rest_ok = match parse_rest(method, ids.clone(), body) {
        Ok(()) => true,
        Err(e) => {
            assert_eq!(e.code, ErrorCode::BadRequest, "{method}: {}", e.message);
            false
        }
    };
    let Ok(Value::Object(mut params)) = serde_json::from_slice::<Value>(body) else {
        assert!(
            !rest_ok,
            "{method}: REST accepted a body that is not a JSON object"
        );
        return;
    };
    for (name, id) in names.iter().zip(ids) {
        params.insert((*name).to_owned(), Value::String(id));
    }
    match parse_json(method, Value::Object(params)) {
        Ok(()) => {}
        Err(e) => {
            assert_eq!(e.code, ErrorCode::BadRequest, "{method}: {}", e.message);
            assert!(
                !rest_ok,
                "{method}: REST accepted what RPC refused: {}",
                e.message
            );
        }
    }
});
