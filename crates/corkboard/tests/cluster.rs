//! Cluster mode end to end: real `corkboard` processes on one PostgreSQL
//! database and Redis, nginx (the shipped config) in front where a load
//! balancer is part of the story. Each test makes its own database, Redis
//! key prefix and ports, so they run in parallel with everything else.
//!
//! - cross-node delivery over WebSocket and SSE, exactly once and in order;
//! - concurrent writers on three nodes: no seq gap, no duplicate;
//! - failover: `kill -9` of a node while clients write and subscribe
//!   through nginx; nothing acknowledged is lost or applied twice;
//! - a Redis crash and restart: subscribers on every node catch up;
//! - convergence of 50 clients under random operations, disconnects and a
//!   node restart (seeded: `CORKBOARD_SEED=<seed>` replays a run, see
//!   `tests/common/seed.rs`).
//!
//! Needs PostgreSQL, Redis and nginx (`make test` provides them). Without
//! them a test fails when `CI` is set, else warns loudly and returns.

#[path = "common/chaos.rs"]
mod chaos;
#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chaos::Mutation;
use cluster::{redis_url, services_available, Cluster, PrivateRedis};
use common::seed::{self, Regression};
use common::sse::{self, Next as SseNext};
use common::ws::{connect_or_io_error, BoardState, Next, Ws};
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};
use tokio::time::Instant;

/// Reads WebSocket events until seq `target`, asserting each is the next one.
async fn follow_ws(ws: &mut Ws, mut last: u64, target: u64, who: &str) -> Vec<u64> {
    let mut seqs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while last < target {
        assert!(
            Instant::now() < deadline,
            "{who}: stuck at seq {last} of {target}"
        );
        match ws.next_within(Duration::from_millis(500)).await {
            Next::Msg(v) if v["type"] == "event" => {
                let seq = v["seq"].as_u64().expect("seq");
                assert_eq!(seq, last + 1, "{who}: after {last} got {v}");
                last = seq;
                seqs.push(seq);
            }
            Next::Msg(_) => {}
            Next::Closed(c) => panic!("{who}: closed {c:?} at seq {last}"),
            Next::Timeout => {}
        }
    }
    let extra: Vec<Value> = ws
        .sync()
        .await
        .into_iter()
        .filter(|m| m["type"] == "event")
        .collect();
    assert!(extra.is_empty(), "{who}: events past {target}: {extra:?}");
    seqs
}

/// Reads SSE board events until id `target`, asserting each is the next one.
async fn follow_sse(s: &mut sse::Sse, mut last: u64, target: u64, who: &str) -> Vec<u64> {
    let mut seqs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while last < target {
        assert!(
            Instant::now() < deadline,
            "{who}: stuck at id {last} of {target}"
        );
        match s.next_event_within(Duration::from_millis(500)).await {
            SseNext::Block(b)
                if b.kind().starts_with("note.") || b.kind().starts_with("board.") =>
            {
                let id = b.id_u64();
                assert_eq!(id, last + 1, "{who}: after {last} got {b:?}");
                last = id;
                seqs.push(id);
            }
            SseNext::Block(_) => {}
            SseNext::Ended => panic!("{who}: stream ended at {last}"),
            SseNext::Timeout => {}
        }
    }
    seqs
}

fn one_to(n: u64) -> Vec<u64> {
    (1..=n).collect()
}

/// A client on node 0 writes; a WebSocket subscriber on node 1 and an SSE
/// subscriber on node 2 receive every event once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_node_delivery_exactly_once_in_order_over_websocket_and_sse() {
    if !services_available("cross_node_delivery", false).await {
        return;
    }
    let c = Cluster::start(3, &redis_url(), false).await;
    let ann = c.user("ann").await;
    let b = ann.board("Across").await;
    let mut ws = Ws::connect(&c.at(&ann, &c.node(1))).await;
    ws.subscribe(&b, Some(0)).await;
    let mut stream = sse::open(
        &c.at(&ann, &c.node(2)),
        &format!("/api/boards/{b}/stream"),
        &[("last-event-id", "0")],
    )
    .await;
    const N: u64 = 60;
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let ann = ann.clone();
            let b = b.clone();
            tokio::spawn(async move {
                for i in 0..N / 2 {
                    let r = ann
                        .post(&format!("/api/boards/{b}/notes"), json!({"x": w, "y": i}))
                        .await;
                    assert_eq!(r.status, 201, "{}", r.text);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(follow_ws(&mut ws, 0, N, "ws@node1").await, one_to(N));
    assert_eq!(follow_sse(&mut stream, 0, N, "sse@node2").await, one_to(N));
}

/// Three writers, one per node, on one board: the log holds seqs 1..=N once
/// each, and a subscriber sees exactly those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_on_three_nodes_leave_no_gap_and_no_duplicate() {
    if !services_available("concurrent_writers", false).await {
        return;
    }
    let c = Cluster::start(3, &redis_url(), false).await;
    let ann = c.user("ann").await;
    let b = ann.board("Busy").await;
    let mut ws = Ws::connect(&c.at(&ann, &c.node(2))).await;
    ws.subscribe(&b, Some(0)).await;
    const PER: u64 = 40;
    let writers: Vec<_> = (0..3)
        .map(|i| {
            let w = c.at(&ann, &c.node(i));
            let b = b.clone();
            tokio::spawn(async move {
                for k in 0..PER {
                    let r = w
                        .post(&format!("/api/boards/{b}/notes"), json!({"x": i, "y": k}))
                        .await;
                    assert_eq!(r.status, 201, "{}", r.text);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let total = PER * 3;
    let (seqs, head) = ann.all_seqs(&b).await;
    assert_eq!(head, total);
    assert_eq!(seqs, one_to(total), "the log: every seq once");
    assert_eq!(
        follow_ws(&mut ws, 0, total, "ws@node2").await,
        one_to(total)
    );
}

/// Sends one create through `base` until it is acknowledged, retrying the
/// same op id after network errors and 502/503/504 (the node died).
async fn create_until_acked(c: &Client, board: &str, id: &str) -> u16 {
    let body = json!({"id": id, "x": 1, "y": 2, "text": id, "op": format!("op-{id}")});
    let path = format!("/api/boards/{board}/notes");
    // Long enough to ride out nginx marking every upstream failed for a few
    // of its 5 s `fail_timeout` windows in a row on a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut tries, mut last) = (0, String::new());
    while Instant::now() < deadline {
        tries += 1;
        let call = c.try_call(Method::POST, &path, Some(body.clone()));
        // A request stuck on a node that went away is retried like a failed one.
        match tokio::time::timeout(Duration::from_secs(10), call).await {
            Ok(Ok(r)) if matches!(r.status, 200 | 201) => return r.status,
            Ok(Ok(r)) if matches!(r.status, 502..=504) => {
                last = format!(
                    "{} {}",
                    r.status,
                    r.text.chars().take(200).collect::<String>()
                );
            }
            Ok(Ok(r)) => panic!("create {id}: {} {}", r.status, r.text),
            Ok(Err(e)) => last = format!("network error: {e}"),
            Err(_) => last = "no answer in 10 s".into(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("create {id} never acknowledged in 60 s ({tries} tries; the last: {last})");
}

/// Waits until `acked` reaches `n`; fails (instead of waiting forever) when a
/// writer has stopped early (it panicked) or 90 s pass, with `diagnostics()`
/// (the nodes' and the load balancer's logs) in the message.
async fn wait_acked<T>(
    acked: &AtomicU64,
    n: u64,
    writers: &[tokio::task::JoinHandle<T>],
    what: &str,
    diagnostics: impl Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while acked.load(Ordering::SeqCst) < n {
        assert!(
            !writers.iter().any(|w| w.is_finished()),
            "{what}: a writer stopped at {} of {n} acknowledged writes\n{}",
            acked.load(Ordering::SeqCst),
            diagnostics()
        );
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {n} writes acknowledged in 90 s\n{}",
            acked.load(Ordering::SeqCst),
            diagnostics()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A subscriber through the load balancer that reconnects with `since`
/// whenever its connection breaks, until it has seen `target`.
async fn resilient_subscriber(
    client: Client,
    board: String,
    target: Arc<AtomicU64>,
    reconnects: Arc<AtomicUsize>,
    who: String,
) -> Vec<u64> {
    let mut seen: Vec<u64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let last = seen.last().copied().unwrap_or(0);
        if last >= target.load(Ordering::SeqCst) {
            return seen;
        }
        assert!(Instant::now() < deadline, "{who}: stuck at {last}");
        let connect = connect_or_io_error(&client, &[("sec-websocket-protocol", "corkboard.v1")]);
        let mut ws = match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(Ok(ws))) => ws,
            _ => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        ws.send(json!({"type": "subscribe", "board": board, "since": last}))
            .await;
        loop {
            let last = seen.last().copied().unwrap_or(0);
            if last >= target.load(Ordering::SeqCst) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{who}: stuck at {last} on a live connection"
            );
            match ws.next_within(Duration::from_millis(300)).await {
                Next::Msg(v) if v["type"] == "event" => {
                    let seq = v["seq"].as_u64().unwrap();
                    assert_eq!(seq, last + 1, "{who}: after {last} got {v}");
                    seen.push(seq);
                }
                Next::Msg(v) if v["type"] == "subscribed" => {
                    assert!(
                        v.get("snapshot").is_none(),
                        "{who}: resume must replay: {v}"
                    );
                }
                Next::Msg(_) | Next::Timeout => {}
                Next::Closed(_) => {
                    reconnects.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
        }
    }
}

/// kill -9 of one node while four writers and six subscribers work through
/// nginx: writers retry with their op ids, subscribers resume with `since`
/// on the other nodes; every acknowledged note is there once, and every
/// subscriber saw every seq once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_after_kill_9_through_the_load_balancer() {
    if !services_available("failover", true).await {
        return;
    }
    let mut c = Cluster::start(3, &redis_url(), true).await;
    let lb = c.lb.clone().expect("nginx");
    let ann = c.user("ann").await;
    let via_lb = c.at(&ann, &lb);
    let b = via_lb.board("Failover").await;
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let reconnects = Arc::new(AtomicUsize::new(0));
    let subs: Vec<_> = (0..6)
        .map(|i| {
            tokio::spawn(resilient_subscriber(
                via_lb.clone(),
                b.clone(),
                target.clone(),
                reconnects.clone(),
                format!("sub{i}"),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acked = Arc::new(AtomicU64::new(0));
    const WRITERS: u64 = 4;
    const PER: u64 = 50;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (c, b, acked) = (via_lb.clone(), b.clone(), acked.clone());
            tokio::spawn(async move {
                for i in 0..PER {
                    create_until_acked(&c, &b, &format!("w{w}-{i}")).await;
                    acked.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect();
    wait_acked(
        &acked,
        WRITERS * PER / 3,
        &writers,
        "before the kill",
        || c.diagnostics(),
    )
    .await;
    c.kill(1);
    for w in writers {
        w.await.unwrap();
    }
    let fin = via_lb.get(&format!("/api/boards/{b}")).await;
    assert_eq!(fin.status, 200, "{}", fin.text);
    let seq = fin.body["seq"].as_u64().unwrap();
    let ids: std::collections::BTreeSet<String> = fin.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    let want: std::collections::BTreeSet<String> = (0..WRITERS)
        .flat_map(|w| (0..PER).map(move |i| format!("w{w}-{i}")))
        .collect();
    assert_eq!(ids, want, "every acknowledged note, once");
    assert_eq!(
        seq,
        WRITERS * PER,
        "no create applied twice (one event each)"
    );
    target.store(seq, Ordering::SeqCst);
    for s in subs {
        assert_eq!(s.await.unwrap(), one_to(seq));
    }
    assert!(
        reconnects.load(Ordering::SeqCst) > 0,
        "some subscriber was on the killed node and resumed elsewhere"
    );
}

/// An SSE subscriber through the load balancer that reopens the board
/// stream with `Last-Event-ID` whenever it ends, until it has seen `target`.
async fn resilient_sse_subscriber(
    client: Client,
    board: String,
    target: Arc<AtomicU64>,
    reconnects: Arc<AtomicUsize>,
    who: String,
) -> Vec<u64> {
    let mut seen: Vec<u64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    let path = format!("/api/boards/{board}/stream");
    loop {
        let last = seen.last().copied().unwrap_or(0);
        if last >= target.load(Ordering::SeqCst) {
            return seen;
        }
        assert!(Instant::now() < deadline, "{who}: stuck at {last}");
        let last_id = last.to_string();
        let mut s = match sse::try_open(&client, &path, &[("last-event-id", &last_id)]).await {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        loop {
            let last = seen.last().copied().unwrap_or(0);
            if last >= target.load(Ordering::SeqCst) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "{who}: stuck at {last} on a live stream"
            );
            match s.next_event_within(Duration::from_millis(300)).await {
                SseNext::Block(b)
                    if b.kind().starts_with("note.") || b.kind().starts_with("board.") =>
                {
                    let id = b.id_u64();
                    assert_eq!(id, last + 1, "{who}: after {last} got {b:?}");
                    seen.push(id);
                }
                SseNext::Block(_) | SseNext::Timeout => {}
                SseNext::Ended => {
                    reconnects.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
        }
    }
}

/// A rolling restart, as an orchestrator does an upgrade: each of the three
/// nodes in turn gets SIGTERM, drains and exits 0, and comes back, while
/// four writers create notes and six subscribers (four WebSocket, two SSE)
/// follow the board through nginx. Writers retry with their op ids (a
/// request nginx had already sent to the draining node may fail), and
/// subscribers resume with `since` / `Last-Event-ID`: every acknowledged
/// note is there once, no create is applied twice, and every subscriber
/// sees every seq once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_through_the_load_balancer_loses_and_duplicates_nothing() {
    if !services_available("rolling restart", true).await {
        return;
    }
    let mut c = Cluster::start(3, &redis_url(), true).await;
    let lb = c.lb.clone().expect("nginx");
    let ann = c.user("ann").await;
    let via_lb = c.at(&ann, &lb);
    let b = via_lb.board("Rolling").await;
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let reconnects = Arc::new(AtomicUsize::new(0));
    let mut subs: Vec<_> = (0..4)
        .map(|i| {
            tokio::spawn(resilient_subscriber(
                via_lb.clone(),
                b.clone(),
                target.clone(),
                reconnects.clone(),
                format!("ws{i}"),
            ))
        })
        .collect();
    subs.extend((0..2).map(|i| {
        tokio::spawn(resilient_sse_subscriber(
            via_lb.clone(),
            b.clone(),
            target.clone(),
            reconnects.clone(),
            format!("sse{i}"),
        ))
    }));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acked = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    const WRITERS: u64 = 4;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (c, b, acked, done) = (via_lb.clone(), b.clone(), acked.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                // Until the last node is back, plus a few more writes.
                while done.load(Ordering::SeqCst) < 3 || i < 5 {
                    create_until_acked(&c, &b, &format!("w{w}-{i}")).await;
                    acked.fetch_add(1, Ordering::SeqCst);
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                i
            })
        })
        .collect();
    for node in 0..3 {
        let before = acked.load(Ordering::SeqCst);
        wait_acked(
            &acked,
            before + 20,
            &writers,
            &format!("before node{node} stops"),
            || c.diagnostics(),
        )
        .await;
        let status = c
            .stop_gracefully(node, Duration::from_secs(15))
            .await
            .unwrap_or_else(|| panic!("node{node} did not drain in 15 s:\n{}", c.log(node)));
        assert!(
            status.success(),
            "node{node} exited {status}:\n{}",
            c.log(node)
        );
        assert!(
            !c.log(node).contains("drain deadline passed"),
            "node{node} drained by force:\n{}",
            c.log(node)
        );
        // Writes go on through the other two nodes while this one is down.
        let down = acked.load(Ordering::SeqCst);
        wait_acked(
            &acked,
            down + 10,
            &writers,
            &format!("while node{node} is down"),
            || c.diagnostics(),
        )
        .await;
        c.start_again(node).await;
        done.fetch_add(1, Ordering::SeqCst);
    }
    let mut want = std::collections::BTreeSet::new();
    for (w, h) in writers.into_iter().enumerate() {
        let n = h.await.unwrap();
        want.extend((0..n).map(|i| format!("w{w}-{i}")));
    }
    let fin = via_lb.get(&format!("/api/boards/{b}")).await;
    assert_eq!(fin.status, 200, "{}", fin.text);
    let seq = fin.body["seq"].as_u64().unwrap();
    let ids: std::collections::BTreeSet<String> = fin.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, want, "every acknowledged note, once");
    assert_eq!(seq, want.len() as u64, "no create applied twice");
    target.store(seq, Ordering::SeqCst);
    for s in subs {
        assert_eq!(s.await.unwrap(), one_to(seq));
    }
    let reconnects = reconnects.load(Ordering::SeqCst);
    eprintln!("rolling restart: {seq} writes acknowledged, {reconnects} subscriber reconnects");
    assert!(
        reconnects > 0,
        "subscribers on a restarted node resumed elsewhere"
    );
}

/// Redis crashes (SIGKILL) and comes back: writes keep committing meanwhile,
/// `/readyz` says the bus is down, and subscribers on all three nodes end
/// with every seq once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_subscribers_on_every_node_catch_up_without_gap() {
    if !services_available("redis_restart", false).await {
        return;
    }
    let mut redis = PrivateRedis::start().await;
    let c = Cluster::start(3, &redis.url(), false).await;
    let ann = c.user("ann").await;
    let b = ann.board("Outage").await;
    let mut subs = Vec::new();
    for i in 0..3 {
        let mut ws = Ws::connect(&c.at(&ann, &c.node(i))).await;
        ws.subscribe(&b, Some(0)).await;
        subs.push(ws);
    }
    let mut stream = sse::open(
        &c.at(&ann, &c.node(1)),
        &format!("/api/boards/{b}/stream"),
        &[("last-event-id", "0")],
    )
    .await;
    let writer = c.at(&ann, &c.node(0));
    let write = |n: u64| {
        let (w, b) = (writer.clone(), b.clone());
        async move {
            for i in 0..n {
                let r = w
                    .post(&format!("/api/boards/{b}/notes"), json!({"x": i, "y": 0}))
                    .await;
                assert_eq!(r.status, 201, "writes commit without Redis: {}", r.text);
            }
        }
    };
    write(20).await;
    redis.kill();
    let node0 = TestServer::anon_at(&c.node(0));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = node0.get("/readyz").await;
        if r.status == 503 {
            assert_eq!(r.body["error"]["details"]["bus"], "down", "{}", r.text);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never reported Redis down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    write(20).await;
    redis.restart().await;
    for i in 0..3 {
        cluster::wait_ready(&c.node(i), Duration::from_secs(15)).await;
    }
    write(20).await;
    for (i, ws) in subs.iter_mut().enumerate() {
        assert_eq!(
            follow_ws(ws, 0, 60, &format!("ws@node{i}")).await,
            one_to(60)
        );
    }
    assert_eq!(
        follow_sse(&mut stream, 0, 60, "sse@node1").await,
        one_to(60)
    );
}

/// One client of the convergence test: its connection, node and board copy.
struct Member {
    client: Client,
    node: usize,
    ws: Option<Ws>,
    board: Option<BoardState>,
}

impl Member {
    /// Connects (to the next node when one is down) and subscribes from
    /// where its copy is (a snapshot the first time).
    async fn connect(&mut self, nodes: &[String], b: &str) {
        for attempt in 0..60 {
            let at = Client {
                base: nodes[self.node].clone(),
                ..self.client.clone()
            };
            if let Ok(Ok(mut ws)) =
                connect_or_io_error(&at, &[("sec-websocket-protocol", "corkboard.v1")]).await
            {
                let since = self.board.as_ref().map(|s| s.seq);
                let mut msg = json!({"type": "subscribe", "board": b});
                if let Some(s) = since {
                    msg["since"] = json!(s);
                }
                ws.send(msg).await;
                self.ws = Some(ws);
                return;
            }
            self.node = (self.node + 1) % 3;
            tokio::time::sleep(Duration::from_millis(20 * (attempt % 5 + 1))).await;
        }
        panic!("no node accepts connections");
    }

    /// Applies whatever arrives within `d`; a broken connection is dropped.
    async fn read(&mut self, d: Duration) {
        let Some(ws) = self.ws.as_mut() else { return };
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match ws.next_within(left).await {
                Next::Msg(v) if v["type"] == "event" => {
                    self.board
                        .as_mut()
                        .expect("subscribed before events")
                        .apply(&v);
                }
                Next::Msg(v) if v["type"] == "subscribed" => {
                    if let Some(snap) = v.get("snapshot") {
                        let seq = v["seq"].as_u64().unwrap();
                        self.board =
                            Some(BoardState::from_parts(&snap["board"], &snap["notes"], seq));
                    } else {
                        assert_eq!(v["seq"].as_u64(), self.board.as_ref().map(|s| s.seq), "{v}");
                    }
                }
                Next::Msg(_) => {}
                Next::Closed(_) => {
                    self.ws = None;
                    return;
                }
                Next::Timeout => return,
            }
        }
    }
}

/// Applies a random mutation over REST on the member's node; a node that is
/// down is skipped for the next one. `not_found` (a note someone deleted) is fine.
async fn mutate(nodes: &[String], m: &mut Member, b: &str, mu: &Mutation) -> Option<String> {
    for _ in 0..30 {
        let at = Client {
            base: nodes[m.node].clone(),
            ..m.client.clone()
        };
        let (method, path, body) = match mu {
            Mutation::Create(v) => (Method::POST, format!("/api/boards/{b}/notes"), v.clone()),
            Mutation::Update(id, v) => (
                Method::PATCH,
                format!("/api/boards/{b}/notes/{id}"),
                v.clone(),
            ),
            Mutation::Delete(id) => (
                Method::DELETE,
                format!("/api/boards/{b}/notes/{id}"),
                Value::Null,
            ),
            Mutation::Rename(t) => (
                Method::PATCH,
                format!("/api/boards/{b}"),
                json!({"title": t}),
            ),
        };
        let body = (!body.is_null()).then_some(body);
        match at.try_call(method, &path, body).await {
            Ok(r) if matches!(r.status, 200 | 201 | 204) => {
                return r.body["note"]["id"].as_str().map(str::to_owned);
            }
            Ok(r) if r.status == 404 => return None,
            Ok(r) if r.status >= 500 => {}
            Ok(r) => panic!("{mu:?}: {} {}", r.status, r.text),
            Err(_) => {}
        }
        m.node = (m.node + 1) % 3;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("{mu:?}: no node answered");
}

/// 50 clients over 3 nodes make random creates, moves, edits and deletes,
/// drop their connections at random and resume (on whichever node answers),
/// while one node is killed and restarted. At quiescence every client's
/// board equals the store's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_converge_through_disconnects_and_a_node_restart() {
    if !services_available("convergence", false).await {
        return;
    }
    converge(seed::seed(
        "fifty_clients_converge_through_disconnects_and_a_node_restart",
    ))
    .await;
}

/// Seeds that once failed
/// `fifty_clients_converge_through_disconnects_and_a_node_restart`, each with
/// what it caught and the fixing commit (see `tests/common/seed.rs`).
const CONVERGE_REGRESSIONS: &[Regression] = &[Regression {
    name: "kill_during_handshake",
    seed: 15_815_625_273_455_977_545,
    caught: "node 2 killed between a client's upgrade and its `welcome`: the test \
             client panicked on the reset instead of trying the next node \
             (fixed in tests/common/ws.rs connect_or_io_error, 2026-11-30)",
}];

/// Replays [`CONVERGE_REGRESSIONS`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converge_regression_seeds() {
    if !CONVERGE_REGRESSIONS.is_empty() && !services_available("convergence", false).await {
        return;
    }
    seed::regressions(
        "fifty_clients_converge_through_disconnects_and_a_node_restart",
        CONVERGE_REGRESSIONS,
        converge,
    )
    .await;
}

async fn converge(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut c = Cluster::start(3, &redis_url(), false).await;
    let nodes: Arc<Vec<String>> = Arc::new((0..3).map(|i| c.node(i)).collect());
    let owner = c.user("owner").await;
    let b = owner.board("Converge").await;
    let mut users = vec![owner.clone()];
    for u in 1..5 {
        let m = c.user(&format!("member{u}")).await;
        assert_eq!(owner.add_member(&b, &m, "editor").await.status, 200);
        users.push(m);
    }
    let known = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for k in 0..50usize {
        let mut crng = StdRng::seed_from_u64(rng.random());
        let (nodes, b, known) = (nodes.clone(), b.clone(), known.clone());
        let client = users[k % users.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut m = Member {
                client,
                node: k % 3,
                ws: None,
                board: None,
            };
            for _ in 0..10 {
                if m.ws.is_none() {
                    m.connect(&nodes, &b).await;
                }
                m.read(Duration::from_millis(crng.random_range(0..80)))
                    .await;
                let mu = chaos::mutation(&mut crng, &known);
                let created = mutate(&nodes, &mut m, &b, &mu).await;
                if let Some(id) = created {
                    known.lock().unwrap().push(id);
                }
                m.read(Duration::from_millis(crng.random_range(0..80)))
                    .await;
                if crng.random_bool(0.25) {
                    if let Some(ws) = m.ws.take() {
                        if crng.random_bool(0.5) {
                            ws.kill();
                        } else {
                            ws.close().await;
                        }
                        m.node = crng.random_range(0..3);
                    }
                }
            }
            m
        }));
    }
    // The node restart, in the middle of it all.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.kill(2);
    tokio::time::sleep(Duration::from_millis(700)).await;
    c.restart(2).await;

    let mut members = Vec::new();
    for t in tasks {
        members.push(t.await.expect("client task"));
    }
    let fin = owner.get(&format!("/api/boards/{b}")).await;
    assert_eq!(fin.status, 200);
    let store = BoardState::from_rest(&fin.body);
    println!(
        "seed={seed}: {} events, {} notes",
        store.seq,
        store.notes.len()
    );
    for (k, m) in members.iter_mut().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(30);
        while m.board.as_ref().map(|s| s.seq) != Some(store.seq) {
            assert!(Instant::now() < deadline, "client {k} (seed {seed}) stuck");
            if m.ws.is_none() {
                m.connect(&nodes, &b).await;
            }
            m.read(Duration::from_millis(200)).await;
        }
        assert_eq!(
            m.board.as_ref(),
            Some(&store),
            "client {k} differs (seed {seed})"
        );
    }
}

/// Collaborative text across nodes: three clients, one per node, send
/// concurrent `note.edit`s (Yjs updates from their own yrs documents) to
/// one note over REST; a subscriber on a fourth path (SSE on node 1)
/// applies each event's `text_update`, and every document, the stored
/// text and a fresh `note.text_state` agree at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_text_edits_on_three_nodes_converge() {
    use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
    use yrs::updates::decoder::Decode;
    use yrs::{GetString, ReadTxn, Text, Transact};
    if !services_available("concurrent_text_edits", false).await {
        return;
    }
    let c = Cluster::start(3, &redis_url(), false).await;
    let ann = c.user("ann").await;
    let b = ann.board("Text").await;
    let n = ann.note(&b, json!({"x": 0, "y": 0, "text": "start"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let doc = |id: u64| {
        let d = yrs::Doc::with_options(yrs::Options {
            client_id: yrs::ClientID::new(id),
            offset_kind: yrs::OffsetKind::Utf16,
            ..yrs::Options::default()
        });
        let t = d.get_or_insert_text("text");
        (d, t)
    };
    let apply = |d: &yrs::Doc, b64: &str| {
        let u = yrs::Update::decode_v1(&B64.decode(b64).unwrap()).unwrap();
        d.transact_mut().apply_update(u).unwrap();
    };
    let path = format!("/api/boards/{b}/notes/{n}");
    let state = ann.get(&format!("{path}/text_state")).await;
    assert_eq!(state.status, 200, "{}", state.text);
    let state = state.body["state"].as_str().unwrap().to_owned();
    let (watch, watch_text) = doc(900);
    apply(&watch, &state);
    let mut stream = sse::open(
        &c.at(&ann, &c.node(1)),
        &format!("/api/boards/{b}/stream"),
        &[("last-event-id", "1")],
    )
    .await;
    const EDITS: usize = 10;
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let client = c.at(&ann, &c.node(w));
            let (path, state) = (path.clone(), state.clone());
            tokio::spawn(async move {
                let (d, t) = doc(100 + w as u64);
                apply(&d, &state);
                for i in 0..EDITS {
                    let before = d.transact().state_vector();
                    let end = t.len(&d.transact());
                    t.insert(&mut d.transact_mut(), end, &format!("[{w}.{i}]"));
                    let u = B64.encode(d.transact().encode_diff_v1(&before));
                    let r = client
                        .post(
                            &format!("{path}/edit"),
                            json!({"update": u, "op": format!("w{w}-{i}")}),
                        )
                        .await;
                    assert_eq!(r.status, 200, "{}", r.text);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let head = ann.get(&format!("/api/boards/{b}")).await.body["seq"]
        .as_u64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = 1;
    while last < head {
        assert!(Instant::now() < deadline, "stuck at {last} of {head}");
        match stream.next_event_within(Duration::from_millis(500)).await {
            SseNext::Block(blk) if blk.kind() == "note.updated" => {
                last = blk.id_u64();
                let v: Value = serde_json::from_str(&blk.data).unwrap();
                apply(&watch, v["text_update"].as_str().expect("text_update"));
            }
            SseNext::Block(_) | SseNext::Timeout => {}
            SseNext::Ended => panic!("stream ended at {last}"),
        }
    }
    let stored = ann.get(&format!("/api/boards/{b}")).await.body["notes"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    for w in 0..3 {
        for i in 0..EDITS {
            assert_eq!(stored.matches(&format!("[{w}.{i}]")).count(), 1, "{stored}");
        }
    }
    assert_eq!(watch_text.get_string(&watch.transact()), stored);
    let fresh = ann.get(&format!("{path}/text_state")).await.body["state"]
        .as_str()
        .unwrap()
        .to_owned();
    let (again, again_text) = doc(901);
    apply(&again, &fresh);
    assert_eq!(again_text.get_string(&again.transact()), stored);
}
