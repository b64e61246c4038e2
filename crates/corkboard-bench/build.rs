//! Generates the gRPC client from the project's copy of the contract,
//! `proto/corkboard/v1/corkboard.proto`, with protox (a protobuf compiler in
//! Rust, so no `protoc` has to be installed) and tonic-prost-build, as
//! crates/corkboard/build.rs does for the server.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let file = root.join("corkboard/v1/corkboard.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_file(&file)?;
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .build_transport(false)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
