//! A payload received from Redis pub/sub, decoded as the Redis bus decodes
//! it (`corkboard::bus::wire::decode`).
//!
//! Invariant: what decodes re-encodes (`encode_event` / `encode_message`)
//! to a payload that decodes to the same node, the same event with the same
//! stored bytes and notifications, or the same message.

#![no_main]

use bytes::Bytes;
use corkboard::bus::wire::{decode, encode_event, encode_message, Incoming};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((node, got)) = decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    match got {
        Incoming::Event(ev) => {
            let (node2, again) =
                decode(encode_event(&node, &ev)).expect("re-encoded event decodes");
            assert_eq!(node, node2);
            let Incoming::Event(again) = again else {
                panic!("an event came back as a message")
            };
            assert_eq!(again.event, ev.event);
            assert_eq!(again.json, ev.json, "the stored bytes travel unchanged");
            assert_eq!(again.notifications, ev.notifications);
            assert!(again.remote);
        }
        Incoming::Message(m) => {
            let (node2, again) =
                decode(encode_message(&node, &m)).expect("re-encoded message decodes");
            assert_eq!(node, node2);
            let Incoming::Message(again) = again else {
                panic!("a message came back as an event")
            };
            assert_eq!(again, m);
        }
    }
});
