//! Slow and silent clients are cut off (slowloris): a connection that sends
//! nothing, a request head trickled byte by byte, a body that stalls. The
//! streams stay open as designed.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.first_request_timeout_ms = 400;
        c.header_read_timeout_ms = 400;
        c.body_timeout_ms = 400;
    })
    .await
}

fn addr(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes; returns what it sent and when it closed.
async fn read_to_close(mut c: TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let r = tokio::time::timeout(within, c.read_to_end(&mut out)).await;
    assert!(r.is_ok(), "the server did not close within {within:?}");
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_silent_connection_is_closed() {
    let s = server().await;
    let c = TcpStream::connect(addr(&s)).await.unwrap();
    let (_, took) = read_to_close(c, Duration::from_secs(5)).await;
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

#[tokio::test]
async fn a_trickled_request_head_is_cut_off() {
    let s = server().await;
    let mut c = TcpStream::connect(addr(&s)).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = async {
        for _ in 0..100 {
            if c.write_all(b"X").await.is_err() {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        c
    };
    let c = tokio::time::timeout(Duration::from_secs(4), trickle)
        .await
        .expect("the server stopped taking the trickled head");
    drop(c);
}

#[tokio::test]
async fn a_stalled_body_is_answered_and_closed() {
    let s = server().await;
    let mut c = TcpStream::connect(addr(&s)).await.unwrap();
    c.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let (resp, _) = read_to_close(c, Duration::from_secs(5)).await;
    // The contract's codes are a closed list: a body that stops arriving is
    // a `bad_request` saying so, and the connection closes.
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("bad_request"), "{resp}");
}

#[tokio::test]
async fn streams_outlive_the_timeouts() {
    let s = server().await;
    let ann = s.user("ann").await;
    let b = ann.board("b").await;
    let mut stream = common::sse::open(&ann, &format!("/api/boards/{b}/stream"), &[]).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    ann.note(&b, serde_json::json!({"x": 1, "y": 1})).await;
    loop {
        let block = tokio::time::timeout(Duration::from_secs(5), stream.next_block())
            .await
            .expect("the SSE stream is still open after 3× the timeouts");
        if block.kind() == "note.created" {
            break;
        }
    }
}

/// `--max-connections`: past the cap a new connection is closed at once
/// (no request is served on it), and a closed one frees its slot.
#[tokio::test]
async fn connections_past_the_cap_are_closed_at_once() {
    let s = TestServer::start_with(|c| c.max_connections = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr(&s)).await.unwrap());
    }
    // Give the server time to accept the three (slots are taken on accept).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(addr(&s)).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    let (got, took) = read_to_close(extra, Duration::from_secs(2)).await;
    assert!(got.is_empty(), "nothing served past the cap: {got:?}");
    assert!(took < Duration::from_secs(1), "closed at once: {took:?}");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ok = TcpStream::connect(addr(&s)).await.unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let (got, _) = read_to_close(ok, Duration::from_secs(2)).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}
