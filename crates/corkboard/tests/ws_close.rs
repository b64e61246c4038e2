//! Every WebSocket close code and upgrade refusal of the contract, lost
//! access without a close, the heartbeat, the subprotocol, and graceful shutdown.

mod common;

use std::time::Duration;

use common::ws::{try_connect, Closed, Next, Ws};
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

/// A second session for `c`'s user (a fresh login), as its own client.
async fn login(c: &Client) -> Client {
    let anon = Client {
        auth: Auth::None,
        ..c.clone()
    };
    let r = anon
        .post(
            "/api/auth/login",
            json!({"username": c.user["username"], "password": "password123"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    Client {
        auth: Auth::Cookie(r.cookie.expect("cookie")),
        ..c.clone()
    }
}

/// Asserts a ping still gets its pong (the connection is open and served).
async fn assert_alive(ws: &mut Ws) {
    ws.send(json!({"type": "ping", "t": "alive"})).await;
    let pong = ws.recv_until(|v| v["type"] == "pong").await.pop().unwrap();
    assert_eq!(pong["t"], "alive");
}

/// A binary frame closes the connection with 1003.
#[tokio::test]
async fn binary_frame_closes_1003() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    ws.send_raw(Message::Binary(vec![0u8, 1, 2].into())).await;
    assert_eq!(ws.closed().await, Closed::Code(1003));
    assert_eq!(ws.close_reason.as_deref(), Some("binary_frame"));
    s.stop().await;
}

/// A text frame that is not valid UTF-8 closes the connection with 1007.
#[tokio::test]
async fn invalid_utf8_text_closes_1007() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    let bytes: Vec<u8> = b"{\"type\":\"ping\",\"t\":\"\xff\xfe\"}".to_vec();
    ws.send_raw(Message::Frame(Frame::message(
        bytes,
        OpCode::Data(Data::Text),
        true,
    )))
    .await;
    assert_eq!(ws.closed().await, Closed::Code(1007));
    assert_eq!(ws.close_reason.as_deref(), Some("invalid_utf8"));
    s.stop().await;
}

/// A message over 64 KiB closes the connection with 1009; one just under is served.
#[tokio::test]
async fn message_over_64_kib_closes_1009() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    let pad = "x".repeat(64 * 1024 - 40);
    let ok = json!({"type": "ping", "t": pad}).to_string();
    assert!(ok.len() <= 64 * 1024, "{}", ok.len());
    ws.send_raw(Message::Text(ok.into())).await;
    let pong = ws.recv().await;
    assert_eq!(pong["type"], "pong");
    let big = json!({"type": "ping", "t": "y".repeat(70_000)}).to_string();
    ws.send_raw(Message::Text(big.into())).await;
    assert_eq!(ws.closed().await, Closed::Code(1009));
    assert_eq!(ws.close_reason.as_deref(), Some("message_too_big"));
    s.stop().await;
}

/// A message fragmented into frames that are each under 64 KiB but together
/// over it also closes with 1009.
#[tokio::test]
async fn fragmented_message_over_64_kib_closes_1009() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    let part = vec![b' '; 40 * 1024];
    ws.send_raw(Message::Frame(Frame::message(
        part.clone(),
        OpCode::Data(Data::Text),
        false,
    )))
    .await;
    ws.send_raw(Message::Frame(Frame::message(
        part,
        OpCode::Data(Data::Continue),
        true,
    )))
    .await;
    assert_eq!(ws.closed().await, Closed::Code(1009));
    assert_eq!(ws.close_reason.as_deref(), Some("message_too_big"));
    s.stop().await;
}

/// Over the RPC rate (rpc_rate = 5, burst 10), RPCs get `rate_limited` errors
/// carrying their ids; flooding on closes with 1008.
#[tokio::test]
async fn rpc_flood_gets_rate_limited_then_1008() {
    let mut s = TestServer::start_with(|c| c.rpc_rate = 5).await;
    let ann = s.user("ann").await;
    let b = ann.board("Busy").await;
    let mut ws = Ws::connect(&ann).await;
    for id in 0..40 {
        let m = json!({"type": "rpc", "id": id, "method": "board.get", "params": {"board": b}});
        ws.send_raw(Message::Text(m.to_string().into())).await;
    }
    let (msgs, closed) = ws.until_closed(Duration::from_secs(10)).await;
    assert_eq!(closed, Closed::Code(1008), "{msgs:?}");
    assert_eq!(ws.close_reason.as_deref(), Some("rate_limited"));
    let limited: Vec<&Value> = msgs
        .iter()
        .filter(|v| v["type"] == "error" && v["error"]["code"] == "rate_limited")
        .collect();
    assert!(!limited.is_empty(), "rate_limited errors first: {msgs:?}");
    for e in &limited {
        let id = e["id"].as_u64().expect("the request id");
        assert!((10..40).contains(&id), "the burst of 10 passes: {e}");
        assert!(e["error"]["message"].is_string());
    }
    let results = msgs.iter().filter(|v| v["type"] == "result").count();
    assert!(results <= 12, "about the burst is served: {results}");
    s.stop().await;
}

/// Just over the limit once gets `rate_limited` and the connection stays open.
#[tokio::test]
async fn brief_burst_over_the_rate_stays_open() {
    let mut s = TestServer::start_with(|c| c.rpc_rate = 5).await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    for t in 0..12 {
        ws.send(json!({"type": "ping", "t": t})).await;
    }
    let mut limited = 0;
    let mut pongs = 0;
    for _ in 0..12 {
        let v = ws.recv().await;
        match v["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => {
                assert_eq!(v["error"]["code"], "rate_limited", "{v}");
                limited += 1;
            }
            _ => panic!("{v}"),
        }
    }
    assert!(
        pongs >= 10 && limited >= 1,
        "pongs {pongs}, limited {limited}"
    );
    // The bucket refills at 5/s: a ping within a second gets its pong.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        ws.send(json!({"type": "ping", "t": "later"})).await;
        let v = ws.recv().await;
        if v["type"] == "pong" {
            break;
        }
        assert_eq!(v["error"]["code"], "rate_limited");
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    s.stop().await;
}

/// Invalid JSON gets `invalid_message` errors (id null) and the connection
/// stays open; more than 50 bad messages in 10 s close it with 1008.
#[tokio::test]
async fn invalid_messages_then_flood_closes_1008() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    for i in 0..5 {
        ws.send_raw(Message::Text(format!("{{not json {i}").into()))
            .await;
        let e = ws.recv().await;
        assert_eq!(e["type"], "error");
        assert_eq!(e["id"], Value::Null);
        assert_eq!(e["error"]["code"], "invalid_message");
    }
    assert_alive(&mut ws).await;
    for _ in 0..60 {
        ws.send_raw(Message::Text("nope".into())).await;
    }
    let (msgs, closed) = ws.until_closed(Duration::from_secs(10)).await;
    assert_eq!(closed, Closed::Code(1008));
    assert_eq!(
        ws.close_reason.as_deref(),
        Some("too_many_invalid_messages")
    );
    assert!(
        msgs.iter().all(|v| v["error"]["code"] == "invalid_message"),
        "{msgs:?}"
    );
    assert!(msgs.len() >= 40, "errors until the limit: {}", msgs.len());
    s.stop().await;
}

/// A foreign Origin is refused with 403 before the upgrade, even with valid
/// credentials (cookie or bearer); the server's own origin is accepted.
#[tokio::test]
async fn foreign_origin_403_before_upgrade() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let Err((status, body)) = try_connect(&ann, &[("origin", "http://evil.example")]).await else {
        panic!("upgraded despite a foreign origin");
    };
    assert_eq!(status, 403);
    let body: Value = serde_json::from_str(&body).expect("JSON error body");
    assert_eq!(body["error"]["code"], "forbidden");
    let tok = ann.post("/api/tokens", json!({"name": "cli"})).await.body;
    let bearer = ann.with_bearer(tok["token"].as_str().unwrap());
    let r = try_connect(&bearer, &[("origin", "http://evil.example")]).await;
    assert_eq!(r.err().map(|e| e.0), Some(403));
    let own = s.base.clone();
    let ws = try_connect(&ann, &[("origin", own.as_str())]).await;
    assert!(ws.is_ok(), "own origin is allowed");
    s.stop().await;
}

/// No credentials (or a bad token) → 401 before the upgrade.
#[tokio::test]
async fn no_credentials_401_before_upgrade() {
    let mut s = TestServer::start().await;
    let r = try_connect(&s.anon(), &[]).await;
    let Err((status, body)) = r else {
        panic!("upgraded without credentials")
    };
    assert_eq!(status, 401);
    let body: Value = serde_json::from_str(&body).expect("JSON error body");
    assert_eq!(body["error"]["code"], "unauthorized");
    let bad = s.anon().with_bearer("not-a-token");
    assert_eq!(try_connect(&bad, &[]).await.err().map(|e| e.0), Some(401));
    s.stop().await;
}

/// Over cfg.max_connections_per_user (3) the upgrade is refused with 429;
/// other users are unaffected, and a freed slot can be used again.
#[tokio::test]
async fn over_connection_limit_429() {
    let mut s = TestServer::start_with(|c| c.max_connections_per_user = 3).await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(Ws::connect(&ann).await);
    }
    let Err((status, body)) = try_connect(&ann, &[]).await else {
        panic!("a fourth connection was accepted")
    };
    assert_eq!(status, 429);
    let body: Value = serde_json::from_str(&body).expect("JSON error body");
    assert_eq!(body["error"]["code"], "rate_limited");
    let _bob = Ws::connect(&bob).await;
    open.pop().unwrap().close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match try_connect(&ann, &[]).await {
            Ok(_) => break,
            Err((429, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("slot not freed: {e:?}"),
        }
    }
    s.stop().await;
}

/// Revoking the API token a connection was opened with closes it with 4001;
/// a connection of the same user on the session cookie stays open.
#[tokio::test]
async fn revoking_the_token_closes_4001() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let tok = ann.post("/api/tokens", json!({"name": "cli"})).await;
    assert_eq!(tok.status, 201);
    let bearer = ann.with_bearer(tok.body["token"].as_str().unwrap());
    let mut by_token = Ws::connect(&bearer).await;
    let mut by_cookie = Ws::connect(&ann).await;
    assert_alive(&mut by_token).await;
    let id = tok.body["id"].as_str().unwrap();
    assert_eq!(ann.delete(&format!("/api/tokens/{id}")).await.status, 204);
    assert_eq!(by_token.closed().await, Closed::Code(4001));
    assert_eq!(by_token.close_reason.as_deref(), Some("credential_revoked"));
    assert_alive(&mut by_cookie).await;
    assert_eq!(
        try_connect(&bearer, &[]).await.err().map(|e| e.0),
        Some(401)
    );
    s.stop().await;
}

/// Logging out the session a connection uses closes it with 4001; another
/// session of the same user keeps its connection.
#[tokio::test]
async fn logout_closes_4001() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let other = login(&ann).await;
    let mut ws = Ws::connect(&ann).await;
    let mut ws_other = Ws::connect(&other).await;
    let r = ann.call(Method::POST, "/api/auth/logout", None).await;
    assert_eq!(r.status, 204);
    assert_eq!(ws.closed().await, Closed::Code(4001));
    assert_eq!(ws.close_reason.as_deref(), Some("credential_revoked"));
    assert_alive(&mut ws_other).await;
    s.stop().await;
}

/// The owner removing a member: the member's connection receives the
/// `member.left` event, then `unsubscribed` with reason `revoked`, stays open
/// (ping → pong) and gets no further events of that board; so does the
/// member's other tab.
#[tokio::test]
async fn removed_member_gets_member_left_then_unsubscribed_revoked() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Team").await;
    assert_eq!(ann.add_member(&b, &bob, "editor").await.status, 200);
    let mut ws = Ws::connect(&bob).await;
    ws.subscribe(&b, None).await;
    let mut owner = Ws::connect(&ann).await;
    owner.subscribe(&b, None).await;
    let mut tab2 = Ws::connect(&bob).await;
    tab2.subscribe(&b, Some(0)).await;
    let r = ann
        .delete(&format!("/api/boards/{b}/members/{}", bob.id()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let msgs = ws.recv_until(|v| v["type"] == "unsubscribed").await;
    let n = msgs.len();
    let ev = &msgs[n - 2];
    assert_eq!(ev["type"], "event", "{msgs:?}");
    assert_eq!(ev["kind"], "member.left");
    assert_eq!(ev["user"], bob.user);
    assert_eq!(ev["role"], "editor");
    assert_eq!(
        msgs[n - 1],
        json!({"type": "unsubscribed", "board": b, "reason": "revoked"})
    );
    ann.note(&b, json!({"x": 1, "y": 1})).await;
    // One dispatch queues an event for every subscriber: once the owner has
    // it, bob's copy (if any) is queued before bob's next pong.
    let ev = owner
        .recv_until(|v| v["kind"] == "note.created")
        .await
        .pop()
        .unwrap();
    assert_eq!(ev["type"], "event");
    let before = ws.sync().await;
    assert!(before.iter().all(|v| v["type"] != "event"), "{before:?}");
    assert_alive(&mut ws).await;
    // Bob's other tab lost the subscription the same way.
    let msgs = tab2.recv_until(|v| v["type"] == "unsubscribed").await;
    assert_eq!(msgs[msgs.len() - 2]["kind"], "member.left", "{msgs:?}");
    assert_eq!(msgs.last().unwrap()["reason"], "revoked");
    // Resubscribing is now refused.
    let again = ws.subscribe(&b, None).await;
    assert_eq!(again.last().unwrap()["error"]["code"], "not_found");
    s.stop().await;
}

/// Deleting the board: every subscriber gets `board.deleted`, then
/// `unsubscribed` with reason `deleted`; connections stay open.
#[tokio::test]
async fn board_deleted_then_unsubscribed_deleted() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Doomed").await;
    assert_eq!(ann.add_member(&b, &bob, "viewer").await.status, 200);
    let mut wa = Ws::connect(&ann).await;
    let mut wb = Ws::connect(&bob).await;
    wa.subscribe(&b, None).await;
    wb.subscribe(&b, None).await;
    assert_eq!(ann.delete(&format!("/api/boards/{b}")).await.status, 204);
    for ws in [&mut wa, &mut wb] {
        let msgs = ws.recv_until(|v| v["type"] == "unsubscribed").await;
        let at = msgs
            .iter()
            .position(|v| v["type"] == "event")
            .unwrap_or_else(|| panic!("no event: {msgs:?}"));
        assert_eq!(msgs[at]["kind"], "board.deleted");
        assert_eq!(msgs[at]["board"], b);
        // Between the event and `unsubscribed` only presence (the others leaving) may come.
        let between = &msgs[at + 1..msgs.len() - 1];
        assert!(between.iter().all(|v| v["type"] == "presence"), "{msgs:?}");
        assert_eq!(
            msgs.last().unwrap(),
            &json!({"type": "unsubscribed", "board": b, "reason": "deleted"})
        );
        assert_alive(ws).await;
    }
    s.stop().await;
}

/// Heartbeat (heartbeat_ms = 200): the welcome says so; a client that stops
/// reading (so never answers Pings) is closed with 4000 after 2 × 200 ms and
/// well within ~1 s.
#[tokio::test]
async fn heartbeat_closes_a_silent_client_4000() {
    let mut s = TestServer::start_with(|c| c.heartbeat_ms = 200).await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    let t0 = Instant::now();
    assert_eq!(ws.welcome["heartbeat_ms"], 200);
    let code = ws.peek_close_without_reading(Duration::from_secs(5)).await;
    let took = t0.elapsed();
    println!("closed after {took:?}");
    assert_eq!(code, Some(4000));
    assert!(
        took >= Duration::from_millis(350),
        "not before 2 × heartbeat: {took:?}"
    );
    assert!(took <= Duration::from_millis(1500), "within ~1 s: {took:?}");
    assert_eq!(ws.closed().await, Closed::Code(4000));
    assert_eq!(ws.close_reason.as_deref(), Some("heartbeat_timeout"));
    s.stop().await;
}

/// Heartbeat (heartbeat_ms = 200): a client that keeps reading (answering
/// the server's Pings) stays open for many heartbeat periods.
#[tokio::test]
async fn heartbeat_keeps_a_reading_client_open() {
    let mut s = TestServer::start_with(|c| c.heartbeat_ms = 200).await;
    let ann = s.user("ann").await;
    let mut ws = Ws::connect(&ann).await;
    assert_eq!(ws.welcome["heartbeat_ms"], 200);
    match ws.next_within(Duration::from_millis(1500)).await {
        Next::Timeout => {}
        other => panic!("expected silence, got {other:?}"),
    }
    assert_alive(&mut ws).await;
    s.stop().await;
}

/// The default welcome: `{type, session, user, heartbeat_ms, server}`.
#[tokio::test]
async fn welcome_has_the_contract_fields() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let ws = Ws::connect(&ann).await;
    let w = &ws.welcome;
    assert_eq!(w["type"], "welcome");
    assert!(w["session"].is_string(), "{w}");
    assert_eq!(w["user"], ann.user);
    assert_eq!(w["heartbeat_ms"], 25_000);
    assert!(
        w["server"]
            .as_str()
            .is_some_and(|v| v.starts_with("corkboard/")),
        "{w}"
    );
    s.stop().await;
}

/// `corkboard.v1` is selected when offered (alone or among others); a
/// connection that offers no subprotocol works too.
#[tokio::test]
async fn subprotocol_selected_when_offered() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let ws = Ws::connect(&ann).await;
    assert_eq!(ws.protocol.as_deref(), Some("corkboard.v1"));
    let ws2 = try_connect(
        &ann,
        &[("sec-websocket-protocol", "other.v9, corkboard.v1")],
    )
    .await
    .expect("upgrade");
    assert_eq!(ws2.protocol.as_deref(), Some("corkboard.v1"));
    let mut plain = try_connect(&ann, &[])
        .await
        .expect("upgrade without a subprotocol");
    assert_eq!(plain.protocol, None);
    assert_eq!(plain.welcome["user"]["username"], "ann");
    assert_alive(&mut plain).await;
    s.stop().await;
}

/// Graceful shutdown while RPCs are in flight: every RPC is answered, then the
/// connection closes with 1001.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_rpcs_in_flight_then_1001() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Last").await;
    let mut ws = Ws::connect(&ann).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let text = format!("note {i}");
        ids.push(
            ws.send_rpc(
                "note.create",
                json!({"board": b, "x": i, "y": 0, "text": text}),
            )
            .await,
        );
    }
    // The pong proves every RPC above has been read (messages are handled in order).
    let early = ws.sync().await;
    let stopper = tokio::spawn(async move {
        s.stop().await;
        s
    });
    let (msgs, closed) = ws.until_closed(Duration::from_secs(15)).await;
    assert_eq!(closed, Closed::Code(1001), "{msgs:?}");
    assert_eq!(ws.close_reason.as_deref(), Some("shutdown"));
    let n_early = early.iter().filter(|v| v["type"] == "result").count();
    println!("{n_early} results before the stop, the rest after it");
    let answered: Vec<u64> = early
        .iter()
        .chain(&msgs)
        .filter(|v| v["type"] == "result")
        .map(|v| v["id"].as_u64().unwrap())
        .collect();
    let mut sorted = answered.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ids, "every RPC answered before the close");
    let _s = tokio::time::timeout(Duration::from_secs(15), stopper)
        .await
        .expect("shutdown finishes")
        .unwrap();
}
