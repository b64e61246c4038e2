//! Quotas and idempotent board mutations over real sockets: the per-user
//! board quota, the per-user REST mutation rate, and `op` on board create,
//! rename and delete (REST and WebSocket RPC).

mod common;

use std::time::Duration;

use common::ws::Ws;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Over `--max-boards-per-user` a create is 429 `rate_limited` with the
/// limit (no Retry-After: time does not free a place); deleting one does.
#[tokio::test]
async fn board_quota_per_user() {
    let mut s = TestServer::start_with(|c| c.max_boards_per_user = 2).await;
    let (ann, bob) = (s.user("ann").await, s.user("bob").await);
    let first = ann.board("One").await;
    ann.board("Two").await;
    let r = ann.post("/api/boards", json!({"title": "Three"})).await;
    assert_error(&r, 429, "rate_limited");
    assert_eq!(r.body["error"]["details"]["limit"], 2);
    assert_eq!(r.body["error"]["details"]["quota"], "boards_per_user");
    assert!(r.headers.get("retry-after").is_none());
    // Membership of someone else's board does not count: only owned boards.
    bob.board("Bob's").await;
    let mut ws = Ws::connect(&ann).await;
    let e = ws.rpc("board.create", json!({"title": "Three"})).await;
    assert_eq!(e["error"]["code"], "rate_limited", "{e}");
    assert_eq!(
        ann.delete(&format!("/api/boards/{first}")).await.status,
        204
    );
    ann.board("Three").await;
    s.stop().await;
}

/// Over `--rest-mutation-rate` (burst 2×) a REST mutation is 429
/// `rate_limited` with `Retry-After` and `details.retry_after`; reads, the
/// auth endpoints, other users and WebSocket RPCs are not counted.
#[tokio::test]
async fn rest_mutation_rate_per_user() {
    let mut s = TestServer::start_with(|c| c.rest_mutation_rate = 1).await;
    let (ann, bob) = (s.user("ann").await, s.user("bob").await);
    let b = ann.board("One").await;
    let notes = format!("/api/boards/{b}/notes");
    // The burst is 2 (one went on the board); a slow machine may refill one more.
    let mut created = 0;
    let refused = loop {
        let r = ann.post(&notes, json!({"x": 1, "y": 1})).await;
        if r.status != 201 {
            break r;
        }
        created += 1;
        assert!(created < 5, "never refused");
    };
    assert_error(&refused, 429, "rate_limited");
    assert_eq!(refused.body["error"]["details"]["retry_after"], 1);
    assert_eq!(refused.body["error"]["details"]["limit"], 1);
    assert_eq!(
        refused
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let r = ann.delete(&format!("/api/boards/{b}")).await;
    assert_error(&r, 429, "rate_limited");
    // A refused call is not applied; reads are not limited.
    let snap = ann.get(&format!("/api/boards/{b}")).await;
    assert_eq!(snap.status, 200);
    assert_eq!(snap.body["notes"].as_array().map(Vec::len), Some(created));
    assert_eq!(bob.board("Bob's").await.len(), 36, "another user's bucket");
    let login = s
        .anon()
        .post(
            "/api/auth/login",
            json!({"username": "ann", "password": "password123"}),
        )
        .await;
    assert_eq!(login.status, 200, "auth endpoints are not limited");
    // RPCs over a WebSocket have their own per-connection limit (--rpc-rate).
    let mut ws = Ws::connect(&ann).await;
    let n = ws
        .rpc("note.create", json!({"board": b, "x": 1, "y": 1}))
        .await;
    assert_eq!(n["type"], "result", "{n}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = ann.post(&notes, json!({"x": 1, "y": 1})).await;
    assert_eq!(r.status, 201, "a token came back: {}", r.text);
    s.stop().await;
}

/// A retried `POST /api/boards` with the same op answers 201 with the
/// first board (whatever the retry's title) and creates no second board;
/// the same op over WebSocket RPC is the same create.
#[tokio::test]
async fn board_create_op_replays() {
    let mut s = TestServer::start().await;
    let (ann, bob) = (s.user("ann").await, s.user("bob").await);
    let first = ann
        .post("/api/boards", json!({"title": "Plan", "op": "c-1"}))
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let retry = ann
        .post("/api/boards", json!({"title": "Other", "op": "c-1"}))
        .await;
    assert_eq!(retry.status, 201);
    assert_eq!(retry.body, first.body);
    let mut ws = Ws::connect(&ann).await;
    let rpc = ws
        .rpc("board.create", json!({"title": "Plan", "op": "c-1"}))
        .await;
    assert_eq!(rpc["result"], first.body, "{rpc}");
    let a = ws
        .rpc("board.create", json!({"title": "WS", "op": "c-2"}))
        .await;
    let b = ws
        .rpc("board.create", json!({"title": "WS", "op": "c-2"}))
        .await;
    assert_eq!(a["result"]["id"], b["result"]["id"], "{a} {b}");
    assert!(a["result"]["id"].is_string());
    let list = ann.get("/api/boards").await;
    assert_eq!(
        list.body["boards"].as_array().map(Vec::len),
        Some(2),
        "{}",
        list.text
    );
    // The op is the caller's: bob's op of the same name is a board of his own.
    let bobs = bob
        .post("/api/boards", json!({"title": "Bob", "op": "c-1"}))
        .await;
    assert_eq!(bobs.status, 201);
    assert_ne!(bobs.body["id"], first.body["id"]);
    let bad = ann
        .post("/api/boards", json!({"title": "Plan", "op": "no spaces"}))
        .await;
    assert_error(&bad, 400, "bad_request");
    s.stop().await;
}

/// A retried rename answers the first Board and changes nothing; a retried
/// delete answers 204 although the board is gone (a delete without that op
/// is 404), over REST and over WebSocket RPC.
#[tokio::test]
async fn board_rename_and_delete_op_replays() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Plan").await;
    let path = format!("/api/boards/{b}");
    let r1 = ann.patch(&path, json!({"title": "A", "op": "r-1"})).await;
    assert_eq!(r1.status, 200, "{}", r1.text);
    let r2 = ann.patch(&path, json!({"title": "B", "op": "r-1"})).await;
    assert_eq!((r2.status, &r2.body), (200, &r1.body));
    let snap = ann.get(&path).await;
    assert_eq!(
        (
            snap.body["board"]["title"].clone(),
            snap.body["seq"].clone()
        ),
        (json!("A"), json!(1))
    );
    let del = |op: Option<&str>| {
        let body = op.map(|o| json!({ "op": o }));
        ann.call(Method::DELETE, &path, body)
    };
    assert_eq!(del(Some("d-1")).await.status, 204);
    assert_eq!(del(Some("d-1")).await.status, 204, "a retry of the delete");
    assert_error(&del(Some("d-2")).await, 404, "not_found");
    assert_error(&del(None).await, 404, "not_found");

    let b2 = ann.board("Second").await;
    let mut ws = Ws::connect(&ann).await;
    let rename = |title: &str| json!({"board": b2, "title": title, "op": "r-2"});
    let a = ws.rpc("board.rename", rename("X")).await;
    let again = ws.rpc("board.rename", rename("Y")).await;
    assert_eq!(a["result"], again["result"], "{a} {again}");
    assert_eq!(a["result"]["board"]["title"], "X");
    for _ in 0..2 {
        let d = ws
            .rpc("board.delete", json!({"board": b2, "op": "d-3"}))
            .await;
        assert_eq!(d["type"], "result", "{d}");
        assert_eq!(d["result"], Value::Null);
    }
    // REST and RPC share the op: the RPC delete's retry over REST is 204 too.
    let r = ann
        .call(
            Method::DELETE,
            &format!("/api/boards/{b2}"),
            Some(json!({"op": "d-3"})),
        )
        .await;
    assert_eq!(r.status, 204);
    s.stop().await;
}
