//! A WebSocket over HTTP/2 (RFC 8441): an extended `CONNECT` with
//! `:protocol websocket` on a stream of a plain-text HTTP/2 connection
//! (prior knowledge), answered 200, then WebSocket frames as the stream's
//! data. The server's handshake (ws/handshake.rs) serves both this and
//! HTTP/1.1's `Upgrade`.

mod common;

use bytes::Bytes;
use common::TestServer;
use std::time::Duration;

/// Reads the stream's data until `needle` has been seen; panics after 10 s.
async fn read_until(rx: &mut h2::RecvStream, needle: &str) {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = rx.data().await {
            let chunk = chunk.expect("stream data");
            let _ = rx.flow_control().release_capacity(chunk.len());
            seen.extend_from_slice(&chunk);
            if seen.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        found,
        Ok(true),
        "wanted {needle} in {:?}",
        String::from_utf8_lossy(&seen)
    );
}

/// Opens an HTTP/2 connection (prior knowledge) to `server` and sends an
/// extended `CONNECT` for `/ws` as `ann` with `:protocol` set to `protocol`.
async fn connect(
    server: &TestServer,
    ann: &common::Client,
    protocol: &'static str,
) -> (axum::http::Response<h2::RecvStream>, h2::SendStream<Bytes>) {
    let addr = server.base.trim_start_matches("http://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(conn);
    let mut client = client.ready().await.unwrap();
    let req = axum::http::Request::builder()
        .method("CONNECT")
        .uri(format!("http://{addr}/ws"))
        .header("sec-websocket-version", "13")
        .header("sec-websocket-protocol", "corkboard.v1")
        .header("cookie", common::ws::cookie(ann))
        .extension(h2::ext::Protocol::from_static(protocol))
        .body(())
        .unwrap();
    let (response, tx) = client.send_request(req, false).expect("CONNECT sent");
    (response.await.expect("a response"), tx)
}

#[tokio::test]
async fn a_websocket_over_http2_extended_connect_subscribes_and_gets_events() {
    let server = TestServer::start().await;
    let ann = server.user("ann").await;
    let board = ann.board("h2").await;
    let (response, mut tx) = connect(&server, &ann, "websocket").await;
    assert_eq!(response.status(), 200, "RFC 8441 answers 200, not 101");
    assert_eq!(response.headers()["sec-websocket-protocol"], "corkboard.v1");
    let mut rx = response.into_body();
    read_until(&mut rx, r#""type":"welcome""#).await;
    // A masked text frame (zero key: the payload goes as is).
    let payload = format!(r#"{{"type":"subscribe","board":"{board}"}}"#);
    let mut frame = vec![0x81, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload.as_bytes());
    tx.send_data(Bytes::from(frame), false).unwrap();
    read_until(&mut rx, r#""type":"subscribed""#).await;
    // An event made over REST reaches this HTTP/2 stream.
    let r = ann
        .post(
            &format!("/api/boards/{board}/notes"),
            serde_json::json!({"text": "over h2", "x": 1, "y": 2}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    read_until(&mut rx, "over h2").await;
}

#[tokio::test]
async fn an_http2_connect_without_the_websocket_protocol_is_a_400() {
    let server = TestServer::start().await;
    let ann = server.user("ann").await;
    let (response, _tx) = connect(&server, &ann, "not-websocket").await;
    assert_eq!(response.status(), 400);
}
