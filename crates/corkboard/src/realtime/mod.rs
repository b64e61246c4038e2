//! Real-time delivery shared by every transport: the per-connection
//! [`outbox`], the per-node [`hub`] of subscriptions and presence, and the
//! [`frames`] encoded once per message. The WebSocket door ([`crate::ws`])
//! is a thin adapter over these; Server-Sent Events reuse them.

pub mod frames;
pub mod hub;
pub mod notifier;
pub mod notify;
pub mod outbox;
pub mod subscribe;

pub use frames::{Presence, Transport};
pub use hub::{ConnId, Hub};
pub use notify::NotifyHub;
pub use outbox::{CloseReason, Outbox};
