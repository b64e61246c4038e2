//! The hub: for each board, the subscribers on this node, and who is present.
//!
//! Subscribing is two steps so that nothing is lost or repeated while writers
//! are busy. [`Hub::begin`] registers the subscription in *buffering* mode
//! (live events for the board are held, not sent), the caller replays the
//! log from the store, then [`Hub::go_live`] sends the held events newer than
//! the last replayed seq and switches to *live* mode, where each event is
//! sent only if its seq is the next one. WebSocket and SSE subscribers are
//! the same [`Sub`]; only the encoding differs.
//!
//! Presence is one model for both transports: a user is present on a board
//! while they hold at least one live subscription to it, counted per
//! connection, so the third tab closing does not make them leave. In cluster
//! mode the hub also holds what the other nodes report (their present users
//! per board, each view with a deadline), and what subscribers see is the
//! merge: `joined` when a user becomes present anywhere, `left` when nowhere.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::ws::Utf8Bytes;
use parking_lot::Mutex;
use tokio::sync::broadcast;

use super::frames::{self, HubEvent, Presence, PresenceKind, Transport};
use super::outbox::{CloseReason, CursorKey, Outbox};
use crate::bus::{BusMessage, ClusterLink};
use crate::core::{ApiError, Clock, ErrorCode, EventBody, Timestamp, User};
use crate::store::CommittedEvent;

/// Identifies a connection (WebSocket or SSE stream) on this node.
pub type ConnId = u64;

enum Mode {
    /// Replay in progress: live events are held here.
    Buffering {
        held: Vec<Arc<HubEvent>>,
        bytes: usize,
    },
    /// Caught up: `last` is the last seq sent.
    Live { last: u64 },
}

/// A connection's side of a subscription.
struct Sub {
    /// Counted in presence (set by `go_live`, kept across resubscribes).
    present: bool,
}

struct Conn {
    user: Arc<User>,
    credential_id: String,
    transport: Transport,
    outbox: Arc<Outbox>,
    subs: HashMap<String, Sub>,
}

/// A board's side of a subscription: everything a delivery needs, so
/// delivering an event or a signal is a walk over a `Vec` with no lookup.
struct Member {
    conn: ConnId,
    user: Arc<User>,
    transport: Transport,
    outbox: Arc<Outbox>,
    mode: Mode,
}

impl Member {
    fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live { .. })
    }
}

/// A board's subscribers on this node, with an index by connection.
#[derive(Default)]
struct BoardSubs {
    list: Vec<Member>,
    index: HashMap<ConnId, usize>,
}

impl BoardSubs {
    fn get_mut(&mut self, conn: ConnId) -> Option<&mut Member> {
        let i = *self.index.get(&conn)?;
        self.list.get_mut(i)
    }

    fn push(&mut self, m: Member) {
        self.index.insert(m.conn, self.list.len());
        self.list.push(m);
    }

    fn remove(&mut self, conn: ConnId) -> Option<Member> {
        let i = self.index.remove(&conn)?;
        let m = self.list.swap_remove(i);
        if let Some(moved) = self.list.get(i) {
            self.index.insert(moved.conn, i);
        }
        Some(m)
    }
}

struct PresenceEntry {
    user: User,
    connections: u32,
    since: crate::core::Timestamp,
}

/// The users another node reports present on a board, valid until `expires`.
struct RemoteView {
    users: Vec<Presence>,
    expires: Timestamp,
}

#[derive(Default)]
struct Inner {
    conns: HashMap<ConnId, Conn>,
    /// board → its subscribers on this node.
    boards: HashMap<String, BoardSubs>,
    /// board → user id → presence.
    presence: HashMap<String, HashMap<String, PresenceEntry>>,
    /// user id → open connections (WebSocket and SSE).
    per_user: HashMap<String, u32>,
    /// board → node id → what that node reports (cluster mode).
    remote: HashMap<String, HashMap<String, RemoteView>>,
}

/// Per-node registry of connections, subscriptions and presence.
pub struct Hub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    clock: Arc<dyn Clock>,
    max_conns_per_user: u32,
    outbox_bytes: usize,
    cluster: OnceLock<Arc<dyn ClusterLink>>,
}

impl Hub {
    /// A hub allowing `max_conns_per_user` connections per user, each with an
    /// outbox of `outbox_bytes`.
    pub fn new(clock: Arc<dyn Clock>, max_conns_per_user: u32, outbox_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            next_id: AtomicU64::new(1),
            clock,
            max_conns_per_user,
            outbox_bytes,
            cluster: OnceLock::new(),
        }
    }

    /// Connects the hub to the other nodes (cluster mode; set once at start).
    pub fn set_cluster(&self, link: Arc<dyn ClusterLink>) {
        let _ = self.cluster.set(link);
    }

    /// Tells the other nodes who is present on `board` through this node.
    fn announce(&self, g: &Inner, board: &str) {
        if let Some(link) = self.cluster.get() {
            link.send(BusMessage::Presence {
                board: board.to_owned(),
                users: Self::local_members(g, board),
            });
        }
    }

    /// The outbox size new connections get.
    pub fn outbox_bytes(&self) -> usize {
        self.outbox_bytes
    }

    /// Registers a connection.
    ///
    /// # Errors
    /// `rate_limited` when the user already holds the maximum number of connections.
    pub fn register(
        &self,
        user: &User,
        credential_id: &str,
        transport: Transport,
        outbox: Arc<Outbox>,
    ) -> Result<ConnId, ApiError> {
        let mut g = self.inner.lock();
        let n = g.per_user.entry(user.id.clone()).or_default();
        if *n >= self.max_conns_per_user {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "at most {} open connections per user",
                    self.max_conns_per_user
                ),
            ));
        }
        *n += 1;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        g.conns.insert(
            id,
            Conn {
                user: Arc::new(user.clone()),
                credential_id: credential_id.to_owned(),
                transport,
                outbox,
                subs: HashMap::new(),
            },
        );
        metrics::gauge!("corkboard_connections", "transport" => transport_label(transport))
            .increment(1.0);
        Ok(id)
    }

    /// Removes a connection and all its subscriptions (presence leaves).
    pub fn unregister(&self, id: ConnId) {
        let mut g = self.inner.lock();
        let Some(conn) = g.conns.remove(&id) else {
            return;
        };
        metrics::gauge!("corkboard_connections", "transport" => transport_label(conn.transport))
            .decrement(1.0);
        if let Some(n) = g.per_user.get_mut(&conn.user.id) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                g.per_user.remove(&conn.user.id);
            }
        }
        for (board, sub) in conn.subs {
            Self::detach(&mut g, id, &board, &conn.user, sub.present);
            if sub.present {
                self.announce(&g, &board);
            }
        }
    }

    /// Starts (or restarts) a subscription in buffering mode.
    pub fn begin(&self, id: ConnId, board: &str) {
        let mut g = self.inner.lock();
        let Some(conn) = g.conns.get_mut(&id) else {
            return;
        };
        let buffering = Mode::Buffering {
            held: Vec::new(),
            bytes: 0,
        };
        if conn.subs.contains_key(board) {
            if let Some(m) = g.boards.get_mut(board).and_then(|b| b.get_mut(id)) {
                m.mode = buffering;
            }
            return;
        }
        conn.subs.insert(board.to_owned(), Sub { present: false });
        let member = Member {
            conn: id,
            user: conn.user.clone(),
            transport: conn.transport,
            outbox: conn.outbox.clone(),
            mode: buffering,
        };
        g.boards.entry(board.to_owned()).or_default().push(member);
        metrics::gauge!("corkboard_subscriptions").increment(1.0);
    }

    /// Ends buffering: sends held events after `last_seq`, switches to live,
    /// counts the user present and sends the members list to this subscriber
    /// (and `joined` to the others when the user was not present yet).
    /// Returns false if the subscription is gone (closed or revoked meanwhile).
    pub fn go_live(&self, id: ConnId, board: &str, last_seq: u64) -> bool {
        let mut g = self.inner.lock();
        let now = self.clock.now();
        let Some(m) = g.boards.get_mut(board).and_then(|b| b.get_mut(id)) else {
            return false;
        };
        let transport = m.transport;
        let outbox = m.outbox.clone();
        let user = m.user.clone();
        let held = match std::mem::replace(&mut m.mode, Mode::Live { last: last_seq }) {
            Mode::Buffering { held, .. } => held,
            Mode::Live { .. } => Vec::new(),
        };
        let mut last = last_seq;
        let mut revoke = None;
        for ev in held {
            let seq = ev.committed.event.seq;
            if seq <= last {
                continue;
            }
            if seq != last + 1 {
                outbox.close(CloseReason::Overflow);
                return false;
            }
            outbox.push(ev.frame(transport));
            last = seq;
            revoke = revoke.or(revocation(&ev.committed.event.body, &user));
        }
        m.mode = Mode::Live { last };
        if let Some(reason) = revoke {
            // Access was lost while the replay ran: the event said so; end it now.
            if Self::revoke(&mut g, id, board, reason) {
                self.announce(&g, board);
            }
            return false;
        }
        let Some(sub) = g.conns.get_mut(&id).and_then(|c| c.subs.get_mut(board)) else {
            return false;
        };
        let newly_present = !sub.present;
        sub.present = true;
        if newly_present {
            let was_present = Self::present_users(&g, board).contains(&user.id);
            let entry = g
                .presence
                .entry(board.to_owned())
                .or_default()
                .entry(user.id.clone())
                .or_insert(PresenceEntry {
                    user: (*user).clone(),
                    connections: 0,
                    since: now,
                });
            entry.connections += 1;
            if !was_present {
                let p = Presence {
                    user: (*user).clone(),
                    connections: 1,
                    since: entry.since,
                };
                Self::broadcast_presence(&g, board, Some(id), PresenceKind::Joined, &[p]);
            }
            self.announce(&g, board);
        }
        let members = Self::members(&g, board);
        outbox.push(frames::presence(
            transport,
            board,
            PresenceKind::Members,
            &members,
        ));
        true
    }

    /// Ends a subscription. Returns whether there was one.
    pub fn unsubscribe(&self, id: ConnId, board: &str) -> bool {
        let mut g = self.inner.lock();
        let Some(conn) = g.conns.get_mut(&id) else {
            return false;
        };
        let user = conn.user.clone();
        let Some(sub) = conn.subs.remove(board) else {
            return false;
        };
        Self::detach(&mut g, id, board, &user, sub.present);
        if sub.present {
            self.announce(&g, board);
        }
        true
    }

    /// Whether the connection holds a subscription to the board.
    pub fn is_subscribed(&self, id: ConnId, board: &str) -> bool {
        self.inner
            .lock()
            .conns
            .get(&id)
            .is_some_and(|c| c.subs.contains_key(board))
    }

    /// Whether the user is present on the board (on any node, in cluster mode).
    pub fn is_present(&self, board: &str, user_id: &str) -> bool {
        Self::present_users(&self.inner.lock(), board).contains(user_id)
    }

    /// Who is present on a board.
    pub fn presence(&self, board: &str) -> Vec<Presence> {
        Self::members(&self.inner.lock(), board)
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
        let before = Self::members(&g, board);
        let nodes = g.remote.entry(board.to_owned()).or_default();
        if users.is_empty() {
            nodes.remove(node);
        } else {
            nodes.insert(node.to_owned(), RemoteView { users, expires });
        }
        if nodes.is_empty() {
            g.remote.remove(board);
        }
        Self::broadcast_changes(&g, board, &before);
    }

    /// Drops the views of nodes that stopped refreshing them (a node that
    /// died takes its users' presence with it), sending `left`.
    pub fn expire_remote_presence(&self, now: Timestamp) {
        let mut g = self.inner.lock();
        let stale: Vec<String> = g
            .remote
            .iter()
            .filter(|(_, nodes)| nodes.values().any(|v| v.expires < now))
            .map(|(b, _)| b.clone())
            .collect();
        for board in stale {
            let before = Self::members(&g, &board);
            if let Some(nodes) = g.remote.get_mut(&board) {
                nodes.retain(|_, v| v.expires >= now);
                if nodes.is_empty() {
                    g.remote.remove(&board);
                }
            }
            Self::broadcast_changes(&g, &board, &before);
        }
    }

    /// This node's present users, per board (what it refreshes in Redis).
    pub fn local_presence(&self) -> Vec<(String, Vec<Presence>)> {
        let g = self.inner.lock();
        g.presence
            .keys()
            .map(|b| (b.clone(), Self::local_members(&g, b)))
            .collect()
    }

    /// Boards with subscribers on this node, each with the lowest seq its
    /// live subscribers have (None while they are all still replaying).
    pub fn positions(&self) -> Vec<(String, Option<u64>)> {
        let g = self.inner.lock();
        g.boards
            .keys()
            .map(|b| (b.clone(), Self::position_in(&g, b)))
            .collect()
    }

    /// Boards with subscribers on this node.
    pub fn subscribed_boards(&self) -> Vec<String> {
        self.inner.lock().boards.keys().cloned().collect()
    }

    /// The lowest seq this node's live subscribers of `board` have.
    pub fn position(&self, board: &str) -> Option<u64> {
        Self::position_in(&self.inner.lock(), board)
    }

    fn position_in(g: &Inner, board: &str) -> Option<u64> {
        g.boards
            .get(board)?
            .list
            .iter()
            .filter_map(|m| match m.mode {
                Mode::Live { last } => Some(last),
                Mode::Buffering { .. } => None,
            })
            .min()
    }

    /// Sends `joined`/`left` for the difference between `before` and the merged view now.
    fn broadcast_changes(g: &Inner, board: &str, before: &[Presence]) {
        let after = Self::members(g, board);
        let joined: Vec<Presence> = after
            .iter()
            .filter(|p| !before.iter().any(|q| q.user.id == p.user.id))
            .cloned()
            .collect();
        let left: Vec<Presence> = before
            .iter()
            .filter(|p| !after.iter().any(|q| q.user.id == p.user.id))
            .map(|p| Presence {
                connections: 0,
                ..p.clone()
            })
            .collect();
        if !joined.is_empty() {
            Self::broadcast_presence(g, board, None, PresenceKind::Joined, &joined);
        }
        if !left.is_empty() {
            Self::broadcast_presence(g, board, None, PresenceKind::Left, &left);
        }
    }

    /// Sends a signal frame to the board's other live WebSocket subscribers.
    /// Cursors are coalesced per sender; other signals are dropped under pressure.
    pub fn signal(&self, from: ConnId, board: &str, is_cursor: bool, frame: Utf8Bytes) {
        let key = match self.cluster.get() {
            Some(link) => {
                let key = link.global_conn(from);
                link.send(BusMessage::Signal {
                    board: board.to_owned(),
                    from: key,
                    cursor: is_cursor,
                    frame: frame.clone(),
                });
                key
            }
            None => from,
        };
        self.deliver_signal(Some(from), key, board, is_cursor, frame);
    }

    /// Delivers a signal another node relayed (`from` is its cluster-wide connection key).
    pub fn remote_signal(&self, from: u64, board: &str, is_cursor: bool, frame: Utf8Bytes) {
        self.deliver_signal(None, from, board, is_cursor, frame);
    }

    fn deliver_signal(
        &self,
        except: Option<ConnId>,
        key: u64,
        board: &str,
        is_cursor: bool,
        frame: Utf8Bytes,
    ) {
        let g = self.inner.lock();
        let Some(subs) = g.boards.get(board) else {
            return;
        };
        let board_key: Arc<str> = Arc::from(board);
        let mut delivered = 0u64;
        for m in &subs.list {
            if Some(m.conn) == except || m.transport != Transport::WebSocket || !m.is_live() {
                continue;
            }
            let queued = if is_cursor {
                let key: CursorKey = (board_key.clone(), key);
                m.outbox.push_cursor(key, frame.clone())
            } else {
                m.outbox.push_droppable(frame.clone())
            };
            delivered += u64::from(queued);
        }
        // One counter update per signal, not per delivery (it showed in profiles).
        metrics::counter!("corkboard_signal_deliveries_total").increment(delivered);
    }

    /// Delivers a committed event to the board's subscribers on this node,
    /// then ends the subscriptions it revokes (a member removed, the board deleted).
    pub fn dispatch(&self, committed: Arc<CommittedEvent>) {
        let ev = Arc::new(HubEvent::new(committed));
        let e = &ev.committed.event;
        let board = e.board.clone();
        let mut g = self.inner.lock();
        let Some(subs) = g.boards.get_mut(&board) else {
            return;
        };
        let mut revoked: Vec<(ConnId, &'static str)> = Vec::new();
        let mut delivered = 0u64;
        for m in subs.list.iter_mut() {
            match &mut m.mode {
                Mode::Buffering { held, bytes } => {
                    *bytes += ev.committed.json.len();
                    held.push(ev.clone());
                    if *bytes > self.outbox_bytes {
                        m.outbox.close(CloseReason::Overflow);
                    }
                }
                Mode::Live { last } => {
                    if e.seq <= *last {
                        continue;
                    }
                    if e.seq != *last + 1 {
                        tracing::warn!(board = %board, expected = *last + 1, got = e.seq, "gap in live events; cutting the subscriber off to resume");
                        m.outbox.close(CloseReason::Overflow);
                        continue;
                    }
                    *last = e.seq;
                    if m.outbox.push(ev.frame(m.transport)) {
                        delivered += 1;
                    }
                }
            }
            if let Some(reason) = revocation(&e.body, &m.user) {
                revoked.push((m.conn, reason));
            }
        }
        metrics::counter!("corkboard_deliveries_total").increment(delivered);
        for (cid, reason) in revoked {
            if Self::revoke(&mut g, cid, &board, reason) {
                self.announce(&g, &board);
            }
        }
    }

    /// Ends a subscription whose access was lost (after the event saying so):
    /// `unsubscribed` with the reason on WebSocket, the end of the stream on SSE.
    /// Returns whether the user was counted present through it.
    fn revoke(g: &mut Inner, id: ConnId, board: &str, reason: &'static str) -> bool {
        let Some(conn) = g.conns.get_mut(&id) else {
            return false;
        };
        let Some(sub) = conn.subs.remove(board) else {
            return false;
        };
        let user = conn.user.clone();
        match conn.transport {
            Transport::WebSocket => {
                let why = if reason == "deleted" {
                    crate::core::UnsubscribeReason::Deleted
                } else {
                    crate::core::UnsubscribeReason::Revoked
                };
                conn.outbox.push(frames::unsubscribed(board, Some(why)));
            }
            Transport::Sse => conn.outbox.close(CloseReason::Policy(reason.into())),
        }
        Self::detach(g, id, board, &user, sub.present);
        sub.present
    }

    /// Closes every connection opened with this credential (WebSocket 4001;
    /// SSE ends), on every node.
    pub fn kick_credential(&self, credential_id: &str) {
        if let Some(link) = self.cluster.get() {
            link.send(BusMessage::Kick {
                credential: credential_id.to_owned(),
            });
        }
        self.kick_local(credential_id);
    }

    /// Closes this node's connections opened with this credential.
    pub fn kick_local(&self, credential_id: &str) {
        let g = self.inner.lock();
        for conn in g.conns.values() {
            if conn.credential_id == credential_id {
                conn.outbox.close(CloseReason::Revoked);
            }
        }
    }

    /// Cuts every subscriber off so it resumes from the log (used when the
    /// hub itself missed events, e.g. its bus receiver lagged).
    pub fn resync_all(&self) {
        let g = self.inner.lock();
        for conn in g.conns.values() {
            if !conn.subs.is_empty() {
                conn.outbox.close(CloseReason::Overflow);
            }
        }
    }

    /// Asks every connection to close for shutdown.
    pub fn close_all(&self, reason: CloseReason) {
        let g = self.inner.lock();
        for conn in g.conns.values() {
            conn.outbox.close(reason.clone());
        }
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.inner.lock().conns.len()
    }

    fn detach(g: &mut Inner, id: ConnId, board: &str, user: &User, present: bool) {
        if let Some(subs) = g.boards.get_mut(board) {
            if subs.remove(id).is_some() {
                metrics::gauge!("corkboard_subscriptions").decrement(1.0);
            }
            if subs.list.is_empty() {
                g.boards.remove(board);
            }
        }
        if !present {
            return;
        }
        let mut left = None;
        if let Some(users) = g.presence.get_mut(board) {
            if let Some(entry) = users.get_mut(&user.id) {
                entry.connections = entry.connections.saturating_sub(1);
                if entry.connections == 0 {
                    left = users.remove(&user.id);
                }
            }
            if users.is_empty() {
                g.presence.remove(board);
            }
        }
        if let Some(entry) = left.filter(|e| !Self::remote_has(g, board, &e.user.id)) {
            let p = Presence {
                user: entry.user,
                connections: 0,
                since: entry.since,
            };
            Self::broadcast_presence(g, board, None, PresenceKind::Left, &[p]);
        }
    }

    /// Who is present on the board through this node only.
    fn local_members(g: &Inner, board: &str) -> Vec<Presence> {
        g.presence
            .get(board)
            .map(|users| {
                users
                    .values()
                    .map(|e| Presence {
                        user: e.user.clone(),
                        connections: e.connections,
                        since: e.since,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether another node reports the user present on the board.
    fn remote_has(g: &Inner, board: &str, user_id: &str) -> bool {
        g.remote.get(board).is_some_and(|nodes| {
            nodes
                .values()
                .any(|v| v.users.iter().any(|p| p.user.id == user_id))
        })
    }

    /// Ids of the users present on the board through any node.
    fn present_users(g: &Inner, board: &str) -> HashSet<String> {
        let mut ids: HashSet<String> = g
            .presence
            .get(board)
            .map(|u| u.keys().cloned().collect())
            .unwrap_or_default();
        if let Some(nodes) = g.remote.get(board) {
            for v in nodes.values() {
                ids.extend(v.users.iter().map(|p| p.user.id.clone()));
            }
        }
        ids
    }

    /// Everyone present on the board, merged across nodes: connections add
    /// up and `since` is the earliest.
    fn members(g: &Inner, board: &str) -> Vec<Presence> {
        let mut list = Self::local_members(g, board);
        if let Some(nodes) = g.remote.get(board) {
            for p in nodes.values().flat_map(|v| v.users.iter()) {
                match list.iter_mut().find(|q| q.user.id == p.user.id) {
                    Some(q) => {
                        q.connections += p.connections;
                        q.since = q.since.min(p.since);
                    }
                    None => list.push(p.clone()),
                }
            }
        }
        list.sort_by(|a, b| {
            a.since
                .cmp(&b.since)
                .then(a.user.username.cmp(&b.user.username))
        });
        list
    }

    fn broadcast_presence(
        g: &Inner,
        board: &str,
        except: Option<ConnId>,
        kind: PresenceKind,
        list: &[Presence],
    ) {
        let Some(subs) = g.boards.get(board) else {
            return;
        };
        let mut ws: Option<Utf8Bytes> = None;
        let mut sse: Option<Utf8Bytes> = None;
        for m in &subs.list {
            if Some(m.conn) == except || !m.is_live() {
                continue;
            }
            let frame = match m.transport {
                Transport::WebSocket => ws
                    .get_or_insert_with(|| {
                        frames::presence(Transport::WebSocket, board, kind, list)
                    })
                    .clone(),
                Transport::Sse => sse
                    .get_or_insert_with(|| frames::presence(Transport::Sse, board, kind, list))
                    .clone(),
            };
            m.outbox.push(frame);
        }
    }
}

/// Whether an event ends `user`'s access to its board, and why.
fn revocation(body: &EventBody, user: &User) -> Option<&'static str> {
    match body {
        EventBody::MemberLeft { user: left, .. } if left.id == user.id => Some("revoked"),
        EventBody::BoardDeleted {} => Some("deleted"),
        _ => None,
    }
}

fn transport_label(t: Transport) -> &'static str {
    match t {
        Transport::WebSocket => "websocket",
        Transport::Sse => "sse",
    }
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
    use crate::core::{Event, SystemClock, Timestamp};
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
    }

    #[tokio::test]
    async fn presence_counts_connections_per_user() {
        let h = hub();
        let watcher = Arc::new(Outbox::new(1 << 20));
        let w = h
            .register(&user("w"), "cw", Transport::WebSocket, watcher.clone())
            .unwrap();
        h.begin(w, "b");
        h.go_live(w, "b", 0);
        take(&watcher).await;
        let tabs: Vec<_> = (0..3)
            .map(|_| {
                let o = Arc::new(Outbox::new(1 << 20));
                let id = h
                    .register(&user("a"), "ca", Transport::WebSocket, o)
                    .unwrap();
                h.begin(id, "b");
                h.go_live(id, "b", 0);
                id
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
        h.unregister(tabs[2]);
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
        h.dispatch(ev("b", 2, deleted("n")));
        assert!(take(&o).await.is_empty());
    }

    #[tokio::test]
    async fn a_gap_cuts_the_subscriber_off() {
        let h = hub();
        let o = Arc::new(Outbox::new(1 << 20));
        let id = h
            .register(&user("a"), "c", Transport::WebSocket, o.clone())
            .unwrap();
        h.begin(id, "b");
        h.go_live(id, "b", 3);
        h.dispatch(ev("b", 5, deleted("n")));
        let mut out = Vec::new();
        assert!(matches!(
            o.drain(&mut out).await,
            Drained::Close(CloseReason::Overflow)
        ));
    }

    #[test]
    fn board_subscribers_keep_their_index_through_removals() {
        let mut b = BoardSubs::default();
        for conn in 1..=5 {
            b.push(Member {
                conn,
                user: Arc::new(user("a")),
                transport: Transport::WebSocket,
                outbox: Arc::new(Outbox::new(10)),
                mode: Mode::Live { last: conn },
            });
        }
        assert!(b.remove(2).is_some());
        assert!(b.remove(2).is_none());
        assert!(b.remove(5).is_some());
        for conn in [1, 3, 4] {
            let m = b.get_mut(conn).expect("still there");
            assert_eq!(m.conn, conn);
            assert!(matches!(m.mode, Mode::Live { last } if last == conn));
        }
        assert_eq!(b.list.len(), 3);
        assert!(b.get_mut(5).is_none());
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
    }
}
