//! Where a stream resumes: the SSE `Last-Event-ID` header and `?since=`
//! (`corkboard::decoders::resume_position`, which both SSE routes call),
//! and the long poll's `?after=` and `?wait=` (`parse_after_wait`).
//!
//! The first byte says which values are present (bit 0: the header, bit 1:
//! `since`/`after`, bit 2: `wait`); the rest is the header bytes, a newline,
//! the query value, a newline, the wait.
//!
//! Invariants: a position read back from its decimal form is the same; a
//! usable header wins over `since`; no value means no position; the wait
//! never exceeds the longest one.

#![no_main]

use std::time::Duration;

use corkboard::core::ErrorCode;
use corkboard::decoders::{parse_after_wait, resume_position};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let header = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let wait = parts.next().unwrap_or_default();
    // Query values arrive decoded, as UTF-8 (the extractor refuses others).
    let (Ok(query), Ok(wait)) = (std::str::from_utf8(query), std::str::from_utf8(wait)) else {
        return;
    };
    let since = (flags & 2 != 0).then_some(query);
    let wait = (flags & 4 != 0).then_some(wait);

    let mut headers = HeaderMap::new();
    if flags & 1 != 0 {
        // A value that is not a valid header never reaches the handler.
        let Ok(v) = HeaderValue::from_bytes(header) else {
            return;
        };
        headers.insert("last-event-id", v);
    }
    let usable_header = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|s| !s.trim().is_empty());

    match resume_position(&headers, since) {
        Ok(Some(n)) => {
            let again = resume_position(&HeaderMap::new(), Some(&n.to_string()));
            assert_eq!(again.ok(), Some(Some(n)));
            if usable_header {
                assert_eq!(resume_position(&headers, None).ok(), Some(Some(n)));
            }
        }
        Ok(None) => {
            assert!(
                !usable_header && since.is_none(),
                "a given position was ignored"
            );
        }
        Err(e) => assert_eq!(e.code, ErrorCode::BadRequest),
    }
    if usable_header {
        assert_eq!(
            resume_position(&headers, since).ok(),
            resume_position(&headers, None).ok(),
            "the header must win over since"
        );
    }

    match parse_after_wait(since, wait) {
        Ok((after, w)) => {
            assert!(w <= Duration::from_secs(30));
            if since.is_none_or(|s| s.trim().is_empty()) {
                assert_eq!(after, 0);
            }
        }
        Err(e) => assert_eq!(e.code, ErrorCode::BadRequest),
    }
});
