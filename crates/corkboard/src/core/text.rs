//! Collaborative note text (protocol.md, "Collaborative text"): each note's
//! text is a Yjs document, one `Y.Doc` whose `Y.Text` named `text` holds it.
//!
//! [`TextDoc`] is the server's handle on one such document for the length of
//! one mutation: loaded from the stored state, changed by a client's update
//! ([`TextDoc::apply`]) or by a plain replacement ([`TextDoc::replace`],
//! applied as the smallest diff), checked, and encoded again, compacted (the
//! whole state as one update, deleted content garbage-collected). A store
//! keeps recently edited documents decoded in a [`TextCache`]; a document's
//! memory is bounded by the stored state's limit.
//!
//! Pure (no I/O): the store calls it from [`crate::core::plan`].

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;
use yrs::types::text::TextEvent;
use yrs::types::Delta;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, ClientID, Doc, GetString, Observable, OffsetKind, Options, Out, ReadTxn, StateVector,
    Text, TextRef, Transact, Update,
};

use super::error::ApiError;
use super::model::{chars, check_no_control};

/// The name of the document's one shared type.
pub const TEXT_NAME: &str = "text";

/// The Yjs client id the server writes under: seeding a document from plain
/// text and applying plain replacements. Clients must never use it (Yjs
/// picks random non-zero ids); an update that does is refused.
pub const SERVER_CLIENT: ClientID = ClientID::new(0);

/// Updates stored after a note's compacted state before a change compacts
/// it again (see [`TextDoc::from_stored`]).
pub const MAX_PENDING_UPDATES: usize = 32;

/// Stored documents up to this size are reloaded after each edit to check
/// that they give the merged text (see [`TextDoc::apply`]).
pub const VERIFY_MAX_BYTES: usize = 8 << 10;

/// Most documents a [`TextCache`] holds, however small (eviction scans them).
pub const CACHE_MAX_DOCS: usize = 4096;

/// One note's text document, for the length of one mutation or read (or
/// kept warm in a [`TextCache`] between mutations).
pub struct TextDoc {
    doc: Doc,
    text: TextRef,
    /// Set by the text's observer when a change inserts anything but plain
    /// strings, or formats: checked after each update, in the update's cost
    /// rather than the document's.
    not_plain: Arc<AtomicBool>,
}

impl std::fmt::Debug for TextDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextDoc").finish_non_exhaustive()
    }
}

/// What a change did to the document.
#[derive(Debug, PartialEq)]
pub struct TextChange {
    /// The update as merged: what a client holding the previous state needs
    /// (the `text_update` of the event). Empty when nothing changed.
    pub update: Vec<u8>,
    /// The text after the change.
    pub text: String,
    /// What to store for the document after the change (see
    /// [`TextDoc::from_stored`]); empty when nothing changed.
    pub stored: Vec<u8>,
}

impl TextChange {
    /// Whether the change left the document as it was.
    pub fn is_noop(&self) -> bool {
        self.update.is_empty()
    }
}

impl TextDoc {
    fn empty() -> Self {
        let doc = Doc::with_options(Options {
            client_id: SERVER_CLIENT,
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text(TEXT_NAME);
        let not_plain = Arc::new(AtomicBool::new(false));
        let flag = not_plain.clone();
        text.observe("plain-text-check", move |txn, e: &TextEvent| {
            for d in e.delta(txn) {
                match d {
                    Delta::Inserted(Out::Any(Any::String(_)), None)
                    | Delta::Deleted(_)
                    | Delta::Retain(_, None) => {}
                    _ => flag.store(true, Ordering::Relaxed),
                }
            }
        });
        Self {
            doc,
            text,
            not_plain,
        }
    }

    /// The document of a note that has none stored yet: `text` as one
    /// insertion by [`SERVER_CLIENT`] (deterministic, so every read of an
    /// unedited note hands out the same document).
    pub fn seeded(text: &str) -> Self {
        let d = Self::empty();
        if !text.is_empty() {
            let mut txn = d.doc.transact_mut();
            d.text.insert(&mut txn, 0, text);
        }
        d
    }

    /// The document of a note from what the store holds: `None` (seeded
    /// from `text`, as [`TextDoc::seeded`]) or frames, each a little-endian
    /// `u32` length and that many bytes: the compacted state, then the
    /// updates merged since (at most [`MAX_PENDING_UPDATES`]; the change
    /// after them compacts again). Appending an update costs the update;
    /// compacting costs the document.
    ///
    /// # Errors
    /// When the stored bytes are malformed (a corrupt row).
    pub fn from_stored(stored: Option<&[u8]>, text: &str) -> Result<Self, String> {
        let Some(bytes) = stored else {
            return Ok(Self::seeded(text));
        };
        let d = Self::empty();
        for frame in frames(bytes)? {
            let update = Update::decode_v1(frame).map_err(|e| format!("text state: {e}"))?;
            d.doc
                .transact_mut()
                .apply_update(update)
                .map_err(|e| format!("text state: {e}"))?;
        }
        Ok(d)
    }

    /// What to store after merging `update` into a document stored as
    /// `prev`: `prev` with the update appended, or, every
    /// [`MAX_PENDING_UPDATES`] updates or when that would pass
    /// `max_state_bytes`, the compacted state alone.
    ///
    /// # Errors
    /// `too_large` when the compacted state passes `max_state_bytes`.
    fn stored_after(
        &self,
        prev: Option<&[u8]>,
        update: &[u8],
        max_state_bytes: usize,
    ) -> Result<Vec<u8>, ApiError> {
        if let Some(prev) = prev {
            let pending = frames(prev).map_or(usize::MAX, |f| f.len().saturating_sub(1));
            let grown = prev.len() + 4 + update.len();
            if pending < MAX_PENDING_UPDATES && grown <= max_state_bytes {
                let mut out = Vec::with_capacity(grown);
                out.extend_from_slice(prev);
                push_frame(&mut out, update);
                return Ok(out);
            }
        }
        let state = self.checked_state(max_state_bytes)?;
        let mut out = Vec::with_capacity(state.len() + 4);
        push_frame(&mut out, &state);
        Ok(out)
    }

    /// The current text.
    pub fn text(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    /// The whole document as one update, compacted (what is stored, and what
    /// `note.text_state` answers).
    pub fn state(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }

    /// Merges a client's `update` (Yjs update encoding v1).
    ///
    /// # Errors
    /// `bad_request` when it does not decode, writes as [`SERVER_CLIENT`],
    /// depends on changes this document does not have (details `reason:
    /// "resync"`: fetch `note.text_state` and send the difference), or puts
    /// anything but plain text into the document (another shared type,
    /// embeds, formatting, control characters); `too_large` when the text
    /// would pass `max_chars` or the stored state `max_state_bytes`. The
    /// document is then unusable: drop it (nothing was committed).
    pub fn apply(
        &mut self,
        update: &[u8],
        max_chars: usize,
        max_state_bytes: usize,
        prev: Option<&[u8]>,
    ) -> Result<TextChange, ApiError> {
        let decoded = catch_unwind(|| Update::decode_v1(update))
            .map_err(|_| "the decoder gave up".to_owned())
            .and_then(|r| r.map_err(|e| e.to_string()))
            .map_err(|e| {
                ApiError::bad_request(format!("update does not decode as a Yjs update (v1): {e}"))
                    .with_details(json!({"field": "update"}))
            })?;
        let server_clock = self.doc.transact().state_vector().get(&SERVER_CLIENT);
        // Only the server writes as its client id: a block of it the server
        // does not have is refused before yrs sees it (yrs integrates a
        // block of the document's own client past its clock without
        // counting it in the state vector: the text and the document
        // would disagree; found by the `text_update` fuzz target).
        let inserted = decoded.insertions(true);
        let foreign = inserted
            .get(&SERVER_CLIENT)
            .is_some_and(|r| r.iter().any(|(range, _)| range.end > server_clock));
        let several_clients = inserted.client_ids().nth(1).is_some();
        if foreign {
            return Err(ApiError::bad_request(format!(
                "Yjs client id {SERVER_CLIENT} is the server's; use a random non-zero client id"
            ))
            .with_details(json!({"field": "update"})));
        }
        let before = self.doc.transact().state_vector();
        let old_len = self.text.len(&self.doc.transact());
        let doc = &self.doc;
        // yrs is hardened against malformed input, but a panic here would
        // take the store's writer down with it: a panic is a bad update.
        let applied = catch_unwind(AssertUnwindSafe(|| -> Result<bool, String> {
            let mut txn = doc.transact_mut();
            txn.apply_update(decoded).map_err(|e| e.to_string())?;
            let store = txn.store();
            Ok(store.pending_update().is_some() || store.pending_ds().is_some())
        }));
        match applied {
            Ok(Ok(false)) => {}
            Ok(Ok(true)) => {
                return Err(ApiError::bad_request(
                    "the update depends on changes the server does not have; \
                     fetch note.text_state and send the difference",
                )
                .with_details(json!({"field": "update", "reason": "resync"})))
            }
            Ok(Err(e)) => {
                return Err(ApiError::bad_request(format!("update does not apply: {e}"))
                    .with_details(json!({"field": "update"})))
            }
            Err(_) => {
                return Err(ApiError::bad_request("update does not apply")
                    .with_details(json!({"field": "update"})))
            }
        }
        self.check_plain()?;
        let text = self.text();
        check_text(&text, max_chars)?;
        let merged = self.diff_since(&before, old_len);
        let stored = if merged.is_empty() {
            Vec::new()
        } else {
            self.stored_after(prev, &merged, max_state_bytes)?
        };
        // Items whose origins contradict each other integrate differently
        // live and when reloaded: the text and the stored document would
        // disagree (found by the `text_update` fuzz target). A reload shows
        // it; it costs the document, so it runs for documents up to
        // VERIFY_MAX_BYTES and for updates carrying several clients' items
        // (a browser's edit carries its own).
        if !stored.is_empty() && (stored.len() <= VERIFY_MAX_BYTES || several_clients) {
            let reloaded = TextDoc::from_stored(Some(&stored), "").map(|d| d.text());
            if reloaded.as_deref() != Ok(text.as_str()) {
                return Err(ApiError::bad_request(
                    "the update does not merge the same way twice (its items' origins \
                     contradict each other)",
                )
                .with_details(json!({"field": "update"})));
            }
        }
        Ok(TextChange {
            update: merged,
            text,
            stored,
        })
    }

    /// Replaces the text with `new_text` as the smallest edit (common prefix
    /// and suffix kept, the middle diffed character by character), so that
    /// concurrent character edits outside what really changed survive.
    ///
    /// # Errors
    /// `too_large` when the stored state would pass `max_state_bytes`.
    pub fn replace(
        &mut self,
        new_text: &str,
        max_state_bytes: usize,
        prev: Option<&[u8]>,
    ) -> Result<TextChange, ApiError> {
        let old = self.text();
        if old == new_text {
            return Ok(TextChange {
                update: Vec::new(),
                text: old,
                stored: Vec::new(),
            });
        }
        let before = self.doc.transact().state_vector();
        let old_len = self.text.len(&self.doc.transact());
        {
            let mut txn = self.doc.transact_mut();
            // Applied from the end backwards: earlier offsets stay valid.
            for edit in edits(&old, new_text).into_iter().rev() {
                if edit.delete > 0 {
                    self.text.remove_range(&mut txn, edit.at, edit.delete);
                }
                if !edit.insert.is_empty() {
                    self.text.insert(&mut txn, edit.at, &edit.insert);
                }
            }
        }
        let update = self.diff_since(&before, old_len);
        let stored = self.stored_after(prev, &update, max_state_bytes)?;
        Ok(TextChange {
            update,
            text: new_text.to_owned(),
            stored,
        })
    }

    /// What changed since `before` (state vector and text): the new structs
    /// and the delete set, or nothing when the document gained nothing. With
    /// only plain text inside, any deletion that matters changes the text.
    fn diff_since(&self, before: &StateVector, old_len: u32) -> Vec<u8> {
        let txn = self.doc.transact();
        if &txn.state_vector() == before && self.text.len(&txn) == old_len {
            return Vec::new();
        }
        txn.encode_diff_v1(before)
    }

    fn check_plain(&self) -> Result<(), ApiError> {
        let refuse = |what: &str| {
            Err(ApiError::bad_request(format!(
                "a note's document holds only plain text in the Y.Text named \"{TEXT_NAME}\": {what}"
            ))
            .with_details(json!({"field": "update"})))
        };
        let txn = self.doc.transact();
        if let Some((name, _)) = txn.root_refs().find(|(name, _)| *name != TEXT_NAME) {
            return refuse(&format!("the update adds a shared type named {name:?}"));
        }
        if self.not_plain.load(Ordering::Relaxed) {
            return refuse("the update adds formatting or embeds something that is not text");
        }
        Ok(())
    }

    /// The state to store, refused when larger than `max_state_bytes`.
    fn checked_state(&self, max_state_bytes: usize) -> Result<Vec<u8>, ApiError> {
        let state = self.state();
        let size = state.len();
        if size > max_state_bytes {
            return Err(ApiError::too_large(format!(
                "the note's text document would take {size} bytes, more than {max_state_bytes}"
            ))
            .with_details(json!({"field": "update", "limit": max_state_bytes})));
        }
        Ok(state)
    }
}

/// The frames of a stored document (see [`TextDoc::from_stored`]).
fn frames(mut bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or("text state: truncated frame length")?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err("text state: truncated frame".into());
        }
        let (frame, rest) = rest.split_at(len);
        out.push(frame);
        bytes = rest;
    }
    Ok(out)
}

fn push_frame(out: &mut Vec<u8>, frame: &[u8]) {
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(frame);
}

/// The text rules of the contract for a merged text: no control characters
/// but tab and newlines, at most `max_chars` characters.
fn check_text(text: &str, max_chars: usize) -> Result<(), ApiError> {
    check_no_control("text", text)?;
    if chars(text) > max_chars {
        return Err(
            ApiError::too_large(format!("text is longer than {max_chars} characters"))
                .with_details(json!({"field": "text", "limit": max_chars})),
        );
    }
    Ok(())
}

/// One edit of a replacement, in UTF-16 offsets of the old text (Yjs's unit).
#[derive(Debug, PartialEq)]
struct Edit {
    at: u32,
    delete: u32,
    insert: String,
}

/// Middles longer than this (in characters, either side) are replaced as one
/// block instead of diffed: Myers is O((n + m) · d).
const DIFF_MIDDLE_MAX: usize = 4_000;

/// The edits turning `old` into `new`: common prefix and suffix kept, the
/// middle diffed by character (Myers) when it is small enough.
fn edits(old: &str, new: &str) -> Vec<Edit> {
    let a: Vec<char> = old.chars().collect();
    let b: Vec<char> = new.chars().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let utf16 = |cs: &[char]| cs.iter().map(|c| c.len_utf16() as u32).sum::<u32>();
    let base = utf16(&a[..prefix]);
    if am.len() > DIFF_MIDDLE_MAX || bm.len() > DIFF_MIDDLE_MAX {
        return vec![Edit {
            at: base,
            delete: utf16(am),
            insert: bm.iter().collect(),
        }];
    }
    let mut out: Vec<Edit> = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, am, bm) {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            continue;
        }
        let at = base + utf16(&am[..old_range.start]);
        let delete = utf16(&am[old_range]);
        let insert: String = bm[new_range].iter().collect();
        // Adjacent delete + insert at one place become one edit.
        match out.last_mut() {
            Some(last) if last.at + last.delete == at && last.insert.is_empty() => {
                last.delete += delete;
                last.insert = insert;
            }
            _ => out.push(Edit { at, delete, insert }),
        }
    }
    out
}

/// Documents kept decoded between mutations, keyed by (board, note) and the
/// seq of the note's last text change: decoding a document of a few
/// thousand characters typed by many people costs about a millisecond, an
/// edit on a warm one a few tens of microseconds. Bounded by the encoded
/// size of what it holds (`budget` bytes; a decoded document takes some
/// ten times more) and by `max_docs`; the least recently used go first.
///
/// A store puts a document back only after the change that produced it
/// committed, so an entry always matches what the database holds under its
/// version.
pub struct TextCache {
    entries: HashMap<(String, String), Cached>,
    bytes: usize,
    budget: usize,
    max_docs: usize,
    tick: u64,
}

struct Cached {
    version: u64,
    doc: TextDoc,
    bytes: usize,
    used: u64,
}

impl TextCache {
    /// An empty cache holding at most `budget` encoded bytes and `max_docs` documents.
    pub fn new(budget: usize, max_docs: usize) -> Self {
        Self {
            entries: HashMap::new(),
            bytes: 0,
            budget,
            max_docs,
            tick: 0,
        }
    }

    /// Takes the document of (board, note) if it is cached at `version`
    /// (else drops a stale entry).
    pub fn take(&mut self, board: &str, note: &str, version: u64) -> Option<TextDoc> {
        let c = self.entries.remove(&(board.to_owned(), note.to_owned()))?;
        self.bytes -= c.bytes;
        (c.version == version).then_some(c.doc)
    }

    /// Keeps a document at `version` (its encoded size `bytes`), evicting
    /// the least recently used beyond the bounds. A document larger than
    /// the whole budget is not kept.
    pub fn put(&mut self, board: &str, note: &str, version: u64, doc: TextDoc, bytes: usize) {
        if bytes > self.budget || self.max_docs == 0 {
            return;
        }
        self.tick += 1;
        let key = (board.to_owned(), note.to_owned());
        if let Some(old) = self.entries.remove(&key) {
            self.bytes -= old.bytes;
        }
        while !self.entries.is_empty()
            && (self.bytes + bytes > self.budget || self.entries.len() >= self.max_docs)
        {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, c)| c.used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                if let Some(c) = self.entries.remove(&k) {
                    self.bytes -= c.bytes;
                }
            }
        }
        self.bytes += bytes;
        self.entries.insert(
            key,
            Cached {
                version,
                doc,
                bytes,
                used: self.tick,
            },
        );
    }

    /// How many documents it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 10_000;
    const BYTES: usize = 1 << 20;

    /// The server's document of a note stored as one compacted `state`.
    fn from_state(state: &[u8]) -> TextDoc {
        let mut stored = Vec::new();
        push_frame(&mut stored, state);
        TextDoc::from_stored(Some(&stored), "").unwrap()
    }

    /// A client document with its own id, synced to `state`.
    fn client(id: u64, state: &[u8]) -> (Doc, TextRef) {
        let doc = Doc::with_options(Options {
            client_id: ClientID::new(id),
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text(TEXT_NAME);
        doc.transact_mut()
            .apply_update(Update::decode_v1(state).unwrap())
            .unwrap();
        (doc, text)
    }

    /// The update a client's local change produces.
    fn edit(doc: &Doc, f: impl FnOnce(&mut yrs::TransactionMut<'_>)) -> Vec<u8> {
        let before = doc.transact().state_vector();
        f(&mut doc.transact_mut());
        doc.transact().encode_diff_v1(&before)
    }

    #[test]
    fn seeds_deterministically_from_plain_text() {
        let a = TextDoc::seeded("hello");
        let b = TextDoc::seeded("hello");
        assert_eq!(a.state(), b.state());
        assert_eq!(a.text(), "hello");
        let again = from_state(&a.state());
        assert_eq!(again.text(), "hello");
    }

    #[test]
    fn concurrent_edits_merge_in_any_order() {
        let server = TextDoc::seeded("abc");
        let state = server.state();
        let (d1, t1) = client(11, &state);
        let (d2, t2) = client(22, &state);
        let u1 = edit(&d1, |txn| t1.insert(txn, 1, "X"));
        let u2 = edit(&d2, |txn| t2.insert(txn, 3, "Y"));
        let mut results = Vec::new();
        for order in [[&u1, &u2], [&u2, &u1]] {
            let mut s = from_state(&state);
            for u in order {
                s.apply(u, MAX, BYTES, None).unwrap();
            }
            results.push(s.text());
        }
        assert_eq!(results, vec!["aXbcY", "aXbcY"]);
    }

    #[test]
    fn apply_returns_what_a_peer_needs() {
        let mut server = TextDoc::seeded("hi");
        let state = server.state();
        let (peer, peer_text) = client(33, &state);
        let (d1, t1) = client(11, &state);
        let u1 = edit(&d1, |txn| t1.insert(txn, 2, "!"));
        let change = server.apply(&u1, MAX, BYTES, None).unwrap();
        assert_eq!(change.text, "hi!");
        peer.transact_mut()
            .apply_update(Update::decode_v1(&change.update).unwrap())
            .unwrap();
        assert_eq!(peer_text.get_string(&peer.transact()), "hi!");
        // The same update again changes nothing.
        assert!(server.apply(&u1, MAX, BYTES, None).unwrap().is_noop());
    }

    #[test]
    fn replacement_keeps_concurrent_character_edits() {
        let mut server = TextDoc::seeded("the cat sat");
        let state = server.state();
        let (d1, t1) = client(11, &state);
        // A client types at the end while someone replaces a middle word.
        let typed = edit(&d1, |txn| t1.insert(txn, 11, " down"));
        let replaced = server.replace("the dog sat", BYTES, None).unwrap();
        assert_eq!(replaced.text, "the dog sat");
        assert!(!replaced.update.is_empty());
        let merged = server.apply(&typed, MAX, BYTES, None).unwrap();
        assert_eq!(merged.text, "the dog sat down");
    }

    #[test]
    fn replacement_diffs_by_character_with_unicode() {
        let e = edits("a😀b日c", "a😀B日cd");
        assert_eq!(
            e,
            vec![
                Edit {
                    at: 3,
                    delete: 1,
                    insert: "B".into()
                },
                Edit {
                    at: 6,
                    delete: 0,
                    insert: "d".into()
                }
            ]
        );
        let mut s = TextDoc::seeded("a😀b日c");
        assert_eq!(s.replace("a😀B日cd", BYTES, None).unwrap().text, "a😀B日cd");
        assert_eq!(s.text(), "a😀B日cd");
        assert!(s.replace("a😀B日cd", BYTES, None).unwrap().is_noop());
        assert_eq!(s.replace("", BYTES, None).unwrap().text, "");
        assert_eq!(s.text(), "");
    }

    #[test]
    fn refuses_bad_updates() {
        let state = TextDoc::seeded("abc").state();
        let code = |u: &[u8]| {
            let mut s = from_state(&state);
            match s.apply(u, MAX, BYTES, None) {
                Ok(c) => panic!("accepted {u:?}: {:?}", c.text),
                Err(e) => e,
            }
        };
        assert_eq!(code(b"\xff\xff\xff").code.as_str(), "bad_request");
        assert_eq!(code(&[]).code.as_str(), "bad_request");

        // Another shared type.
        let (d, _) = client(11, &state);
        let map = d.get_or_insert_map("other");
        let u = edit(&d, |txn| {
            yrs::Map::insert(&map, txn, "k", "v");
        });
        assert_eq!(code(&u).code.as_str(), "bad_request");

        // Formatting and embeds.
        let (d, t) = client(12, &state);
        let u = edit(&d, |txn| {
            t.format(
                txn,
                0,
                1,
                yrs::types::Attrs::from([("b".into(), true.into())]),
            )
        });
        assert_eq!(code(&u).code.as_str(), "bad_request");
        let (d, t) = client(13, &state);
        let u = edit(&d, |txn| {
            t.insert_embed(txn, 0, Any::from(1.0));
        });
        assert_eq!(code(&u).code.as_str(), "bad_request");

        // Control characters.
        let (d, t) = client(14, &state);
        let u = edit(&d, |txn| t.insert(txn, 0, "\u{7}"));
        assert_eq!(code(&u).code.as_str(), "bad_request");

        // Writing as the server.
        let (d, t) = client(SERVER_CLIENT.get(), &state);
        let u = edit(&d, |txn| t.insert(txn, 0, "x"));
        assert_eq!(code(&u).code.as_str(), "bad_request");
    }

    /// Found by the `text_update` fuzz target (fuzz/known-crashes/
    /// text_update/text_update-misses-client0-insert-past-clock): a block
    /// of client 0 past the server's clock reached the text but not what
    /// was stored nor `text_update`.
    #[test]
    fn refuses_server_client_blocks_past_its_clock() {
        const BASE: &str = "Hello, wörld 👋 世界";
        let first: &[u8] = &[
            0x01, 0x01, 0x0b, 0x00, 0x44, 0x00, 0x00, 0x03, 0x61, 0x62, 0x63, 0x00,
        ];
        let second: &[u8] = &[
            0x01, 0x01, 0x00, 0x72, 0xc4, 0x00, 0x0e, 0x00, 0x0f, 0x05, 0x59, 0xf0, 0x9f, 0x98,
            0x80, 0x00, 0xff, 0xff, 0xff,
        ];
        let mut doc = TextDoc::from_stored(None, BASE).unwrap();
        let stored = doc.apply(first, MAX, BYTES, None).unwrap().stored;
        let mut doc = TextDoc::from_stored(Some(&stored), "").unwrap();
        let before = doc.text();
        let e = doc.apply(second, MAX, BYTES, Some(&stored)).unwrap_err();
        assert_eq!(e.code.as_str(), "bad_request");
        assert_eq!(
            TextDoc::from_stored(Some(&stored), "").unwrap().text(),
            before
        );
    }

    /// Found by tests/text_pycrdt.rs (300 random bytes): a client id past 53
    /// bits trips yrs's `ClientID::new` debug assertion while decoding; outside
    /// `catch_unwind` that panic took the store's writer down (every later
    /// write `unavailable`).
    #[test]
    fn refuses_client_ids_past_53_bits() {
        let state = TextDoc::seeded("abc").state();
        let varuint = |mut v: u64| {
            let mut out = Vec::new();
            loop {
                let b = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(b);
                    return out;
                }
                out.push(b | 0x80);
            }
        };
        // One client block, one struct, client id 2^53, clock 0, then junk.
        let mut u = vec![1, 1];
        u.extend(varuint(1 << 53));
        u.extend([0, 4, 0]);
        let mut s = from_state(&state);
        let e = s.apply(&u, MAX, BYTES, None).unwrap_err();
        assert_eq!(e.code.as_str(), "bad_request");
    }

    #[test]
    fn refuses_updates_with_missing_dependencies() {
        let state = TextDoc::seeded("abc").state();
        let (d, t) = client(11, &state);
        let _first = edit(&d, |txn| t.insert(txn, 0, "1"));
        let second = edit(&d, |txn| t.insert(txn, 1, "2"));
        let mut s = from_state(&state);
        let e = s.apply(&second, MAX, BYTES, None).unwrap_err();
        assert_eq!(e.code.as_str(), "bad_request");
        assert_eq!(e.details.unwrap()["reason"], "resync");
    }

    #[test]
    fn enforces_the_length_and_state_limits() {
        let state = TextDoc::seeded("abc").state();
        let (d, t) = client(11, &state);
        let u = edit(&d, |txn| t.insert(txn, 0, "12345"));
        let mut s = from_state(&state);
        assert_eq!(
            s.apply(&u, 7, BYTES, None).unwrap_err().code.as_str(),
            "too_large"
        );
        let mut s = from_state(&state);
        assert_eq!(
            s.apply(&u, MAX, 10, None).unwrap_err().code.as_str(),
            "too_large"
        );
        let mut s = from_state(&state);
        assert_eq!(s.apply(&u, 8, BYTES, None).unwrap().text, "12345abc");
    }

    #[test]
    fn the_cache_matches_versions_and_stays_within_bounds() {
        let mut c = TextCache::new(100, 2);
        let doc = || TextDoc::seeded("x");
        c.put("b", "n1", 5, doc(), 40);
        assert!(c.take("b", "n1", 4).is_none(), "another version is stale");
        assert!(c.take("b", "n1", 5).is_none(), "the stale entry went");
        c.put("b", "n1", 5, doc(), 40);
        c.put("b", "n2", 6, doc(), 40);
        c.put("b", "n3", 7, doc(), 40);
        assert_eq!(c.len(), 2, "at most two documents");
        assert!(
            c.take("b", "n1", 5).is_none(),
            "the least recently used went"
        );
        assert_eq!(c.take("b", "n3", 7).unwrap().text(), "x");
        c.put("b", "big", 1, doc(), 101);
        assert!(
            c.take("b", "big", 1).is_none(),
            "larger than the budget: not kept"
        );
        c.put("b", "n4", 8, doc(), 70);
        assert!(c.take("b", "n2", 6).is_none(), "evicted for bytes");
        assert!(c.take("b", "n4", 8).is_some());
        assert!(c.is_empty());
    }

    #[test]
    fn a_warm_document_keeps_checking_each_update() {
        let mut server = TextDoc::seeded("abc");
        let state = server.state();
        let (d, t) = client(12, &state);
        let good = edit(&d, |txn| t.insert(txn, 0, "1"));
        server.apply(&good, MAX, BYTES, None).unwrap();
        let bad = edit(&d, |txn| {
            t.format(
                txn,
                0,
                1,
                yrs::types::Attrs::from([("b".into(), true.into())]),
            )
        });
        assert_eq!(
            server
                .apply(&bad, MAX, BYTES, None)
                .unwrap_err()
                .code
                .as_str(),
            "bad_request"
        );
    }

    #[test]
    fn stored_documents_append_updates_then_compact() {
        let mut doc = TextDoc::seeded("");
        let mut stored: Option<Vec<u8>> = None;
        for i in 0..(MAX_PENDING_UPDATES * 2 + 3) {
            let text = "x".repeat(i + 1);
            let change = doc.replace(&text, BYTES, stored.as_deref()).unwrap();
            let frames = frames(&change.stored).unwrap().len();
            assert!((1..=MAX_PENDING_UPDATES + 1).contains(&frames), "{frames}");
            let back = TextDoc::from_stored(Some(&change.stored), "").unwrap();
            assert_eq!(back.text(), text);
            stored = Some(change.stored);
        }
        assert!(TextDoc::from_stored(Some(&[9, 0, 0, 0, 1]), "").is_err());
        assert_eq!(TextDoc::from_stored(None, "seed").unwrap().text(), "seed");
    }

    #[test]
    fn deletions_alone_are_a_change() {
        let mut server = TextDoc::seeded("abc");
        let state = server.state();
        let (d, t) = client(11, &state);
        let u = edit(&d, |txn| t.remove_range(txn, 0, 1));
        let change = server.apply(&u, MAX, BYTES, None).unwrap();
        assert_eq!(change.text, "bc");
        assert!(!change.is_noop());
    }
}
/// The inputs the `text_update` fuzz target found (fuzz/corpus/text_update/
/// regression-*, in its format: flags, u16 length, a first update, a
/// second): each is now refused, or merges to what is stored.
#[cfg(test)]
mod fuzz_findings {
    use super::*;

    #[test]
    fn fuzz_findings_are_refused_or_consistent() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/text_update");
        for name in [
            "regression-stored-reloads-to-another-text",
            "regression-client0-insert-past-clock",
        ] {
            let data = std::fs::read(format!("{dir}/{name}")).expect(name);
            let n = u16::from_le_bytes([data[1], data[2]]) as usize;
            let (first, second) = data[3..].split_at(n.min(data.len() - 3));
            let base = "Hello, wörld 👋 世界";
            let mut doc = TextDoc::from_stored(None, base).unwrap();
            let stored = doc
                .apply(first, 10_000, 512 << 10, None)
                .ok()
                .filter(|c| !c.is_noop())
                .map(|c| c.stored);
            let mut doc = TextDoc::from_stored(stored.as_deref(), base).unwrap();
            let before = doc.text();
            match doc.apply(second, 10_000, 512 << 10, stored.as_deref()) {
                Ok(c) if !c.is_noop() => {
                    let back = TextDoc::from_stored(Some(&c.stored), "").unwrap();
                    assert_eq!(back.text(), c.text, "{name}");
                }
                Ok(c) => assert_eq!(c.text, before, "{name}"),
                Err(e) => assert_eq!(e.code.as_str(), "bad_request", "{name}"),
            }
        }
    }
}
