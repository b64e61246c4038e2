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

/// Every response says nosniff, no framing and a referrer policy; API
/// responses carry a deny-all Content-Security-Policy; plain HTTP has no
/// HSTS and the plain cookie name.
#[tokio::test]
async fn security_headers_on_every_response() {
    let s = TestServer::start().await;
    let anon = s.anon();
    let http = http_client();
    for path in ["/api/me", "/healthz", "/api/nope"] {
        let r = http.get(format!("{}{path}", s.base)).send().await.unwrap();
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert_eq!(
            h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
        assert!(!h.contains_key("strict-transport-security"));
    }
    let r = anon
        .post(
            "/api/auth/signup",
            serde_json::json!({"username": "hdr", "password": "password123"}),
        )
        .await;
    assert!(r.cookie.is_some(), "plain HTTP keeps the plain cookie name");
}
