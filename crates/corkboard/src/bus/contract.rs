//! The bus contract suite: what a bus must give the nodes of one deployment,
//! run on the in-process bus (nodes in one process sharing it) and on Redis
//! (three nodes, each with its own [`RedisBus`] and PostgreSQL pool, on the
//! real servers of this machine).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::redis::{RedisBus, RedisSettings, RemoteHandler};
use super::testing as redis_testing;
use super::LocalBus;
use crate::core::{Action, Clock, Limits, Mutation, NoteCreate, SystemClock, Timestamp, User};
use crate::realtime::cluster::ClusterMessage;
use crate::realtime::frames::Transport;
use crate::realtime::outbox::Outbox;
use crate::realtime::Hub;
use crate::store::postgres::testing::{self, TestDatabase};
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{CommittedEvent, NullSink, Store};

/// One node as the suite sees it.
struct Node {
    store: Arc<dyn Store>,
    events: broadcast::Receiver<Arc<CommittedEvent>>,
    hub: Arc<Hub>,
}

struct Ignore;

impl RemoteHandler for Ignore {
    fn handle(&self, _node: &str, _msg: ClusterMessage) {}
}

fn hub() -> Arc<Hub> {
    Arc::new(Hub::new(Arc::new(SystemClock), 100, 1 << 20))
}

async fn ann(s: &dyn Store) -> User {
    s.create_user("id-ann", "ann", "hash", Timestamp(1))
        .await
        .unwrap()
}

fn create(board: &str, by: &User, x: f64) -> Mutation {
    Mutation {
        board: board.into(),
        actor: by.clone(),
        op: None,
        action: Action::CreateNote(NoteCreate {
            x,
            ..Default::default()
        }),
    }
}

/// The seqs of `board` a node receives until it has seen `last` (or 15 s pass).
async fn collect(
    rx: &mut broadcast::Receiver<Arc<CommittedEvent>>,
    board: &str,
    last: u64,
) -> Vec<u64> {
    let mut seqs = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while seqs.last() != Some(&last) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(ev)) if ev.event.board == board => seqs.push(ev.event.seq),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("receiver failed: {e}"),
            Err(_) => break,
        }
    }
    seqs
}

/// Writers on every node, concurrently, to one board: every node sees
/// each event exactly once, in seq order.
async fn every_node_sees_each_event_once_in_order(nodes: &mut [Node]) {
    let by = ann(&*nodes[0].store).await;
    nodes[0]
        .store
        .create_board("b-order", &by, "Order", Timestamp(1))
        .await
        .unwrap();
    let per_node = 40u64;
    let writers: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let store = n.store.clone();
            let by = by.clone();
            tokio::spawn(async move {
                for k in 0..per_node {
                    store
                        .mutate(create("b-order", &by, (i as u64 * 1000 + k) as f64))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let total = per_node * nodes.len() as u64;
    for (i, n) in nodes.iter_mut().enumerate() {
        let seqs = collect(&mut n.events, "b-order", total).await;
        assert_eq!(
            seqs,
            (1..=total).collect::<Vec<_>>(),
            "node {i} must see every event once, in order"
        );
    }
}

async fn local_nodes(dir: &std::path::Path) -> Vec<Node> {
    let bus = LocalBus::new();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(
            dir,
            Arc::new(bus.clone()),
            Limits::default(),
            Arc::new(SystemClock),
        )
        .await
        .unwrap(),
    );
    let hub = hub();
    (0..3)
        .map(|_| Node {
            store: store.clone(),
            events: bus.subscribe(),
            hub: hub.clone(),
        })
        .collect()
}

#[tokio::test]
async fn in_process_bus_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = local_nodes(dir.path()).await;
    every_node_sees_each_event_once_in_order(&mut nodes).await;
}

/// A Redis cluster of `n` nodes over one throwaway database.
struct RedisCluster {
    nodes: Vec<Node>,
    buses: Vec<Arc<RedisBus>>,
    stops: Vec<CancellationToken>,
    tasks: Vec<Vec<tokio::task::JoinHandle<()>>>,
    db: TestDatabase,
}

impl RedisCluster {
    async fn start(n: usize, ttl: Duration) -> Self {
        let db = TestDatabase::create().await;
        let prefix = format!("cb-test-{}", uuid::Uuid::new_v4().simple());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut c = RedisCluster {
            nodes: Vec::new(),
            buses: Vec::new(),
            stops: Vec::new(),
            tasks: Vec::new(),
            db,
        };
        for i in 0..n {
            let local = LocalBus::new();
            let bus = RedisBus::new(
                RedisSettings {
                    url: redis_testing::url(),
                    prefix: prefix.clone(),
                    node: format!("n{i}"),
                    presence_ttl: ttl,
                },
                local.clone(),
            )
            .unwrap();
            let store: Arc<dyn Store> = Arc::new(
                PgStore::open(&c.db.url, 4, bus.clone(), Limits::default(), clock.clone())
                    .await
                    .unwrap(),
            );
            let hub = hub();
            hub.set_cluster(bus.clone());
            let stop = CancellationToken::new();
            c.tasks.push(bus.start(
                store.clone(),
                hub.clone(),
                clock.clone(),
                Arc::new(Ignore),
                stop.clone(),
            ));
            c.nodes.push(Node {
                store,
                events: local.subscribe(),
                hub,
            });
            c.buses.push(bus);
            c.stops.push(stop);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !c.buses.iter().all(|b| b.is_up()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "Redis bus never came up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c
    }

    /// Stops node `i` the way kill -9 would: its tasks end, nothing is said.
    fn kill(&mut self, i: usize) {
        self.stops[i].cancel();
        for t in &self.tasks[i] {
            t.abort();
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for i in 0..self.stops.len() {
            self.kill(i);
        }
    }
}

#[tokio::test]
async fn redis_bus_keeps_the_contract() {
    if !testing::available("redis_bus_keeps_the_contract").await
        || !redis_testing::available("redis_bus_keeps_the_contract").await
    {
        return;
    }
    let mut c = RedisCluster::start(3, Duration::from_secs(2)).await;
    every_node_sees_each_event_once_in_order(&mut c.nodes).await;
    // The liveness ping on the subscription must not mistake Redis's answer
    // for a failure: after several ping periods, still the first subscription.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    for (i, b) in c.buses.iter().enumerate() {
        assert_eq!(b.subscriptions(), 1, "node {i} resubscribed");
        assert!(b.is_up());
    }
}

/// A commit whose publish was lost (here: made by a store that publishes
/// nothing) reaches the other nodes by gap detection and the log.
#[tokio::test]
async fn redis_bus_backfills_a_lost_publish_from_the_log() {
    if !testing::available("redis_bus_backfills").await
        || !redis_testing::available("redis_bus_backfills").await
    {
        return;
    }
    let mut c = RedisCluster::start(2, Duration::from_secs(2)).await;
    let by = ann(&*c.nodes[0].store).await;
    c.nodes[0]
        .store
        .create_board("b-gap", &by, "Gap", Timestamp(1))
        .await
        .unwrap();
    let silent = PgStore::open(
        &c.db.url,
        2,
        Arc::new(NullSink),
        Limits::default(),
        Arc::new(SystemClock),
    )
    .await
    .unwrap();
    c.nodes[0]
        .store
        .mutate(create("b-gap", &by, 1.0))
        .await
        .unwrap();
    silent.mutate(create("b-gap", &by, 2.0)).await.unwrap();
    c.nodes[0]
        .store
        .mutate(create("b-gap", &by, 3.0))
        .await
        .unwrap();
    let seqs = collect(&mut c.nodes[1].events, "b-gap", 3).await;
    assert_eq!(seqs, vec![1, 2, 3]);
    // With no later event to reveal the gap, the periodic catch-up finds it
    // for boards that have subscribers here.
    let o = Arc::new(Outbox::new(1 << 20));
    let conn = c.nodes[1]
        .hub
        .register(&by, "cred", Transport::WebSocket, o)
        .unwrap();
    c.nodes[1].hub.begin(conn, "b-gap");
    assert!(c.nodes[1].hub.go_live(conn, "b-gap", 3));
    silent.mutate(create("b-gap", &by, 4.0)).await.unwrap();
    let seqs = collect(&mut c.nodes[1].events, "b-gap", 4).await;
    assert_eq!(
        seqs,
        vec![4],
        "caught up from the log within the anti-entropy period"
    );
}

/// Presence crosses nodes at once and leaves with a dead node within its TTL.
#[tokio::test]
async fn redis_presence_is_cluster_wide_and_dies_with_its_node() {
    if !testing::available("redis_presence").await
        || !redis_testing::available("redis_presence").await
    {
        return;
    }
    let mut c = RedisCluster::start(2, Duration::from_secs(2)).await;
    let by = ann(&*c.nodes[0].store).await;
    let o = Arc::new(Outbox::new(1 << 20));
    let conn = c.nodes[0]
        .hub
        .register(&by, "cred", Transport::WebSocket, o)
        .unwrap();
    c.nodes[0].hub.begin(conn, "b-p");
    assert!(c.nodes[0].hub.go_live(conn, "b-p", 0));
    let seen = wait_for(
        || c.nodes[1].hub.is_present("b-p", &by.id),
        Duration::from_secs(3),
    )
    .await;
    assert!(seen, "node 1 sees ann, present through node 0");
    let started = std::time::Instant::now();
    c.kill(0);
    let gone = wait_for(
        || !c.nodes[1].hub.is_present("b-p", &by.id),
        Duration::from_secs(5),
    )
    .await;
    assert!(gone, "ann left with her node");
    assert!(
        started.elapsed() <= Duration::from_millis(2_000 + 1_500),
        "within one TTL (2 s), plus a sweep and slack for a loaded machine: {:?}",
        started.elapsed()
    );
}

async fn wait_for(mut f: impl FnMut() -> bool, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}
