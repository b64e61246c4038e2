//! The types generated from `proto/corkboard/v1/corkboard.proto` (see
//! build.rs): every message here, the service in [`server`] (whose streamed
//! `BoardUpdate`s are pre-encoded), and the encoded descriptor set that
//! reflection serves.

#![allow(missing_docs, clippy::all, clippy::pedantic, dead_code)]

include!(concat!(env!("OUT_DIR"), "/messages/corkboard.v1.rs"));

/// The service, and the response message that carries pre-encoded updates.
pub mod server {
    #![allow(missing_docs, clippy::all, clippy::pedantic, dead_code)]
    include!(concat!(env!("OUT_DIR"), "/server/corkboard.v1.rs"));
}

/// The contract's file descriptor set, with its imports, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/corkboard_descriptor.bin"));
