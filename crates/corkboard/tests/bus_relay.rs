//! What crosses nodes besides board events, over real sockets: two servers
//! sharing one PostgreSQL database and one Redis (`--redis-url`, a prefix of
//! their own). A client's connections on node 1 see presence, signals and
//! notifications (and boards-list changes) caused on node 0, and a credential revoked on node 0 closes
//! its connections on node 1.
//!
//! Needs PostgreSQL (`CORKBOARD_TEST_PG_URL`) and Redis
//! (`CORKBOARD_TEST_REDIS_URL`, default redis://127.0.0.1:6379); `make test`
//! starts them. When either is unreachable the test fails if `CI` is set,
//! else warns loudly and returns.

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::time::Duration;

use cluster::{redis_url, services_available};
use common::sse;
use common::ws::{Closed, Ws};
use common::*;
use corkboard::store::postgres::testing::TestDatabase;
use reqwest::Method;
use serde_json::{json, Value};

async fn node(db: &TestDatabase, prefix: &str, i: usize) -> TestServer {
    let (url, prefix) = (db.url.clone(), prefix.to_owned());
    TestServer::start_with(move |cfg| {
        cfg.database_url = Some(url);
        cfg.database_pool_size = 4;
        cfg.redis_url = Some(redis_url());
        cfg.redis_prefix = prefix;
        cfg.node_id = Some(format!("n{i}"));
        cfg.presence_ttl = 2;
        cfg.data = cfg.data.join("unused");
    })
    .await
}

/// The same identity, talking to another node.
fn on(c: &Client, s: &TestServer) -> Client {
    Client {
        base: s.base.clone(),
        ..c.clone()
    }
}

async fn ready(s: &TestServer) {
    let c = s.anon();
    for _ in 0..100 {
        let r = c.get("/readyz").await;
        if r.status == 200 {
            assert_eq!(r.body["bus"], "ok", "{}", r.text);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node never ready");
}

async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    ws.recv_until(|v| v["type"] == kind)
        .await
        .pop()
        .expect("message")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_signals_notifications_and_revocations_cross_nodes() {
    if !services_available("bus_relay", false).await {
        return;
    }
    let db = TestDatabase::create().await;
    let prefix = format!("cb-relay-{}", uuid::Uuid::new_v4().simple());
    let mut n0 = node(&db, &prefix, 0).await;
    let mut n1 = node(&db, &prefix, 1).await;
    ready(&n0).await;
    ready(&n1).await;

    let ann = n0.user("ann").await;
    let bob0 = n0.user("bob").await;
    let bob1 = on(&bob0, &n1);
    let b = ann.board("Cluster").await;
    assert_eq!(ann.add_member(&b, &bob0, "editor").await.status, 200);

    // ann on node 0, bob on node 1.
    let mut wa = Ws::connect(&ann).await;
    wa.subscribe(&b, None).await;
    next_of(&mut wa, "presence").await; // members: ann
    let mut wb = Ws::connect(&bob1).await;
    wb.subscribe(&b, None).await;
    let members = next_of(&mut wb, "presence").await;
    let names: Vec<&str> = members["members"]
        .as_array()
        .expect("members list")
        .iter()
        .filter_map(|p| p["user"]["username"].as_str())
        .collect();
    assert_eq!(
        names,
        vec!["ann", "bob"],
        "node 1 sees ann, present on node 0"
    );
    let joined = next_of(&mut wa, "presence").await;
    assert_eq!(joined["joined"][0]["user"]["username"], "bob", "{joined}");

    // A cursor from bob (node 1) reaches ann (node 0), with bob as sender.
    wb.send(json!({"type": "signal", "board": b, "name": "cursor", "data": {"x": 1, "y": 2}}))
        .await;
    let sig = next_of(&mut wa, "signal").await;
    assert_eq!(sig["from"], bob0.user, "{sig}");
    assert_eq!(sig["data"], json!({"x": 1, "y": 2}));

    // A mention written on node 0 reaches bob's notification stream on node 1.
    let mut stream = sse::open(&bob1, "/api/notifications/stream", &[]).await;
    ann.note(&b, json!({"x": 0, "y": 0, "text": "hi @bob"}))
        .await;
    let got = stream
        .events_until(|blk| blk.kind() == "notification")
        .await;
    let n = got.last().expect("a notification").json();
    assert_eq!(n["kind"], "mention", "{n}");
    // The event itself reached bob's WebSocket on node 1.
    let ev = next_of(&mut wb, "event").await;
    assert_eq!(ev["kind"], "note.created");
    // A rename on node 0 tells bob's stream on node 1 to refetch his boards
    // list (`event: boards`, an extension).
    let r = ann
        .patch(&format!("/api/boards/{b}"), json!({"title": "Renamed"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got = stream.events_until(|blk| blk.kind() == "boards").await;
    assert_eq!(
        got.last().expect("boards").json(),
        json!({"reason": "renamed", "board": b})
    );

    // bob logs out on node 0: his connection on node 1 closes with 4001.
    let r = bob0.call(Method::POST, "/api/auth/logout", None).await;
    assert_eq!(r.status, 204);
    assert_eq!(wb.closed().await, Closed::Code(4001));
    // And ann sees him leave.
    let left = next_of(&mut wa, "presence").await;
    assert_eq!(left["left"][0]["user"]["username"], "bob", "{left}");
    // The revoked session is refused on node 1 at once, not after a cache TTL.
    assert_eq!(bob1.get("/api/boards").await.status, 401);

    n0.stop().await;
    n1.stop().await;
}
