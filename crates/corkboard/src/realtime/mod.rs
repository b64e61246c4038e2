//! Real-time delivery shared by every transport: the per-connection
//! [`outbox`], the per-node [`hub`] of subscriptions and presence, and the
//! [`frames`] encoded once per message. The WebSocket door is a thin
//! adapter over these; Server-Sent Events reuse them.
//!
//! The hub is a façade over small parts with one job each: the
//! `registry` of connections and subscriptions, the `presence` book,
//! event `delivery`, `signals` routing, and [`cluster`] sync (the trait
//! the bus implements to link nodes, so this layer never names the bus).
//! Every close has one [`CloseReason`] naming its cause ([`close`]).

pub mod close;
pub mod cluster;
mod delivery;
pub mod frames;
pub mod hub;
pub mod notify;
pub mod outbox;
mod presence;
mod registry;
mod revoked;
mod signals;
pub mod subscribe;

#[cfg(test)]
mod registry_model;

pub use close::CloseReason;
pub use frames::{Presence, Transport};
pub use hub::Hub;
pub use notify::NotifyHub;
pub use outbox::Outbox;
pub use registry::ConnId;
