//! Heap bytes per idle Server-Sent Events stream (issue 16): a real server
//! in this process, real sockets, and a global allocator that counts the
//! bytes currently allocated. The clients are plain blocking sockets that
//! send one request head and read until the stream's presence list, and
//! allocate nothing per stream, so what grows is the server's. It is the
//! only test in its binary (others running beside it would allocate too).
//!
//! The bound is the figure measured once hyper stopped holding its read and
//! header buffers on an idle connection (vendor/hyper) and an HTTP/1.1
//! connection's task stopped holding HTTP/2's state (gateway/listener.rs):
//! 4,130 bytes on 2026-12-02 in a debug build with the system allocator,
//! plus a margin. Before those changes a stream held 30,752 bytes here, then
//! 4,824 with the hyper patch alone.

mod common;

use std::io::Write;
use std::net::TcpStream;

#[path = "support/counting.rs"]
mod counting;
#[path = "support/idle.rs"]
mod idle;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Most heap bytes one idle board stream may hold on the server.
const MAX_BYTES_PER_STREAM: isize = 4_600;

/// Opens `GET /api/boards/{board}/stream` on `addr` with `cookie` and returns
/// once the stream has sent its presence members list (it is subscribed).
fn streaming(addr: &str, cookie: &str, board: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "GET /api/boards/{board}/stream HTTP/1.1\r\nHost: {addr}\r\n\
         Accept: text/event-stream\r\nCookie: {cookie}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    idle::read_until(&mut s, b"\"members\"");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_board_stream_holds_little_memory() {
    let per_stream = idle::bytes_per_connection(streaming).await;
    println!("heap bytes per idle board stream: {per_stream}");
    assert!(
        per_stream <= MAX_BYTES_PER_STREAM,
        "an idle board stream holds {per_stream} heap bytes (at most {MAX_BYTES_PER_STREAM})"
    );
}
