//! What the idle-memory tests share (tests/ws_idle_memory.rs,
//! tests/sse_idle_memory.rs): blocking clients that allocate nothing per
//! connection, and the heap bytes each held connection adds on the server,
//! read from the counting allocator (support/counting.rs).

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

/// Reads from `s` until `needle` has been seen; panics after 10 s.
pub fn read_until(s: &mut TcpStream, needle: &[u8]) {
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

/// Starts a server with one user and one board, opens 50 connections with
/// `open(addr, cookie, board)` (the first ones grow shared tables once), then
/// 400 more, and returns the heap bytes each of the 400 added once all have
/// settled into their idle wait.
pub async fn bytes_per_connection(open: fn(&str, &str, &str) -> TcpStream) -> isize {
    let server =
        crate::common::TestServer::start_with(|c| c.max_connections_per_user = 10_000).await;
    let ann = server.user("ann").await;
    let board = ann.board("idle").await;
    let cookie = crate::common::ws::cookie(&ann);
    let addr = server.base.trim_start_matches("http://").to_owned();
    let (warm, measured) = (50, 400);
    let (held, per_connection) = tokio::task::spawn_blocking(move || {
        let mut held = Vec::with_capacity(warm + measured);
        for _ in 0..warm {
            held.push(open(&addr, &cookie, &board));
        }
        std::thread::sleep(Duration::from_millis(300));
        let before = crate::counting::live();
        for _ in 0..measured {
            held.push(open(&addr, &cookie, &board));
        }
        std::thread::sleep(Duration::from_millis(500));
        let after = crate::counting::live();
        (held, (after - before) / measured as isize)
    })
    .await
    .expect("the clients' thread");
    drop(held);
    per_connection
}
