//! The cluster bus: Redis pub/sub between nodes, the log as the safety net.
//!
//! Each commit on this node is published once, in commit order, on one
//! channel (`{prefix}:bus`) as [`wire`] bytes, and also handed straight to
//! this node's own [`Sequencer`]. Every node subscribes to the channel and
//! feeds what it receives through its sequencer into its [`LocalBus`], so its
//! hub sees each board's events once and in seq order, wherever they were
//! committed.
//!
//! Pub/sub loses what is published while a subscriber is disconnected, so
//! nothing relies on it alone:
//! - an event that arrives early waits briefly for the missing one, then
//!   the board is backfilled from the store's log;
//! - after a reconnect, and every second while Redis is unreachable, every
//!   board with subscribers here is caught up from the log (writes keep
//!   committing without Redis; fan-out continues by polling, degraded);
//! - every few seconds the same catch-up runs anyway, for a publish that
//!   failed on another node while this one stayed connected.
//!
//! Presence: each node writes its present users per board into the hash
//! `{prefix}:presence:{board}` (field = node id, value = users and a
//! deadline) and publishes the same list; it refreshes both every third of
//! the TTL. Receivers keep each node's list until its deadline, so a node
//! that dies takes its users with it within one TTL.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::sequencer::Sequencer;
use super::wire::{self, Incoming};
use super::LocalBus;
use crate::core::{Clock, Timestamp};
use crate::realtime::cluster::{ClusterLink, ClusterMessage};
use crate::realtime::frames::Presence;
use crate::realtime::Hub;
use crate::store::{CommittedEvent, EventSink, EventsAfter, Store};

/// How long an early event waits for the one before it before a backfill.
const REORDER_WAIT: Duration = Duration::from_millis(25);
/// How often the log is checked for boards with subscribers while Redis is up.
const ANTI_ENTROPY: Duration = Duration::from_secs(5);
/// How often the log is polled while Redis is down.
const DEGRADED_POLL: Duration = Duration::from_secs(1);
/// Events read per backfill query.
const BACKFILL_PAGE: usize = 1000;
/// Time allowed for one Redis round trip before the connection counts as down.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// Cluster bus settings (`--redis-url`, `--redis-prefix`, `--node-id`, `--presence-ttl`).
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    pub prefix: String,
    pub node: String,
    pub presence_ttl: Duration,
}

/// Applies what other nodes send to this node's hubs (set up by the server).
pub trait RemoteHandler: Send + Sync + 'static {
    /// One message from `node`.
    fn handle(&self, node: &str, msg: ClusterMessage);
}

enum Outgoing {
    Event(Arc<CommittedEvent>),
    Message(ClusterMessage),
}

/// The Redis implementation of the bus (cluster mode).
pub struct RedisBus {
    settings: RedisSettings,
    client: redis::Client,
    node_key: u64,
    local: LocalBus,
    out: mpsc::UnboundedSender<Outgoing>,
    out_rx: parking_lot::Mutex<Option<mpsc::UnboundedReceiver<Outgoing>>>,
    own: mpsc::UnboundedSender<Arc<CommittedEvent>>,
    own_rx: parking_lot::Mutex<Option<mpsc::UnboundedReceiver<Arc<CommittedEvent>>>>,
    publisher_up: AtomicBool,
    subscriber_up: AtomicBool,
    /// Successful (re)subscriptions since start.
    subscriptions: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus")
            .field("node", &self.settings.node)
            .field("prefix", &self.settings.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisBus {
    /// A bus for this node; nothing connects until [`RedisBus::start`].
    ///
    /// # Errors
    /// When the URL is not a Redis URL.
    pub fn new(settings: RedisSettings, local: LocalBus) -> anyhow::Result<Arc<Self>> {
        let client = redis::Client::open(settings.url.as_str())?;
        let (out, out_rx) = mpsc::unbounded_channel();
        let (own, own_rx) = mpsc::unbounded_channel();
        let node_key = node_key(&settings.node);
        Ok(Arc::new(Self {
            settings,
            client,
            node_key,
            local,
            out,
            out_rx: parking_lot::Mutex::new(Some(out_rx)),
            own,
            own_rx: parking_lot::Mutex::new(Some(own_rx)),
            publisher_up: AtomicBool::new(false),
            subscriber_up: AtomicBool::new(false),
            subscriptions: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.settings.node
    }

    fn channel(&self) -> String {
        format!("{}:bus", self.settings.prefix)
    }

    fn presence_key(&self, board: &str) -> String {
        format!("{}:presence:{board}", self.settings.prefix)
    }

    /// How many times the subscription was (re)established since start.
    pub fn subscriptions(&self) -> u64 {
        self.subscriptions.load(Ordering::Relaxed)
    }

    /// Whether both Redis connections (publish and subscribe) are up.
    pub fn is_up(&self) -> bool {
        self.publisher_up.load(Ordering::Relaxed) && self.subscriber_up.load(Ordering::Relaxed)
    }

    /// Starts the publisher, the receiver and the presence refresher; they
    /// run until `stop` is cancelled.
    pub fn start(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        clock: Arc<dyn Clock>,
        handler: Arc<dyn RemoteHandler>,
        stop: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        if let Some(rx) = self.out_rx.lock().take() {
            tasks.push(tokio::spawn(self.clone().publish_loop(rx, stop.clone())));
        }
        if let Some(own) = self.own_rx.lock().take() {
            let receiver = Receiver {
                bus: self.clone(),
                store,
                hub: hub.clone(),
                clock: clock.clone(),
                handler,
                sequencer: Sequencer::new(REORDER_WAIT),
                presence_loaded: HashSet::new(),
                presence_conn: None,
            };
            tasks.push(tokio::spawn(receiver.run(own, stop.clone())));
        }
        tasks.push(tokio::spawn(self.clone().refresh_presence(hub, stop)));
        tasks
    }

    async fn connect(&self) -> redis::RedisResult<MultiplexedConnection> {
        match tokio::time::timeout(
            REDIS_TIMEOUT,
            self.client.get_multiplexed_async_connection(),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(timeout_error()),
        }
    }

    /// Publishes queued events and messages in order, a pipeline per batch.
    /// A batch that cannot be sent is dropped: receivers backfill events from
    /// the log, and signals and presence are ephemeral (refreshed).
    async fn publish_loop(
        self: Arc<Self>,
        mut rx: mpsc::UnboundedReceiver<Outgoing>,
        stop: CancellationToken,
    ) {
        let mut conn: Option<MultiplexedConnection> = None;
        let mut backoff = Backoff::new();
        let mut ping = tokio::time::interval(Duration::from_secs(1));
        let channel = self.channel();
        let ttl_ms = self.settings.presence_ttl.as_millis() as i64;
        loop {
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                m = rx.recv() => match m { Some(m) => Some(m), None => return },
                _ = ping.tick() => None,
            };
            if conn.is_none() && backoff.due() {
                match self.connect().await {
                    Ok(c) => {
                        conn = Some(c);
                        backoff.reset();
                        tracing::info!(node = %self.settings.node, "connected to Redis (publish)");
                    }
                    Err(e) => {
                        backoff.failed();
                        self.set_publisher_up(false, &e);
                    }
                }
            }
            let Some(c) = conn.as_mut() else {
                // Down: what was queued is dropped (see above).
                while rx.try_recv().is_ok() {}
                continue;
            };
            let mut pipe = redis::pipe();
            let mut batch = 0usize;
            let mut next = first;
            while let Some(m) = next.take() {
                batch += 1;
                match m {
                    Outgoing::Event(ev) => {
                        pipe.publish(
                            &channel,
                            wire::encode_event(&self.settings.node, &ev).as_ref(),
                        )
                        .ignore();
                    }
                    Outgoing::Message(msg) => {
                        if let ClusterMessage::Presence { board, users } = &msg {
                            let key = self.presence_key(board);
                            if users.is_empty() {
                                pipe.hdel(&key, &self.settings.node).ignore();
                            } else {
                                let value = StoredPresence {
                                    expires: now_ms() + ttl_ms,
                                    users: users.clone(),
                                };
                                let value = serde_json::to_string(&value).unwrap_or_default();
                                pipe.hset(&key, &self.settings.node, value).ignore();
                                pipe.pexpire(&key, ttl_ms * 3).ignore();
                            }
                        }
                        pipe.publish(
                            &channel,
                            wire::encode_message(&self.settings.node, &msg).as_ref(),
                        )
                        .ignore();
                    }
                }
                if batch < 512 {
                    next = rx.try_recv().ok();
                }
            }
            let result = if batch == 0 {
                redis::cmd("PING")
                    .query_async::<String>(c)
                    .await
                    .map(|_| ())
            } else {
                pipe.exec_async(c).await
            };
            match result {
                Ok(()) => {
                    if batch > 0 {
                        metrics::counter!("corkboard_bus_published_total").increment(batch as u64);
                    }
                    if !self.publisher_up.swap(true, Ordering::Relaxed) {
                        tracing::info!("Redis publishing is up");
                    }
                }
                Err(e) => {
                    metrics::counter!("corkboard_bus_publish_failures_total").increment(1);
                    self.set_publisher_up(false, &e);
                    conn = None;
                    backoff.failed();
                }
            }
        }
    }

    fn set_publisher_up(&self, up: bool, e: &redis::RedisError) {
        if self.publisher_up.swap(up, Ordering::Relaxed) != up || !up {
            tracing::warn!(error = %e, "Redis publishing is down; writes still commit, other nodes catch up from the log");
        }
    }

    /// Republishes this node's presence every third of the TTL, so it
    /// outlives the deadline only while this node is alive.
    async fn refresh_presence(self: Arc<Self>, hub: Arc<Hub>, stop: CancellationToken) {
        let every = (self.settings.presence_ttl / 3).max(Duration::from_millis(200));
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            for (board, users) in hub.local_presence() {
                self.send(ClusterMessage::Presence { board, users });
            }
        }
    }
}

impl EventSink for RedisBus {
    fn committed(&self, event: Arc<CommittedEvent>) {
        let _ = self.out.send(Outgoing::Event(event.clone()));
        let _ = self.own.send(event);
    }
}

impl super::ClusterBus for RedisBus {
    fn is_up(&self) -> bool {
        RedisBus::is_up(self)
    }
}

impl ClusterLink for RedisBus {
    fn send(&self, msg: ClusterMessage) {
        let _ = self.out.send(Outgoing::Message(msg));
    }

    fn global_conn(&self, conn: u64) -> u64 {
        (self.node_key << 32) | (conn & 0xffff_ffff)
    }
}

/// Receives from Redis and from this node's commits, orders per board, and
/// catches up from the log whenever pub/sub may have lost something.
struct Receiver {
    bus: Arc<RedisBus>,
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    clock: Arc<dyn Clock>,
    handler: Arc<dyn RemoteHandler>,
    sequencer: Sequencer,
    /// Boards whose presence hash was read since the last (re)connect.
    presence_loaded: HashSet<String>,
    /// The connection presence hashes are read on (kept across ticks).
    presence_conn: Option<MultiplexedConnection>,
}

impl Receiver {
    async fn run(
        mut self,
        mut own: mpsc::UnboundedReceiver<Arc<CommittedEvent>>,
        stop: CancellationToken,
    ) {
        let channel = self.bus.channel();
        let mut stream: Option<redis::aio::PubSubStream> = None;
        let mut sink: Option<redis::aio::PubSubSink> = None;
        let mut backoff = Backoff::new();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut last_catch_up = Instant::now();
        let mut last_ping = Instant::now();
        loop {
            let deadline = self
                .sequencer
                .next_deadline()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                _ = stop.cancelled() => return,
                ev = own.recv() => match ev {
                    Some(ev) => self.accept(ev),
                    None => return,
                },
                msg = next_message(&mut stream) => match msg {
                    Some(msg) => self.on_payload(Bytes::from(msg.get_payload_bytes().to_vec())),
                    None => {
                        tracing::warn!("Redis subscription lost; catching up from the log until it is back");
                        stream = None;
                        sink = None;
                        self.bus.subscriber_up.store(false, Ordering::Relaxed);
                        backoff.failed();
                    }
                },
                _ = sleep_until(deadline) => self.fill_gaps().await,
                _ = tick.tick() => {
                    let now = Instant::now();
                    if stream.is_none() && backoff.due() {
                        match self.subscribe(&channel).await {
                            Ok((s, k)) => {
                                stream = Some(s);
                                sink = Some(k);
                                backoff.reset();
                                self.bus.subscriber_up.store(true, Ordering::Relaxed);
                                self.bus.subscriptions.fetch_add(1, Ordering::Relaxed);
                                metrics::counter!("corkboard_bus_subscriptions_total").increment(1);
                                tracing::info!(node = %self.bus.settings.node, "subscribed to Redis; catching up from the log");
                                self.presence_loaded.clear();
                                self.catch_up().await;
                                last_catch_up = now;
                            }
                            Err(e) => {
                                backoff.failed();
                                tracing::warn!(error = %e, "cannot subscribe to Redis");
                            }
                        }
                    }
                    if let Some(k) = sink.as_mut() {
                        if now.duration_since(last_ping) >= Duration::from_secs(2) {
                            last_ping = now;
                            // Subscribed (RESP2), PING answers ["pong", ""]: any answer will do.
                            let ok = matches!(tokio::time::timeout(REDIS_TIMEOUT, k.ping::<redis::Value>()).await, Ok(Ok(_)));
                            if !ok {
                                tracing::warn!("Redis subscription does not answer; reconnecting");
                                stream = None;
                                sink = None;
                                self.bus.subscriber_up.store(false, Ordering::Relaxed);
                                backoff.failed();
                            }
                        }
                    }
                    let every = if stream.is_some() { ANTI_ENTROPY } else { DEGRADED_POLL };
                    if now.duration_since(last_catch_up) >= every {
                        last_catch_up = now;
                        self.catch_up().await;
                    }
                    if stream.is_some() {
                        self.load_presence().await;
                    }
                    self.hub.expire_remote_presence(self.clock.now());
                    self.sequencer.forget_idle(now, Duration::from_secs(60));
                }
            }
        }
    }

    async fn subscribe(
        &self,
        channel: &str,
    ) -> redis::RedisResult<(redis::aio::PubSubStream, redis::aio::PubSubSink)> {
        let fut = async {
            let mut pubsub = self.bus.client.get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            let (sink, stream) = pubsub.split();
            Ok((stream, sink))
        };
        match tokio::time::timeout(REDIS_TIMEOUT, fut).await {
            Ok(r) => r,
            Err(_) => Err(timeout_error()),
        }
    }

    fn accept(&mut self, ev: Arc<CommittedEvent>) {
        let hub = &self.hub;
        let board = ev.event.board.clone();
        for ready in self
            .sequencer
            .push(ev, Instant::now(), || hub.position(&board))
        {
            self.bus.local.committed(ready);
        }
    }

    fn on_payload(&mut self, payload: Bytes) {
        match wire::decode(payload) {
            Ok((node, _)) if node == self.bus.settings.node => {}
            Ok((_, Incoming::Event(ev))) => self.accept(ev),
            Ok((node, Incoming::Message(msg))) => match msg {
                ClusterMessage::Presence { board, users } => {
                    let expires = Timestamp(
                        self.clock.now().0 + self.bus.settings.presence_ttl.as_millis() as i64,
                    );
                    self.hub.set_remote_presence(&board, &node, users, expires);
                }
                msg => self.handler.handle(&node, msg),
            },
            Err(e) => {
                metrics::counter!("corkboard_bus_malformed_total").increment(1);
                tracing::warn!(error = %e, "dropping a malformed bus message");
            }
        }
    }

    /// Backfills the boards whose gap outlived the reorder wait.
    async fn fill_gaps(&mut self) {
        for ready in self.sequencer.release_unanchored(Instant::now()) {
            self.bus.local.committed(ready);
        }
        for (board, after) in self.sequencer.overdue(Instant::now()) {
            metrics::counter!("corkboard_bus_backfills_total").increment(1);
            if !self.backfill(&board, after).await {
                for ready in self.sequencer.skip(&board) {
                    self.bus.local.committed(ready);
                }
            }
        }
    }

    /// Feeds the log after `after` into the sequencer. Returns false when the
    /// log cannot continue from there (pruned) or the store failed.
    async fn backfill(&mut self, board: &str, mut after: u64) -> bool {
        loop {
            let page = tokio::time::timeout(
                REDIS_TIMEOUT,
                self.store.events_after(board, after, BACKFILL_PAGE),
            )
            .await;
            let events = match page {
                Ok(Ok(EventsAfter::Events { events, .. })) => events,
                Ok(Ok(EventsAfter::Future { .. })) => return true,
                Ok(Ok(EventsAfter::TooOld { .. })) => return false,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, board, "backfill from the log failed");
                    return false;
                }
                Err(_) => {
                    tracing::warn!(board, "backfill from the log timed out");
                    return false;
                }
            };
            let n = events.len();
            for json in events {
                match wire::parse_event(&json) {
                    Ok(event) => {
                        after = event.seq;
                        self.accept(Arc::new(CommittedEvent {
                            event,
                            json,
                            notifications: Vec::new(),
                            remote: true,
                            trace: Default::default(),
                        }));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, board, "unreadable event in the log");
                        return false;
                    }
                }
            }
            if n < BACKFILL_PAGE {
                return true;
            }
        }
    }

    /// Catches every board with subscribers here up from the log: one query
    /// for the boards' current seqs, then a backfill of those that moved.
    async fn catch_up(&mut self) {
        let positions = self.hub.positions();
        if positions.is_empty() {
            return;
        }
        let ids: Vec<String> = positions.iter().map(|(b, _)| b.clone()).collect();
        let heads: std::collections::HashMap<String, u64> =
            match tokio::time::timeout(REDIS_TIMEOUT, self.store.board_seqs(&ids)).await {
                Ok(Ok(v)) => v.into_iter().collect(),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "catch-up: reading board positions failed");
                    return;
                }
                Err(_) => return,
            };
        for (board, position) in positions {
            let after = match (self.sequencer.position(&board), position) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(p) => p,
                    None => continue,
                },
            };
            if heads.get(&board).is_some_and(|head| *head > after) {
                self.backfill(&board, after).await;
            }
        }
    }

    /// Reads the presence hash of boards that gained subscribers here, so
    /// they learn who is already present through other nodes.
    async fn load_presence(&mut self) {
        let boards: Vec<String> = self
            .hub
            .subscribed_boards()
            .into_iter()
            .filter(|b| !self.presence_loaded.contains(b))
            .collect();
        if boards.is_empty() {
            return;
        }
        if self.presence_conn.is_none() {
            self.presence_conn = self.bus.connect().await.ok();
        }
        let Some(conn) = self.presence_conn.as_mut() else {
            return;
        };
        for board in boards {
            let key = self.bus.presence_key(&board);
            let read = tokio::time::timeout(
                REDIS_TIMEOUT,
                redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async::<Vec<(String, String)>>(conn),
            )
            .await;
            let Ok(Ok(fields)) = read else {
                // Reconnect on the next tick.
                self.presence_conn = None;
                return;
            };
            for (node, value) in fields {
                if node == self.bus.settings.node {
                    continue;
                }
                if let Ok(p) = serde_json::from_str::<StoredPresence>(&value) {
                    let expires = Timestamp(p.expires);
                    if expires >= self.clock.now() {
                        self.hub
                            .set_remote_presence(&board, &node, p.users, expires);
                    }
                }
            }
            self.presence_loaded.insert(board);
        }
    }
}

/// A node's field in a board's presence hash: its users and until when they count.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPresence {
    /// Milliseconds since the epoch (the writing node's clock).
    expires: i64,
    users: Vec<Presence>,
}

async fn next_message(stream: &mut Option<redis::aio::PubSubStream>) -> Option<redis::Msg> {
    match stream {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn timeout_error() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "Redis did not answer in time",
    ))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// A 32-bit key for a node id (FNV-1a), the high half of its connections' cluster-wide keys.
fn node_key(node: &str) -> u64 {
    let mut h: u32 = 0x811c_9dc5;
    for b in node.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    u64::from(h)
}

/// Reconnection delays: exponential from 100 ms to 5 s, with full jitter.
struct Backoff {
    failures: u32,
    next: Instant,
}

impl Backoff {
    fn new() -> Self {
        Self {
            failures: 0,
            next: Instant::now(),
        }
    }

    fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let cap = 100u64
            .saturating_mul(1u64 << self.failures.min(6))
            .min(5_000);
        let mut b = [0u8; 8];
        let jitter = match getrandom::fill(&mut b) {
            Ok(()) => u64::from_le_bytes(b) % (cap + 1),
            Err(_) => cap / 2,
        };
        self.next = Instant::now() + Duration::from_millis(jitter.max(50));
    }

    fn reset(&mut self) {
        self.failures = 0;
        self.next = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_keys_differ_across_nodes() {
        assert_ne!(node_key("node-1"), node_key("node-2"));
        assert!(node_key("x") <= u64::from(u32::MAX));
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        let mut b = Backoff::new();
        assert!(b.due());
        for _ in 0..20 {
            b.failed();
            assert!(b.next <= Instant::now() + Duration::from_millis(5_000));
        }
        b.reset();
        assert!(b.due());
    }
}
