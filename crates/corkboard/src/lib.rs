//! Corkboard: a real-time collaboration board server.
//!
//! Every change takes one path, whatever door it comes in by, and every
//! layer imports only from the layers below it (`tests/architecture.rs`
//! checks this; docs/architecture.md draws it):
//!
//! ```text
//! doors        http (REST) · ws (WebSocket) · sse · longpoll   decode, authenticate, encode
//!   gateway    state, extractors and the error → HTTP table every door shares
//!   commands   the registry: one file per operation, typed params and result
//!   service    the node's shared state (App) and the operations commands use
//!   bus        publish each commit: in-process, or Redis across nodes
//!   realtime   deliver to this node's connections: hub, outboxes, frames
//!   store      one transaction per change: apply, bump seq, append the event
//!   core       the contract's model, rules, messages and errors (pure)
//! ```
//!
//! - [`core`]: the model, `plan` for every mutation, the typed [`core::Outcome`],
//!   the WebSocket messages and the error codes. Pure.
//! - [`store`]: the `Store` trait, its SQLite and PostgreSQL implementations
//!   and the contract suite both run.
//! - `auth`: password hashing, secrets and the credential cache.
//! - `realtime`: the hub (registry, presence, signals, delivery, cluster
//!   sync), per-connection outboxes and frames encoded once per message.
//!   It reaches the cluster through the `ClusterLink` trait, never the bus.
//! - [`bus`]: fan-out of commits; the Redis bus implements the realtime
//!   layer's `ClusterLink` and the service's `ClusterBus`.
//! - `service`: `App`, the state of a running node (store, bus, hubs,
//!   credentials), mutations, and the notifier.
//! - `commands`: the command registry; every door reaches it.
//! - `gateway`: what every door shares; `http`, `ws`, `sse` and `longpoll`
//!   are the doors; `routes` puts their routes in one table.
//! - [`server`] and [`config`]: startup, graceful shutdown and flags.

mod auth;
pub mod bus;
mod commands;
pub mod config;
pub mod core;
mod gateway;
mod grpc;
mod http;
mod longpoll;
mod realtime;
mod routes;
pub mod server;
mod service;
mod sse;
pub mod store;
pub mod telemetry;
mod tls;
#[cfg(test)]
mod ts_bindings;
mod ws;

/// The decoders of untrusted input, exported for the fuzz targets in
/// `fuzz/` (cargo-fuzz) so that they run the server's own code: each is the
/// function a door calls, or the same steps without the I/O around them.
/// (The Redis bus decoder is public already: [`bus::wire::decode`].)
pub mod decoders {
    pub use crate::commands::{method_ids, parse_json, parse_rest, METHODS};
    pub use crate::core::{check_signal, ClientMessage};
    pub use crate::longpoll::parse_after_wait;
    pub use crate::sse::resume_position;
    pub use crate::ws::decode_client_frame;
}
