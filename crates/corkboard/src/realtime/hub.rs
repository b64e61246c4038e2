//! The hub: the one object every door and the bus talk to about real-time
//! delivery on this node. It is a thin façade that takes one lock and
//! composes the parts, each in its own module:
//!
//! - `registry`: connections, subscriptions and the presence they make,
//!   with its invariant check (plain data);
//! - `presence`: local counts merged with the other nodes' views, and the
//!   `joined`/`left` that follow;
//! - `delivery`: events in seq order, exactly once, and the
//!   buffering-then-live start of a subscription;
//! - `signals`: ephemeral signals, coalesced or dropped;
//! - [`cluster`](super::cluster): what this node tells the others.
//!
//! WebSocket and SSE subscribers are the same registry entry; only the
//! encoding of their frames differs.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::close::CloseReason;
use super::cluster::{ClusterLink, ClusterSync};
use super::delivery::{self, HandOff, Revoked};
use super::frames::{self, HubEvent, Presence, PresenceKind, Transport};
use super::outbox::Outbox;
use super::presence::Changes;
use super::registry::{ConnId, Counted, Detached, Registry};
use super::revoked::RevokedSet;
use super::signals::{self, Signal};
use crate::core::{ApiError, Clock, ErrorCode, Timestamp, User};
use crate::store::CommittedEvent;
use crate::telemetry;

/// Per-node registry of connections, subscriptions and presence, and the
/// delivery of events, presence and signals to them.
pub struct Hub {
    inner: Mutex<Registry>,
    /// Taken only while `inner` is held (see [`super::revoked`]).
    revoked: Mutex<RevokedSet>,
    clock: Arc<dyn Clock>,
    outbox_bytes: usize,
    cluster: ClusterSync,
}

impl Hub {
    /// A hub allowing `max_conns_per_user` connections per user, each with an
    /// outbox of `outbox_bytes`.
    pub fn new(clock: Arc<dyn Clock>, max_conns_per_user: u32, outbox_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Registry::new(max_conns_per_user)),
            revoked: Mutex::new(RevokedSet::default()),
            clock,
            outbox_bytes,
            cluster: ClusterSync::default(),
        }
    }

    /// Connects the hub to the other nodes (cluster mode; set once at start).
    pub fn set_cluster(&self, link: Arc<dyn ClusterLink>) {
        self.cluster.set(link);
    }

    /// The outbox size new connections get.
    pub fn outbox_bytes(&self) -> usize {
        self.outbox_bytes
    }

    /// Registers a connection.
    ///
    /// # Errors
    /// `unauthorized` when the credential was revoked meanwhile;
    /// `rate_limited` when the user already holds the maximum number of connections.
    pub fn register(
        &self,
        user: &User,
        credential_id: &str,
        transport: Transport,
        outbox: Arc<Outbox>,
    ) -> Result<ConnId, ApiError> {
        let mut g = self.inner.lock();
        if self.revoked.lock().contains(credential_id) {
            return Err(ApiError::unauthorized(
                "session or token is invalid or revoked",
            ));
        }
        let Some(id) = g.connect(user, credential_id, transport, outbox) else {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("at most {} open connections per user", g.max_per_user()),
            ));
        };
        metrics::gauge!("corkboard_connections", "transport" => transport_label(transport))
            .increment(1.0);
        Ok(id)
    }

    /// Removes a connection and all its subscriptions (presence leaves).
    pub fn unregister(&self, id: ConnId) {
        let mut g = self.inner.lock();
        let Some(gone) = g.disconnect(id) else {
            return;
        };
        metrics::gauge!("corkboard_connections", "transport" => transport_label(gone.transport))
            .decrement(1.0);
        for d in gone.detached {
            self.ended(&g, d);
        }
    }

    /// Starts (or restarts) a subscription in buffering mode.
    pub fn begin(&self, id: ConnId, board: &str) {
        if self.inner.lock().begin(id, board) {
            metrics::gauge!("corkboard_subscriptions").increment(1.0);
        }
    }

    /// Ends buffering: sends held events after `last_seq`, switches to live,
    /// counts the user present and sends the members list to this subscriber
    /// (and `joined` to the others when the user was not present yet).
    /// Returns false if the subscription is gone (closed or revoked meanwhile).
    pub fn go_live(&self, id: ConnId, board: &str, last_seq: u64) -> bool {
        let mut g = self.inner.lock();
        let now = self.clock.now();
        let Some(m) = g.member_mut(id, board) else {
            return false;
        };
        let (transport, outbox) = (m.transport, m.outbox.clone());
        match delivery::hand_off(m, last_seq) {
            HandOff::Live => {}
            HandOff::Gap => return false,
            HandOff::Revoked(why) => {
                // Access was lost while the replay ran: the event said so; end it now.
                let r = Revoked {
                    conn: id,
                    transport,
                    outbox,
                    why,
                };
                self.revoke(&mut g, board, r);
                return false;
            }
        }
        match g.count_present(id, board, now) {
            Counted::Gone => return false,
            Counted::Already => {}
            Counted::Now { joined } => {
                if let Some(p) = joined {
                    let members = g.members(board);
                    delivery::broadcast_presence(
                        members,
                        board,
                        Some(id),
                        PresenceKind::Joined,
                        &[p],
                    );
                }
                self.announce(&g, board);
            }
        }
        let present = g.presence().members(board);
        outbox.push(frames::presence(
            transport,
            board,
            PresenceKind::Members,
            &present,
        ));
        true
    }

    /// Ends a subscription. Returns whether there was one.
    pub fn unsubscribe(&self, id: ConnId, board: &str) -> bool {
        let mut g = self.inner.lock();
        let Some(d) = g.unsubscribe(id, board) else {
            return false;
        };
        self.ended(&g, d);
        true
    }

    /// Whether the connection holds a subscription to the board.
    pub fn is_subscribed(&self, id: ConnId, board: &str) -> bool {
        self.inner.lock().is_subscribed(id, board)
    }

    /// Whether the user is present on the board (on any node, in cluster mode).
    pub fn is_present(&self, board: &str, user_id: &str) -> bool {
        self.inner.lock().presence().is_present(board, user_id)
    }

    /// Who is present on a board.
    pub fn presence(&self, board: &str) -> Vec<Presence> {
        self.inner.lock().presence().members(board)
    }

    /// Replaces what `node` reports present on `board` (valid until
    /// `expires`), sending `joined`/`left` for the users the merged view
    /// gains or loses.
    pub fn set_remote_presence(
        &self,
        board: &str,
        node: &str,
        users: Vec<Presence>,
        expires: Timestamp,
    ) {
        let mut g = self.inner.lock();
        let changes = g.set_remote_presence(board, node, users, expires);
        broadcast_changes(&g, board, &changes);
    }

    /// Drops the views of nodes that stopped refreshing them (a node that
    /// died takes its users' presence with it), sending `left`.
    pub fn expire_remote_presence(&self, now: Timestamp) {
        let mut g = self.inner.lock();
        for (board, changes) in g.expire_remote_presence(now) {
            broadcast_changes(&g, &board, &changes);
        }
    }

    /// This node's present users, per board (what it refreshes in Redis).
    pub fn local_presence(&self) -> Vec<(String, Vec<Presence>)> {
        self.inner.lock().presence().local_boards()
    }

    /// Boards with subscribers on this node, each with the lowest seq its
    /// live subscribers have (None while they are all still replaying).
    pub fn positions(&self) -> Vec<(String, Option<u64>)> {
        let g = self.inner.lock();
        g.boards().map(|b| (b.to_owned(), g.position(b))).collect()
    }

    /// Boards with subscribers on this node.
    pub fn subscribed_boards(&self) -> Vec<String> {
        self.inner.lock().boards().map(str::to_owned).collect()
    }

    /// The lowest seq this node's live subscribers of `board` have.
    pub fn position(&self, board: &str) -> Option<u64> {
        self.inner.lock().position(board)
    }

    /// Sends a signal frame to the board's other live WebSocket subscribers,
    /// on every node. Cursors are coalesced per sender; other signals are
    /// dropped under pressure.
    pub fn signal(&self, from: ConnId, board: &str, is_cursor: bool, frame: Utf8Bytes) {
        let key = self.cluster.signal(from, board, is_cursor, &frame);
        self.deliver_signal(Signal {
            board,
            except: Some(from),
            key,
            is_cursor,
            frame,
        });
    }

    /// Delivers a signal another node relayed (`from` is its cluster-wide connection key).
    pub fn remote_signal(&self, from: u64, board: &str, is_cursor: bool, frame: Utf8Bytes) {
        self.deliver_signal(Signal {
            board,
            except: None,
            key: from,
            is_cursor,
            frame,
        });
    }

    fn deliver_signal(&self, signal: Signal<'_>) {
        let g = self.inner.lock();
        let members = g.members(signal.board);
        if members.is_empty() {
            return;
        }
        let delivered = signals::deliver(members, signal);
        // One counter update per signal, not per delivery (it showed in profiles).
        metrics::counter!("corkboard_signal_deliveries_total").increment(delivered);
    }

    /// Delivers a committed event to the board's subscribers on this node,
    /// then ends the subscriptions it revokes (a member removed, the board deleted).
    pub fn dispatch(&self, committed: Arc<CommittedEvent>) {
        let span = telemetry::fanout_span(
            &committed.trace,
            &committed.event.board,
            committed.event.seq,
        );
        let _in_span = span.enter();
        let ev = Arc::new(HubEvent::new(committed));
        let board = ev.committed.event.board.as_str();
        let mut g = self.inner.lock();
        let Some(members) = g.members_mut(board) else {
            span.record("recipients", 0);
            return;
        };
        let out = delivery::deliver_event(members, &ev, self.outbox_bytes);
        span.record("recipients", out.count);
        metrics::counter!("corkboard_deliveries_total").increment(out.count);
        for r in out.revoked {
            self.revoke(&mut g, board, r);
        }
        for id in out.cut {
            for d in g.unsubscribe_all(id) {
                self.ended(&g, d);
            }
        }
    }

    /// Ends a subscription whose access was lost (after the event saying so):
    /// `unsubscribed` with the reason on WebSocket, the end of the stream on SSE.
    fn revoke(&self, g: &mut Registry, board: &str, r: Revoked) {
        let Some(d) = g.unsubscribe(r.conn, board) else {
            return;
        };
        match r.transport {
            Transport::WebSocket | Transport::Grpc | Transport::GrpcSubscribe => {
                r.outbox.push(frames::unsubscribed(
                    board,
                    Some(r.why.unsubscribed_reason()),
                ));
            }
            Transport::Sse | Transport::LongPoll => r.outbox.close(r.why.close_reason()),
        }
        self.ended(g, d);
    }

    /// What follows a subscription's end: the gauge, `left` to the board's
    /// subscribers when the user is present nowhere now, and this node's
    /// new presence to the others when it changed.
    fn ended(&self, g: &Registry, d: Detached) {
        metrics::gauge!("corkboard_subscriptions").decrement(1.0);
        if let Some(p) = d.left {
            let members = g.members(&d.board);
            delivery::broadcast_presence(members, &d.board, None, PresenceKind::Left, &[p]);
        }
        if d.present {
            self.announce(g, &d.board);
        }
    }

    /// Tells the other nodes who is present on `board` through this node.
    fn announce(&self, g: &Registry, board: &str) {
        self.cluster
            .presence(board, || g.presence().local_members(board));
    }

    /// Closes every connection opened with this credential (WebSocket 4001;
    /// SSE ends), on every node.
    pub fn kick_credential(&self, credential_id: &str) {
        self.cluster.kick(credential_id);
        self.kick_local(credential_id);
    }

    /// Tells every connection on this node that the server is shutting down
    /// (each answers what is in flight, then closes; see [`Outbox::request_shutdown`]).
    pub fn request_shutdown(&self) {
        let g = self.inner.lock();
        for outbox in g.all_outboxes() {
            outbox.request_shutdown();
        }
    }

    /// Closes this node's connections opened with this credential.
    pub fn kick_local(&self, credential_id: &str) {
        let g = self.inner.lock();
        self.revoked.lock().insert(credential_id, self.clock.now());
        for outbox in g.outboxes_of(credential_id) {
            outbox.close(CloseReason::CredentialRevoked);
        }
    }

    /// Cuts every subscriber off so it resumes from the log (used when the
    /// hub itself missed events: its bus receiver lagged).
    pub fn resync_all(&self) {
        let g = self.inner.lock();
        for outbox in g.subscribed_outboxes() {
            outbox.close(CloseReason::HubLagged);
        }
    }

    /// Asks every connection to close for shutdown.
    pub fn close_all(&self, reason: CloseReason) {
        let g = self.inner.lock();
        for outbox in g.outboxes() {
            outbox.close(reason);
        }
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.inner.lock().connection_count()
    }

    /// Checks the registry's invariants (see [`Registry::check_invariants`]).
    ///
    /// # Errors
    /// The first disagreement found.
    #[cfg(test)]
    pub fn check_invariants(&self) -> Result<(), String> {
        self.inner.lock().check_invariants()
    }
}

/// Sends `joined` then `left` of a change of the merged presence view.
fn broadcast_changes(g: &Registry, board: &str, changes: &Changes) {
    let members = g.members(board);
    if !changes.joined.is_empty() {
        delivery::broadcast_presence(members, board, None, PresenceKind::Joined, &changes.joined);
    }
    if !changes.left.is_empty() {
        delivery::broadcast_presence(members, board, None, PresenceKind::Left, &changes.left);
    }
}

fn transport_label(t: Transport) -> &'static str {
    t.label()
}

/// Feeds the hub from the bus until the bus closes. A lagging receiver is
/// never ignored: the hub missed events, so every subscriber resumes from the log.
pub async fn pump(hub: Arc<Hub>, mut rx: broadcast::Receiver<Arc<CommittedEvent>>) {
    loop {
        match rx.recv().await {
            Ok(ev) => hub.dispatch(ev),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "hub lagged behind the bus; subscribers resume from the log"
                );
                metrics::counter!("corkboard_hub_lag_total").increment(1);
                hub.resync_all();
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Event, EventBody, SystemClock, Timestamp};
    use crate::realtime::outbox::Drained;
    use bytes::Bytes;

    fn user(n: &str) -> User {
        User {
            id: format!("u-{n}"),
            username: n.into(),
        }
    }

    fn ev(board: &str, seq: u64, body: EventBody) -> Arc<CommittedEvent> {
        let event = Event {
            board: board.into(),
            seq,
            by: user("x"),
            op: None,
            at: Timestamp(0),
            body,
        };
        let json = Bytes::from(serde_json::to_vec(&event).unwrap());
        Arc::new(CommittedEvent {
            event,
            json,
            notifications: vec![],
            remote: false,
            trace: Default::default(),
        })
    }

    fn deleted(id: &str) -> EventBody {
        EventBody::NoteDeleted { id: id.into() }
    }

    async fn take(o: &Outbox) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), o.drain(&mut out)).await;
        out.iter()
            .map(|f| serde_json::from_str(f.as_str()).unwrap())
            .collect()
    }

    fn hub() -> Hub {
        Hub::new(Arc::new(SystemClock), 3, 1 << 20)
    }

    /// Registers a connection of user `who` and makes it live on board "b".
    fn live_on_b(h: &Hub, who: &str, t: Transport, o: &Arc<Outbox>) -> ConnId {
        let id = h
            .register(&user(who), &format!("c{who}"), t, o.clone())
            .unwrap();
        h.begin(id, "b");
        h.go_live(id, "b", 0);
        id
    }

    #[tokio::test]
    async fn buffered_events_are_deduplicated_against_the_replay() {
        let h = hub();
        let o = Arc::new(Outbox::new(1 << 20));
        let id = h
            .register(&user("a"), "c", Transport::WebSocket, o.clone())
            .unwrap();
        h.begin(id, "b");
        // Events 4..=6 arrive live while the replay (up to 5) is read.
        for s in 4..=6 {
            h.dispatch(ev("b", s, deleted("n")));
        }
        assert!(take(&o).await.is_empty(), "nothing is sent while buffering");
        assert!(h.go_live(id, "b", 5));
        h.dispatch(ev("b", 6, deleted("n"))); // duplicate
        h.dispatch(ev("b", 7, deleted("n")));
        let seqs: Vec<_> = take(&o)
            .await
            .into_iter()
            .filter(|v| v["type"] == "event")
            .map(|v| v["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, vec![6, 7]);
        h.check_invariants().unwrap();
    }

    #[tokio::test]
    async fn an_overflowed_stream_leaves_presence_without_its_writer() {
        let h = hub();
        let watcher = Arc::new(Outbox::new(1 << 20));
        live_on_b(&h, "w", Transport::WebSocket, &watcher);
        // An SSE stream whose writer never drains (its peer stopped reading).
        let stuck = Arc::new(Outbox::new(64));
        let s = live_on_b(&h, "a", Transport::Sse, &stuck);
        take(&watcher).await;
        let mut seq = 0;
        while !stuck.is_closed() {
            seq += 1;
            h.dispatch(ev("b", seq, deleted("n")));
        }
        assert_eq!(stuck.close_reason(), Some(CloseReason::OutboxFull));
        assert_eq!(stuck.queued_bytes(), 0, "the queue is dropped at once");
        assert!(h.presence("b").iter().all(|p| p.user.username != "a"));
        let left = take(&watcher).await;
        assert!(
            left.iter()
                .any(|v| v["type"] == "presence" && v["left"][0]["user"]["username"] == "a"),
            "{left:?}"
        );
        h.check_invariants().unwrap();
        // The transport still unregisters later, harmlessly.
        h.unregister(s);
        h.check_invariants().unwrap();
    }

    #[tokio::test]
    async fn presence_counts_connections_per_user() {
        let h = hub();
        let watcher = Arc::new(Outbox::new(1 << 20));
        live_on_b(&h, "w", Transport::WebSocket, &watcher);
        take(&watcher).await;
        let tabs: Vec<_> = (0..3)
            .map(|_| {
                live_on_b(
                    &h,
                    "a",
                    Transport::WebSocket,
                    &Arc::new(Outbox::new(1 << 20)),
                )
            })
            .collect();
        let joined = take(&watcher).await;
        assert_eq!(joined.len(), 1, "one joined for three tabs: {joined:?}");
        assert_eq!(joined[0]["joined"][0]["user"]["username"], "a");
        assert_eq!(
            h.presence("b")
                .iter()
                .find(|p| p.user.username == "a")
                .unwrap()
                .connections,
            3
        );
        h.unregister(tabs[0]);
        h.unregister(tabs[1]);
        assert!(take(&watcher).await.is_empty(), "still one tab open");
        h.check_invariants().unwrap();
        h.unregister(tabs[2]);
        h.check_invariants().unwrap();
        let left = take(&watcher).await;
        assert_eq!(left[0]["left"][0]["user"]["username"], "a");
        // The fourth connection of a user is refused.
        for _ in 0..3 {
            h.register(&user("z"), "cz", Transport::Sse, Arc::new(Outbox::new(10)))
                .unwrap();
        }
        assert!(h
            .register(&user("z"), "cz", Transport::Sse, Arc::new(Outbox::new(10)))
            .is_err());
    }

    #[tokio::test]
    async fn removal_delivers_the_event_then_unsubscribes() {
        let h = hub();
        let o = Arc::new(Outbox::new(1 << 20));
        let id = h
            .register(&user("a"), "c", Transport::WebSocket, o.clone())
            .unwrap();
        h.begin(id, "b");
        h.go_live(id, "b", 0);
        take(&o).await;
        h.dispatch(ev(
            "b",
            1,
            EventBody::MemberLeft {
                user: user("a"),
                role: crate::core::Role::Editor,
            },
        ));
        let got = take(&o).await;
        assert_eq!(got[0]["kind"], "member.left");
        assert_eq!(got[1]["type"], "unsubscribed");
        assert_eq!(got[1]["reason"], "revoked");
        assert!(!h.is_subscribed(id, "b"));
        h.check_invariants().unwrap();
        h.dispatch(ev("b", 2, deleted("n")));
        assert!(take(&o).await.is_empty());
    }

    async fn close_reason(o: &Outbox) -> Option<CloseReason> {
        let mut out = Vec::new();
        let d = tokio::time::timeout(std::time::Duration::from_millis(50), o.drain(&mut out));
        match d.await {
            Ok(Drained::Close(r)) => Some(r),
            _ => None,
        }
    }

    fn live(h: &Hub, o: &Arc<Outbox>, transport: Transport, last: u64) -> ConnId {
        let id = h.register(&user("a"), "c", transport, o.clone()).unwrap();
        h.begin(id, "b");
        assert!(h.go_live(id, "b", last));
        id
    }

    #[tokio::test]
    async fn a_live_gap_cuts_the_subscriber_off() {
        let h = hub();
        let o = Arc::new(Outbox::new(1 << 20));
        live(&h, &o, Transport::WebSocket, 3);
        h.dispatch(ev("b", 5, deleted("n")));
        assert_eq!(close_reason(&o).await, Some(CloseReason::EventGap));
    }

    #[tokio::test]
    async fn held_events_that_skip_the_replay_cut_the_subscriber_off() {
        let h = hub();
        let o = Arc::new(Outbox::new(1 << 20));
        let id = h
            .register(&user("a"), "c", Transport::WebSocket, o.clone())
            .unwrap();
        h.begin(id, "b");
        h.dispatch(ev("b", 5, deleted("n")));
        assert!(!h.go_live(id, "b", 3), "4 is missing");
        assert_eq!(close_reason(&o).await, Some(CloseReason::ReplayGap));
    }

    #[tokio::test]
    async fn events_held_past_the_outbox_limit_cut_the_subscriber_off() {
        let h = Hub::new(Arc::new(SystemClock), 3, 100);
        let o = Arc::new(Outbox::new(100));
        let id = h
            .register(&user("a"), "c", Transport::WebSocket, o.clone())
            .unwrap();
        h.begin(id, "b");
        for s in 1..=10 {
            h.dispatch(ev("b", s, deleted("a-note-with-a-long-enough-id")));
        }
        assert_eq!(close_reason(&o).await, Some(CloseReason::ReplayOverflow));
    }

    #[tokio::test]
    async fn a_lagging_hub_cuts_off_only_subscribers() {
        let h = hub();
        let subscribed = Arc::new(Outbox::new(1 << 20));
        let idle = Arc::new(Outbox::new(1 << 20));
        live(&h, &subscribed, Transport::WebSocket, 0);
        h.register(&user("b"), "c", Transport::WebSocket, idle.clone())
            .unwrap();
        h.resync_all();
        assert_eq!(
            close_reason(&subscribed).await,
            Some(CloseReason::HubLagged)
        );
        assert!(!idle.is_closed());
    }

    #[tokio::test]
    async fn lost_access_ends_an_sse_stream_with_its_cause() {
        let h = hub();
        let o = Arc::new(Outbox::new(1 << 20));
        let id = live(&h, &o, Transport::Sse, 0);
        h.dispatch(ev("b", 1, EventBody::BoardDeleted {}));
        assert_eq!(close_reason(&o).await, Some(CloseReason::BoardDeleted));
        assert!(!h.is_subscribed(id, "b"));
        h.check_invariants().unwrap();
    }

    #[tokio::test]
    async fn kick_closes_only_that_credential() {
        let h = hub();
        let a = Arc::new(Outbox::new(100));
        let b = Arc::new(Outbox::new(100));
        h.register(&user("a"), "c1", Transport::WebSocket, a.clone())
            .unwrap();
        h.register(&user("a"), "c2", Transport::WebSocket, b.clone())
            .unwrap();
        h.kick_credential("c1");
        assert!(a.is_closed() && !b.is_closed());
        assert_eq!(close_reason(&a).await, Some(CloseReason::CredentialRevoked));
    }
}
