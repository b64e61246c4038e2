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

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::TestServer;

#[path = "support/counting.rs"]
mod counting;

#[global_allocator]
static ALLOCATOR: counting::Counting = counting::Counting;

/// Most heap bytes one idle subscribed connection may hold on the server.
const MAX_BYTES_PER_CONNECTION: isize = 3_600;

/// Reads from `s` until `needle` has been seen; panics after 10 s.
fn read_until(s: &mut TcpStream, needle: &[u8]) {
    let mut seen = [0u8; 8192];
    let mut len = 0;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    loop {
        let n = s
            .read(&mut seen[len..])
            .expect("server answers within 10 s");
        assert!(n > 0, "server closed the connection");
        len += n;
        if seen[..len].windows(needle.len()).any(|w| w == needle) {
            return;
        }
        if len == seen.len() {
            // Keep the tail, in case the needle straddles the boundary.
            seen.copy_within(len - needle.len().., 0);
            len = needle.len();
        }
    }
}

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
    read_until(&mut s, b"\"type\":\"welcome\"");
    let payload = format!(r#"{{"type":"subscribe","board":"{board}"}}"#);
    assert!(payload.len() < 126, "a one-byte length");
    // FIN + text; masked with a zero key (the payload goes as is).
    let mut frame = vec![0x81, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload.as_bytes());
    s.write_all(&frame).unwrap();
    read_until(&mut s, b"\"type\":\"subscribed\"");
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_subscribed_websocket_holds_little_memory() {
    let server = TestServer::start_with(|c| c.max_connections_per_user = 10_000).await;
    let ann = server.user("ann").await;
    let board = ann.board("idle").await;
    let cookie = common::ws::cookie(&ann);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let (warm, measured) = (50, 400);
    let held = tokio::task::spawn_blocking(move || {
        let mut held = Vec::with_capacity(warm + measured);
        // Warm up: the first connections grow shared tables once.
        for _ in 0..warm {
            held.push(subscribed(&addr, &cookie, &board));
        }
        std::thread::sleep(Duration::from_millis(300));
        let before = counting::live();
        for _ in 0..measured {
            held.push(subscribed(&addr, &cookie, &board));
        }
        // Let every connection's task settle into its idle wait.
        std::thread::sleep(Duration::from_millis(500));
        let after = counting::live();
        (held, (after - before) / measured as isize)
    })
    .await
    .unwrap();
    let (conns, per_connection) = held;
    println!("heap bytes per idle subscribed WebSocket: {per_connection}");
    assert!(
        per_connection <= MAX_BYTES_PER_CONNECTION,
        "an idle subscribed WebSocket holds {per_connection} heap bytes (at most {MAX_BYTES_PER_CONNECTION})"
    );
    drop(conns);
}
