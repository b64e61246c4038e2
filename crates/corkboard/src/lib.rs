//! Corkboard: a real-time collaboration board server.
//!
//! Every change takes one path, whatever door it comes in by:
//!
//! ```text
//! door (http: decode + authenticate)
//!   → service (the operations every door shares)
//!   → core (authorize, validate, merge: pure functions, no I/O)
//!   → store (one transaction: apply, bump the board seq, append the event, remember the op id)
//!   → bus (publish the committed event, serialized once)
//! ```
//!
//! - [`core`]: the contract's model, rules and error codes. Pure.
//! - [`store`]: the `Store` trait, its SQLite implementation and the contract suite.
//! - [`bus`]: fan-out of committed events to this node's subscribers.
//! - [`auth`]: password hashing, secrets, and the credential cache.
//! - [`service`]: the operations (sign up, create a board, mutate a note…).
//! - [`http`]: the REST door (axum), with the Origin check, metrics and errors.
//! - [`realtime`]: the hub of subscriptions and presence, per-connection
//!   outboxes, frames encoded once per message; shared by every transport.
//! - [`sse`]: Server-Sent Events (board and notification streams); [`longpoll`]: the fallback.
//! - [`ws`]: the WebSocket door (`/ws`): subscriptions, RPC, signals, heartbeats.
//! - [`server`] and [`config`]: startup, graceful shutdown and flags.

pub mod auth;
pub mod bus;
pub mod commands;
pub mod config;
pub mod core;
pub mod http;
pub mod longpoll;
pub mod realtime;
pub mod server;
pub mod service;
pub mod sse;
pub mod store;
pub mod tls;
pub mod ts_bindings;
pub mod ws;
