//! What the sharing screens read over REST: username suggestions for
//! "invite by username" (`GET /api/users/suggest`) and board thumbnails
//! (`GET /api/boards/{b}/thumbnail.svg`), both extensions (docs/protocol.md).

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

/// Bob and carol join ann's board through one editor link.
async fn share(ann: &Client, b: &str, with: &[&Client]) {
    let r = ann
        .post(
            &format!("/api/boards/{b}/invites"),
            json!({"role": "editor"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_owned();
    for c in with {
        let r = c
            .call(Method::POST, &format!("/api/invites/{token}/accept"), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

fn usernames(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert!(u["id"].is_string(), "a User: {u}");
            u["username"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Suggestions list, by name and case-insensitively, the people sharing a
/// board with the caller, never the caller nor strangers, at most 10.
#[tokio::test]
async fn suggestions_come_only_from_shared_boards() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let bobby = s.user("bobby").await;
    let _stranger = s.user("bobcat").await;
    let b = ann.board("Plan").await;
    share(&ann, &b, &[&bob, &bobby]).await;
    assert_eq!(
        usernames(&ann.get("/api/users/suggest?q=BO").await),
        ["bob", "bobby"]
    );
    assert_eq!(
        usernames(&bob.get("/api/users/suggest?q=b").await),
        ["bobby"],
        "never the caller"
    );
    assert_eq!(
        usernames(&bob.get("/api/users/suggest?q=an").await),
        ["ann"]
    );
    assert!(usernames(&ann.get("/api/users/suggest?q=zed").await).is_empty());

    // At most 10.
    let mut many = Vec::new();
    for i in 0..12 {
        many.push(s.user(&format!("user{i:02}")).await);
    }
    let refs: Vec<&Client> = many.iter().collect();
    share(&ann, &b, &refs).await;
    let got = usernames(&ann.get("/api/users/suggest?q=user").await);
    assert_eq!(got.len(), 10);
    assert_eq!(got[0], "user00");
}

/// `q` is required, 1–64 characters; the caller must be signed in.
#[tokio::test]
async fn suggestions_check_their_input() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    assert_error(&ann.get("/api/users/suggest").await, 400, "bad_request");
    assert_error(&ann.get("/api/users/suggest?q=").await, 400, "bad_request");
    let long = "a".repeat(65);
    assert_error(
        &ann.get(&format!("/api/users/suggest?q={long}")).await,
        400,
        "bad_request",
    );
    assert_eq!(
        ann.get(&format!("/api/users/suggest?q={}", "a".repeat(64)))
            .await
            .status,
        200
    );
    assert_error(
        &ann.get("/api/users/suggest?q=a&x=1").await,
        400,
        "bad_request",
    );
    assert_error(
        &s.anon().get("/api/users/suggest?q=a").await,
        401,
        "unauthorized",
    );
}

/// The thumbnail is an SVG of the board's notes (colours, no text), tagged
/// with the board's seq: the same tag answers 304, a change a new picture;
/// non-members get 404.
#[tokio::test]
async fn thumbnail_draws_notes_and_revalidates_by_seq() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Plan").await;
    ann.note(
        &b,
        json!({"x": 0, "y": 0, "color": "pink", "text": "<script>alert('x')</script>"}),
    )
    .await;
    ann.note(&b, json!({"x": 400, "y": 300, "color": "blue"}))
        .await;
    let path = format!("/api/boards/{b}/thumbnail.svg");
    let r = ann.get(&path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["content-type"], "image/svg+xml");
    assert_eq!(r.headers["cache-control"], "private, no-cache");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert!(r.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert!(r
        .text
        .starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_eq!(
        r.text.matches("<rect").count(),
        3,
        "two notes and one text bar: {}",
        r.text
    );
    assert!(r.text.contains("#fbcfe8") && r.text.contains("#bfdbfe"));
    assert!(!r.text.contains("script") && !r.text.contains("alert"));
    let etag = r.headers["etag"].to_str().unwrap().to_owned();

    let again = ann
        .raw(Method::GET, &path, "", &[("if-none-match", etag.as_str())])
        .await;
    assert_eq!(again.status, 304);
    assert!(again.text.is_empty());
    assert_eq!(again.headers["etag"], etag.as_str());

    ann.note(&b, json!({"x": 800, "y": 0, "color": "green"}))
        .await;
    let changed = ann
        .raw(Method::GET, &path, "", &[("if-none-match", etag.as_str())])
        .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.headers["etag"], etag.as_str());
    assert!(changed.text.contains("#bbf7d0"));

    assert_error(&bob.get(&path).await, 404, "not_found");
    // A non-member's If-None-Match learns nothing either.
    let guess = bob
        .raw(Method::GET, &path, "", &[("if-none-match", "*")])
        .await;
    assert_eq!(guess.status, 404);
    assert_error(&s.anon().get(&path).await, 401, "unauthorized");
    assert_error(
        &ann.get("/api/boards/nope/thumbnail.svg").await,
        404,
        "not_found",
    );
}

/// `--thumbnail-notes` caps the notes drawn.
#[tokio::test]
async fn thumbnail_draws_at_most_the_configured_notes() {
    let s = TestServer::start_with(|c| c.thumbnail_notes = 2).await;
    let ann = s.user("ann").await;
    let b = ann.board("Plan").await;
    for i in 0..4 {
        ann.note(&b, json!({"x": i * 250, "y": 0})).await;
    }
    let r = ann.get(&format!("/api/boards/{b}/thumbnail.svg")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text.matches("<rect").count(), 2, "{}", r.text);
}
