//! Ephemeral signals over WebSocket: `typing`, `cursor`, `selection`
//! delivered to the board's other subscribers, never to the sender; viewers
//! may send them; size, subscription and name are checked.

mod common;

use common::ws::Ws;
use common::*;
use serde_json::{json, Value};

/// Ann (owner), bob (editor) and vic (viewer), each subscribed to a fresh
/// board, with the presence chatter of joining read away.
async fn room(s: &TestServer) -> (String, Vec<(Client, Ws)>) {
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let vic = s.user("vic").await;
    let b = ann.board("Signals").await;
    assert_eq!(ann.add_member(&b, &bob, "editor").await.status, 200);
    assert_eq!(ann.add_member(&b, &vic, "viewer").await.status, 200);
    let mut out: Vec<(Client, Ws)> = Vec::new();
    for c in [ann, bob, vic] {
        let mut ws = Ws::connect(&c).await;
        ws.subscribe(&b, None).await;
        out.push((c, ws));
    }
    // Everyone has seen everyone: read until each knows all three are present.
    for (_, ws) in out.iter_mut() {
        ws.sync().await;
    }
    (b, out)
}

/// The next `signal` message (presence is skipped; anything else fails).
async fn next_signal(ws: &mut Ws) -> Value {
    loop {
        let v = ws.recv().await;
        match v["type"].as_str() {
            Some("signal") => return v,
            Some("presence") => continue,
            _ => panic!("expected a signal, got {v}"),
        }
    }
}

/// Asserts no signal is queued for `ws` (a ping's pong comes first).
async fn assert_no_signal(ws: &mut Ws) {
    let before = ws.sync().await;
    assert!(
        before.iter().all(|v| v["type"] != "signal"),
        "unexpected signal: {before:?}"
    );
}

/// typing, cursor and selection from one subscriber reach each other
/// subscriber as `{"type":"signal","board","from":User,"name","data"}`, and
/// not the sender.
#[tokio::test]
async fn signals_reach_the_others_not_the_sender() {
    let mut s = TestServer::start().await;
    let (b, mut r) = room(&s).await;
    let ann_user = r[0].0.user.clone();
    for (name, data) in [
        ("typing", json!({"note": "n1", "on": true})),
        ("cursor", json!({"x": 10.5, "y": -3})),
        ("selection", json!({"notes": ["n1", "n2"]})),
    ] {
        r[0].1
            .send(json!({"type": "signal", "board": b, "name": name, "data": data}))
            .await;
        let want =
            json!({"type": "signal", "board": b, "from": ann_user, "name": name, "data": data});
        for (_, ws) in r.iter_mut().skip(1) {
            assert_eq!(next_signal(ws).await, want);
        }
        assert_no_signal(&mut r[0].1).await;
    }
    s.stop().await;
}

/// A viewer may send signals; the others get them with `from` = the viewer.
#[tokio::test]
async fn viewers_may_send_signals() {
    let mut s = TestServer::start().await;
    let (b, mut r) = room(&s).await;
    let vic_user = r[2].0.user.clone();
    r[2].1
        .send(json!({"type": "signal", "board": b, "name": "cursor", "data": {"x": 1, "y": 2}}))
        .await;
    for (_, ws) in r.iter_mut().take(2) {
        let v = next_signal(ws).await;
        assert_eq!(v["from"], vic_user);
        assert_eq!(v["data"], json!({"x": 1, "y": 2}));
    }
    assert_no_signal(&mut r[2].1).await;
    s.stop().await;
}

/// Signal `data` over 1 KiB → error `too_large`, and it is not delivered;
/// data of just under 1 KiB is.
#[tokio::test]
async fn signal_data_over_1_kib_is_too_large() {
    let mut s = TestServer::start().await;
    let (b, mut r) = room(&s).await;
    let big = json!({"t": "x".repeat(1100)});
    r[0].1
        .send(json!({"type": "signal", "board": b, "name": "typing", "data": big}))
        .await;
    let e = r[0].1.recv().await;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["error"]["code"], "too_large", "{e}");
    assert!(e["error"]["message"].is_string());
    assert_no_signal(&mut r[1].1).await;
    let ok = json!({"t": "y".repeat(1000)});
    r[0].1
        .send(json!({"type": "signal", "board": b, "name": "typing", "data": ok}))
        .await;
    assert_eq!(next_signal(&mut r[1].1).await["data"], ok);
    s.stop().await;
}

/// A signal to a board the connection is not subscribed to (a member's
/// board, or one the user cannot see) is an error and reaches nobody.
#[tokio::test]
async fn signal_to_an_unsubscribed_board_is_an_error() {
    let mut s = TestServer::start().await;
    let (b, mut r) = room(&s).await;
    let ann = r[0].0.clone();
    let mut other = Ws::connect(&ann).await; // ann, but not subscribed
    other
        .send(json!({"type": "signal", "board": b, "name": "typing", "data": {}}))
        .await;
    let e = other.recv().await;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["board"], b);
    assert_eq!(e["error"]["code"], "not_found", "{e}");
    let hidden = s.user("zed").await.board("Hidden").await;
    other
        .send(json!({"type": "signal", "board": hidden, "name": "typing", "data": {}}))
        .await;
    let e = other.recv().await;
    assert_eq!(e["type"], "error", "{e}");
    // After unsubscribing, the same applies.
    r[1].1
        .send(json!({"type": "unsubscribe", "board": b}))
        .await;
    r[1].1.recv_until(|v| v["type"] == "unsubscribed").await;
    r[1].1
        .send(json!({"type": "signal", "board": b, "name": "typing", "data": {}}))
        .await;
    let e = r[1].1.recv().await;
    assert_eq!(e["type"], "error", "{e}");
    assert_no_signal(&mut r[0].1).await;
    assert_no_signal(&mut r[2].1).await;
    s.stop().await;
}

/// An unknown signal name is an error and reaches nobody.
#[tokio::test]
async fn unknown_signal_name_is_an_error() {
    let mut s = TestServer::start().await;
    let (b, mut r) = room(&s).await;
    r[0].1
        .send(json!({"type": "signal", "board": b, "name": "shout", "data": {"x": 1}}))
        .await;
    let e = r[0].1.recv().await;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["error"]["code"], "bad_request", "{e}");
    r[0].1
        .send(json!({"type": "signal", "board": b, "data": {"x": 1}}))
        .await;
    let e = r[0].1.recv().await;
    assert_eq!(e["type"], "error", "a signal without a name: {e}");
    assert_no_signal(&mut r[1].1).await;
    assert_no_signal(&mut r[2].1).await;
    s.stop().await;
}

/// Over the signal rate (signal_rate = 5, burst 10) signals get
/// `rate_limited` errors; flooding on closes with 1008.
#[tokio::test]
async fn signal_flood_rate_limited_then_1008() {
    let mut s = TestServer::start_with(|c| c.signal_rate = 5).await;
    let (b, mut r) = room(&s).await;
    let ws = &mut r[0].1;
    for i in 0..40 {
        let m = json!({"type": "signal", "board": b, "name": "cursor", "data": {"x": i}});
        ws.send_raw(tokio_tungstenite::tungstenite::Message::Text(
            m.to_string().into(),
        ))
        .await;
    }
    let (msgs, closed) = ws.until_closed(std::time::Duration::from_secs(10)).await;
    assert_eq!(closed, common::ws::Closed::Code(1008), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|v| v["type"] == "error" && v["error"]["code"] == "rate_limited"),
        "{msgs:?}"
    );
    // The others got at most the burst (cursors may also coalesce).
    let got: Vec<Value> = r[1]
        .1
        .sync()
        .await
        .into_iter()
        .filter(|v| v["type"] == "signal")
        .collect();
    assert!(!got.is_empty() && got.len() <= 12, "{}", got.len());
    s.stop().await;
}
