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
//! hubs. The hubs reach the cluster through the realtime layer's
//! [`ClusterLink`] trait, which [`redis::RedisBus`] implements (the bus sits
//! above the hubs: it may name them, never the reverse); in single-node mode
//! there is no link and everything stays in the process.
//!
//! [`ClusterLink`]: crate::realtime::cluster::ClusterLink

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::store::{CommittedEvent, EventSink};

pub mod redis;
pub mod sequencer;
pub mod testing;
pub mod wire;

/// What a node's service needs of a cluster bus: a link the hubs send
/// through, and whether it is connected (for `/readyz`). The service holds
/// this trait, never the concrete Redis bus.
pub trait ClusterBus: crate::realtime::cluster::ClusterLink {
    /// Whether the bus is connected now.
    fn is_up(&self) -> bool;
}

#[cfg(test)]
mod contract;

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
