//! Notes over REST: defaults and shapes, seq numbering, partial updates,
//! idempotent retries, the base_version conflict rule, limits, and board
//! renames (protocol.md, "Model" and "REST").

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// The sorted keys of a JSON object.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

const NOTE_KEYS: [&str; 11] = [
    "board",
    "color",
    "created_by",
    "h",
    "id",
    "text",
    "updated_at",
    "version",
    "w",
    "x",
    "y",
];

/// The board snapshot `{board, notes, seq}`.
async fn snap(c: &Client, b: &str) -> Value {
    let r = c.get(&format!("/api/boards/{b}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

async fn seq(c: &Client, b: &str) -> u64 {
    snap(c, b).await["seq"].as_u64().unwrap()
}

/// The note `id` as the snapshot shows it (Null when absent).
async fn note_in(c: &Client, b: &str, id: &str) -> Value {
    snap(c, b).await["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

fn notes_path(b: &str) -> String {
    format!("/api/boards/{b}/notes")
}

fn note_path(b: &str, n: &Value) -> String {
    format!("/api/boards/{b}/notes/{}", n["id"].as_str().unwrap())
}

/// A UUID-shaped client id, distinct per `n`.
fn uuid(n: u32) -> String {
    format!("7f0c9a52-3b7e-4c8f-9d0a-{n:012}")
}

/// A create with only x, y gets 201 `{note, seq}` with w 200, h 140, yellow, empty text, version == seq.
#[tokio::test]
async fn create_fills_defaults() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let r = ann
        .post(&notes_path(&b), json!({"x": 10, "y": -20.5}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(keys(&r.body), vec!["note", "seq"]);
    let n = &r.body["note"];
    assert_eq!(keys(n), NOTE_KEYS);
    assert_eq!(n["board"], b.as_str());
    assert_eq!(n["text"], "");
    assert_eq!(n["x"].as_f64(), Some(10.0));
    assert_eq!(n["y"].as_f64(), Some(-20.5));
    assert_eq!(n["w"].as_f64(), Some(200.0));
    assert_eq!(n["h"].as_f64(), Some(140.0));
    assert_eq!(n["color"], "yellow");
    assert_eq!(n["created_by"], ann.user);
    assert_eq!(n["version"], 1);
    assert_eq!(r.body["seq"], 1);
    assert!(n["id"].as_str().is_some_and(|s| !s.is_empty()));
    let at = n["updated_at"].as_str().unwrap();
    assert!(at.ends_with('Z') && at.contains('T'), "RFC 3339 UTC: {at}");
    // The snapshot holds the same note.
    assert_eq!(note_in(&ann, &b, n["id"].as_str().unwrap()).await, *n);
}

/// A create naming every field keeps them all, including a client-chosen id.
#[tokio::test]
async fn create_with_all_fields() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let id = uuid(1);
    for (i, color) in ["yellow", "pink", "blue", "green", "purple", "gray"]
        .iter()
        .enumerate()
    {
        let body = json!({
            "id": format!("{id}{i}"), "text": "hello @ann ✓", "x": 1.5, "y": 2.25,
            "w": 50, "h": 60.5, "color": color,
        });
        let r = ann.post(&notes_path(&b), body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let n = &r.body["note"];
        assert_eq!(n["id"], format!("{id}{i}"));
        assert_eq!(n["text"], "hello @ann ✓");
        assert_eq!(n["x"].as_f64(), Some(1.5));
        assert_eq!(n["y"].as_f64(), Some(2.25));
        assert_eq!(n["w"].as_f64(), Some(50.0));
        assert_eq!(n["h"].as_f64(), Some(60.5));
        assert_eq!(n["color"], *color);
        assert_eq!(n["version"], r.body["seq"]);
    }
}

/// Server-chosen note ids are distinct.
#[tokio::test]
async fn server_note_ids_are_unique() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let mut ids = std::collections::HashSet::new();
    for _ in 0..10 {
        let n = ann.note(&b, json!({"x": 0, "y": 0})).await;
        assert!(ids.insert(n["id"].as_str().unwrap().to_owned()));
    }
}

/// An update answers 200 `{note, seq}`; only the named fields change and version becomes the new seq.
#[tokio::test]
async fn update_changes_only_named_fields() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let n = ann
        .note(
            &b,
            json!({"x": 1, "y": 2, "text": "a", "color": "blue", "w": 10, "h": 20}),
        )
        .await;
    let r = ann.patch(&note_path(&b, &n), json!({"x": 99})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys(&r.body), vec!["note", "seq"]);
    assert_eq!(r.body["seq"], 2);
    let u = &r.body["note"];
    assert_eq!(keys(u), NOTE_KEYS);
    assert_eq!(u["version"], 2);
    assert_eq!(u["x"].as_f64(), Some(99.0));
    for f in ["id", "board", "y", "text", "color", "w", "h", "created_by"] {
        assert_eq!(u[f], n[f], "field {f} changed");
    }
    let r = ann
        .patch(
            &note_path(&b, &n),
            json!({"text": "b", "color": "green", "h": 33}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let u = &r.body["note"];
    assert_eq!(u["version"], 3);
    assert_eq!(u["text"], "b");
    assert_eq!(u["color"], "green");
    assert_eq!(u["h"].as_f64(), Some(33.0));
    assert_eq!(u["x"].as_f64(), Some(99.0));
    assert_eq!(u["w"].as_f64(), Some(10.0));
    assert_eq!(note_in(&ann, &b, n["id"].as_str().unwrap()).await, *u);
    // created_by stays the creator when someone else edits.
    let bob = s.user("bob").await;
    ann.add_member(&b, &bob, "editor").await;
    let r = bob.patch(&note_path(&b, &n), json!({"y": 7})).await;
    assert_eq!(r.body["note"]["created_by"], ann.user);
    // Setting text to empty is a real change, not "absent".
    let r = ann.patch(&note_path(&b, &n), json!({"text": ""})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["note"]["text"], "");
}

/// A delete answers 200 `{seq}`; the note leaves the snapshot and further changes to it are 404.
#[tokio::test]
async fn delete_returns_seq() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0})).await;
    let keep = ann.note(&b, json!({"x": 0, "y": 0})).await;
    let r = ann.delete(&note_path(&b, &n)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"seq": 3}));
    let sn = snap(&ann, &b).await;
    assert_eq!(sn["seq"], 3);
    assert_eq!(sn["notes"].as_array().unwrap().len(), 1);
    assert_eq!(sn["notes"][0]["id"], keep["id"]);
    assert_error(&ann.delete(&note_path(&b, &n)).await, 404, "not_found");
    assert_error(
        &ann.patch(&note_path(&b, &n), json!({"x": 1})).await,
        404,
        "not_found",
    );
    assert_eq!(seq(&ann, &b).await, 3);
}

/// Every committed change takes the next seq, 1, 2, 3 … with no gaps, across notes and renames.
#[tokio::test]
async fn seq_counts_without_gaps() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let created = ann.post("/api/boards", json!({"title": "x"})).await;
    assert_eq!(created.body["seq"], 0, "a new board starts at seq 0");
    assert_eq!(seq(&ann, &b).await, 0);
    let mut expect = 0;
    let mut last = Value::Null;
    for i in 0..3 {
        let r = ann.post(&notes_path(&b), json!({"x": i, "y": 0})).await;
        expect += 1;
        assert_eq!(r.body["seq"], expect);
        assert_eq!(r.body["note"]["version"], expect);
        last = r.body["note"].clone();
    }
    // A failed request takes no number.
    assert_error(
        &ann.patch(&format!("{}/nope", notes_path(&b)), json!({"x": 1}))
            .await,
        404,
        "not_found",
    );
    let r = ann.patch(&note_path(&b, &last), json!({"x": 5})).await;
    expect += 1;
    assert_eq!(r.body["seq"], expect);
    let r = ann
        .patch(&format!("/api/boards/{b}"), json!({"title": "R"}))
        .await;
    expect += 1;
    assert_eq!(r.body["seq"], expect);
    let r = ann.delete(&note_path(&b, &last)).await;
    expect += 1;
    assert_eq!(r.body["seq"], expect);
    assert_eq!(seq(&ann, &b).await, expect);
    let list = ann.get("/api/boards").await;
    let entry = list.body["boards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == b.as_str())
        .cloned()
        .unwrap();
    assert_eq!(entry["seq"], expect);
    // Seq is per board: the other board is untouched.
    assert_eq!(
        seq(&ann, created.body["id"].as_str().unwrap()).await,
        0,
        "seq is per board"
    );
}

/// A create retried with the same `op` returns the original 201 and body and creates one note only.
#[tokio::test]
async fn create_retry_with_op_is_idempotent() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let body = json!({"op": uuid(1), "x": 1, "y": 2, "text": "once"});
    let first = ann.post(&notes_path(&b), body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = ann.post(&notes_path(&b), body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body);
    // Even if the retry's body differs, the op was already applied.
    let changed = ann
        .post(
            &notes_path(&b),
            json!({"op": uuid(1), "x": 9, "y": 9, "text": "twice"}),
        )
        .await;
    assert_eq!(changed.status, 201);
    assert_eq!(changed.body, first.body);
    let sn = snap(&ann, &b).await;
    assert_eq!(sn["seq"], 1);
    assert_eq!(sn["notes"].as_array().unwrap().len(), 1);
    assert_eq!(sn["notes"][0]["text"], "once");
}

/// A create with the same client `id` twice returns the same answer and creates one note only.
#[tokio::test]
async fn create_retry_with_client_id_is_idempotent() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let body = json!({"id": uuid(7), "x": 1, "y": 2});
    let first = ann.post(&notes_path(&b), body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["note"]["id"], uuid(7));
    let again = ann.post(&notes_path(&b), body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body, first.body);
    let sn = snap(&ann, &b).await;
    assert_eq!(sn["seq"], 1);
    assert_eq!(sn["notes"].as_array().unwrap().len(), 1);
}

/// An update retried with the same `op` returns the original answer and is not re-applied over a later change.
#[tokio::test]
async fn update_retry_with_op_is_idempotent() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0})).await;
    let first = ann
        .patch(&note_path(&b, &n), json!({"op": uuid(2), "text": "mine"}))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let later = ann
        .patch(&note_path(&b, &n), json!({"text": "later"}))
        .await;
    assert_eq!(later.body["seq"], 3);
    let again = ann
        .patch(&note_path(&b, &n), json!({"op": uuid(2), "text": "mine"}))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(seq(&ann, &b).await, 3);
    assert_eq!(
        note_in(&ann, &b, n["id"].as_str().unwrap()).await["text"],
        "later"
    );
}

/// A delete retried with the same `op` returns the original 200 `{seq}` (not 404) and seq does not advance.
#[tokio::test]
async fn delete_retry_with_op_is_idempotent() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0})).await;
    let body = json!({"op": uuid(3)}).to_string();
    let hdr = [("content-type", "application/json")];
    let first = ann
        .raw(Method::DELETE, &note_path(&b, &n), body.clone(), &hdr)
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body, json!({"seq": 2}));
    let again = ann
        .raw(Method::DELETE, &note_path(&b, &n), body, &hdr)
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body, first.body);
    assert_eq!(seq(&ann, &b).await, 2);
    // Without the op, a second delete is simply not found.
    assert_error(&ann.delete(&note_path(&b, &n)).await, 404, "not_found");
}

/// An op id is scoped to its board: the same op on another board is a new mutation.
#[tokio::test]
async fn op_ids_are_per_board() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b1 = ann.board("one").await;
    let b2 = ann.board("two").await;
    let body = json!({"op": uuid(4), "x": 0, "y": 0});
    let r1 = ann.post(&notes_path(&b1), body.clone()).await;
    let r2 = ann.post(&notes_path(&b2), body).await;
    assert_eq!((r1.status, r2.status), (201, 201));
    assert_ne!(r1.body["note"]["id"], r2.body["note"]["id"]);
    assert_eq!(r2.body["note"]["board"], b2.as_str());
}

/// A rejected mutation is not remembered: retrying its op after fixing the cause applies it.
#[tokio::test]
async fn failed_op_is_not_remembered() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0})).await;
    ann.patch(&note_path(&b, &n), json!({"x": 2})).await;
    let stale = json!({"op": uuid(5), "base_version": 1, "x": 3});
    assert_error(&ann.patch(&note_path(&b, &n), stale).await, 409, "conflict");
    let fresh = json!({"op": uuid(5), "base_version": 2, "x": 3});
    let r = ann.patch(&note_path(&b, &n), fresh).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["note"]["x"], 3.0);
    assert_eq!(r.body["seq"], 3);
}

/// With base_version, changing a field modified since is 409 conflict with details.note = the current note, and nothing is written.
/// Text is the exception (protocol.md, "Collaborative text"): it never conflicts.
#[tokio::test]
async fn base_version_conflict_returns_current_note() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    ann.add_member(&b, &bob, "editor").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0, "text": "v1"})).await;
    let base = n["version"].as_u64().unwrap();
    let r = bob
        .patch(
            &note_path(&b, &n),
            json!({"base_version": base, "color": "blue"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seq_before = seq(&ann, &b).await;
    let current = note_in(&ann, &b, n["id"].as_str().unwrap()).await;
    let r = ann
        .patch(
            &note_path(&b, &n),
            json!({"base_version": base, "color": "pink"}),
        )
        .await;
    assert_error(&r, 409, "conflict");
    assert_eq!(r.body["error"]["details"]["note"], current);
    assert_eq!(r.body["error"]["details"]["fields"], json!(["color"]));
    assert_eq!(seq(&ann, &b).await, seq_before);
    assert_eq!(
        note_in(&ann, &b, n["id"].as_str().unwrap()).await,
        current,
        "a conflict writes nothing"
    );
    // A clash on one field refuses the whole update, other fields included.
    let r = ann
        .patch(
            &note_path(&b, &n),
            json!({"base_version": base, "color": "pink", "text": "ann", "x": 50}),
        )
        .await;
    assert_error(&r, 409, "conflict");
    let now = note_in(&ann, &b, n["id"].as_str().unwrap()).await;
    assert_eq!(
        (now["x"].as_f64(), now["text"].as_str()),
        (Some(0.0), Some("v1"))
    );
    // Rebasing on the current version succeeds.
    let r = ann
        .patch(
            &note_path(&b, &n),
            json!({"base_version": current["version"], "color": "pink"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["note"]["color"], "pink");
    // Text after someone else changed it: no conflict, the replacement applies.
    let r = bob.patch(&note_path(&b, &n), json!({"text": "bob"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ann
        .patch(
            &note_path(&b, &n),
            json!({"base_version": base, "text": "ann"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["note"]["text"], "ann");
}

/// With base_version, changing a field nobody touched since is fine even though another field changed.
#[tokio::test]
async fn base_version_different_fields_do_not_conflict() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0, "text": "v1"})).await;
    ann.patch(&note_path(&b, &n), json!({"text": "moved on"}))
        .await;
    ann.patch(&note_path(&b, &n), json!({"color": "pink"}))
        .await;
    let r = ann
        .patch(
            &note_path(&b, &n),
            json!({"base_version": 1, "x": 10, "y": 20, "w": 5, "h": 6}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let u = &r.body["note"];
    assert_eq!(u["text"], "moved on");
    assert_eq!(u["color"], "pink");
    assert_eq!(u["x"].as_f64(), Some(10.0));
    assert_eq!(u["version"], 4);
}

/// Without base_version, each field is last-writer-wins in seq order.
#[tokio::test]
async fn without_base_version_last_writer_wins() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    ann.add_member(&b, &bob, "editor").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0})).await;
    let r1 = ann
        .patch(&note_path(&b, &n), json!({"text": "ann", "x": 1}))
        .await;
    let r2 = bob.patch(&note_path(&b, &n), json!({"text": "bob"})).await;
    assert_eq!((r1.status, r2.status), (200, 200));
    let now = note_in(&ann, &b, n["id"].as_str().unwrap()).await;
    assert_eq!(now["text"], "bob");
    assert_eq!(now["x"].as_f64(), Some(1.0));
    assert_eq!(now["version"], r2.body["seq"]);
}

/// Note text over 10,000 characters is 413 too_large; 10,000 "é" (20,000 bytes) is accepted; nothing is written on refusal.
#[tokio::test]
async fn note_text_limit_counts_characters() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let r = ann
        .post(
            &notes_path(&b),
            json!({"x": 0, "y": 0, "text": "a".repeat(10_001)}),
        )
        .await;
    assert_error(&r, 413, "too_large");
    assert_eq!(seq(&ann, &b).await, 0);
    let r = ann
        .post(
            &notes_path(&b),
            json!({"x": 0, "y": 0, "text": "é".repeat(10_001)}),
        )
        .await;
    assert_error(&r, 413, "too_large");
    let long = "é".repeat(10_000);
    let r = ann
        .post(&notes_path(&b), json!({"x": 0, "y": 0, "text": long}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body["error"]);
    assert_eq!(r.body["note"]["text"], long.as_str());
    let n = r.body["note"].clone();
    let r = ann
        .patch(&note_path(&b, &n), json!({"text": "x".repeat(10_001)}))
        .await;
    assert_error(&r, 413, "too_large");
    assert_eq!(seq(&ann, &b).await, 1);
    assert_eq!(
        note_in(&ann, &b, n["id"].as_str().unwrap()).await["text"],
        long.as_str()
    );
    let r = ann
        .patch(&note_path(&b, &n), json!({"text": "😀".repeat(10_000)}))
        .await;
    assert_eq!(r.status, 200, "astral chars count once each");
}

/// With max_notes_per_board = 2 the third create is 413 too_large; deleting a note frees a place.
#[tokio::test]
async fn notes_per_board_limit() {
    let s = TestServer::start_with(|c| c.max_notes_per_board = 2).await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let first = ann.note(&b, json!({"x": 0, "y": 0})).await;
    ann.note(&b, json!({"x": 0, "y": 0})).await;
    let r = ann.post(&notes_path(&b), json!({"x": 0, "y": 0})).await;
    assert_error(&r, 413, "too_large");
    assert_eq!(seq(&ann, &b).await, 2);
    assert_eq!(snap(&ann, &b).await["notes"].as_array().unwrap().len(), 2);
    // The limit is per board.
    let other = ann.board("other").await;
    ann.note(&other, json!({"x": 0, "y": 0})).await;
    // Deleting frees a place.
    assert_eq!(ann.delete(&note_path(&b, &first)).await.status, 200);
    let r = ann.post(&notes_path(&b), json!({"x": 0, "y": 0})).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Renaming answers 200 with the Board (new title, new seq, caller's role); titles of 1–200 characters are accepted.
#[tokio::test]
async fn rename_board() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Before").await;
    let r = ann
        .patch(&format!("/api/boards/{b}"), json!({"title": "After"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        keys(&r.body),
        vec![
            "created_at",
            "id",
            "owner",
            "role",
            "seq",
            "title",
            "updated_at"
        ]
    );
    assert_eq!(r.body["id"], b.as_str());
    assert_eq!(r.body["title"], "After");
    assert_eq!(r.body["role"], "owner");
    assert_eq!(r.body["owner"], ann.user);
    assert_eq!(r.body["seq"], 1);
    let sn = snap(&ann, &b).await;
    assert_eq!(sn["board"]["title"], "After");
    for title in ["x".to_owned(), "é".repeat(200), " padded ".to_owned()] {
        let r = ann
            .patch(&format!("/api/boards/{b}"), json!({"title": title}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["title"], title.as_str());
    }
}

/// Blank, empty and over-200-character titles are refused (400) and the board keeps its title and seq.
#[tokio::test]
async fn rename_board_rejects_bad_titles() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Keep").await;
    for bad in [
        json!({"title": ""}),
        json!({"title": "   "}),
        json!({"title": "\t\n"}),
        json!({"title": "é".repeat(201)}),
        json!({"title": null}),
        json!({}),
    ] {
        let r = ann.patch(&format!("/api/boards/{b}"), bad.clone()).await;
        assert_error(&r, 400, "bad_request");
        let sn = snap(&ann, &b).await;
        assert_eq!(sn["board"]["title"], "Keep", "{bad}");
        assert_eq!(sn["seq"], 0, "{bad}");
    }
}

/// Concurrent creates each get a distinct seq, together exactly 1..=N with no gaps.
#[tokio::test]
async fn concurrent_creates_take_consecutive_seqs() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let n = 20u64;
    let mut tasks = Vec::new();
    for i in 0..n {
        let c = ann.clone();
        let p = notes_path(&b);
        tasks.push(tokio::spawn(async move {
            c.post(&p, json!({"x": i, "y": 0})).await
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["note"]["version"], r.body["seq"]);
        seqs.push(r.body["seq"].as_u64().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
    assert_eq!(seq(&ann, &b).await, n);
}

/// The same op sent concurrently is applied once, and every copy gets the same answer.
#[tokio::test]
async fn concurrent_retries_apply_once() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let body = json!({"op": uuid(9), "x": 1, "y": 1});
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = ann.clone();
        let p = notes_path(&b);
        let body = body.clone();
        tasks.push(tokio::spawn(async move { c.post(&p, body).await }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.text);
        answers.push(r.body);
    }
    assert!(answers.iter().all(|a| *a == answers[0]));
    let sn = snap(&ann, &b).await;
    assert_eq!(sn["seq"], 1);
    assert_eq!(sn["notes"].as_array().unwrap().len(), 1);
}
