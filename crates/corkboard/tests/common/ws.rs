//! A WebSocket test client (tokio-tungstenite) speaking Corkboard's protocol.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::{
    frame::coding::CloseCode, CloseFrame, WebSocketConfig,
};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Auth, Client};

type Stream = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// One WebSocket connection.
pub struct Ws {
    pub inner: Stream,
    /// The `welcome` message.
    pub welcome: Value,
    /// The subprotocol the server selected, if any.
    pub protocol: Option<String>,
    next_id: u64,
    /// Messages read while waiting for something else (e.g. an RPC result), in order.
    pub pending: std::collections::VecDeque<Value>,
}

/// How a connection ended.
#[derive(Debug, PartialEq)]
pub enum Closed {
    /// A close frame with this code.
    Code(u16),
    /// The TCP connection ended without a close frame.
    Eof,
}

/// Builds the upgrade request for `client` (cookie or bearer), with extra headers.
pub fn request(
    client: &Client,
    path: &str,
    headers: &[(&str, &str)],
) -> tungstenite::handshake::client::Request {
    let url = format!("{}{}", client.base.replacen("http://", "ws://", 1), path);
    let mut req = url.into_client_request().expect("request");
    let h = req.headers_mut();
    match &client.auth {
        Auth::None => {}
        Auth::Cookie(c) => {
            h.insert("cookie", format!("corkboard_session={c}").parse().unwrap());
        }
        Auth::Bearer(t) => {
            h.insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
    }
    for (k, v) in headers {
        h.insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    req
}

/// Tries to connect; on an HTTP refusal returns its status and body.
pub async fn try_connect(client: &Client, headers: &[(&str, &str)]) -> Result<Ws, (u16, String)> {
    let mut cfg = WebSocketConfig::default();
    cfg.read_buffer_size = 4096;
    cfg.max_message_size = Some(64 << 20);
    cfg.max_frame_size = Some(64 << 20);
    match tokio_tungstenite::connect_async_with_config(
        request(client, "/ws", headers),
        Some(cfg),
        false,
    )
    .await
    {
        Ok((inner, resp)) => {
            let protocol = resp
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut ws = Ws {
                inner,
                welcome: Value::Null,
                protocol,
                next_id: 1,
                pending: Default::default(),
            };
            ws.welcome = ws.recv().await;
            assert_eq!(ws.welcome["type"], "welcome", "{}", ws.welcome);
            Ok(ws)
        }
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((status, body))
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

impl Ws {
    /// Connects as `client`, offering the `corkboard.v1` subprotocol.
    pub async fn connect(client: &Client) -> Ws {
        try_connect(client, &[("sec-websocket-protocol", "corkboard.v1")])
            .await
            .expect("websocket upgrade")
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, v: Value) {
        self.inner
            .send(Message::Text(v.to_string().into()))
            .await
            .expect("send");
    }

    /// Sends a raw message.
    pub async fn send_raw(&mut self, m: Message) {
        let _ = self.inner.send(m).await;
    }

    /// The next JSON message (5 s timeout; Pings are answered and skipped).
    pub async fn recv(&mut self) -> Value {
        self.recv_within(Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("no message within 5 s"))
    }

    /// The next JSON message within `d`, or None.
    pub async fn recv_within(&mut self, d: Duration) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        self.recv_raw_within(d).await
    }

    async fn recv_raw_within(&mut self, d: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + d;
        loop {
            let m = tokio::time::timeout_at(deadline, self.inner.next())
                .await
                .ok()??;
            match m {
                Ok(Message::Text(t)) => {
                    return Some(serde_json::from_str(t.as_str()).expect("json"))
                }
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Close(c)) => panic!("closed: {c:?}"),
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => panic!("read error: {e}"),
            }
        }
    }

    /// Messages until one satisfies `pred` (returned last).
    pub async fn recv_until(&mut self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let v = self.recv().await;
            let done = pred(&v);
            out.push(v);
            if done {
                return out;
            }
        }
    }

    /// Reads until the server closes; returns the close code (10 s timeout).
    pub async fn closed(&mut self) -> Closed {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await {
                Err(_) => panic!("not closed within 10 s"),
                Ok(None) => return Closed::Eof,
                Ok(Some(Ok(Message::Close(Some(CloseFrame { code, .. }))))) => {
                    return Closed::Code(u16::from(code))
                }
                Ok(Some(Ok(Message::Close(None)))) => return Closed::Code(1005),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) => return Closed::Eof,
            }
        }
    }

    /// Subscribes and returns every message up to and including `subscribed`.
    pub async fn subscribe(&mut self, board: &str, since: Option<u64>) -> Vec<Value> {
        let mut msg = json!({"type": "subscribe", "board": board});
        if let Some(s) = since {
            msg["since"] = json!(s);
        }
        self.send(msg).await;
        self.recv_until(|v| v["type"] == "subscribed" || v["type"] == "error")
            .await
    }

    /// Sends an RPC and waits for its result or error. Other messages read
    /// meanwhile stay queued for `recv`, in order.
    pub async fn rpc(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"type": "rpc", "id": id, "method": method, "params": params}))
            .await;
        if let Some(pos) = self
            .pending
            .iter()
            .position(|v| (v["type"] == "result" || v["type"] == "error") && v["id"] == json!(id))
        {
            return self.pending.remove(pos).unwrap();
        }
        loop {
            let v = self
                .recv_raw_within(Duration::from_secs(5))
                .await
                .expect("rpc answer within 5 s");
            if (v["type"] == "result" || v["type"] == "error") && v["id"] == json!(id) {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// Closes politely.
    pub async fn close(mut self) {
        let _ = self
            .inner
            .close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }))
            .await;
    }
}
