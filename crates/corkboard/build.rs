//! Generates the gRPC code from the project's copy of the contract,
//! `proto/corkboard/v1/corkboard.proto`, with protox (a protobuf compiler in
//! Rust, so no `protoc` has to be installed) and tonic-prost-build:
//!
//! - `OUT_DIR/messages/`: every message, and a client (tests and tools use it);
//! - `OUT_DIR/server/`: the service, whose streamed `BoardUpdate`s are
//!   pre-encoded bytes (`crate::grpc::wire::EncodedUpdate`) so one event is
//!   encoded once for every stream that carries it; the other messages are
//!   the ones in `messages/`.
//!
//! The encoded descriptor set is written beside them for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let file = root.join("corkboard/v1/corkboard.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_file(&file)?;
    let fds = compiler.file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("corkboard_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let messages = out.join("messages");
    std::fs::create_dir_all(&messages)?;
    tonic_prost_build::configure()
        .out_dir(&messages)
        .build_server(false)
        .build_client(true)
        .build_transport(false)
        .compile_fds(fds.clone())?;
    // The server: messages from `messages/`, except the response types that
    // carry a BoardUpdate (BoardUpdate itself, and ServerMessage around it).
    let server = out.join("server");
    std::fs::create_dir_all(&server)?;
    let mut b = tonic_prost_build::configure()
        .out_dir(&server)
        .build_server(true)
        .build_client(false)
        .build_transport(false)
        // Small per-stream buffers (see src/grpc/codec.rs).
        .codec_path("crate::grpc::codec::SmallCodec")
        .extern_path(
            ".corkboard.v1.BoardUpdate",
            "crate::grpc::wire::EncodedUpdate",
        );
    for file in &fds.file {
        if file.package() != "corkboard.v1" {
            continue;
        }
        for m in &file.message_type {
            let name = m.name();
            if name != "BoardUpdate" && name != "ServerMessage" {
                b = b.extern_path(
                    format!(".corkboard.v1.{name}"),
                    format!("crate::grpc::pb::{name}"),
                );
            }
        }
        for e in &file.enum_type {
            let name = e.name();
            b = b.extern_path(
                format!(".corkboard.v1.{name}"),
                format!("crate::grpc::pb::{name}"),
            );
        }
    }
    b.compile_fds(fds)?;
    Ok(())
}
