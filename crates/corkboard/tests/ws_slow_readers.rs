//! Clients that stop reading, and boards bigger than the outbox: memory stays
//! bounded and the connection is dropped on time (a watchdog outside the
//! blocked writer), while a board bigger than the outbox still opens.

mod common;

use std::time::Duration;

use common::ws::{Closed, Next, Ws};
use common::*;
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// A board of `n` notes of `chars` characters each.
async fn big_board(c: &Client, n: usize, chars: usize) -> String {
    let b = c.board("big").await;
    let text = "x".repeat(chars);
    for i in 0..n {
        c.note(&b, json!({"x": i as f64, "y": 0, "text": text}))
            .await;
    }
    b
}

/// The usernames present on board `b`.
async fn present(c: &Client, b: &str) -> Vec<String> {
    let r = c.get(&format!("/api/boards/{b}/presence")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until `who` is no longer present on `b`; returns how long it took.
async fn until_absent(c: &Client, b: &str, who: &str, within: Duration) -> Duration {
    let t0 = Instant::now();
    while present(c, b).await.iter().any(|u| u == who) {
        assert!(
            t0.elapsed() < within,
            "{who} still present after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t0.elapsed()
}

/// Reads what the server had sent until the stream ends: it must end (the
/// server dropped the socket), not keep going.
async fn drains_to_the_end(ws: &mut Ws) -> Closed {
    let t0 = Instant::now();
    loop {
        match ws.next_within(Duration::from_secs(5)).await {
            Next::Msg(_) => assert!(t0.elapsed() < Duration::from_secs(20), "never ends"),
            Next::Closed(c) => return c,
            Next::Timeout => panic!("the server kept the connection open"),
        }
    }
}

/// A snapshot bigger than the whole outbox (was: every subscribe got 1013,
/// since the presence list behind the queued snapshot overflowed it).
#[tokio::test]
async fn a_board_bigger_than_the_outbox_opens_and_stays_live() {
    let mut s = TestServer::start_with(|c| c.outbox_bytes = 64 << 10).await;
    let ann = s.user("ann").await;
    let b = big_board(&ann, 20, 5_000).await;
    let mut ws = Ws::connect(&ann).await;
    let msgs = ws.subscribe(&b, None).await;
    let sub = msgs.iter().find(|m| m["type"] == "subscribed").unwrap();
    assert_eq!(sub["snapshot"]["notes"].as_array().unwrap().len(), 20);
    let more = ws
        .recv_until(|m| m["type"] == "presence" && m["members"].is_array())
        .await;
    assert!(more.iter().all(|m| m["type"] != "error"), "{more:?}");
    // Live events still arrive, and a board.get of the same size is answered.
    ann.note(&b, json!({"x": 1, "y": 1, "text": "after"})).await;
    let ev = ws.recv_until(|m| m["type"] == "event").await.pop().unwrap();
    assert_eq!(ev["note"]["text"], "after");
    let got = ws.rpc("board.get", json!({"board": b})).await;
    assert_eq!(got["result"]["notes"].as_array().unwrap().len(), 21);
    // Subscribe and two board.get sent back to back: the big replies wait
    // their turn behind the snapshot instead of overflowing.
    let mut eager = Ws::connect(&ann).await;
    eager.send(json!({"type": "subscribe", "board": b})).await;
    let first = eager.send_rpc("board.get", json!({"board": b})).await;
    let second = eager.send_rpc("board.get", json!({"board": b})).await;
    let msgs = eager
        .recv_until(|m| m["type"] == "result" && m["id"] == second)
        .await;
    assert!(msgs.iter().any(|m| m["type"] == "subscribed"));
    assert!(msgs
        .iter()
        .any(|m| m["id"] == first && m["type"] == "result"));
    s.stop().await;
}

/// A client that keeps talking (so the heartbeat is satisfied) but never
/// reads, after asking for many big replies: the writer blocks, and the
/// connection is dropped within the write timeout instead of living on with
/// its replies pinned (was: forever, with 64 pinned replies).
#[tokio::test]
async fn a_client_that_never_reads_is_dropped_and_leaves_presence() {
    let mut s = TestServer::start_with(|c| {
        c.outbox_bytes = 64 << 10;
        c.write_timeout_ms = 500;
        c.heartbeat_ms = 10_000;
    })
    .await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = big_board(&ann, 20, 9_000).await;
    ann.add_member(&b, &bob, "viewer").await;
    let mut ws = Ws::connect(&bob).await;
    ws.subscribe(&b, None).await;
    assert!(present(&ann, &b).await.contains(&"bob".to_owned()));
    // ~180 KB per reply: far more than socket buffers and the outbox hold.
    let t0 = Instant::now();
    for _ in 0..120 {
        ws.send_rpc("board.get", json!({"board": b})).await;
    }
    // Talks (so the heartbeat is satisfied) until the server drops it.
    let mut sent = 0;
    for i in 0..200 {
        let ping = json!({"type": "ping", "t": i}).to_string();
        if ws.inner.send(Message::text(ping)).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sent < 200, "still connected after 10 s of not reading");
    let took = t0.elapsed();
    println!("dropped after {took:?} ({sent} pings sent meanwhile)");
    assert!(
        took < Duration::from_secs(5),
        "within the write timeout: {took:?}"
    );
    until_absent(&ann, &b, "bob", Duration::from_secs(2)).await;
    s.stop().await;
}

/// A silent client that never reads, with its writer blocked: the heartbeat
/// still closes it within 2 × heartbeat (was: never, the heartbeat check
/// ran inside the blocked writer).
#[tokio::test]
async fn a_silent_client_with_a_blocked_writer_times_out() {
    let mut s = TestServer::start_with(|c| {
        c.outbox_bytes = 64 << 10;
        c.write_timeout_ms = 60_000;
        c.heartbeat_ms = 400;
    })
    .await;
    let ann = s.user("ann").await;
    let b = big_board(&ann, 20, 9_000).await;
    let mut ws = Ws::connect(&ann).await;
    ws.subscribe(&b, None).await;
    let t0 = Instant::now();
    for _ in 0..100 {
        ws.send_rpc("board.get", json!({"board": b})).await;
    }
    let took = until_absent(&ann, &b, "ann", Duration::from_secs(10)).await;
    println!("dropped after {took:?} (heartbeat 400 ms)");
    assert!(
        t0.elapsed() <= Duration::from_millis(2 * 400 + 700),
        "within 2 × heartbeat (and a little): {:?}",
        t0.elapsed()
    );
    drains_to_the_end(&mut ws).await;
    s.stop().await;
}

/// Control characters other than tab and line breaks are refused in note
/// text and titles (they cost six bytes each in JSON), on every door.
#[tokio::test]
async fn control_characters_are_bad_request() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("ok").await;
    let r = ann
        .post(
            &format!("/api/boards/{b}/notes"),
            json!({"x": 0, "y": 0, "text": "a\u{1}b"}),
        )
        .await;
    assert_error(&r, 400, "bad_request");
    let r = ann
        .patch(&format!("/api/boards/{b}"), json!({"title": "t\u{1b}[31m"}))
        .await;
    assert_error(&r, 400, "bad_request");
    let ok = ann
        .note(&b, json!({"x": 0, "y": 0, "text": "tab\there\r\nline"}))
        .await;
    assert_eq!(ok["text"], "tab\there\r\nline");
    let mut ws = Ws::connect(&ann).await;
    let v: Value = ws
        .rpc(
            "note.create",
            json!({"board": b, "x": 0, "y": 0, "text": "\u{7f}"}),
        )
        .await;
    assert_eq!(v["error"]["code"], "bad_request", "{v}");
    s.stop().await;
}
