//! Collaborative text over real sockets (protocol.md, "Collaborative text"
//! and "Restore and history"): note.text_state, note.edit and text_update
//! converge on every client and in the store whatever the order; plain
//! replacements merge as the smallest diff; bad updates commit nothing;
//! resume and op retries apply an edit exactly once; note.restore.
//!
//! The clients hold yrs documents (the Yjs port the server uses too);
//! tests/text_pycrdt.rs checks the same wire with an independent client.

mod common;

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use common::ws::Ws;
use common::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::{
    ClientID, Doc, GetString, OffsetKind, Options, ReadTxn, Text, TextRef, Transact, Update,
};

/// A client's copy of a note's document.
struct Replica {
    doc: Doc,
    text: TextRef,
}

impl Replica {
    fn new(client: u64) -> Self {
        let doc = Doc::with_options(Options {
            client_id: ClientID::new(client),
            offset_kind: OffsetKind::Utf16,
            ..Options::default()
        });
        let text = doc.get_or_insert_text("text");
        Self { doc, text }
    }

    /// Applies a base64 update from the server.
    fn apply_b64(&self, b64: &str) {
        let bytes = B64.decode(b64).expect("base64");
        self.doc
            .transact_mut()
            .apply_update(Update::decode_v1(&bytes).expect("decodes"))
            .expect("applies");
    }

    fn string(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    /// Makes a local change and returns its update, base64.
    fn change(&self, f: impl FnOnce(&TextRef, &mut yrs::TransactionMut<'_>)) -> String {
        let before = self.doc.transact().state_vector();
        f(&self.text, &mut self.doc.transact_mut());
        B64.encode(self.doc.transact().encode_diff_v1(&before))
    }

    /// Inserts `s` at a UTF-16 offset.
    fn insert(&self, at: u32, s: &str) -> String {
        self.change(|t, txn| t.insert(txn, at, s))
    }

    fn len(&self) -> u32 {
        self.text.len(&self.doc.transact())
    }
}

/// A board with one note, its owner, and `n` more editors.
async fn setup(s: &TestServer, text: &str, n: usize) -> (String, String, Vec<Client>) {
    let owner = s.user("owner").await;
    let b = owner.board("Text").await;
    let note = owner.note(&b, json!({"x": 0, "y": 0, "text": text})).await;
    let mut clients = vec![owner];
    for i in 0..n {
        let c = s.user(&format!("ed{i}")).await;
        let r = clients[0].add_member(&b, &c, "editor").await;
        assert_eq!(r.status, 200, "{}", r.text);
        clients.push(c);
    }
    (b, note["id"].as_str().unwrap().to_owned(), clients)
}

async fn text_state(ws: &mut Ws, b: &str, n: &str) -> (String, u64) {
    let r = ws
        .rpc("note.text_state", json!({"board": b, "id": n}))
        .await;
    assert_eq!(r["type"], "result", "{r}");
    (
        r["result"]["state"].as_str().unwrap().to_owned(),
        r["result"]["version"].as_u64().unwrap(),
    )
}

async fn rest_text(c: &Client, b: &str, n: &str) -> String {
    let r = c.get(&format!("/api/boards/{b}")).await;
    r.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == n)
        .map(|x| x["text"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Applies every `text_update` among `msgs` for note `n` to `r`; returns the
/// last seq seen.
fn apply_events(r: &Replica, msgs: &[Value], n: &str) -> u64 {
    let mut last = 0;
    for m in msgs {
        if m["type"] == "event" {
            last = m["seq"].as_u64().unwrap_or(last);
            if m["kind"] == "note.updated" && m["id"] == n {
                if let Some(u) = m["text_update"].as_str() {
                    r.apply_b64(u);
                }
            }
        }
    }
    last
}

/// Three clients type at random places at once, many rounds, each without
/// waiting for the others: every replica, the store and a fresh
/// text_state end equal, whatever order the server merged them in.
#[tokio::test]
async fn concurrent_edits_converge_everywhere() {
    let s = TestServer::start().await;
    let (b, n, clients) = setup(&s, "shared: ", 2).await;
    let mut sockets = Vec::new();
    let mut replicas = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let mut ws = Ws::connect(c).await;
        ws.subscribe(&b, None).await;
        let (state, _) = text_state(&mut ws, &b, &n).await;
        let r = Replica::new(100 + i as u64);
        r.apply_b64(&state);
        assert_eq!(r.string(), "shared: ");
        sockets.push(ws);
        replicas.push(r);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let words = ["a", "bc", "日本", "😀", "xyz ", "\n", "é"];
    for round in 0..15 {
        let mut sent = Vec::new();
        for (i, (ws, r)) in sockets.iter_mut().zip(&replicas).enumerate() {
            let len = r.len();
            let current = r.string();
            // Offsets (UTF-16) of character boundaries: never split a surrogate pair.
            let mut bounds = vec![0u32];
            for ch in current.chars() {
                bounds.push(bounds.last().unwrap() + ch.len_utf16() as u32);
            }
            let update = if round % 4 == 3 && bounds.len() > 4 {
                let k = rng.random_range(0..bounds.len() - 3);
                let (from, to) = (bounds[k], bounds[k + 2]);
                r.change(|t, txn| t.remove_range(txn, from, to - from))
            } else {
                let at = bounds[rng.random_range(0..bounds.len())];
                r.insert(at, words[(round + i) % words.len()])
            };
            assert!(len == *bounds.last().unwrap());
            let id = ws
                .send_rpc(
                    "note.edit",
                    json!({"board": b, "id": n, "update": update, "op": format!("e{i}-{round}")}),
                )
                .await;
            sent.push(id);
        }
        for ((ws, r), id) in sockets.iter_mut().zip(&replicas).zip(sent) {
            let msgs = ws
                .recv_until(|v| {
                    v["type"] == "result" && v["id"] == json!(id) || v["type"] == "error"
                })
                .await;
            assert_eq!(msgs.last().unwrap()["type"], "result", "{:?}", msgs.last());
            apply_events(r, &msgs, &n);
        }
    }
    // Drain every event (a barrier each), apply, compare.
    let want = rest_text(&clients[0], &b, &n).await;
    for (ws, r) in sockets.iter_mut().zip(&replicas) {
        let msgs = ws.sync().await;
        apply_events(r, &msgs, &n);
        // Messages read while waiting for results were queued: sync returned them too.
        assert_eq!(r.string(), want);
    }
    let (state, _) = text_state(&mut sockets[0], &b, &n).await;
    let fresh = Replica::new(999);
    fresh.apply_b64(&state);
    assert_eq!(fresh.string(), want);
    assert!(!want.contains('\u{FFFD}'), "{want}");
}

/// A plain replacement (REST PATCH, no base_version) racing a character
/// edit made against the older text: both survive.
#[tokio::test]
async fn plain_replacement_races_character_edits() {
    let s = TestServer::start().await;
    let (b, n, clients) = setup(&s, "the cat sat", 1).await;
    let mut ws = Ws::connect(&clients[1]).await;
    ws.subscribe(&b, None).await;
    let (state, _) = text_state(&mut ws, &b, &n).await;
    let r = Replica::new(5);
    r.apply_b64(&state);
    let typed = r.insert(11, " down");
    // The replacement commits first; the edit was made before it.
    let p = clients[0]
        .patch(
            &format!("/api/boards/{b}/notes/{n}"),
            json!({"text": "the dog sat"}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    let msgs = ws.sync().await;
    let ev = msgs
        .iter()
        .find(|m| m["type"] == "event" && m["kind"] == "note.updated")
        .expect("the replacement's event");
    assert_eq!(ev["delta"]["text"], "the dog sat");
    assert!(ev["text_update"].is_string(), "{ev}");
    let res = ws
        .rpc("note.edit", json!({"board": b, "id": n, "update": typed}))
        .await;
    assert_eq!(res["type"], "result", "{res}");
    assert_eq!(res["result"]["note"]["text"], "the dog sat down");
    apply_events(&r, &msgs, &n);
    assert_eq!(r.string(), "the dog sat down");
    assert_eq!(rest_text(&clients[0], &b, &n).await, "the dog sat down");
    // A replacement naming a stale base_version is no conflict for text
    // (protocol.md, "Collaborative text"): it applies as the smallest diff
    // from the current text, with its text_update, over REST and RPC alike.
    let base = p.body["note"]["version"].as_u64().unwrap();
    let stale = clients[0]
        .patch(
            &format!("/api/boards/{b}/notes/{n}"),
            json!({"text": "the cat sat down", "base_version": base}),
        )
        .await;
    assert_eq!(stale.status, 200, "{}", stale.text);
    assert_eq!(stale.body["note"]["text"], "the cat sat down");
    let msgs = ws.sync().await;
    apply_events(&r, &msgs, &n);
    assert_eq!(
        r.string(),
        "the cat sat down",
        "the event carries the change"
    );
    let res = ws
        .rpc(
            "note.update",
            json!({"board": b, "id": n, "text": "the hat", "base_version": 1}),
        )
        .await;
    assert_eq!(res["type"], "result", "{res}");
    assert_eq!(res["result"]["note"]["text"], "the hat");
    assert_eq!(rest_text(&clients[0], &b, &n).await, "the hat");
    // base_version still works for the other fields.
    let moved = clients[0]
        .patch(
            &format!("/api/boards/{b}/notes/{n}"),
            json!({"x": 5, "base_version": 0}),
        )
        .await;
    assert_error(&moved, 409, "conflict");
}

/// Malformed and hostile updates are bad_request; too long is too_large;
/// nothing is committed either way; REST answers the same.
#[tokio::test]
async fn bad_updates_commit_nothing() {
    let s = TestServer::start_with(|c| c.max_note_text = 20).await;
    let (b, n, clients) = setup(&s, "abc", 0).await;
    let c = &clients[0];
    let mut ws = Ws::connect(c).await;
    let (state, _) = text_state(&mut ws, &b, &n).await;
    let seq0 = c.get(&format!("/api/boards/{b}")).await.body["seq"].clone();
    let other_root = {
        let r = Replica::new(8);
        r.apply_b64(&state);
        let map = r.doc.get_or_insert_map("evil");
        let before = r.doc.transact().state_vector();
        yrs::Map::insert(&map, &mut r.doc.transact_mut(), "k", "v");
        let u = B64.encode(r.doc.transact().encode_diff_v1(&before));
        u
    };
    let missing_dep = {
        let r = Replica::new(9);
        r.apply_b64(&state);
        r.insert(0, "1");
        r.insert(1, "2")
    };
    let cases = [
        (json!("not base64!"), "bad_request"),
        (json!(B64.encode([0xff, 0xff, 0xff])), "bad_request"),
        (json!(""), "bad_request"),
        (json!(other_root), "bad_request"),
        (json!(missing_dep), "bad_request"),
        (json!(12), "bad_request"),
    ];
    for (update, want) in &cases {
        let r = ws
            .rpc("note.edit", json!({"board": b, "id": n, "update": update}))
            .await;
        assert_eq!(r["error"]["code"], *want, "{update}: {r}");
        let rest = c
            .post(
                &format!("/api/boards/{b}/notes/{n}/edit"),
                json!({"update": update}),
            )
            .await;
        assert_error(&rest, 400, want);
    }
    let long = {
        let r = Replica::new(10);
        r.apply_b64(&state);
        r.insert(3, &"x".repeat(18))
    };
    let r = ws
        .rpc("note.edit", json!({"board": b, "id": n, "update": long}))
        .await;
    assert_eq!(r["error"]["code"], "too_large", "{r}");
    let r = ws
        .rpc(
            "note.edit",
            json!({"board": b, "id": n, "update": missing_dep}),
        )
        .await;
    assert_eq!(r["error"]["details"]["reason"], "resync", "{r}");
    assert_eq!(c.get(&format!("/api/boards/{b}")).await.body["seq"], seq0);
    assert_eq!(rest_text(c, &b, &n).await, "abc");
    // A good update over REST works, and its answer is the merged note.
    let ok = {
        let r = Replica::new(11);
        r.apply_b64(&state);
        r.insert(3, "!")
    };
    let r = c
        .post(
            &format!("/api/boards/{b}/notes/{n}/edit"),
            json!({"update": ok, "op": "rest-1"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["note"]["text"], "abc!");
    let ts = c
        .get(&format!("/api/boards/{b}/notes/{n}/text_state"))
        .await;
    assert_eq!(ts.status, 200, "{}", ts.text);
    assert_eq!(ts.body["version"], r.body["seq"]);
    // A viewer may read the document but not edit it.
    let v = s.user("viewer").await;
    assert_eq!(c.add_member(&b, &v, "viewer").await.status, 200);
    let vs = v
        .get(&format!("/api/boards/{b}/notes/{n}/text_state"))
        .await;
    assert_eq!(vs.status, 200);
    let ve = v
        .post(
            &format!("/api/boards/{b}/notes/{n}/edit"),
            json!({"update": ok}),
        )
        .await;
    assert_error(&ve, 403, "forbidden");
    let outsider = s.user("outsider").await;
    let os = outsider
        .get(&format!("/api/boards/{b}/notes/{n}/text_state"))
        .await;
    assert_error(&os, 404, "not_found");
}

/// A client drops mid-session: it resumes with `since`, gets the edits it
/// missed as text_update, and its op retry applies once.
#[tokio::test]
async fn resume_and_retry_apply_each_edit_once() {
    let s = TestServer::start().await;
    let (b, n, clients) = setup(&s, "", 1).await;
    let mut a = Ws::connect(&clients[0]).await;
    let subscribed = a.subscribe(&b, None).await;
    let mut seq = subscribed.last().unwrap()["seq"].as_u64().unwrap();
    let (state, _) = text_state(&mut a, &b, &n).await;
    let ra = Replica::new(21);
    ra.apply_b64(&state);
    let mine = ra.insert(0, "mine ");
    let id = a
        .send_rpc(
            "note.edit",
            json!({"board": b, "id": n, "update": mine, "op": "op-mine"}),
        )
        .await;
    // Dropped before reading the answer.
    let _ = id;
    a.kill();
    // The other editor types meanwhile.
    let mut bws = Ws::connect(&clients[1]).await;
    let (state_b, _) = text_state(&mut bws, &b, &n).await;
    let rb = Replica::new(22);
    rb.apply_b64(&state_b);
    let theirs = rb.insert(rb.len(), "theirs");
    let r = bws
        .rpc("note.edit", json!({"board": b, "id": n, "update": theirs}))
        .await;
    assert_eq!(r["type"], "result", "{r}");
    // Reconnect, resume, retry with the same op.
    let mut a = Ws::connect(&clients[0]).await;
    let msgs = a.subscribe(&b, Some(seq)).await;
    seq = apply_events(&ra, &msgs, &n).max(seq);
    let retry = a
        .rpc(
            "note.edit",
            json!({"board": b, "id": n, "update": mine, "op": "op-mine"}),
        )
        .await;
    assert_eq!(retry["type"], "result", "{retry}");
    let msgs = a.sync().await;
    apply_events(&ra, &msgs, &n);
    let want = rest_text(&clients[0], &b, &n).await;
    assert_eq!(want.matches("mine ").count(), 1, "{want}");
    assert_eq!(want.matches("theirs").count(), 1, "{want}");
    assert_eq!(ra.string(), want);
    assert!(seq >= 2);
}

/// note.restore brings a deleted note back, as it was, for everyone.
#[tokio::test]
async fn restore_brings_a_deleted_note_back() {
    let s = TestServer::start().await;
    let (b, n, clients) = setup(&s, "keep me", 1).await;
    let mut watcher = Ws::connect(&clients[1]).await;
    watcher.subscribe(&b, None).await;
    let path = format!("/api/boards/{b}/notes/{n}");
    assert_eq!(
        clients[0]
            .patch(&path, json!({"color": "blue", "x": 42}))
            .await
            .status,
        200
    );
    assert_eq!(clients[0].delete(&path).await.status, 200);
    let mut ws = Ws::connect(&clients[0]).await;
    let r = ws
        .rpc("note.restore", json!({"board": b, "id": n, "op": "undo-1"}))
        .await;
    assert_eq!(r["type"], "result", "{r}");
    let note = &r["result"]["note"];
    assert_eq!(
        (
            note["text"].as_str(),
            note["color"].as_str(),
            note["x"].as_f64()
        ),
        (Some("keep me"), Some("blue"), Some(42.0))
    );
    assert_eq!(note["version"], r["result"]["seq"]);
    // Retried: the same answer, nothing new.
    let again = ws
        .rpc("note.restore", json!({"board": b, "id": n, "op": "undo-1"}))
        .await;
    assert_eq!(again["result"], r["result"]);
    let msgs = watcher.sync().await;
    let created: Vec<&Value> = msgs
        .iter()
        .filter(|m| m["type"] == "event" && m["kind"] == "note.created")
        .collect();
    assert_eq!(created.len(), 1, "{msgs:?}");
    assert_eq!(created[0]["note"]["text"], "keep me");
    assert_eq!(rest_text(&clients[1], &b, &n).await, "keep me");
    // Not deleted: conflict. Unknown: not found. REST form too.
    let c = ws.rpc("note.restore", json!({"board": b, "id": n})).await;
    assert_eq!(c["error"]["code"], "conflict", "{c}");
    let u = clients[0]
        .post(&format!("/api/boards/{b}/notes/nope/restore"), json!({}))
        .await;
    assert_error(&u, 404, "not_found");
    assert_eq!(clients[0].delete(&path).await.status, 200);
    let rest = clients[0]
        .call(reqwest::Method::POST, &format!("{path}/restore"), None)
        .await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    // The text document came back with it: edits continue from it.
    let (state, _) = text_state(&mut ws, &b, &n).await;
    let r = Replica::new(31);
    r.apply_b64(&state);
    assert_eq!(r.string(), "keep me");
    let up = r.insert(7, "!");
    let e = ws
        .rpc("note.edit", json!({"board": b, "id": n, "update": up}))
        .await;
    assert_eq!(e["result"]["note"]["text"], "keep me!", "{e}");
    tokio::time::sleep(Duration::from_millis(1)).await;
}
