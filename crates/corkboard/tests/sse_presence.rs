//! Presence across transports: an SSE board stream makes its user present
//! exactly like a WebSocket subscription, and presence travels on the stream
//! as `event: presence` without an id. The servers run with the default
//! 15 s keep-alive: a closed stream must be noticed without waiting for a write.

mod common;

use std::time::Duration;

use common::sse::{self, Block};
use common::ws::Ws;
use common::*;
use serde_json::{json, Value};

fn stream_path(b: &str) -> String {
    format!("/api/boards/{b}/stream")
}

/// Opens a board stream and reads up to its `presence` members list (returned).
async fn present(c: &Client, b: &str) -> (sse::Sse, Value) {
    let mut st = sse::open(c, &stream_path(b), &[]).await;
    let blocks = st.events_until(|b| b.kind() == "presence").await;
    let members = blocks.last().unwrap();
    assert!(members.id.is_none(), "{members:?}");
    (st, members.json())
}

/// The next WebSocket presence message (other messages are skipped).
async fn ws_presence(ws: &mut Ws) -> Value {
    ws.recv_until(|v| v["type"] == "presence")
        .await
        .pop()
        .unwrap()
}

/// `GET /api/boards/{b}/presence` as `c`: username → connections.
async fn online(c: &Client, b: &str) -> Vec<(String, u64)> {
    let r = c.get(&format!("/api/boards/{b}/presence")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut v: Vec<(String, u64)> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p["since"].is_string(), "{p}");
            (
                p["user"]["username"].as_str().unwrap().to_owned(),
                p["connections"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn names(list: &Value) -> Vec<&str> {
    let mut v: Vec<&str> = list
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|p| p["user"]["username"].as_str().unwrap())
        .collect();
    v.sort();
    v
}

/// Holding a stream makes the user present: a WebSocket subscriber sees
/// `joined`, the presence endpoint lists them; closing it → `left`.
#[tokio::test]
async fn sse_stream_makes_the_user_present() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "viewer").await;
    let mut ws = Ws::connect(&ann).await;
    ws.subscribe(&b, None).await;
    assert_eq!(names(&ws_presence(&mut ws).await["members"]), ["ann"]);

    let (st, members) = present(&bob, &b).await;
    assert_eq!(names(&members["members"]), ["ann", "bob"]);
    let joined = ws_presence(&mut ws).await;
    assert_eq!(names(&joined["joined"]), ["bob"], "{joined}");
    assert_eq!(joined["board"], json!(b));
    assert_eq!(joined["joined"][0]["connections"], 1);
    assert_eq!(joined["joined"][0]["user"]["id"], json!(bob.id()));
    assert_eq!(
        online(&ann, &b).await,
        [("ann".to_owned(), 1), ("bob".to_owned(), 1)]
    );

    drop(st);
    let left = ws_presence(&mut ws).await;
    assert_eq!(names(&left["left"]), ["bob"], "{left}");
    assert_eq!(online(&bob, &b).await, [("ann".to_owned(), 1)]);
    s.stop().await;
}

/// One WebSocket tab and one SSE stream: connections 2, one `joined`, and
/// `left` only when both are gone.
#[tokio::test]
async fn websocket_and_stream_count_as_two_connections() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "editor").await;
    let mut watcher = Ws::connect(&ann).await;
    watcher.subscribe(&b, None).await;
    ws_presence(&mut watcher).await;

    let mut tab = Ws::connect(&bob).await;
    tab.subscribe(&b, None).await;
    ws_presence(&mut tab).await;
    assert_eq!(names(&ws_presence(&mut watcher).await["joined"]), ["bob"]);
    let (st, members) = present(&bob, &b).await;
    let bob_entry = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"]["username"] == "bob")
        .unwrap()
        .clone();
    assert_eq!(bob_entry["connections"], 2, "{members}");
    assert_eq!(
        online(&ann, &b).await,
        [("ann".to_owned(), 1), ("bob".to_owned(), 2)]
    );

    // Closing the stream: still present with one connection, nobody hears of it.
    drop(st);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while online(&ann, &b).await != [("ann".to_owned(), 1), ("bob".to_owned(), 1)] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stream not noticed closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let quiet = watcher.sync().await;
    assert!(
        quiet.iter().all(|m| m["type"] != "presence"),
        "no presence change while one connection remains: {quiet:?}"
    );

    // The other way round: a stream again, then the tab goes, then the stream.
    let (st, _) = present(&bob, &b).await;
    tab.close().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while online(&ann, &b).await != [("ann".to_owned(), 1), ("bob".to_owned(), 1)] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "tab not noticed closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let quiet = watcher.sync().await;
    assert!(quiet.iter().all(|m| m["type"] != "presence"), "{quiet:?}");
    drop(st);
    let left = ws_presence(&mut watcher).await;
    assert_eq!(names(&left["left"]), ["bob"], "{left}");
    assert_eq!(online(&ann, &b).await, [("ann".to_owned(), 1)]);
    s.stop().await;
}

/// An SSE stream receives `event: presence` (no `id:`) with `joined` and
/// `left` when another member comes and goes, as the WebSocket message.
#[tokio::test]
async fn stream_receives_joined_and_left() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let carol = s.user("carol").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "viewer").await;
    ann.add_member(&b, &carol, "viewer").await;
    let (mut st, members) = present(&ann, &b).await;
    assert_eq!(members["type"], "presence");
    assert_eq!(names(&members["members"]), ["ann"]);
    assert!(members.get("joined").is_none() && members.get("left").is_none());

    let is_presence = |b: &Block| b.kind() == "presence";
    let mut ws = Ws::connect(&bob).await;
    ws.subscribe(&b, None).await;
    let joined = st.events_until(is_presence).await.pop().unwrap();
    assert_eq!(joined.id, None, "{joined:?}");
    assert_eq!(
        joined.raw,
        format!("event: presence\ndata: {}", joined.data),
        "no id line"
    );
    let j = joined.json();
    assert_eq!(names(&j["joined"]), ["bob"], "{j}");
    assert!(j.get("members").is_none());

    let (carols, _) = present(&carol, &b).await;
    let j = st.events_until(is_presence).await.pop().unwrap().json();
    assert_eq!(names(&j["joined"]), ["carol"], "{j}");

    ws.close().await;
    let l = st.events_until(is_presence).await.pop().unwrap().json();
    assert_eq!(names(&l["left"]), ["bob"], "{l}");
    drop(carols);
    let l = st.events_until(is_presence).await.pop().unwrap().json();
    assert_eq!(names(&l["left"]), ["carol"], "{l}");
    assert_eq!(l["left"][0]["connections"], 0);
    assert_eq!(online(&ann, &b).await, [("ann".to_owned(), 1)]);
    // Presence is for members only.
    let eve = s.user("eve").await;
    let r = eve.get(&format!("/api/boards/{b}/presence")).await;
    assert_error(&r, 404, "not_found");
    s.stop().await;
}
