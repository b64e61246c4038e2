//! Generates the gRPC types and service from the project's copy of the
//! contract, `proto/corkboard/v1/corkboard.proto`, with protox (a protobuf
//! compiler in Rust, so no `protoc` has to be installed) and tonic-prost-build.
//! The encoded descriptor set is written beside the code for server reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let file = root.join("corkboard/v1/corkboard.proto");
    println!("cargo:rerun-if-changed={}", file.display());
    let mut compiler = protox::Compiler::new([&root])?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_file(&file)?;
    let fds = compiler.file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("corkboard_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}
