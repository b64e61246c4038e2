//! Heap bytes per idle subscribed WebSocket (issue 16): a real server in
//! this process, real sockets, and a global allocator that counts the bytes
//! currently allocated. The clients are plain blocking sockets that speak
//! just enough WebSocket (a handshake and one masked frame) and allocate
//! nothing per connection, so what grows is the server's. It is the only
//! test in its binary (others running beside it would allocate too).
//!
//! The bound is the figure measured when the connection became one task
//! with no queue held while idle (2026-12-02: 3,389 bytes in a debug build
//! with the system allocator), plus a margin; before that change a
//! connection held 4,997 bytes here.

mod common;

use std::io::Write;
use std::net::TcpStream;

#[path = "support/counting.rs"]
mod counting;
#[path = "support/idle.rs"]
mod idle;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Most heap bytes one idle subscribed connection may hold on the server.
const MAX_BYTES_PER_CONNECTION: isize = 3_600;

/// Opens a WebSocket on `addr` with `cookie`, subscribes to `board`, and
/// returns once the server confirmed the subscription.
fn subscribed(addr: &str, cookie: &str, board: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    let handshake = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Cookie: {cookie}\r\n\r\n"
    );
    s.write_all(handshake.as_bytes()).unwrap();
    idle::read_until(&mut s, b"\"type\":\"welcome\"");
    let payload = format!(r#"{{"type":"subscribe","board":"{board}"}}"#);
    assert!(payload.len() < 126, "a one-byte length");
    // FIN + text; masked with a zero key (the payload goes as is).
    let mut frame = vec![0x81, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload.as_bytes());
    s.write_all(&frame).unwrap();
    idle::read_until(&mut s, b"\"type\":\"subscribed\"");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_subscribed_websocket_holds_little_memory() {
    let per_connection = idle::bytes_per_connection(subscribed).await;
    println!("heap bytes per idle subscribed WebSocket: {per_connection}");
    assert!(
        per_connection <= MAX_BYTES_PER_CONNECTION,
        "an idle subscribed WebSocket holds {per_connection} heap bytes (at most {MAX_BYTES_PER_CONNECTION})"
    );
}
