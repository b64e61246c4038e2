//! First checks of the WebSocket door over a real socket.

mod common;

use common::ws::{Closed, Ws};
use common::*;
use serde_json::json;

/// Welcome, subscribe with a snapshot, RPC create: the writer gets the result and the event.
#[tokio::test]
async fn subscribe_rpc_and_event() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    let mut ws = Ws::connect(&ann).await;
    assert_eq!(ws.protocol.as_deref(), Some("corkboard.v1"));
    assert_eq!(ws.welcome["user"]["username"], "ann");
    let msgs = ws.subscribe(&b, None).await;
    let sub = msgs.last().unwrap();
    assert_eq!(sub["seq"], 0);
    assert_eq!(sub["snapshot"]["board"]["title"], "Sprint");
    let members = ws.recv().await;
    assert_eq!(members["type"], "presence");
    assert_eq!(members["members"][0]["user"]["username"], "ann");
    let r = ws
        .rpc(
            "note.create",
            json!({"board": b, "x": 1, "y": 2, "text": "hi"}),
        )
        .await;
    assert_eq!(r["type"], "result", "{r}");
    assert_eq!(r["result"]["seq"], 1);
    let ev = ws.recv().await;
    assert_eq!(
        (ev["type"].as_str(), ev["kind"].as_str(), ev["seq"].as_u64()),
        (Some("event"), Some("note.created"), Some(1))
    );
    ws.send(json!({"type": "nope"})).await;
    assert_eq!(ws.recv().await["error"]["code"], "unknown_type");
    ws.send_raw(tokio_tungstenite::tungstenite::Message::Binary(
        vec![1, 2, 3].into(),
    ))
    .await;
    assert_eq!(ws.closed().await, Closed::Code(1003));
    s.stop().await;
}
