//! Cluster sync: what this node's hubs tell the other nodes, and the seam
//! they reach them through.
//!
//! The hubs sit below the bus, so they cannot name it: they talk to a
//! [`ClusterLink`], a trait declared here and implemented by the Redis bus.
//! In single-node mode no link is set and every send is a no-op. What the hubs send is one [`ClusterMessage`] per cause:
//! a signal, a notification, an unread count, a boards-list change, a
//! credential kick, or this
//! node's present users of a board. What they receive comes back through
//! plain hub methods the bus calls ([`Hub::remote_signal`],
//! [`Hub::set_remote_presence`], [`Hub::expire_remote_presence`],
//! [`Hub::kick_local`], and the [`NotifyHub`] `*_local` methods).
//!
//! [`Hub::remote_signal`]: super::Hub::remote_signal
//! [`Hub::set_remote_presence`]: super::Hub::set_remote_presence
//! [`Hub::expire_remote_presence`]: super::Hub::expire_remote_presence
//! [`Hub::kick_local`]: super::Hub::kick_local
//! [`NotifyHub`]: super::NotifyHub

use std::sync::{Arc, OnceLock};

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::frames::Presence;
use super::registry::ConnId;
use crate::core::Notification;

/// What one node tells the others, besides committed events.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterMessage {
    /// A typing/cursor signal for a board's WebSocket subscribers.
    Signal {
        board: String,
        /// The sending connection, unique cluster-wide (cursor coalescing key).
        from: u64,
        cursor: bool,
        /// The frame exactly as subscribers receive it.
        frame: Utf8Bytes,
    },
    /// A stored notification for a user's streams.
    Notification {
        user: String,
        notification: Notification,
    },
    /// A user's unread count changed.
    Unread { user: String, count: u64 },
    /// A user's boards list changed (`reason`: created, renamed, deleted,
    /// shared, left, removed).
    Boards {
        user: String,
        reason: String,
        board: String,
    },
    /// A credential was revoked: close its connections and forget it.
    Kick { credential: String },
    /// The full list of users present on a board through the sending node.
    Presence { board: String, users: Vec<Presence> },
}

/// How a node's hubs hand messages to the other nodes (cluster mode only).
/// Sending never blocks: the link queues and a task publishes.
pub trait ClusterLink: Send + Sync + 'static {
    /// Sends a message to every other node.
    fn send(&self, msg: ClusterMessage);
    /// A 64-bit id, unique cluster-wide, for one of this node's connections.
    fn global_conn(&self, conn: u64) -> u64;
}

/// A hub's link to the other nodes: set once at start in cluster mode,
/// absent on a single node (then every method here does nothing).
#[derive(Default)]
pub struct ClusterSync {
    link: OnceLock<Arc<dyn ClusterLink>>,
}

impl ClusterSync {
    /// Connects to the other nodes (a second call is ignored).
    pub fn set(&self, link: Arc<dyn ClusterLink>) {
        let _ = self.link.set(link);
    }

    /// Tells the other nodes who is present on `board` through this node.
    /// `users` is only computed when there is a cluster to tell.
    pub fn presence(&self, board: &str, users: impl FnOnce() -> Vec<Presence>) {
        if let Some(link) = self.link.get() {
            link.send(ClusterMessage::Presence {
                board: board.to_owned(),
                users: users(),
            });
        }
    }

    /// Relays a signal from connection `from` and returns the key its
    /// cursors coalesce under: cluster-wide when linked, `from` otherwise.
    pub fn signal(&self, from: ConnId, board: &str, cursor: bool, frame: &Utf8Bytes) -> u64 {
        let Some(link) = self.link.get() else {
            return from;
        };
        let key = link.global_conn(from);
        link.send(ClusterMessage::Signal {
            board: board.to_owned(),
            from: key,
            cursor,
            frame: frame.clone(),
        });
        key
    }

    /// Asks the other nodes to close the connections of a revoked credential.
    pub fn kick(&self, credential: &str) {
        if let Some(link) = self.link.get() {
            link.send(ClusterMessage::Kick {
                credential: credential.to_owned(),
            });
        }
    }

    /// Hands a new notification to the user's streams on the other nodes.
    pub fn notification(&self, user: &str, notification: &Notification) {
        if let Some(link) = self.link.get() {
            link.send(ClusterMessage::Notification {
                user: user.to_owned(),
                notification: notification.clone(),
            });
        }
    }

    /// Tells the user's streams on the other nodes that their boards list changed.
    pub fn boards(&self, user: &str, reason: &str, board: &str) {
        if let Some(link) = self.link.get() {
            link.send(ClusterMessage::Boards {
                user: user.to_owned(),
                reason: reason.to_owned(),
                board: board.to_owned(),
            });
        }
    }

    /// Hands a user's new unread count to their streams on the other nodes.
    pub fn unread(&self, user: &str, count: u64) {
        if let Some(link) = self.link.get() {
            link.send(ClusterMessage::Unread {
                user: user.to_owned(),
                count,
            });
        }
    }
}
