//! The types and service generated from `proto/corkboard/v1/corkboard.proto`
//! (see build.rs), and the encoded descriptor set reflection serves.

#![allow(missing_docs, clippy::all, clippy::pedantic)]

tonic::include_proto!("corkboard.v1");

/// The contract's file descriptor set, with its imports, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/corkboard_descriptor.bin"));
