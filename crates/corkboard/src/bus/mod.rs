//! Fan-out of committed events and ephemeral messages.
//!
//! Every node has a [`LocalBus`]: a tokio broadcast channel carrying the
//! committed events this node's hub, notifier and long polls consume. An
//! event is serialized once (by the store, at commit) and every receiver gets
//! the same `Arc`. Receivers that lag are told so by `RecvError::Lagged` and
//! must resume from the log, never silently skip.
//!
//! In cluster mode ([`redis::RedisBus`]) the store's commits go to Redis as
//! well, and what other nodes publish (events, signals, notifications,
//! presence, credential kicks) comes back into this node's [`LocalBus`] and
//! hubs. The hubs reach the cluster through [`ClusterLink`]; in single-node
//! mode there is no link and everything stays in the process.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

use crate::core::Notification;
use crate::realtime::frames::Presence;
use crate::store::{CommittedEvent, EventSink};

pub mod redis;
pub mod sequencer;
pub mod testing;
pub mod wire;

#[cfg(test)]
mod contract;

/// What one node tells the others, besides committed events.
#[derive(Debug, Clone, PartialEq)]
pub enum BusMessage {
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
    /// A credential was revoked: close its connections and forget it.
    Kick { credential: String },
    /// The full list of users present on a board through the sending node.
    Presence { board: String, users: Vec<Presence> },
}

/// How a node's hubs hand messages to the other nodes (cluster mode only).
/// Sending never blocks: the link queues and a task publishes.
pub trait ClusterLink: Send + Sync + 'static {
    /// Sends a message to every other node.
    fn send(&self, msg: BusMessage);
    /// A 64-bit id, unique cluster-wide, for one of this node's connections.
    fn global_conn(&self, conn: u64) -> u64;
}

/// Events buffered per receiver before it counts as lagging.
const CAPACITY: usize = 16_384;

/// The in-process bus (single-node mode).
#[derive(Debug, Clone)]
pub struct LocalBus {
    tx: broadcast::Sender<Arc<CommittedEvent>>,
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalBus {
    /// A bus with the default per-receiver buffer.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        Self { tx }
    }

    /// A receiver of every event committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedEvent>> {
        self.tx.subscribe()
    }
}

impl EventSink for LocalBus {
    fn committed(&self, event: Arc<CommittedEvent>) {
        metrics::counter!("corkboard_events_total").increment(1);
        // No receiver is not an error: nobody is listening on this node.
        let _ = self.tx.send(event);
    }
}
