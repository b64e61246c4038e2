//! Board history over real sockets (protocol.md, "History"): `GET
//! /api/boards/{b}/history?seq=S` and WS RPC `board.history` answer the
//! board exactly as `GET /api/boards/{b}` did right after event `S`, for
//! every `S`, before and after pruning moved the resume window;
//! `/history/events` and `board.history_events` page through the whole log;
//! bad positions are `bad_request` naming the field; non-members get 404.

mod common;

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use common::ws::Ws;
use common::*;
use corkboard::core::{Clock, SystemClock, Timestamp};
use serde_json::{json, Value};
use yrs::updates::decoder::Decode;
use yrs::{ClientID, Doc, OffsetKind, Options, ReadTxn, Text, Transact, Update};

/// A Yjs update (base64) inserting `s` at the start of the note's current text document.
async fn edit_update(c: &Client, b: &str, n: &str, client: u64, s: &str) -> String {
    let r = c
        .get(&format!("/api/boards/{b}/notes/{n}/text_state"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let state = B64.decode(r.body["state"].as_str().unwrap()).unwrap();
    let doc = Doc::with_options(Options {
        client_id: ClientID::new(client),
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    });
    let text = doc.get_or_insert_text("text");
    doc.transact_mut()
        .apply_update(Update::decode_v1(&state).unwrap())
        .unwrap();
    let before = doc.transact().state_vector();
    text.insert(&mut doc.transact_mut(), 0, s);
    let u = doc.transact().encode_diff_v1(&before);
    B64.encode(u)
}

/// The board as `GET /api/boards/{b}` answers it now.
async fn snapshot(c: &Client, b: &str) -> Value {
    let r = c.get(&format!("/api/boards/{b}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

/// `history` at every seq equals the snapshot taken then: over REST for
/// the owner, over WS RPC for a viewer (whose role is his own).
async fn check_every_seq(owner: &Client, viewer: &Client, b: &str, snaps: &[Value], label: &str) {
    let mut ws = Ws::connect(viewer).await;
    for (at, want) in snaps.iter().enumerate() {
        let r = owner
            .get(&format!("/api/boards/{b}/history?seq={at}"))
            .await;
        assert_eq!(r.status, 200, "{label}: seq {at}: {}", r.text);
        assert_eq!(&r.body, want, "{label}: seq {at}");
        let v = ws
            .rpc("board.history", json!({"board": b, "seq": at}))
            .await;
        let mut got = v["result"].clone();
        assert_eq!(got["board"]["role"], "viewer", "{label}: seq {at}: {v}");
        got["board"]["role"] = json!("owner");
        assert_eq!(&got, want, "{label}: seq {at}");
    }
    ws.close().await;
}

/// Every event through `/history/events`, page by page (`limit` each).
async fn all_history_events(c: &Client, b: &str, limit: u64) -> (Vec<Value>, u64) {
    let (mut events, mut after) = (Vec::new(), 0);
    loop {
        let r = c
            .get(&format!(
                "/api/boards/{b}/history/events?after={after}&limit={limit}"
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let page = r.body["events"].as_array().unwrap().clone();
        assert!(page.len() as u64 <= limit);
        match page.last() {
            Some(last) => {
                after = last["seq"].as_u64().unwrap();
                events.extend(page);
            }
            None => return (events, r.body["seq"].as_u64().unwrap()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_rebuilds_every_seq_over_rest_and_rpc() {
    let mut s = TestServer::start_with(|c| {
        c.log_min_events = 2;
        c.log_min_age = 0;
    })
    .await;
    let ann = s.user("ann").await;
    let vic = s.user("vic").await;
    let b = ann.board("Plan").await;
    let mut snaps = vec![snapshot(&ann, &b).await];
    let r = ann.add_member(&b, &vic, "viewer").await;
    assert_eq!(r.status, 200, "{}", r.text);
    snaps.push(snapshot(&ann, &b).await);
    let n1 = ann.note(&b, json!({"x": 1, "y": 2, "text": "one"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    snaps.push(snapshot(&ann, &b).await);
    let n2 = ann
        .note(&b, json!({"x": 3, "y": 4, "text": "two", "color": "blue"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    snaps.push(snapshot(&ann, &b).await);
    let note = |n: &str| format!("/api/boards/{b}/notes/{n}");
    let steps: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (
            reqwest::Method::PATCH,
            note(&n1),
            Some(json!({"x": 50.5, "color": "green"})),
        ),
        (
            reqwest::Method::PATCH,
            note(&n2),
            Some(json!({"text": "two, replaced"})),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/boards/{b}"),
            Some(json!({"title": "Renamed"})),
        ),
        (reqwest::Method::DELETE, note(&n1), None),
        (
            reqwest::Method::POST,
            format!("{}/restore", note(&n1)),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in steps {
        let r = ann.call(method, &path, body).await;
        assert!(r.status < 300, "{path}: {}", r.text);
        snaps.push(snapshot(&ann, &b).await);
    }
    for (client, text) in [(7, "hello "), (9, "world ")] {
        let update = edit_update(&ann, &b, &n2, client, text).await;
        let r = ann
            .post(&format!("{}/edit", note(&n2)), json!({"update": update}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        snaps.push(snapshot(&ann, &b).await);
    }
    let r = ann.delete(&note(&n2)).await;
    assert!(r.status < 300, "{}", r.text);
    snaps.push(snapshot(&ann, &b).await);
    let last = (snaps.len() - 1) as u64;
    assert_eq!(snaps[last as usize]["seq"], last);
    assert!(snaps[(last - 1) as usize]["notes"][1]["text"]
        .as_str()
        .unwrap()
        .starts_with("world hello two"));
    check_every_seq(&ann, &vic, &b, &snaps, "before pruning").await;
    // The whole log, paged, is what the resume window held.
    let (resumed, head) = ann.all_seqs(&b).await;
    assert_eq!((resumed, head), ((1..=last).collect::<Vec<_>>(), last));
    let polled = ann.get(&format!("/api/boards/{b}/events?after=0")).await;
    let (events, head) = all_history_events(&vic, &b, 4).await;
    assert_eq!(head, last);
    assert_eq!(&Value::Array(events.clone()), &polled.body["events"]);
    // Pruning moves the resume window; history still reaches every seq.
    let moved = s
        .running
        .as_ref()
        .unwrap()
        .state
        .app
        .store
        .prune(Timestamp(SystemClock.now().0 + 1000))
        .await
        .unwrap();
    assert_eq!(moved, last - 2);
    let r = ann.get(&format!("/api/boards/{b}/events?after=0")).await;
    assert_error(&r, 410, "gone");
    check_every_seq(&ann, &vic, &b, &snaps, "after pruning").await;
    let (after_prune, _) = all_history_events(&ann, &b, 1000).await;
    assert_eq!(after_prune, events);
    let mut ws = Ws::connect(&vic).await;
    let v = ws
        .rpc(
            "board.history_events",
            json!({"board": b, "after": last - 3, "limit": 2}),
        )
        .await;
    let seqs: Vec<u64> = v["result"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        (seqs, v["result"]["seq"].as_u64()),
        (vec![last - 2, last - 1], Some(last))
    );
    ws.close().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_positions_and_strangers_are_refused() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let eve = s.user("eve").await;
    let b = ann.board("Plan").await;
    ann.note(&b, json!({"x": 0, "y": 0})).await;
    ann.note(&b, json!({"x": 1, "y": 0})).await;
    for (query, field) in [
        ("", "seq"),
        ("?seq=", "seq"),
        ("?seq=-1", "seq"),
        ("?seq=1.5", "seq"),
        ("?seq=abc", "seq"),
        ("?seq=%2B1", "seq"),
        ("?seq=3", "seq"),
        ("?seq=18446744073709551616", "seq"),
    ] {
        let r = ann.get(&format!("/api/boards/{b}/history{query}")).await;
        assert_error(&r, 400, "bad_request");
        assert_eq!(r.body["error"]["details"]["field"], field, "{query}");
    }
    for (query, field) in [
        ("?after=-1", "after"),
        ("?after=x", "after"),
        ("?after=3", "after"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=-5", "limit"),
    ] {
        let r = ann
            .get(&format!("/api/boards/{b}/history/events{query}"))
            .await;
        assert_error(&r, 400, "bad_request");
        assert_eq!(r.body["error"]["details"]["field"], field, "{query}");
    }
    let r = ann.get(&format!("/api/boards/{b}/history?seq=2")).await;
    assert_eq!((r.status, r.body["seq"].as_u64()), (200, Some(2)));
    let r = ann.get(&format!("/api/boards/{b}/history/events")).await;
    assert_eq!(r.body["events"].as_array().map(Vec::len), Some(2));
    for path in [
        format!("/api/boards/{b}/history?seq=0"),
        format!("/api/boards/{b}/history/events"),
        "/api/boards/nope/history?seq=0".to_owned(),
    ] {
        assert_error(&eve.get(&path).await, 404, "not_found");
    }
    assert_error(
        &s.anon()
            .get(&format!("/api/boards/{b}/history?seq=0"))
            .await,
        401,
        "unauthorized",
    );
    let mut ws = Ws::connect(&ann).await;
    for (params, field) in [
        (json!({"board": b}), "seq"),
        (json!({"board": b, "seq": -1}), "seq"),
        (json!({"board": b, "seq": 3}), "seq"),
    ] {
        let v = ws.rpc("board.history", params.clone()).await;
        assert_eq!(v["error"]["code"], "bad_request", "{params}: {v}");
        assert_eq!(v["error"]["details"]["field"], field, "{params}: {v}");
    }
    let v = ws.rpc("board.history", json!({"seq": 0})).await;
    assert_eq!(v["error"]["code"], "bad_request", "{v}");
    ws.close().await;
    let mut ws = Ws::connect(&eve).await;
    let v = ws
        .rpc("board.history_events", json!({"board": b, "after": 0}))
        .await;
    assert_eq!(v["error"]["code"], "not_found", "{v}");
    ws.close().await;
    s.stop().await;
}
