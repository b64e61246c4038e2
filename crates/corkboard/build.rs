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
//!
//! It also sets `CORKBOARD_COMMIT` and `CORKBOARD_BUILT` for `--version`
//! (see [`version_info`]).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    version_info();
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

/// Sets `CORKBOARD_COMMIT` (short hash from `git rev-parse`, `-dirty` when
/// tracked files differ from it; else the `CORKBOARD_COMMIT` variable given
/// to the build, for builds without `.git`; else `unknown`) and
/// `CORKBOARD_BUILT` (UTC time of the build, or of `SOURCE_DATE_EPOCH`).
fn version_info() {
    println!("cargo:rerun-if-env-changed=CORKBOARD_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let commit = match git(&["rev-parse", "--short=7", "HEAD"]) {
        Some(hash) if !hash.is_empty() => {
            // Rerun when HEAD moves (a commit, a checkout) or the index changes.
            for path in ["HEAD", "index", "logs/HEAD"] {
                if let Some(p) = git(&["rev-parse", "--git-path", path]) {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{hash}-dirty")
            } else {
                hash
            }
        }
        _ => std::env::var("CORKBOARD_COMMIT")
            .ok()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "unknown".to_owned()),
    };
    let built = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or_else(time::OffsetDateTime::now_utc);
    let built = built
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=CORKBOARD_COMMIT={commit}");
    println!("cargo:rustc-env=CORKBOARD_BUILT={built}");
}
