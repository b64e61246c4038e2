//! The registry: which connections are open on this node, which boards each
//! one subscribes to, and the presence those subscriptions make.
//!
//! It exists so that the hub's cross-indexed state has one owner that keeps
//! it consistent and can prove it: every connection lists its boards, every
//! board lists its subscribers (a `Vec` walked on each delivery, with an
//! index by connection for the rare lookups), users' connection counts and
//! the presence counts follow from those, and [`Registry::check_invariants`]
//! verifies all of it in tests. The registry is plain data: no I/O, no
//! clock, no cluster. The hub passes the time in, delivers frames to the
//! outboxes the registry holds, and updates metrics from what it returns.

use std::collections::HashMap;
use std::sync::Arc;

use super::frames::{HubEvent, Presence, Transport};
use super::outbox::Outbox;
use super::presence::{Changes, PresenceBook};
use crate::core::{Timestamp, User};

/// Identifies a connection (WebSocket or SSE stream) on this node.
pub type ConnId = u64;

/// Where a subscription stands in its two-step start.
pub enum Mode {
    /// Replay in progress: live events are held here, with their JSON size.
    Buffering {
        held: Vec<Arc<HubEvent>>,
        bytes: usize,
    },
    /// Caught up: `last` is the last seq sent.
    Live { last: u64 },
}

impl Mode {
    fn buffering() -> Self {
        Mode::Buffering {
            held: Vec::new(),
            bytes: 0,
        }
    }
}

/// A connection's side of a subscription.
struct Sub {
    /// Counted in presence (set on going live, kept across resubscribes).
    present: bool,
}

struct Conn {
    /// Shared by all the user's connections (see [`UserConns`]).
    user: Arc<User>,
    credential_id: Box<str>,
    transport: Transport,
    outbox: Arc<Outbox>,
    subs: ConnSubs,
}

/// A connection's subscriptions: a short list (most connections hold one
/// board), which costs one small allocation where a map cost a table and a
/// key each. Lookups walk it; a connection holds few boards.
#[derive(Default)]
struct ConnSubs(Vec<(Box<str>, Sub)>);

impl ConnSubs {
    fn position(&self, board: &str) -> Option<usize> {
        self.0.iter().position(|(b, _)| &**b == board)
    }

    fn contains_key(&self, board: &str) -> bool {
        self.position(board).is_some()
    }

    fn get_mut(&mut self, board: &str) -> Option<&mut Sub> {
        let i = self.position(board)?;
        self.0.get_mut(i).map(|(_, sub)| sub)
    }

    /// Adds a board not listed yet.
    fn insert(&mut self, board: &str, sub: Sub) {
        self.0.push((board.into(), sub));
    }

    fn remove(&mut self, board: &str) -> Option<Sub> {
        let i = self.position(board)?;
        let (_, sub) = self.0.swap_remove(i);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
        Some(sub)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (&str, &Sub)> {
        self.0.iter().map(|(b, sub)| (&**b, sub))
    }
}

impl IntoIterator for ConnSubs {
    type Item = (String, Sub);
    type IntoIter =
        std::iter::Map<std::vec::IntoIter<(Box<str>, Sub)>, fn((Box<str>, Sub)) -> (String, Sub)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().map(|(b, sub)| (b.into_string(), sub))
    }
}

/// A user's open connections on this node: how many (for the per-user
/// limit) and the one `User` they all share (a storm of one user's
/// connections must not copy the user's strings into each; a user's id
/// and username never change).
struct UserConns {
    count: u32,
    user: Arc<User>,
}

/// A board's side of a subscription: everything a delivery needs, so
/// delivering an event or a signal is a walk over a `Vec` with no lookup.
pub struct Member {
    /// The subscribing connection.
    pub conn: ConnId,
    /// Its user (shared with the connection).
    pub user: Arc<User>,
    /// How its frames are encoded.
    pub transport: Transport,
    /// Where its frames go.
    pub outbox: Arc<Outbox>,
    /// Buffering during the replay, then live.
    pub mode: Mode,
}

impl Member {
    /// Whether the subscription has caught up and gets events as they come.
    pub fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live { .. })
    }

    /// Switches to live at `last` and returns the events held meanwhile
    /// (none when it was live already).
    pub fn go_live(&mut self, last: u64) -> Vec<Arc<HubEvent>> {
        match std::mem::replace(&mut self.mode, Mode::Live { last }) {
            Mode::Buffering { held, .. } => held,
            Mode::Live { .. } => Vec::new(),
        }
    }
}

/// A board's subscribers on this node, with an index by connection.
#[derive(Default)]
struct BoardSubs {
    list: Vec<Member>,
    /// connection → its position in `list`.
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

/// A subscription that ended.
#[derive(Debug, PartialEq)]
pub struct Detached {
    /// Its board.
    pub board: String,
    /// It was counted in presence, so this node's presence of the board changed.
    pub present: bool,
    /// The user is now present on the board nowhere: tell its subscribers.
    pub left: Option<Presence>,
}

/// What counting a subscription in presence did.
#[derive(Debug, PartialEq)]
pub enum Counted {
    /// There is no such subscription (closed or revoked meanwhile).
    Gone,
    /// It was counted already (a resubscribe).
    Already,
    /// Counted now; `joined` when its user was present nowhere before.
    Now { joined: Option<Presence> },
}

/// A connection that ended.
pub struct Disconnected {
    /// Its transport (for the connection gauge).
    pub transport: Transport,
    /// Its subscriptions, each ended.
    pub detached: Vec<Detached>,
}

/// Connections, subscriptions and presence of one node.
pub struct Registry {
    conns: HashMap<ConnId, Conn>,
    /// board → its subscribers on this node.
    boards: HashMap<String, BoardSubs>,
    /// user id → open connections (WebSocket and SSE).
    per_user: HashMap<String, UserConns>,
    presence: PresenceBook,
    next_id: ConnId,
    max_per_user: u32,
}

impl Registry {
    /// An empty registry allowing `max_per_user` connections per user.
    pub fn new(max_per_user: u32) -> Self {
        Self {
            conns: HashMap::new(),
            boards: HashMap::new(),
            per_user: HashMap::new(),
            presence: PresenceBook::default(),
            next_id: 1,
            max_per_user,
        }
    }

    /// The per-user connection limit.
    pub fn max_per_user(&self) -> u32 {
        self.max_per_user
    }

    /// Registers a connection and returns its id, or None when the user
    /// already holds [`Registry::max_per_user`] connections.
    pub fn connect(
        &mut self,
        user: &User,
        credential_id: &str,
        transport: Transport,
        outbox: Arc<Outbox>,
    ) -> Option<ConnId> {
        if self.max_per_user == 0 {
            return None;
        }
        let entry = self
            .per_user
            .entry(user.id.clone())
            .or_insert_with(|| UserConns {
                count: 0,
                user: Arc::new(user.clone()),
            });
        if entry.count >= self.max_per_user {
            return None;
        }
        entry.count += 1;
        let user = entry.user.clone();
        let id = self.next_id;
        self.next_id += 1;
        self.conns.insert(
            id,
            Conn {
                user,
                credential_id: credential_id.into(),
                transport,
                outbox,
                subs: ConnSubs::default(),
            },
        );
        Some(id)
    }

    /// Removes a connection and ends all its subscriptions.
    pub fn disconnect(&mut self, id: ConnId) -> Option<Disconnected> {
        let conn = self.conns.remove(&id)?;
        if let Some(u) = self.per_user.get_mut(&conn.user.id) {
            u.count = u.count.saturating_sub(1);
            if u.count == 0 {
                self.per_user.remove(&conn.user.id);
            }
        }
        let detached = conn
            .subs
            .into_iter()
            .map(|(board, sub)| self.detach(id, board, &conn.user.id, sub.present))
            .collect();
        Some(Disconnected {
            transport: conn.transport,
            detached,
        })
    }

    /// Starts (or restarts) a subscription in buffering mode. Returns
    /// whether a new subscription was added (false on a restart, or when
    /// the connection is gone).
    pub fn begin(&mut self, id: ConnId, board: &str) -> bool {
        let Some(conn) = self.conns.get_mut(&id) else {
            return false;
        };
        if conn.subs.contains_key(board) {
            if let Some(m) = self.boards.get_mut(board).and_then(|b| b.get_mut(id)) {
                m.mode = Mode::buffering();
            }
            return false;
        }
        conn.subs.insert(board, Sub { present: false });
        let member = Member {
            conn: id,
            user: conn.user.clone(),
            transport: conn.transport,
            outbox: conn.outbox.clone(),
            mode: Mode::buffering(),
        };
        self.boards
            .entry(board.to_owned())
            .or_default()
            .push(member);
        true
    }

    /// The board's side of a subscription.
    pub fn member_mut(&mut self, id: ConnId, board: &str) -> Option<&mut Member> {
        self.boards.get_mut(board)?.get_mut(id)
    }

    /// Counts a subscription in presence (once; a resubscribe keeps it
    /// counted), the user joining when they were present nowhere.
    pub fn count_present(&mut self, id: ConnId, board: &str, now: Timestamp) -> Counted {
        let Some(conn) = self.conns.get_mut(&id) else {
            return Counted::Gone;
        };
        let Some(sub) = conn.subs.get_mut(board) else {
            return Counted::Gone;
        };
        if sub.present {
            return Counted::Already;
        }
        sub.present = true;
        let joined = self.presence.add_local(board, &conn.user, now);
        Counted::Now { joined }
    }

    /// Ends a subscription; None when there was none.
    pub fn unsubscribe(&mut self, id: ConnId, board: &str) -> Option<Detached> {
        let conn = self.conns.get_mut(&id)?;
        let sub = conn.subs.remove(board)?;
        let user_id = conn.user.id.clone();
        Some(self.detach(id, board.to_owned(), &user_id, sub.present))
    }

    /// Ends every subscription of a connection that stays registered (its
    /// outbox overflowed, and its transport ends it when it can): presence
    /// leaves at once, while the connection still counts toward its user's limit.
    pub fn unsubscribe_all(&mut self, id: ConnId) -> Vec<Detached> {
        let Some(conn) = self.conns.get_mut(&id) else {
            return Vec::new();
        };
        let subs = std::mem::take(&mut conn.subs);
        let user_id = conn.user.id.clone();
        subs.into_iter()
            .map(|(board, sub)| self.detach(id, board, &user_id, sub.present))
            .collect()
    }

    fn detach(&mut self, id: ConnId, board: String, user_id: &str, present: bool) -> Detached {
        if let Some(subs) = self.boards.get_mut(&board) {
            subs.remove(id);
            if subs.list.is_empty() {
                self.boards.remove(&board);
            }
        }
        let left = if present {
            self.presence.remove_local(&board, user_id)
        } else {
            None
        };
        Detached {
            board,
            present,
            left,
        }
    }

    /// Whether the connection holds a subscription to the board.
    pub fn is_subscribed(&self, id: ConnId, board: &str) -> bool {
        self.conns
            .get(&id)
            .is_some_and(|c| c.subs.contains_key(board))
    }

    /// The board's subscribers on this node, in delivery order.
    pub fn members(&self, board: &str) -> &[Member] {
        self.boards.get(board).map_or(&[], |b| &b.list)
    }

    /// The board's subscribers, to update as events are delivered.
    pub fn members_mut(&mut self, board: &str) -> Option<&mut [Member]> {
        self.boards.get_mut(board).map(|b| b.list.as_mut_slice())
    }

    /// Boards with subscribers on this node.
    pub fn boards(&self) -> impl Iterator<Item = &str> + '_ {
        self.boards.keys().map(String::as_str)
    }

    /// The lowest seq the board's live subscribers have (None while they
    /// are all still replaying, or when there are none).
    pub fn position(&self, board: &str) -> Option<u64> {
        self.members(board)
            .iter()
            .filter_map(|m| match m.mode {
                Mode::Live { last } => Some(last),
                Mode::Buffering { .. } => None,
            })
            .min()
    }

    /// The outboxes of every connection.
    pub fn all_outboxes(&self) -> impl Iterator<Item = &Outbox> {
        self.conns.values().map(|c| &*c.outbox)
    }

    /// The outboxes of the connections opened with this credential.
    pub fn outboxes_of<'a>(&'a self, credential_id: &'a str) -> impl Iterator<Item = &'a Outbox> {
        self.conns
            .values()
            .filter(move |c| &*c.credential_id == credential_id)
            .map(|c| &*c.outbox)
    }

    /// The outboxes of the connections holding at least one subscription.
    pub fn subscribed_outboxes(&self) -> impl Iterator<Item = &Outbox> {
        self.conns
            .values()
            .filter(|c| !c.subs.is_empty())
            .map(|c| &*c.outbox)
    }

    /// Every connection's outbox.
    pub fn outboxes(&self) -> impl Iterator<Item = &Outbox> {
        self.conns.values().map(|c| &*c.outbox)
    }

    /// Open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Who is present, here and (in cluster mode) on the other nodes.
    pub fn presence(&self) -> &PresenceBook {
        &self.presence
    }

    /// Records what another node reports present on a board (see
    /// [`PresenceBook::set_remote`]); local counts stay the registry's own.
    pub fn set_remote_presence(
        &mut self,
        board: &str,
        node: &str,
        users: Vec<Presence>,
        expires: Timestamp,
    ) -> Changes {
        self.presence.set_remote(board, node, users, expires)
    }

    /// Drops the other nodes' expired views (see [`PresenceBook::expire`]).
    pub fn expire_remote_presence(&mut self, now: Timestamp) -> Vec<(String, Changes)> {
        self.presence.expire(now)
    }

    /// Checks that every index agrees with the others:
    /// - each connection's boards list it, at the position their index says,
    ///   with the connection's own user, transport and outbox;
    /// - each board lists only connections that list it back, is not empty,
    ///   and its index maps every listed connection to its position, and
    ///   nothing else;
    /// - each user's connection count is the number of their connections,
    ///   within the limit, with no zero entries;
    /// - each local presence count is the number of that user's subscriptions
    ///   to the board counted present, and no present subscription is
    ///   uncounted (no zero counts, no empty maps);
    /// - connection ids are below the next one to be given.
    ///
    /// # Errors
    /// The first disagreement found, described.
    #[cfg(test)]
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut users: HashMap<&str, u32> = HashMap::new();
        let mut present: HashMap<(&str, &str), u32> = HashMap::new();
        for (&id, conn) in &self.conns {
            if id >= self.next_id {
                return Err(format!("conn {id} is not below next id {}", self.next_id));
            }
            *users.entry(&conn.user.id).or_default() += 1;
            if !self
                .per_user
                .get(&conn.user.id)
                .is_some_and(|u| Arc::ptr_eq(&u.user, &conn.user))
            {
                return Err(format!("conn {id} does not share its user's entry"));
            }
            for (board, sub) in conn.subs.iter() {
                let Some(subs) = self.boards.get(board) else {
                    return Err(format!(
                        "conn {id} lists board {board}, which has no subscribers"
                    ));
                };
                let Some(&i) = subs.index.get(&id) else {
                    return Err(format!("board {board} has no index entry for conn {id}"));
                };
                let Some(m) = subs.list.get(i) else {
                    return Err(format!(
                        "board {board}: index of conn {id} is {i}, past the list"
                    ));
                };
                if m.conn != id {
                    return Err(format!(
                        "board {board}: position {i} holds conn {}, not {id}",
                        m.conn
                    ));
                }
                if m.user.id != conn.user.id
                    || m.transport != conn.transport
                    || !Arc::ptr_eq(&m.outbox, &conn.outbox)
                {
                    return Err(format!(
                        "board {board}: member {id} differs from its connection"
                    ));
                }
                if sub.present {
                    *present.entry((board, &conn.user.id)).or_default() += 1;
                }
            }
        }
        for (board, subs) in &self.boards {
            if subs.list.is_empty() {
                return Err(format!("board {board} is kept with no subscribers"));
            }
            if subs.index.len() != subs.list.len() {
                return Err(format!(
                    "board {board}: {} index entries for {} members",
                    subs.index.len(),
                    subs.list.len()
                ));
            }
            for (i, m) in subs.list.iter().enumerate() {
                if subs.index.get(&m.conn) != Some(&i) {
                    return Err(format!(
                        "board {board}: conn {} at {i} is indexed elsewhere",
                        m.conn
                    ));
                }
                let listed = self
                    .conns
                    .get(&m.conn)
                    .is_some_and(|c| c.subs.contains_key(board));
                if !listed {
                    return Err(format!(
                        "board {board} lists conn {}, which does not list it",
                        m.conn
                    ));
                }
            }
        }
        if users.len() != self.per_user.len() {
            return Err(format!(
                "{} users with connections, {} counted",
                users.len(),
                self.per_user.len()
            ));
        }
        for (user, u) in &self.per_user {
            let n = &u.count;
            if users.get(user.as_str()) != Some(n) {
                return Err(format!(
                    "user {user}: counted {n}, has {:?}",
                    users.get(user.as_str())
                ));
            }
            if *n > self.max_per_user {
                return Err(format!("user {user}: {n} connections, over the limit"));
            }
        }
        let mut counted = 0usize;
        for (board, key, user, n) in self.presence.local_counts() {
            counted += 1;
            if key != user {
                return Err(format!(
                    "board {board}: presence of {user} filed under {key}"
                ));
            }
            if n == 0 {
                return Err(format!("board {board}: {user} present with 0 connections"));
            }
            if present.get(&(board, user)) != Some(&n) {
                return Err(format!(
                    "board {board}: {user} counted {n}, holds {:?} present subscriptions",
                    present.get(&(board, user))
                ));
            }
        }
        if counted != present.len() {
            return Err(format!(
                "{} (board, user) present through subscriptions, {counted} counted",
                present.len()
            ));
        }
        if self.presence.has_empty_maps() {
            return Err("the presence book keeps an empty map".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: &str) -> User {
        User {
            id: format!("u-{n}"),
            username: n.into(),
        }
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

    #[test]
    fn the_check_catches_a_broken_index() {
        let mut r = Registry::new(3);
        let o = Arc::new(Outbox::new(10));
        let a = r
            .connect(&user("a"), "c", Transport::Sse, o.clone())
            .unwrap();
        let b = r.connect(&user("b"), "c", Transport::Sse, o).unwrap();
        r.begin(a, "x");
        r.begin(b, "x");
        r.check_invariants().unwrap();
        let subs = r.boards.get_mut("x").unwrap();
        subs.list.swap(0, 1);
        assert!(r.check_invariants().is_err());
        r.boards.get_mut("x").unwrap().list.swap(0, 1);
        r.per_user.get_mut("u-a").unwrap().count = 2;
        assert!(r.check_invariants().unwrap_err().contains("u-a"));
    }

    #[test]
    fn a_user_s_connections_share_one_user() {
        let mut r = Registry::new(10);
        let o = Arc::new(Outbox::new(1000));
        let ids: Vec<ConnId> = (0..3)
            .map(|_| {
                r.connect(&user("a"), "c", Transport::WebSocket, o.clone())
                    .unwrap()
            })
            .collect();
        let first = &r.conns[&ids[0]].user;
        for id in &ids[1..] {
            assert!(
                Arc::ptr_eq(first, &r.conns[id].user),
                "one User per user, not per connection"
            );
        }
        r.check_invariants().unwrap();
        // The entry goes with the user's last connection, and comes back with the next.
        for id in ids {
            r.disconnect(id);
        }
        assert!(r.per_user.is_empty());
        let again = r.connect(&user("a"), "c", Transport::WebSocket, o).unwrap();
        assert_eq!(r.conns[&again].user.username, "a");
        r.check_invariants().unwrap();
    }

    #[test]
    fn a_connection_s_boards_are_listed_once_and_freed_when_none_is_left() {
        let mut subs = ConnSubs::default();
        subs.insert("x", Sub { present: false });
        subs.insert("y", Sub { present: true });
        assert!(subs.contains_key("x") && subs.contains_key("y") && !subs.contains_key("z"));
        assert!(subs.get_mut("y").is_some_and(|s| s.present));
        assert!(subs.remove("x").is_some() && subs.remove("x").is_none());
        assert!(subs.remove("y").is_some());
        assert!(subs.is_empty());
        assert_eq!(subs.0.capacity(), 0, "no memory kept once empty");
    }
}
