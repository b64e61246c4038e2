//! A first walk through the REST surface over a real socket.

mod common;

use common::*;
use serde_json::json;

/// Sign up, create a board, add a note, read it back: the README's curl walkthrough.
#[tokio::test]
async fn walkthrough() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    let n = ann.note(&b, json!({"x": 1, "y": 2, "text": "hi"})).await;
    assert_eq!(n["version"], 1);
    let snap = ann.get(&format!("/api/boards/{b}")).await;
    assert_eq!(snap.status, 200);
    assert_eq!(snap.body["seq"], 1);
    assert_eq!(snap.body["notes"][0]["text"], "hi");
    assert_error(&s.anon().get("/api/me").await, 401, "unauthorized");
    s.stop().await;
}
