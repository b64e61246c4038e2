//! The live boards list (extension): `event: boards` `{reason, board}` on
//! the notification streams of the users whose list changed, over a real
//! SSE client; and the `unread` count after marking one notification read.

mod common;

use std::time::Duration;

use common::sse::{self, Block, Next};
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const STREAM: &str = "/api/notifications/stream";

/// Opens the caller's notification stream and reads up to the first `unread`.
async fn stream(c: &Client) -> sse::Sse {
    let mut st = sse::open(c, STREAM, &[]).await;
    assert!(st.next_block().await.retry.is_some());
    let b = st.next_event().await;
    assert_eq!(b.kind(), "unread", "{b:?}");
    st
}

/// The next `boards` block (skipping `unread`s and notifications), checked
/// for shape: no id, data `{reason, board}`.
async fn next_boards(st: &mut sse::Sse) -> Value {
    let got = st.events_until(|b| b.kind() == "boards").await;
    let b: &Block = got.last().unwrap();
    assert_eq!(b.id, None, "boards has no id: {b:?}");
    let v = b.json();
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");
    v
}

/// Nothing but comments, `unread` and notifications for a moment.
async fn no_boards(st: &mut sse::Sse) {
    loop {
        match st.next_event_within(Duration::from_millis(400)).await {
            Next::Block(b) if b.kind() == "boards" => panic!("unexpected {b:?}"),
            Next::Block(_) => continue,
            _ => return,
        }
    }
}

#[tokio::test]
async fn boards_changes_reach_the_users_concerned() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let ann2 = s.login("ann").await;
    let bob = s.user("bob").await;
    let carl = s.user("carl").await;
    let mut ann_tab = stream(&ann2).await;
    let mut bob_st = stream(&bob).await;
    let mut carl_st = stream(&carl).await;

    // Created: the owner's other tabs.
    let b = ann.board("Plans").await;
    assert_eq!(
        next_boards(&mut ann_tab).await,
        json!({"reason": "created", "board": b})
    );
    // Shared: the invitee who accepts.
    let r = ann.add_member(&b, &bob, "editor").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        next_boards(&mut bob_st).await,
        json!({"reason": "shared", "board": b})
    );
    // Renamed: every member.
    let r = bob
        .patch(&format!("/api/boards/{b}"), json!({"title": "Roadmap"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        next_boards(&mut ann_tab).await,
        json!({"reason": "renamed", "board": b})
    );
    assert_eq!(
        next_boards(&mut bob_st).await,
        json!({"reason": "renamed", "board": b})
    );
    // Left: the member who left.
    let r = bob
        .delete(&format!("/api/boards/{b}/members/{}", bob.id()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        next_boards(&mut bob_st).await,
        json!({"reason": "left", "board": b})
    );
    // Removed: the member removed.
    ann.add_member(&b, &carl, "viewer").await;
    assert_eq!(
        next_boards(&mut carl_st).await,
        json!({"reason": "shared", "board": b})
    );
    let r = ann
        .delete(&format!("/api/boards/{b}/members/{}", carl.id()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        next_boards(&mut carl_st).await,
        json!({"reason": "removed", "board": b})
    );
    // Deleted: every member it had.
    ann.add_member(&b, &bob, "viewer").await;
    assert_eq!(
        next_boards(&mut bob_st).await,
        json!({"reason": "shared", "board": b})
    );
    let r = ann.delete(&format!("/api/boards/{b}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(
        next_boards(&mut ann_tab).await,
        json!({"reason": "deleted", "board": b})
    );
    assert_eq!(
        next_boards(&mut bob_st).await,
        json!({"reason": "deleted", "board": b})
    );
    // Note changes and failed attempts tell no one; others are never told.
    let b2 = ann.board("Other").await;
    next_boards(&mut ann_tab).await;
    ann.note(&b2, json!({"x": 0, "y": 0, "text": "hi"})).await;
    let r = bob
        .patch(&format!("/api/boards/{b2}"), json!({"title": "x"}))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    no_boards(&mut ann_tab).await;
    no_boards(&mut bob_st).await;
    no_boards(&mut carl_st).await;
    s.stop().await;
}

#[tokio::test]
async fn marking_one_read_sends_the_unread_count() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    ann.add_member(&b, &bob, "editor").await;
    // Present on the board, so bob gets mentions only (no board.activity).
    let mut ws = common::ws::Ws::connect(&bob).await;
    let m = ws.subscribe(&b, None).await;
    assert_eq!(m.last().unwrap()["type"], "subscribed", "{m:?}");
    let mut st = stream(&bob).await;
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@bob one"}))
        .await;
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@bob two"}))
        .await;
    let got = st
        .events_until(|b| b.kind() == "unread" && b.json()["count"] == 2)
        .await;
    let first = got
        .iter()
        .find(|b| b.kind() == "notification")
        .unwrap()
        .id_u64();
    let r = bob
        .call(
            Method::POST,
            &format!("/api/notifications/{first}/read"),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let u = st.events_until(|b| b.kind() == "unread").await;
    assert_eq!(u.last().unwrap().json(), json!({"count": 1}));
    s.stop().await;
}
