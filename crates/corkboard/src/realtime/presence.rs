//! The presence book: who is present on each board, through this node and
//! through the others, and what subscribers must be told when that changes.
//!
//! Presence is one model for every transport: a user is present on a board
//! while they hold at least one live subscription to it, counted per
//! connection, so the third tab closing does not make them leave. In cluster
//! mode the book also keeps what each other node reports (its present users
//! per board, each view with a deadline), and what subscribers see is the
//! merge: `joined` when a user becomes present anywhere, `left` when
//! nowhere. The book is plain data: it reads no clock and sends nothing;
//! the hub passes the time in and delivers what the book returns.

use std::collections::HashMap;

use super::frames::Presence;
use crate::core::{Timestamp, User};

/// A user present on a board through this node.
struct LocalEntry {
    user: User,
    /// Present subscriptions of this user to the board on this node (≥ 1).
    connections: u32,
    since: Timestamp,
}

/// The users another node reports present on a board, valid until `expires`.
struct RemoteView {
    users: Vec<Presence>,
    expires: Timestamp,
}

/// What a change of the merged view means for the board's subscribers.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Users present now and not before (`connections` as merged).
    pub joined: Vec<Presence>,
    /// Users present before and not now (`connections` 0).
    pub left: Vec<Presence>,
}

/// Local presence counts and the other nodes' views, per board.
#[derive(Default)]
pub struct PresenceBook {
    /// board → user id → this node's count.
    local: HashMap<String, HashMap<String, LocalEntry>>,
    /// board → node id → what that node reports (cluster mode).
    remote: HashMap<String, HashMap<String, RemoteView>>,
}

impl PresenceBook {
    /// Counts one more present subscription of `user` on `board`. Returns
    /// the `joined` entry when the user was present nowhere before.
    pub fn add_local(&mut self, board: &str, user: &User, now: Timestamp) -> Option<Presence> {
        let was_present = self.is_present(board, &user.id);
        let entry = self
            .local
            .entry(board.to_owned())
            .or_default()
            .entry(user.id.clone())
            .or_insert_with(|| LocalEntry {
                user: user.clone(),
                connections: 0,
                since: now,
            });
        entry.connections += 1;
        (!was_present).then(|| Presence {
            user: user.clone(),
            connections: 1,
            since: entry.since,
        })
    }

    /// Counts one fewer present subscription of the user on `board`.
    /// Returns the `left` entry when the user is now present nowhere.
    pub fn remove_local(&mut self, board: &str, user_id: &str) -> Option<Presence> {
        let users = self.local.get_mut(board)?;
        let entry = users.get_mut(user_id)?;
        entry.connections = entry.connections.saturating_sub(1);
        let gone = if entry.connections == 0 {
            users.remove(user_id)
        } else {
            None
        };
        if users.is_empty() {
            self.local.remove(board);
        }
        let entry = gone.filter(|e| !self.remote_has(board, &e.user.id))?;
        Some(Presence {
            user: entry.user,
            connections: 0,
            since: entry.since,
        })
    }

    /// Who is present on the board through this node only.
    pub fn local_members(&self, board: &str) -> Vec<Presence> {
        self.local
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

    /// This node's present users, per board (what it reports to the others).
    pub fn local_boards(&self) -> Vec<(String, Vec<Presence>)> {
        self.local
            .keys()
            .map(|b| (b.clone(), self.local_members(b)))
            .collect()
    }

    /// Whether the user is present on the board through any node.
    pub fn is_present(&self, board: &str, user_id: &str) -> bool {
        self.local
            .get(board)
            .is_some_and(|users| users.contains_key(user_id))
            || self.remote_has(board, user_id)
    }

    /// Everyone present on the board, merged across nodes: connections add
    /// up and `since` is the earliest. Sorted by `since`, then username.
    pub fn members(&self, board: &str) -> Vec<Presence> {
        let mut list = self.local_members(board);
        if let Some(nodes) = self.remote.get(board) {
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

    /// Replaces what `node` reports present on `board` (valid until
    /// `expires`; an empty list forgets the node) and returns what the
    /// merged view gained and lost.
    pub fn set_remote(
        &mut self,
        board: &str,
        node: &str,
        users: Vec<Presence>,
        expires: Timestamp,
    ) -> Changes {
        let before = self.members(board);
        let nodes = self.remote.entry(board.to_owned()).or_default();
        if users.is_empty() {
            nodes.remove(node);
        } else {
            nodes.insert(node.to_owned(), RemoteView { users, expires });
        }
        if nodes.is_empty() {
            self.remote.remove(board);
        }
        changes(&before, &self.members(board))
    }

    /// Drops the views whose deadline passed before `now` (a node that died
    /// takes its users with it) and returns, per board that changed, what
    /// the merged view lost.
    pub fn expire(&mut self, now: Timestamp) -> Vec<(String, Changes)> {
        let stale: Vec<String> = self
            .remote
            .iter()
            .filter(|(_, nodes)| nodes.values().any(|v| v.expires < now))
            .map(|(b, _)| b.clone())
            .collect();
        let mut out = Vec::new();
        for board in stale {
            let before = self.members(&board);
            if let Some(nodes) = self.remote.get_mut(&board) {
                nodes.retain(|_, v| v.expires >= now);
                if nodes.is_empty() {
                    self.remote.remove(&board);
                }
            }
            let c = changes(&before, &self.members(&board));
            out.push((board, c));
        }
        out
    }

    /// Whether another node reports the user present on the board.
    fn remote_has(&self, board: &str, user_id: &str) -> bool {
        self.remote.get(board).is_some_and(|nodes| {
            nodes
                .values()
                .any(|v| v.users.iter().any(|p| p.user.id == user_id))
        })
    }

    /// Every local entry as (board, user id, the entry's user id, count),
    /// for the registry's invariant check.
    #[cfg(test)]
    pub(super) fn local_counts(&self) -> impl Iterator<Item = (&str, &str, &str, u32)> + '_ {
        self.local.iter().flat_map(|(board, users)| {
            users.iter().map(move |(id, e)| {
                (
                    board.as_str(),
                    id.as_str(),
                    e.user.id.as_str(),
                    e.connections,
                )
            })
        })
    }

    /// Whether the book holds an empty per-board map (it never should).
    #[cfg(test)]
    pub(super) fn has_empty_maps(&self) -> bool {
        self.local.values().any(HashMap::is_empty) || self.remote.values().any(HashMap::is_empty)
    }
}

/// The users `after` has and `before` has not (joined), and the reverse (left).
fn changes(before: &[Presence], after: &[Presence]) -> Changes {
    Changes {
        joined: after
            .iter()
            .filter(|p| !before.iter().any(|q| q.user.id == p.user.id))
            .cloned()
            .collect(),
        left: before
            .iter()
            .filter(|p| !after.iter().any(|q| q.user.id == p.user.id))
            .map(|p| Presence {
                connections: 0,
                ..p.clone()
            })
            .collect(),
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

    fn remote(n: &str, connections: u32, since: i64) -> Presence {
        Presence {
            user: user(n),
            connections,
            since: Timestamp(since),
        }
    }

    #[test]
    fn a_user_joins_once_and_leaves_with_the_last_subscription() {
        let mut book = PresenceBook::default();
        let a = user("a");
        assert_eq!(
            book.add_local("b", &a, Timestamp(5)).unwrap().since,
            Timestamp(5)
        );
        assert!(book.add_local("b", &a, Timestamp(9)).is_none());
        assert_eq!(book.local_members("b")[0].connections, 2);
        assert!(book.remove_local("b", &a.id).is_none());
        let left = book.remove_local("b", &a.id).unwrap();
        assert_eq!((left.connections, left.since), (0, Timestamp(5)));
        assert!(book.local_boards().is_empty());
        assert!(!book.has_empty_maps());
    }

    #[test]
    fn the_merged_view_adds_connections_and_keeps_the_earliest_since() {
        let mut book = PresenceBook::default();
        book.add_local("b", &user("a"), Timestamp(10));
        let c = book.set_remote(
            "b",
            "n2",
            vec![remote("a", 2, 3), remote("z", 1, 20)],
            Timestamp(100),
        );
        assert_eq!(c.joined, vec![remote("z", 1, 20)], "a was present already");
        assert!(c.left.is_empty());
        let m = book.members("b");
        assert_eq!(m, vec![remote("a", 3, 3), remote("z", 1, 20)]);
        // Present elsewhere: leaving this node does not make a leave.
        assert!(book.remove_local("b", "u-a").is_none());
        assert!(book.is_present("b", "u-a"));
        // The remote view expires: both leave.
        let expired = book.expire(Timestamp(101));
        assert_eq!(expired.len(), 1);
        let names: Vec<_> = expired[0]
            .1
            .left
            .iter()
            .map(|p| p.user.username.clone())
            .collect();
        assert_eq!(names, ["a", "z"]);
        assert!(!book.is_present("b", "u-a") && !book.has_empty_maps());
    }

    #[test]
    fn an_empty_report_forgets_the_node() {
        let mut book = PresenceBook::default();
        book.set_remote("b", "n2", vec![remote("z", 1, 1)], Timestamp(100));
        let c = book.set_remote("b", "n2", vec![], Timestamp(100));
        assert_eq!(c.left, vec![remote("z", 0, 1)]);
        assert!(book.members("b").is_empty() && !book.has_empty_maps());
    }
}
