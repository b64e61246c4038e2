//! Collaborative note text (protocol.md, "Collaborative text"): each note's
//! text is a Yjs document, one `Y.Doc` whose `Y.Text` named `text` holds it.
//!
//! [`TextDoc`] is the server's handle on one such document for the length of
//! one mutation: loaded from the stored state, changed by a client's update
//! ([`TextDoc::apply`]) or by a plain replacement ([`TextDoc::replace`],
//! applied as the smallest diff), checked, and encoded again, compacted (the
//! whole state as one update, deleted content garbage-collected). Nothing is
//! kept in memory between mutations, so the memory a document takes is
//! bounded by the stored state's limit and the number of mutations running.
//!
//! Pure (no I/O): the store calls it from [`crate::core::plan`].

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde_json::json;
use yrs::types::text::YChange;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, ClientID, Doc, GetString, OffsetKind, Options, Out, ReadTxn, StateVector, Text, TextRef,
    Transact, Update,
};

use super::error::ApiError;
use super::model::{chars, check_no_control};

/// The name of the document's one shared type.
pub const TEXT_NAME: &str = "text";

/// The Yjs client id the server writes under: seeding a document from plain
/// text and applying plain replacements. Clients must never use it (Yjs
/// picks random non-zero ids); an update that does is refused.
pub const SERVER_CLIENT: ClientID = ClientID::new(0);

/// One note's text document, for the length of one mutation or read.
pub struct TextDoc {
    doc: Doc,
    text: TextRef,
}

/// What a change did to the document.
#[derive(Debug, PartialEq)]
pub struct TextChange {
    /// The update as merged: what a client holding the previous state needs
    /// (the `text_update` of the event). Empty when nothing changed.
    pub update: Vec<u8>,
    /// The text after the change.
    pub text: String,
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
        Self { doc, text }
    }

    /// The document of a note: decoded from its stored `state`, or, for a
    /// note that has none yet, seeded with `text` as one insertion by
    /// [`SERVER_CLIENT`] (deterministic, so every read of an unedited note
    /// hands out the same document).
    ///
    /// # Errors
    /// When the stored state does not decode (a corrupt row).
    pub fn load(state: Option<&[u8]>, text: &str) -> Result<Self, String> {
        let d = Self::empty();
        match state {
            Some(bytes) => {
                let update = Update::decode_v1(bytes).map_err(|e| format!("text state: {e}"))?;
                d.doc
                    .transact_mut()
                    .apply_update(update)
                    .map_err(|e| format!("text state: {e}"))?;
            }
            None if !text.is_empty() => {
                let mut txn = d.doc.transact_mut();
                d.text.insert(&mut txn, 0, text);
            }
            None => {}
        }
        Ok(d)
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
    ) -> Result<TextChange, ApiError> {
        // Decoding can panic too (yrs asserts client ids fit in 53 bits, in
        // debug builds): inside catch_unwind like the merge below, or one
        // request takes the store's writer down.
        let decoded = match catch_unwind(|| Update::decode_v1(update)) {
            Ok(Ok(decoded)) => decoded,
            Ok(Err(e)) => {
                return Err(ApiError::bad_request(format!(
                    "update does not decode as a Yjs update (v1): {e}"
                ))
                .with_details(json!({"field": "update"})))
            }
            Err(_) => {
                return Err(
                    ApiError::bad_request("update does not decode as a Yjs update (v1)")
                        .with_details(json!({"field": "update"})),
                )
            }
        };
        let server_clock = self.state_vector_clock(SERVER_CLIENT);
        let before = self.doc.transact().state_vector();
        let old_text = self.text();
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
        if self.state_vector_clock(SERVER_CLIENT) > server_clock {
            return Err(ApiError::bad_request(format!(
                "Yjs client id {SERVER_CLIENT} is the server's; use a random non-zero client id"
            ))
            .with_details(json!({"field": "update"})));
        }
        self.check_plain()?;
        let text = self.text();
        check_text(&text, max_chars)?;
        let merged = self.diff_since(&before, &old_text, &text);
        self.check_size(max_state_bytes)?;
        Ok(TextChange {
            update: merged,
            text,
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
    ) -> Result<TextChange, ApiError> {
        let old = self.text();
        if old == new_text {
            return Ok(TextChange {
                update: Vec::new(),
                text: old,
            });
        }
        let before = self.doc.transact().state_vector();
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
        let update = self.diff_since(&before, &old, new_text);
        self.check_size(max_state_bytes)?;
        Ok(TextChange {
            update,
            text: new_text.to_owned(),
        })
    }

    fn state_vector_clock(&self, client: ClientID) -> u32 {
        self.doc.transact().state_vector().get(&client)
    }

    /// What changed since `before` (state vector and text): the new structs
    /// and the delete set, or nothing when the document gained nothing. With
    /// only plain text inside, any deletion that matters changes the text.
    fn diff_since(&self, before: &StateVector, old_text: &str, new_text: &str) -> Vec<u8> {
        let txn = self.doc.transact();
        if &txn.state_vector() == before && old_text == new_text {
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
        for chunk in self.text.diff(&txn, YChange::identity) {
            if chunk.attributes.is_some() {
                return refuse("the update adds formatting");
            }
            if !matches!(chunk.insert, Out::Any(Any::String(_))) {
                return refuse("the update embeds something that is not text");
            }
        }
        Ok(())
    }

    fn check_size(&self, max_state_bytes: usize) -> Result<(), ApiError> {
        let size = self.state().len();
        if size > max_state_bytes {
            return Err(ApiError::too_large(format!(
                "the note's text document would take {size} bytes, more than {max_state_bytes}"
            ))
            .with_details(json!({"field": "update", "limit": max_state_bytes})));
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 10_000;
    const BYTES: usize = 1 << 20;

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
        let a = TextDoc::load(None, "hello").unwrap();
        let b = TextDoc::load(None, "hello").unwrap();
        assert_eq!(a.state(), b.state());
        assert_eq!(a.text(), "hello");
        let again = TextDoc::load(Some(&a.state()), "ignored").unwrap();
        assert_eq!(again.text(), "hello");
    }

    #[test]
    fn concurrent_edits_merge_in_any_order() {
        let server = TextDoc::load(None, "abc").unwrap();
        let state = server.state();
        let (d1, t1) = client(11, &state);
        let (d2, t2) = client(22, &state);
        let u1 = edit(&d1, |txn| t1.insert(txn, 1, "X"));
        let u2 = edit(&d2, |txn| t2.insert(txn, 3, "Y"));
        let mut results = Vec::new();
        for order in [[&u1, &u2], [&u2, &u1]] {
            let mut s = TextDoc::load(Some(&state), "").unwrap();
            for u in order {
                s.apply(u, MAX, BYTES).unwrap();
            }
            results.push(s.text());
        }
        assert_eq!(results, vec!["aXbcY", "aXbcY"]);
    }

    #[test]
    fn apply_returns_what_a_peer_needs() {
        let mut server = TextDoc::load(None, "hi").unwrap();
        let state = server.state();
        let (peer, peer_text) = client(33, &state);
        let (d1, t1) = client(11, &state);
        let u1 = edit(&d1, |txn| t1.insert(txn, 2, "!"));
        let change = server.apply(&u1, MAX, BYTES).unwrap();
        assert_eq!(change.text, "hi!");
        peer.transact_mut()
            .apply_update(Update::decode_v1(&change.update).unwrap())
            .unwrap();
        assert_eq!(peer_text.get_string(&peer.transact()), "hi!");
        // The same update again changes nothing.
        assert!(server.apply(&u1, MAX, BYTES).unwrap().is_noop());
    }

    #[test]
    fn replacement_keeps_concurrent_character_edits() {
        let mut server = TextDoc::load(None, "the cat sat").unwrap();
        let state = server.state();
        let (d1, t1) = client(11, &state);
        // A client types at the end while someone replaces a middle word.
        let typed = edit(&d1, |txn| t1.insert(txn, 11, " down"));
        let replaced = server.replace("the dog sat", BYTES).unwrap();
        assert_eq!(replaced.text, "the dog sat");
        assert!(!replaced.update.is_empty());
        let merged = server.apply(&typed, MAX, BYTES).unwrap();
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
        let mut s = TextDoc::load(None, "a😀b日c").unwrap();
        assert_eq!(s.replace("a😀B日cd", BYTES).unwrap().text, "a😀B日cd");
        assert_eq!(s.text(), "a😀B日cd");
        assert!(s.replace("a😀B日cd", BYTES).unwrap().is_noop());
        assert_eq!(s.replace("", BYTES).unwrap().text, "");
        assert_eq!(s.text(), "");
    }

    #[test]
    fn refuses_bad_updates() {
        let state = TextDoc::load(None, "abc").unwrap().state();
        let code = |u: &[u8]| {
            let mut s = TextDoc::load(Some(&state), "").unwrap();
            match s.apply(u, MAX, BYTES) {
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

    /// Found by tests/text_pycrdt.rs (300 random bytes): a client id past 53
    /// bits trips yrs's `ClientID::new` debug assertion while decoding; that
    /// panic took the store's writer down (every later write `unavailable`).
    #[test]
    fn refuses_client_ids_past_53_bits() {
        let state = TextDoc::load(None, "abc").unwrap().state();
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
        let mut s = TextDoc::load(Some(&state), "").unwrap();
        assert_eq!(
            s.apply(&u, MAX, BYTES).unwrap_err().code.as_str(),
            "bad_request"
        );
    }

    #[test]
    fn refuses_updates_with_missing_dependencies() {
        let state = TextDoc::load(None, "abc").unwrap().state();
        let (d, t) = client(11, &state);
        let _first = edit(&d, |txn| t.insert(txn, 0, "1"));
        let second = edit(&d, |txn| t.insert(txn, 1, "2"));
        let mut s = TextDoc::load(Some(&state), "").unwrap();
        let e = s.apply(&second, MAX, BYTES).unwrap_err();
        assert_eq!(e.code.as_str(), "bad_request");
        assert_eq!(e.details.unwrap()["reason"], "resync");
    }

    #[test]
    fn enforces_the_length_and_state_limits() {
        let state = TextDoc::load(None, "abc").unwrap().state();
        let (d, t) = client(11, &state);
        let u = edit(&d, |txn| t.insert(txn, 0, "12345"));
        let mut s = TextDoc::load(Some(&state), "").unwrap();
        assert_eq!(
            s.apply(&u, 7, BYTES).unwrap_err().code.as_str(),
            "too_large"
        );
        let mut s = TextDoc::load(Some(&state), "").unwrap();
        assert_eq!(s.apply(&u, MAX, 10).unwrap_err().code.as_str(), "too_large");
        let mut s = TextDoc::load(Some(&state), "").unwrap();
        assert_eq!(s.apply(&u, 8, BYTES).unwrap().text, "12345abc");
    }

    #[test]
    fn deletions_alone_are_a_change() {
        let mut server = TextDoc::load(None, "abc").unwrap();
        let state = server.state();
        let (d, t) = client(11, &state);
        let u = edit(&d, |txn| t.remove_range(txn, 0, 1));
        let change = server.apply(&u, MAX, BYTES).unwrap();
        assert_eq!(change.text, "bc");
        assert!(!change.is_noop());
    }
}
