//! Client → server messages over WebSocket: malformed input, ping, subscribe
//! errors, unsubscribe, and every RPC method's result shape, authorization
//! and idempotency.

mod common;

use common::ws::Ws;
use common::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// The sorted keys of a JSON object.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("object expected: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// Asserts `v` is `{"type":"error","id":id,"error":{"code":code,"message":…}}`.
fn assert_ws_error(v: &Value, id: Value, code: &str) {
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["id"], id, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
}

/// Asserts a ping still gets its pong.
async fn assert_alive(ws: &mut Ws) {
    ws.send(json!({"type": "ping", "t": "alive"})).await;
    assert_eq!(ws.recv().await, json!({"type": "pong", "t": "alive"}));
}

/// Invalid JSON, a JSON value that is not an object, and an object without
/// `type` each get `{"type":"error","id":null,"error":{"code":"invalid_message"}}`;
/// the connection stays open.
#[tokio::test]
async fn malformed_messages_get_invalid_message() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    for raw in [
        "{",
        "not json",
        "",
        "[1,2]",
        "\"ping\"",
        "42",
        "null",
        r#"{"board":"x"}"#,
        r#"{"type":7}"#,
        r#"{"type":null,"t":1}"#,
    ] {
        ws.send_raw(Message::Text(raw.into())).await;
        let v = ws.recv().await;
        assert_ws_error(&v, Value::Null, "invalid_message");
        assert_eq!(keys(&v), ["error", "id", "type"], "{raw:?} → {v}");
    }
    assert_alive(&mut ws).await;
    s.stop().await;
}

/// An unknown `type` gets `unknown_type` (with the message's id when it has
/// one) and the connection stays open.
#[tokio::test]
async fn unknown_type_gets_unknown_type() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    ws.send(json!({"type": "dance"})).await;
    assert_ws_error(&ws.recv().await, Value::Null, "unknown_type");
    ws.send(json!({"type": "dance", "id": "r1"})).await;
    assert_ws_error(&ws.recv().await, json!("r1"), "unknown_type");
    assert_alive(&mut ws).await;
    s.stop().await;
}

/// An unknown RPC method gets `unknown_method` with the request id.
#[tokio::test]
async fn unknown_rpc_method() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let mut ws = Ws::connect(&ann).await;
    let r = ws.rpc("note.explode", json!({"board": b})).await;
    assert_ws_error(&r, json!(1), "unknown_method");
    ws.send(json!({"type": "rpc", "id": "abc", "method": "nope", "params": {}}))
        .await;
    assert_ws_error(&ws.recv().await, json!("abc"), "unknown_method");
    assert_alive(&mut ws).await;
    s.stop().await;
}

/// Bad params get `bad_request` with the request id (missing board, missing
/// x, wrong types, unknown fields, an empty update, params not an object,
/// a text over the limit is too_large or bad_request); nothing is committed.
#[tokio::test]
async fn rpc_bad_params_get_bad_request() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0})).await;
    let id = n["id"].as_str().unwrap();
    let mut ws = Ws::connect(&ann).await;
    let cases = [
        ("note.create", json!({"x": 1, "y": 1})),
        ("note.create", json!({"board": b, "y": 1})),
        ("note.create", json!({"board": b, "x": "left", "y": 1})),
        (
            "note.create",
            json!({"board": b, "x": 1, "y": 1, "color": "mauve"}),
        ),
        ("note.create", json!({"board": b, "x": 1, "y": 1, "w": -5})),
        (
            "note.create",
            json!({"board": b, "x": 1, "y": 1, "bogus": true}),
        ),
        ("note.create", json!([1, 2])),
        ("note.create", json!("board")),
        ("note.create", json!({"board": 17, "x": 1, "y": 1})),
        ("note.update", json!({"board": b, "id": id})),
        ("note.update", json!({"board": b, "x": 3})),
        (
            "note.update",
            json!({"board": b, "id": id, "x": 3, "bogus": 1}),
        ),
        ("note.delete", json!({"board": b})),
        ("note.delete", json!({"board": b, "id": id, "extra": 1})),
        ("board.rename", json!({"board": b})),
        ("board.rename", json!({"board": b, "title": ""})),
        ("board.get", json!({"board": b, "extra": 1})),
    ];
    for (method, params) in cases {
        let r = ws.rpc(method, params.clone()).await;
        assert_eq!(r["type"], "error", "{method} {params} → {r}");
        assert_eq!(r["error"]["code"], "bad_request", "{method} {params} → {r}");
        assert!(r["id"].is_u64(), "{r}");
    }
    // An rpc message without id or method is itself malformed.
    ws.send(json!({"type": "rpc", "method": "board.get", "params": {"board": b}}))
        .await;
    assert_ws_error(&ws.recv().await, Value::Null, "bad_request");
    let snap = ann.get(&format!("/api/boards/{b}")).await.body;
    assert_eq!(snap["seq"], 1, "nothing committed");
    assert_alive(&mut ws).await;
    s.stop().await;
}

/// `{"type":"ping","t":42}` → `{"type":"pong","t":42}`; any `t` comes back as is.
#[tokio::test]
async fn ping_pong_echoes_t() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    ws.send(json!({"type": "ping", "t": 42})).await;
    assert_eq!(ws.recv().await, json!({"type": "pong", "t": 42}));
    let t = json!({"nested": [1, "two", null], "ü": 1.5});
    ws.send(json!({"type": "ping", "t": t})).await;
    assert_eq!(ws.recv().await, json!({"type": "pong", "t": t}));
    ws.send(json!({"type": "ping"})).await;
    assert_eq!(ws.recv().await["type"], "pong");
    s.stop().await;
}

/// Subscribing to a board the user cannot see (someone else's, or none at
/// all) answers `{"type":"error","id":R,"board":B,"error":{"code":"not_found"}}`.
#[tokio::test]
async fn subscribe_to_an_invisible_board_is_not_found() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let eve = s.user("eve").await;
    let b = ann.board("Private").await;
    let mut ws = Ws::connect(&eve).await;
    ws.send(json!({"type": "subscribe", "board": b, "id": "s1"}))
        .await;
    let e = ws.recv().await;
    assert_eq!(keys(&e), ["board", "error", "id", "type"], "{e}");
    assert_ws_error(&e, json!("s1"), "not_found");
    assert_eq!(e["board"], b);
    ws.send(json!({"type": "subscribe", "board": "no-such-board", "since": 0}))
        .await;
    let e = ws.recv().await;
    assert_ws_error(&e, Value::Null, "not_found");
    assert_eq!(e["board"], "no-such-board");
    // Nothing leaks afterwards.
    ann.note(&b, json!({"x": 0, "y": 0})).await;
    assert_alive(&mut ws).await;
    s.stop().await;
}

/// A subscribe without `board` is a `bad_request` (an id is echoed).
#[tokio::test]
async fn subscribe_without_board_is_bad_request() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    ws.send(json!({"type": "subscribe", "id": 9})).await;
    let e = ws.recv().await;
    assert_eq!(e["type"], "error", "{e}");
    assert_eq!(e["error"]["code"], "bad_request");
    assert_eq!(e["id"], 9);
    s.stop().await;
}

/// `unsubscribe` answers `{"type":"unsubscribed","board":B}` and the board's
/// events stop arriving.
#[tokio::test]
async fn unsubscribe_stops_events() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let mut ws = Ws::connect(&ann).await;
    let mut other = Ws::connect(&ann).await;
    ws.subscribe(&b, None).await;
    other.subscribe(&b, None).await;
    ws.send(json!({"type": "unsubscribe", "board": b})).await;
    let msgs = ws.recv_until(|v| v["type"] == "unsubscribed").await;
    assert_eq!(
        msgs.last().unwrap(),
        &json!({"type": "unsubscribed", "board": b})
    );
    ann.note(&b, json!({"x": 0, "y": 0})).await;
    other.recv_until(|v| v["type"] == "event").await;
    let before = ws.sync().await;
    assert!(before.iter().all(|v| v["type"] != "event"), "{before:?}");
    s.stop().await;
}

/// RPC results have the contract shapes: note.create `{note, seq}`,
/// note.update `{note, seq}`, note.delete `{seq}`, board.rename `{board}`,
/// board.get `{board, notes, seq}`; the writer also gets each event.
#[tokio::test]
async fn rpc_result_shapes() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Shapes").await;
    let mut ws = Ws::connect(&ann).await;
    ws.subscribe(&b, Some(0)).await;

    let r = ws
        .rpc(
            "note.create",
            json!({"board": b, "x": 1.5, "y": -2, "text": "héllo", "color": "pink"}),
        )
        .await;
    assert_eq!(keys(&r), ["id", "result", "type"], "{r}");
    assert_eq!(r["type"], "result");
    let res = &r["result"];
    assert_eq!(keys(res), ["note", "seq"], "{res}");
    let note = &res["note"];
    assert_eq!(
        keys(note),
        [
            "board",
            "color",
            "created_by",
            "h",
            "id",
            "text",
            "updated_at",
            "version",
            "w",
            "x",
            "y"
        ]
    );
    assert_eq!(
        (
            note["text"].as_str(),
            note["color"].as_str(),
            note["w"].as_f64(),
            note["h"].as_f64()
        ),
        (Some("héllo"), Some("pink"), Some(200.0), Some(140.0))
    );
    assert_eq!(note["created_by"], ann.user);
    assert_eq!(note["version"], res["seq"]);
    let id = note["id"].as_str().unwrap().to_owned();
    let s1 = res["seq"].as_u64().unwrap();

    let r = ws
        .rpc("note.update", json!({"board": b, "id": id, "text": "bye"}))
        .await;
    let res = &r["result"];
    assert_eq!(keys(res), ["note", "seq"], "{r}");
    assert_eq!(res["seq"].as_u64(), Some(s1 + 1));
    assert_eq!(res["note"]["text"], "bye");
    assert_eq!(res["note"]["x"], 1.5);
    assert_eq!(res["note"]["version"], s1 + 1);

    let r = ws
        .rpc("board.rename", json!({"board": b, "title": "Renamed"}))
        .await;
    let res = &r["result"];
    assert_eq!(keys(res), ["board"], "{r}");
    assert_eq!(res["board"]["title"], "Renamed");
    assert_eq!(res["board"]["id"], b);
    assert_eq!(res["board"]["role"], "owner");
    assert_eq!(res["board"]["owner"], ann.user);

    let r = ws.rpc("board.get", json!({"board": b})).await;
    let res = &r["result"];
    assert_eq!(keys(res), ["board", "notes", "seq"], "{r}");
    assert_eq!(res["seq"].as_u64(), Some(s1 + 2));
    assert_eq!(res["notes"][0]["text"], "bye");
    let rest = ann.get(&format!("/api/boards/{b}")).await.body;
    assert_eq!(res, &rest, "board.get equals the REST snapshot");

    let r = ws.rpc("note.delete", json!({"board": b, "id": id})).await;
    assert_eq!(r["result"], json!({"seq": s1 + 3}), "{r}");

    let r = ws.rpc("note.delete", json!({"board": b, "id": id})).await;
    assert_ws_error(&r, r["id"].clone(), "not_found");

    // The writer received each event on its subscription too, in order.
    let kinds: Vec<(u64, String)> = std::iter::from_fn(|| ws.pending.pop_front())
        .filter(|v| v["type"] == "event")
        .map(|v| {
            (
                v["seq"].as_u64().unwrap(),
                v["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut kinds = kinds;
    while kinds.len() < 4 {
        let v = ws.recv().await;
        if v["type"] == "event" {
            kinds.push((
                v["seq"].as_u64().unwrap(),
                v["kind"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(
        kinds,
        vec![
            (s1, "note.created".to_owned()),
            (s1 + 1, "note.updated".to_owned()),
            (s1 + 2, "board.updated".to_owned()),
            (s1 + 3, "note.deleted".to_owned()),
        ]
    );
    s.stop().await;
}

/// A viewer may read (board.get) but every mutation via RPC is `forbidden`;
/// a non-member gets `not_found`.
#[tokio::test]
async fn viewer_mutations_are_forbidden() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let vic = s.user("vic").await;
    let eve = s.user("eve").await;
    let b = ann.board("Look").await;
    assert_eq!(ann.add_member(&b, &vic, "viewer").await.status, 200);
    let n = ann.note(&b, json!({"x": 0, "y": 0})).await;
    let id = n["id"].as_str().unwrap();
    let seq = ann.get(&format!("/api/boards/{b}")).await.body["seq"].clone();
    let mut ws = Ws::connect(&vic).await;
    let r = ws.rpc("board.get", json!({"board": b})).await;
    assert_eq!(r["type"], "result", "{r}");
    assert_eq!(r["result"]["board"]["role"], "viewer");
    for (method, params) in [
        ("note.create", json!({"board": b, "x": 1, "y": 1})),
        ("note.update", json!({"board": b, "id": id, "x": 5})),
        ("note.delete", json!({"board": b, "id": id})),
        ("board.rename", json!({"board": b, "title": "Mine"})),
    ] {
        let r = ws.rpc(method, params).await;
        assert_ws_error(&r, r["id"].clone(), "forbidden");
    }
    let mut ws = Ws::connect(&eve).await;
    let r = ws.rpc("board.get", json!({"board": b})).await;
    assert_ws_error(&r, r["id"].clone(), "not_found");
    let r = ws
        .rpc("note.create", json!({"board": b, "x": 1, "y": 1}))
        .await;
    assert_ws_error(&r, r["id"].clone(), "not_found");
    assert_eq!(ann.get(&format!("/api/boards/{b}")).await.body["seq"], seq);
    s.stop().await;
}

/// RPC idempotency: a create, update and delete retried with the same `op`
/// (or create `id`) return the same result and commit one event each.
#[tokio::test]
async fn rpc_idempotent_with_op() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Once").await;
    let mut ws = Ws::connect(&ann).await;
    ws.subscribe(&b, Some(0)).await;
    let base = ann.get(&format!("/api/boards/{b}")).await.body["seq"]
        .as_u64()
        .unwrap();
    let op1 = "7b0e7c2e-3f7a-4d55-9f5c-0a1b2c3d4e01";
    let create = json!({"board": b, "op": op1, "x": 1, "y": 2, "text": "once"});
    let r1 = ws.rpc("note.create", create.clone()).await;
    let r2 = ws.rpc("note.create", create).await;
    assert_eq!(r1["type"], "result", "{r1}");
    assert_eq!(r1["result"], r2["result"], "same result twice");
    let id = r1["result"]["note"]["id"].as_str().unwrap().to_owned();

    let nid = "5e0c2b8a-1d4f-4a77-8b1e-2f3a4b5c6d70";
    let by_id = json!({"board": b, "id": nid, "x": 3, "y": 4});
    let r1 = ws.rpc("note.create", by_id.clone()).await;
    let r2 = ws.rpc("note.create", by_id).await;
    assert_eq!(r1["result"]["note"]["id"], nid, "{r1}");
    assert_eq!(r1["result"], r2["result"]);

    let op2 = "7b0e7c2e-3f7a-4d55-9f5c-0a1b2c3d4e02";
    let upd = json!({"board": b, "id": id, "op": op2, "text": "twice?"});
    let u1 = ws.rpc("note.update", upd.clone()).await;
    let u2 = ws.rpc("note.update", upd).await;
    assert_eq!(u1["type"], "result", "{u1}");
    assert_eq!(u1["result"], u2["result"]);

    let op3 = "7b0e7c2e-3f7a-4d55-9f5c-0a1b2c3d4e03";
    let del = json!({"board": b, "id": id, "op": op3});
    let d1 = ws.rpc("note.delete", del.clone()).await;
    let d2 = ws.rpc("note.delete", del).await;
    assert_eq!(d1["type"], "result", "{d1}");
    assert_eq!(d1["result"], d2["result"]);
    assert_eq!(d1["result"]["seq"].as_u64(), Some(base + 4));

    // A marker, then: exactly four events before it, each once.
    let m = ws
        .rpc("note.create", json!({"board": b, "x": 0, "y": 0}))
        .await;
    let marker = m["result"]["seq"].as_u64().unwrap();
    assert_eq!(marker, base + 5);
    let mut seqs = Vec::new();
    loop {
        let v = ws.recv().await;
        if v["type"] == "event" {
            let seq = v["seq"].as_u64().unwrap();
            seqs.push(seq);
            if seq == marker {
                break;
            }
        }
    }
    assert_eq!(seqs, (base + 1..=marker).collect::<Vec<_>>());
    assert!(ws.sync().await.iter().all(|v| v["type"] != "event"));
    s.stop().await;
}

/// An RPC update with a stale `base_version` touching a field changed since
/// is `conflict` with `details.note` holding the current note; an update of
/// another field with the same base succeeds.
#[tokio::test]
async fn rpc_conflict_carries_the_current_note() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Race").await;
    let mut ws = Ws::connect(&ann).await;
    let r = ws
        .rpc(
            "note.create",
            json!({"board": b, "x": 0, "y": 0, "text": "v1"}),
        )
        .await;
    let note = r["result"]["note"].clone();
    let (id, v1) = (note["id"].as_str().unwrap(), note["version"].clone());
    let r = ws
        .rpc(
            "note.update",
            json!({"board": b, "id": id, "text": "v2", "x": 5}),
        )
        .await;
    assert_eq!(r["type"], "result", "{r}");
    let r = ws
        .rpc(
            "note.update",
            json!({"board": b, "id": id, "base_version": v1, "x": 7}),
        )
        .await;
    assert_ws_error(&r, r["id"].clone(), "conflict");
    assert_eq!(r["error"]["details"]["note"]["text"], "v2", "{r}");
    assert_eq!(r["error"]["details"]["note"]["x"], 5.0, "{r}");
    assert_eq!(r["error"]["details"]["note"]["id"], id);
    let r = ws
        .rpc(
            "note.update",
            json!({"board": b, "id": id, "base_version": v1, "y": 9}),
        )
        .await;
    assert_eq!(r["type"], "result", "different fields never conflict: {r}");
    assert_eq!(r["result"]["note"]["text"], "v2");
    // Text never conflicts (protocol.md, "Collaborative text"): the
    // replacement applies as the smallest diff from the current text.
    let r = ws
        .rpc(
            "note.update",
            json!({"board": b, "id": id, "base_version": v1, "text": "v3"}),
        )
        .await;
    assert_eq!(r["type"], "result", "{r}");
    assert_eq!(r["result"]["note"]["text"], "v3");
    s.stop().await;
}
