//! A `note.edit` update (Yjs update encoding v1, already base64-decoded),
//! merged as the server merges it: `corkboard::core::text::TextDoc::apply`
//! on a note's document, with the server's default limits.
//!
//! Input: byte 0 is flags; then a 16-bit little-endian length `n`, `n` bytes
//! of a first update, and the rest, a second update. The document starts as
//! a note's seeded one (`TextDoc::from_stored(None, BASE)`, as for a note
//! never edited); the first update is applied (so an input can carry a
//! history: a client's earlier edits), then the second, each on what the
//! previous step stored (`TextChange::stored`: the compacted state with the
//! updates appended since). Flags: bit 0 replaces the second step by a plain
//! replacement (`TextDoc::replace`) with the rest as text; bit 1 compacts
//! what is stored before the second step.
//!
//! Invariants besides "no panic": a refusal is `bad_request` or `too_large`;
//! what is merged is within the limits (characters, stored bytes) and has
//! no control characters but tab and newline; what is stored reloads to the
//! same text; the update the event carries (`text_update`) turns a copy of
//! the previous document into the same text; applying the same update
//! again changes nothing; a replacement's text is exactly what was asked.
//!
//! Panics: the server merges inside `catch_unwind` (a panic there is a
//! refused update, `bad_request`), so by default a panic the server catches
//! is printed (the first few) and the run goes on; one that escapes the
//! server's code is a crash. With `TEXT_UPDATE_STRICT=1` every panic is a
//! crash (libfuzzer-sys's own hook), to list what yrs panics on.

#![no_main]

use corkboard::core::text::TextDoc;
use corkboard::core::Limits;
use libfuzzer_sys::fuzz_target;
use yrs::updates::decoder::Decode;
use yrs::{GetString, ReadTxn, Transact};

/// A note's text before anyone edits it (non-ASCII on purpose: UTF-16
/// offsets differ from chars and bytes).
const BASE: &str = "Hello, wörld 👋 世界";

/// Keeps libfuzzer-sys's abort-on-any-panic hook only with TEXT_UPDATE_STRICT.
fn init() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static ONCE: std::sync::Once = std::sync::Once::new();
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    ONCE.call_once(|| {
        if std::env::var_os("TEXT_UPDATE_STRICT").is_none() {
            std::panic::set_hook(Box::new(|info| {
                if SEEN.fetch_add(1, Ordering::Relaxed) < 5 {
                    eprintln!("text_update: a panic (a crash only if it escapes the server's catch_unwind): {info}");
                }
            }));
        }
    });
}

/// What a client holding the document stored as `state` sees after applying
/// an event's `text_update` with plain yrs (as a browser does with Yjs): the text.
fn peer_text(state: &[u8], text_update: &[u8]) -> String {
    let doc = yrs::Doc::new();
    let text = doc.get_or_insert_text("text");
    {
        let mut txn = doc.transact_mut();
        txn.apply_update(yrs::Update::decode_v1(state).expect("stored state decodes"))
            .expect("stored state applies");
        txn.apply_update(yrs::Update::decode_v1(text_update).expect("text_update decodes"))
            .expect("text_update applies");
        let store = txn.store();
        assert!(
            store.pending_update().is_none() && store.pending_ds().is_none(),
            "text_update depends on something the previous document lacks"
        );
    }
    let s = text.get_string(&doc.transact());
    s
}

fn limits() -> (usize, usize) {
    let l = Limits::default();
    (l.note_text_chars, l.note_state_bytes)
}

/// What the contract refuses in note text: control characters but tab and line breaks.
fn has_control(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Applies `update` to the document the store holds as `stored` (`None`: a
/// note never edited, seeded from [`BASE`]) as `note.edit` does, and checks
/// the invariants; returns what to store when it was accepted and changed
/// something.
fn apply_checked(stored: Option<&[u8]>, update: &[u8]) -> Option<Vec<u8>> {
    let (max_chars, max_bytes) = limits();
    let mut doc = TextDoc::from_stored(stored, BASE).expect("a stored document loads");
    let prev_state = doc.state();
    let before_text = doc.text();
    let change = match doc.apply(update, max_chars, max_bytes, stored) {
        Ok(c) => c,
        Err(e) => {
            let code = e.code.as_str();
            assert!(
                code == "bad_request" || code == "too_large",
                "refused with {code}: {}",
                e.message
            );
            return None;
        }
    };
    assert_eq!(
        change.text,
        doc.text(),
        "the change's text is the document's"
    );
    assert!(
        change.text.chars().count() <= max_chars,
        "over the length limit"
    );
    assert!(
        !has_control(&change.text),
        "a control character was merged: {:?}",
        change.text
    );
    if change.is_noop() {
        assert_eq!(change.text, before_text, "a no-op changed the text");
        return None;
    }
    assert!(
        change.stored.len() <= max_bytes,
        "stored bytes over the limit"
    );
    let reloaded = TextDoc::from_stored(Some(&change.stored), "").expect("what is stored loads");
    assert_eq!(
        reloaded.text(),
        change.text,
        "what is stored reloads to the text"
    );
    // What a client holding the previous document does with `text_update`.
    assert_eq!(
        peer_text(&prev_state, &change.update),
        change.text,
        "text_update gives another text"
    );
    // The same update again (a client's retry): nothing changes.
    let mut twice = TextDoc::from_stored(Some(&change.stored), "").expect("reload");
    let again = twice
        .apply(update, max_chars, max_bytes, Some(&change.stored))
        .unwrap_or_else(|e| panic!("the same update again is refused: {e:?}"));
    assert!(again.is_noop(), "the same update again changed something");
    assert_eq!(again.text, change.text);
    Some(change.stored)
}

/// The stored form of a compacted document: one frame (u32 LE length, bytes).
fn compacted(doc: &TextDoc) -> Vec<u8> {
    let state = doc.state();
    let mut out = (state.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&state);
    out
}

fuzz_target!(|data: &[u8]| {
    init();
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (first, second) = if rest.len() >= 2 {
        let n = u16::from_le_bytes([rest[0], rest[1]]) as usize;
        let body = &rest[2..];
        body.split_at(n.min(body.len()))
    } else {
        (&[][..], rest)
    };
    let mut stored: Option<Vec<u8>> = None;
    if !first.is_empty() {
        if let Some(s) = apply_checked(None, first) {
            stored = Some(s);
        }
    }
    if flags & 2 != 0 {
        let doc = TextDoc::from_stored(stored.as_deref(), BASE).expect("reload");
        stored = Some(compacted(&doc));
    }
    if flags & 1 == 0 {
        apply_checked(stored.as_deref(), second);
    } else {
        // A plain replacement (note.update's text) after the history.
        let (max_chars, max_bytes) = limits();
        let Ok(new_text) = std::str::from_utf8(second) else {
            return;
        };
        // The command refuses these before the document sees them.
        if new_text.chars().count() > max_chars || has_control(new_text) {
            return;
        }
        let mut doc = TextDoc::from_stored(stored.as_deref(), BASE).expect("reload");
        let prev_state = doc.state();
        let old = doc.text();
        match doc.replace(new_text, max_bytes, stored.as_deref()) {
            Ok(change) => {
                assert_eq!(change.text, new_text, "a replacement's text");
                assert_eq!(doc.text(), new_text, "the document after a replacement");
                if old != new_text {
                    let reloaded = TextDoc::from_stored(Some(&change.stored), "").expect("reload");
                    assert_eq!(reloaded.text(), new_text);
                    // The replacement's update, as a client holding the
                    // previous document gets it.
                    assert_eq!(peer_text(&prev_state, &change.update), new_text);
                } else {
                    assert!(change.is_noop());
                }
            }
            Err(e) => assert_eq!(e.code.as_str(), "too_large", "{}", e.message),
        }
    }
});
