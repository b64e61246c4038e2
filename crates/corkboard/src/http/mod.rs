//! The REST door: the account routes (they set the session cookie), the
//! adapter that serves every command of the registry over REST, the Origin
//! check, metrics, health and the embedded web UI.

pub mod accounts;
pub mod command;
pub mod headers;
pub mod metrics;
pub mod ops;
pub mod origin;
pub mod thumbnail;
pub mod web;
