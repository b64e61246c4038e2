//! Fan-out of committed events to this node's subscribers.
//!
//! The in-process bus is a tokio broadcast channel per node: an event is
//! serialized once (by the store, at commit) and every receiver gets the same
//! `Arc`. Receivers that lag are told so by `RecvError::Lagged` and must
//! resume from the log, never silently skip.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::store::{CommittedEvent, EventSink};

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
