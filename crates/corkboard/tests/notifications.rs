//! Notifications: mentions, invites and board activity; the REST list and
//! marking read; the notification stream with `unread` counts and resume.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::sse::{self, Block};
use common::ws::Ws;
use common::*;
use corkboard::core::{ManualClock, Timestamp};
use serde_json::{json, Value};

const STREAM: &str = "/api/notifications/stream";

/// `GET /api/notifications[?after=…]`, asserted 200.
async fn list(c: &Client, after: Option<&str>) -> Resp {
    let path = match after {
        Some(a) => format!("/api/notifications?after={a}"),
        None => "/api/notifications".to_owned(),
    };
    let r = c.get(&path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

/// The caller's notifications of `kind` (newest first).
async fn of_kind(c: &Client, kind: &str) -> Vec<Value> {
    list(c, None).await.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

/// Polls the list until `pred` holds for it (5 s); returns it.
async fn wait_until(c: &Client, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let all = list(c, None).await.body["notifications"]
            .as_array()
            .unwrap()
            .clone();
        if pred(&all) {
            return all;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 5 s; have {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn activity_on<'a>(all: &'a [Value], board: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|n| n["kind"] == "board.activity" && n["board"] == json!(board))
        .collect()
}

/// Waits until the notifier has handled every event committed so far: a
/// fresh board with `watcher` as a (non-present) member gets a change, and
/// the notifier handles events in commit order, so once the watcher's
/// activity notification for it exists, everything before it was handled.
async fn notifier_barrier(owner: &Client, watcher: &Client) {
    let b = owner.board("barrier").await;
    let r = owner.add_member(&b, watcher, "viewer").await;
    assert_eq!(r.status, 200, "{}", r.text);
    owner.note(&b, json!({"x": 0, "y": 0})).await;
    wait_until(watcher, "barrier activity", |all| {
        !activity_on(all, &b).is_empty()
    })
    .await;
}

async fn set_text(c: &Client, b: &str, note: &str, body: Value) {
    let r = c
        .patch(&format!("/api/boards/{b}/notes/{note}"), body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Subscribes `c` over WebSocket to `b` (so `c` is present there and gets no
/// activity notifications); keep the returned connection open.
async fn be_present(c: &Client, b: &str) -> Ws {
    let mut ws = Ws::connect(c).await;
    let m = ws.subscribe(b, None).await;
    assert_eq!(m.last().unwrap()["type"], "subscribed", "{m:?}");
    ws
}

/// Opens the notification stream and reads `retry:` and the first `unread`.
async fn notif_stream(c: &Client, headers: &[(&str, &str)]) -> (sse::Sse, u64) {
    let mut st = sse::open(c, STREAM, headers).await;
    assert_eq!(st.headers["content-type"], "text/event-stream");
    assert_eq!(st.headers["cache-control"], "no-cache");
    assert!(st.next_block().await.retry.is_some());
    let mut replayed = Vec::new();
    let unread = loop {
        let b = st.next_event().await;
        if b.kind() == "unread" {
            break b;
        }
        replayed.push(b);
    };
    assert!(replayed.is_empty(), "no position, no replay: {replayed:?}");
    (st, unread_count(&unread))
}

fn unread_count(b: &Block) -> u64 {
    assert_eq!(b.kind(), "unread", "{b:?}");
    assert_eq!(b.id, None, "unread has no id: {b:?}");
    assert_eq!(b.raw, format!("event: unread\ndata: {}", b.data));
    let v = b.json();
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
    v["count"].as_u64().expect("count")
}

fn notification(b: &Block) -> Value {
    assert_eq!(b.kind(), "notification", "{b:?}");
    let v = b.json();
    assert_eq!(
        b.id.as_deref(),
        v["id"].as_str(),
        "the SSE id is the notification id"
    );
    assert_eq!(
        b.raw,
        format!("event: notification\nid: {}\ndata: {}", b.id_u64(), b.data)
    );
    v
}

fn id_of(n: &Value) -> u64 {
    let s = n["id"]
        .as_str()
        .unwrap_or_else(|| panic!("id is a string: {n}"));
    assert!(s.bytes().all(|c| c.is_ascii_digit()), "{n}");
    s.parse().unwrap()
}

/// `@bob` in a created note, and in an update that newly adds it, notifies
/// bob once each; edits that keep it, non-members and oneself get nothing.
#[tokio::test]
async fn mentions_notify_members_once_per_new_mention() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let carol = s.user("carol").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "editor").await;

    let n1 = ann
        .note(&b, json!({"x": 0, "y": 0, "text": "hi @bob"}))
        .await;
    let n1 = n1["id"].as_str().unwrap().to_owned();
    let m = of_kind(&bob, "mention").await;
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0]["board"], json!(b));
    assert_eq!(m[0]["note"], json!(n1));
    assert_eq!(m[0]["by"], ann.user);
    assert_eq!(m[0]["text"], "hi @bob");
    assert_eq!(m[0]["read"], false);
    assert!(m[0]["at"].is_string());
    id_of(&m[0]);

    // Still mentioned, not newly: nothing; another field: nothing.
    set_text(&ann, &b, &n1, json!({"text": "hi @bob, again"})).await;
    set_text(&ann, &b, &n1, json!({"x": 50})).await;
    assert_eq!(of_kind(&bob, "mention").await.len(), 1);

    // A non-member and oneself: nothing.
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@carol look"}))
        .await;
    ann.note(&b, json!({"x": 0, "y": 0, "text": "note to @ann self"}))
        .await;
    assert!(of_kind(&carol, "mention").await.is_empty());
    assert!(of_kind(&ann, "mention").await.is_empty());

    // An update that newly adds the mention.
    let n2 = ann.note(&b, json!({"x": 0, "y": 0, "text": "plain"})).await;
    let n2 = n2["id"].as_str().unwrap().to_owned();
    set_text(&ann, &b, &n2, json!({"text": "now @BOB."})).await;
    let m = of_kind(&bob, "mention").await;
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0]["note"], json!(n2), "newest first");
    assert_eq!(m[0]["text"], "now @BOB.");
    assert!(id_of(&m[0]) > id_of(&m[1]));

    // Bob mentioning himself: nothing.
    bob.note(&b, json!({"x": 0, "y": 0, "text": "@bob me"}))
        .await;
    assert_eq!(of_kind(&bob, "mention").await.len(), 2);
    // Carol, not a member, got nothing at all (no activity either).
    notifier_barrier(&ann, &bob).await;
    assert_eq!(list(&carol, None).await.body["notifications"], json!([]));
    s.stop().await;
}

/// An invite naming a user gives them an `invited` notification whose text
/// is the token (live on their stream too); unnamed invites notify nobody.
#[tokio::test]
async fn invite_naming_a_user_notifies_them() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    let (mut st, unread) = notif_stream(&bob, &[]).await;
    assert_eq!(unread, 0);
    let r = ann
        .post(
            &format!("/api/boards/{b}/invites"),
            json!({"role": "editor", "username": "bob"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let n = notification(&st.next_event().await);
    assert_eq!(n["kind"], "invited");
    assert_eq!(n["text"], json!(token));
    assert_eq!(n["board"], json!(b));
    assert_eq!(n["by"], ann.user);
    assert_eq!(n["read"], false);
    assert_eq!(unread_count(&st.next_event().await), 1);
    let listed = of_kind(&bob, "invited").await;
    assert_eq!(listed, [n]);
    // The token works.
    let r = bob
        .call(
            reqwest::Method::POST,
            &format!("/api/invites/{token}/accept"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "editor");
    // An invite naming nobody notifies nobody; an unknown name is 404.
    let r = ann
        .post(
            &format!("/api/boards/{b}/invites"),
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = ann
        .post(
            &format!("/api/boards/{b}/invites"),
            json!({"role": "viewer", "username": "nobody"}),
        )
        .await;
    assert_error(&r, 404, "not_found");
    assert_eq!(of_kind(&bob, "invited").await.len(), 1);
    s.stop().await;
}

/// A member not on the board gets one `board.activity` per board per
/// minute: a second change within the minute adds none, one after it adds one.
#[tokio::test]
async fn board_activity_is_coalesced_to_one_a_minute() {
    let clock = ManualClock::new(Timestamp(1_795_460_311_000));
    let mut s = TestServer::start_with_clock(|_| {}, Arc::new(clock.clone())).await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "viewer").await;

    ann.note(&b, json!({"x": 0, "y": 0})).await;
    let all = wait_until(&bob, "first activity", |all| {
        !activity_on(all, &b).is_empty()
    })
    .await;
    let first = activity_on(&all, &b)[0].clone();
    assert_eq!(first["by"], ann.user);
    assert_eq!(first["text"], "ann changed “Sprint”");
    assert_eq!(first["read"], false);
    assert!(first.get("note").is_none(), "{first}");

    // Within the minute: nothing more.
    clock.advance(30_000);
    ann.note(&b, json!({"x": 1, "y": 0})).await;
    notifier_barrier(&ann, &bob).await;
    let all = list(&bob, None).await.body["notifications"].clone();
    assert_eq!(activity_on(all.as_array().unwrap(), &b).len(), 1, "{all}");

    // A minute after the first: another.
    clock.advance(31_000);
    let r = ann
        .patch(&format!("/api/boards/{b}"), json!({"title": "Renamed"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let all = wait_until(&bob, "second activity", |all| {
        activity_on(all, &b).len() == 2
    })
    .await;
    let newest = activity_on(&all, &b)[0];
    assert_eq!(newest["text"], "ann changed “Renamed”");
    assert!(id_of(newest) > id_of(&first));
    assert!(newest["at"].as_str() > first["at"].as_str());
    // The author is never notified of their own changes.
    assert!(of_kind(&ann, "board.activity").await.is_empty());
    s.stop().await;
}

/// Members present on the board (WebSocket or SSE) get no activity
/// notifications; one who leaves the board's page gets one again.
#[tokio::test]
async fn present_members_get_no_activity() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let carol = s.user("carol").await;
    let dave = s.user("dave").await;
    let b = ann.board("Sprint").await;
    for c in [&bob, &carol, &dave] {
        ann.add_member(&b, c, "viewer").await;
    }
    let mut ws = be_present(&bob, &b).await;
    let mut st = sse::open(&carol, &format!("/api/boards/{b}/stream"), &[]).await;
    st.events_until(|b| b.kind() == "presence").await;

    ann.note(&b, json!({"x": 0, "y": 0})).await;
    wait_until(&dave, "dave's activity", |all| {
        activity_on(all, &b).len() == 1
    })
    .await;
    notifier_barrier(&ann, &dave).await;
    assert!(of_kind(&bob, "board.activity").await.is_empty());
    assert!(of_kind(&carol, "board.activity").await.is_empty());

    // Leaving the board: the next change notifies them.
    ws.send(json!({"type": "unsubscribe", "board": b})).await;
    ws.recv_until(|v| v["type"] == "unsubscribed").await;
    drop(st);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = ann.get(&format!("/api/boards/{b}/presence")).await;
        if r.body["members"] == json!([]) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", r.text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ann.note(&b, json!({"x": 1, "y": 0})).await;
    for c in [&bob, &carol] {
        wait_until(c, "activity after leaving", |all| {
            activity_on(all, &b).len() == 1
        })
        .await;
    }
    s.stop().await;
}

/// The list: newest first, at most 100, `after` for newer ones, the unread
/// count; marking read with `up_to` → 204 and the count drops.
#[tokio::test]
async fn list_after_unread_and_mark_read() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "editor").await;
    let _ws = be_present(&bob, &b).await;
    for i in 0..105 {
        ann.note(&b, json!({"x": i, "y": 0, "text": format!("@bob n{i}")}))
            .await;
    }
    let r = list(&bob, None).await;
    assert_eq!(r.body["unread"], 105);
    let page = r.body["notifications"].as_array().unwrap();
    assert_eq!(page.len(), 100, "at most 100");
    let ids: Vec<u64> = page.iter().map(id_of).collect();
    assert_eq!(ids, (6..=105).rev().collect::<Vec<_>>(), "newest first");
    assert_eq!(page[0]["text"], "@bob n104");
    assert!(page
        .iter()
        .all(|n| n["kind"] == "mention" && n["read"] == false));

    let r = list(&bob, Some("100")).await;
    let ids: Vec<u64> = r.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, [105, 104, 103, 102, 101]);
    assert_eq!(r.body["unread"], 105);
    let r = list(&bob, Some("105")).await;
    assert_eq!(r.body, json!({"notifications": [], "unread": 105}));
    // Older pages (extension): the 100 before an id, newest first.
    let r = bob.get("/api/notifications?before=6").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids: Vec<u64> = r.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, [5, 4, 3, 2, 1], "what the first page left out");
    assert_eq!(r.body["unread"], 105);
    let r = bob.get("/api/notifications?before=103").await;
    let ids: Vec<u64> = r.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(ids, (3..=102).rev().collect::<Vec<_>>());
    let r = bob.get("/api/notifications?before=1").await;
    assert_eq!(r.body["notifications"], json!([]));
    for bad in [
        "/api/notifications?before=x",
        "/api/notifications?before=5&after=1",
    ] {
        assert_error(&bob.get(bad).await, 400, "bad_request");
    }
    assert_eq!(list(&ann, None).await.body["notifications"], json!([]));
    // Mark one read (extension).
    let r = bob
        .call(reqwest::Method::POST, "/api/notifications/3/read", None)
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = bob.get("/api/notifications?before=5").await;
    let read: Vec<(u64, bool)> = r.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (id_of(n), n["read"].as_bool().unwrap()))
        .collect();
    assert_eq!(read, [(4, false), (3, true), (2, false), (1, false)]);
    assert_eq!(r.body["unread"], 104);
    let r = bob
        .call(reqwest::Method::POST, "/api/notifications/3/read", None)
        .await;
    assert_eq!(r.status, 204, "again: {}", r.text);
    assert_error(
        &ann.call(reqwest::Method::POST, "/api/notifications/3/read", None)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &bob.call(reqwest::Method::POST, "/api/notifications/999/read", None)
            .await,
        404,
        "not_found",
    );
    assert_error(
        &bob.call(reqwest::Method::POST, "/api/notifications/x/read", None)
            .await,
        400,
        "bad_request",
    );
    assert_eq!(list(&bob, None).await.body["unread"], 104);
    for bad in ["abc", "-1", "1.5"] {
        let r = bob.get(&format!("/api/notifications?after={bad}")).await;
        assert_error(&r, 400, "bad_request");
    }

    let r = bob
        .post("/api/notifications/read", json!({"up_to": "100"}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    let r = list(&bob, Some("98")).await;
    assert_eq!(r.body["unread"], 5);
    let read: Vec<(u64, bool)> = r.body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (id_of(n), n["read"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        read,
        [
            (105, false),
            (104, false),
            (103, false),
            (102, false),
            (101, false),
            (100, true),
            (99, true)
        ]
    );
    let r = bob
        .post("/api/notifications/read", json!({"up_to": "105"}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_eq!(list(&bob, None).await.body["unread"], 0);
    for bad in [
        json!({"up_to": "x"}),
        json!({}),
        json!({"up_to": "1", "more": 1}),
        json!({"up_to": -1}),
    ] {
        let r = bob.post("/api/notifications/read", bad).await;
        assert_error(&r, 400, "bad_request");
    }
    // Others' notifications are their own: ann has none.
    assert_eq!(
        list(&ann, None).await.body,
        json!({"notifications": [], "unread": 0})
    );
    s.stop().await;
}

/// The stream: `unread` once on connect, each notification as `event:
/// notification` with its id, then the new count; marking read sends the
/// count again.
#[tokio::test]
async fn stream_delivers_notifications_and_unread_counts() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "editor").await;
    let _ws = be_present(&bob, &b).await;
    ann.note(&b, json!({"x": 0, "y": 0, "text": "before @bob"}))
        .await;
    let (mut st, unread) = notif_stream(&bob, &[]).await;
    assert_eq!(unread, 1, "the count on connect");

    let note = ann
        .note(&b, json!({"x": 0, "y": 0, "text": "@bob look"}))
        .await;
    let n = notification(&st.next_event().await);
    assert_eq!(n["id"], "2");
    assert_eq!(n["kind"], "mention");
    assert_eq!(n["note"], note["id"]);
    assert_eq!(n["board"], json!(b));
    assert_eq!(n["by"], ann.user);
    assert_eq!(n["text"], "@bob look");
    assert_eq!(n["read"], false);
    assert_eq!(unread_count(&st.next_event().await), 2);
    assert_eq!(list(&bob, None).await.body["notifications"][0], n);

    let r = bob
        .post("/api/notifications/read", json!({"up_to": "1"}))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(unread_count(&st.next_event().await), 1);
    let r = bob
        .post("/api/notifications/read", json!({"up_to": "2"}))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(unread_count(&st.next_event().await), 0);

    // Another user's notifications do not show up here.
    bob.note(&b, json!({"x": 0, "y": 0, "text": "@ann hi"}))
        .await;
    assert_eq!(of_kind(&ann, "mention").await.len(), 1);
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@bob again"}))
        .await;
    let n = notification(&st.next_event().await);
    assert_eq!(
        (n["id"].as_str(), n["text"].as_str()),
        (Some("3"), Some("@bob again"))
    );
    assert_eq!(unread_count(&st.next_event().await), 1);
    s.stop().await;
}

/// Resuming the stream with `Last-Event-ID` replays exactly the missed
/// notifications, in order, then goes live without repeating any.
#[tokio::test]
async fn stream_resume_replays_exactly_the_missed_ones() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "editor").await;
    let _ws = be_present(&bob, &b).await;
    let (mut st, _) = notif_stream(&bob, &[]).await;
    for i in 1..=2 {
        ann.note(&b, json!({"x": 0, "y": 0, "text": format!("@bob {i}")}))
            .await;
        assert_eq!(notification(&st.next_event().await)["id"], i.to_string());
        assert_eq!(unread_count(&st.next_event().await), i);
    }
    drop(st);
    for i in 3..=5 {
        ann.note(&b, json!({"x": 0, "y": 0, "text": format!("@bob {i}")}))
            .await;
    }

    let mut st = sse::open(&bob, STREAM, &[("last-event-id", "2")]).await;
    assert!(st.next_block().await.retry.is_some());
    let blocks = st.events_until(|b| b.kind() == "unread").await;
    let (unread, replayed) = blocks.split_last().unwrap();
    let got: Vec<(u64, String)> = replayed
        .iter()
        .map(|b| {
            let n = notification(b);
            (id_of(&n), n["text"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        got,
        [
            (3, "@bob 3".to_owned()),
            (4, "@bob 4".to_owned()),
            (5, "@bob 5".to_owned())
        ]
    );
    assert_eq!(unread_count(unread), 5);
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@bob 6"}))
        .await;
    assert_eq!(notification(&st.next_event().await)["id"], "6");
    assert_eq!(unread_count(&st.next_event().await), 6);

    // From the very start, and from the newest (nothing to replay).
    let mut all = sse::open(&bob, STREAM, &[("last-event-id", "0")]).await;
    all.next_block().await;
    let blocks = all.events_until(|b| b.kind() == "unread").await;
    let ids: Vec<u64> = blocks[..blocks.len() - 1]
        .iter()
        .map(|b| id_of(&notification(b)))
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6]);
    let mut none = sse::open(&bob, STREAM, &[("last-event-id", "6")]).await;
    none.next_block().await;
    assert_eq!(unread_count(&none.next_event().await), 6);
    // All three are live now: the next one arrives once on each.
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@bob 7"}))
        .await;
    for stream in [&mut st, &mut all, &mut none] {
        let blocks = stream.events_until(|b| b.kind() == "unread").await;
        let ids: Vec<u64> = blocks[..blocks.len() - 1]
            .iter()
            .map(|b| id_of(&notification(b)))
            .collect();
        assert_eq!(ids, [7]);
        assert_eq!(unread_count(blocks.last().unwrap()), 7);
    }
    s.stop().await;
}

/// Notification ids are decimal strings, increasing per user (each user's
/// own sequence).
#[tokio::test]
async fn ids_are_decimal_strings_increasing_per_user() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let carol = s.user("carol").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "editor").await;
    ann.add_member(&b, &carol, "editor").await;
    let _w1 = be_present(&bob, &b).await;
    let _w2 = be_present(&carol, &b).await;
    let _w3 = be_present(&ann, &b).await;
    for _ in 0..3 {
        ann.note(&b, json!({"x": 0, "y": 0, "text": "@bob"})).await;
    }
    carol
        .note(&b, json!({"x": 0, "y": 0, "text": "@bob @ann"}))
        .await;
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@carol"}))
        .await;
    let ids = |v: &Value| -> Vec<Value> {
        v["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect()
    };
    assert_eq!(
        ids(&list(&bob, None).await.body),
        json!(["4", "3", "2", "1"]).as_array().unwrap().clone()
    );
    assert_eq!(ids(&list(&ann, None).await.body), [json!("1")]);
    assert_eq!(ids(&list(&carol, None).await.body), [json!("1")]);
    s.stop().await;
}

/// A `Last-Event-ID` beyond the user's newest notification cannot be
/// continued from; the stream must still deliver the notifications that
/// come next (as a board stream answers a future position with a snapshot).
#[tokio::test]
async fn stream_resumed_from_a_future_id_still_delivers_new_notifications() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "editor").await;
    let _ws = be_present(&bob, &b).await;
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@bob one"}))
        .await;
    let mut st = sse::open(&bob, STREAM, &[("last-event-id", "50")]).await;
    assert!(st.next_block().await.retry.is_some());
    assert_eq!(unread_count(&st.next_event().await), 1);
    ann.note(&b, json!({"x": 0, "y": 0, "text": "@bob two"}))
        .await;
    assert_eq!(list(&bob, None).await.body["notifications"][0]["id"], "2");
    let n = notification(&st.next_event().await);
    assert_eq!(n["id"], "2", "the new notification reaches the stream");
    assert_eq!(unread_count(&st.next_event().await), 2);
    s.stop().await;
}
