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
    /// The reason of the server's close frame, once one was read.
    pub close_reason: Option<String>,
}

/// What the next read produced (see [`Ws::next_within`]).
#[derive(Debug, PartialEq)]
pub enum Next {
    /// A JSON text message.
    Msg(Value),
    /// The connection ended.
    Closed(Closed),
    /// Nothing within the time given.
    Timeout,
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
            h.insert(
                "cookie",
                super::cookie_header(&client.base, c).parse().unwrap(),
            );
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

/// The `Cookie` header value that `client`'s upgrade request carries, for
/// tests that speak the handshake themselves.
pub fn cookie(client: &Client) -> String {
    let req = request(client, "/ws", &[]);
    let cookie = req.headers().get("cookie").expect("a session cookie");
    cookie.to_str().expect("an ASCII cookie").to_owned()
}

/// Tries to connect; on an HTTP refusal returns its status and body.
pub async fn try_connect(client: &Client, headers: &[(&str, &str)]) -> Result<Ws, (u16, String)> {
    match connect_or_io_error(client, headers).await {
        Ok(r) => r,
        Err(e) => panic!("connect failed: {e}"),
    }
}

/// Connects with the `corkboard.v1` subprotocol; a network failure (a node
/// that is down, a proxy that cut the upgrade) is an `Err` instead of a panic.
pub async fn connect_or_io_error(
    client: &Client,
    headers: &[(&str, &str)],
) -> Result<Result<Ws, (u16, String)>, String> {
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
                close_reason: None,
            };
            // A server killed right after the upgrade resets the connection:
            // that is an I/O error for the caller to retry, not a panic.
            match ws.next_within(Duration::from_secs(5)).await {
                Next::Msg(w) if w["type"] == "welcome" => ws.welcome = w,
                Next::Msg(other) => return Err(format!("no welcome: {other}")),
                Next::Closed(c) => return Err(format!("no welcome: closed ({c:?})")),
                Next::Timeout => return Err("no welcome: timeout".into()),
            }
            Ok(Ok(ws))
        }
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Ok(Err((status, body)))
        }
        Err(e) => Err(e.to_string()),
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
                Ok(Some(Ok(Message::Close(Some(CloseFrame { code, reason }))))) => {
                    self.close_reason = Some(reason.as_str().to_owned());
                    return Closed::Code(u16::from(code));
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

    /// Connects as `client` with these extra headers (no subprotocol unless given).
    pub async fn connect_with(client: &Client, headers: &[(&str, &str)]) -> Ws {
        try_connect(client, headers)
            .await
            .expect("websocket upgrade")
    }

    /// The next message (queued ones first), or how the connection ended, or
    /// `Timeout` after `d`. Never panics on a close; Pings are answered and skipped.
    pub async fn next_within(&mut self, d: Duration) -> Next {
        if let Some(v) = self.pending.pop_front() {
            return Next::Msg(v);
        }
        let deadline = tokio::time::Instant::now() + d;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await {
                Err(_) => return Next::Timeout,
                Ok(None) | Ok(Some(Err(_))) => return Next::Closed(Closed::Eof),
                Ok(Some(Ok(Message::Text(t)))) => {
                    return Next::Msg(serde_json::from_str(t.as_str()).expect("json"))
                }
                Ok(Some(Ok(Message::Close(Some(CloseFrame { code, reason }))))) => {
                    self.close_reason = Some(reason.as_str().to_owned());
                    return Next::Closed(Closed::Code(u16::from(code)));
                }
                Ok(Some(Ok(Message::Close(None)))) => return Next::Closed(Closed::Code(1005)),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                Ok(Some(Ok(other))) => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Every message until the connection ends, and how it ended (panics after `d`).
    pub async fn until_closed(&mut self, d: Duration) -> (Vec<Value>, Closed) {
        let deadline = tokio::time::Instant::now() + d;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Next::Msg(v) => out.push(v),
                Next::Closed(c) => return (out, c),
                Next::Timeout => panic!("not closed within {d:?}; got {} messages", out.len()),
            }
        }
    }

    /// Sends `{"type":"ping","t":…}` with a fresh token and returns every message
    /// that arrived before its `pong` (a barrier: whatever the server queued for
    /// this connection before reading the ping comes first).
    pub async fn sync(&mut self) -> Vec<Value> {
        let t = format!("sync-{}", self.next_id);
        self.next_id += 1;
        self.send(json!({"type": "ping", "t": t})).await;
        let mut out = self
            .recv_until(|v| v["type"] == "pong" && v["t"] == json!(t))
            .await;
        out.pop();
        out
    }

    /// Sends an RPC without waiting; returns its id.
    pub async fn send_rpc(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"type": "rpc", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// Drops the connection without a close frame (the TCP stream just ends).
    pub fn kill(self) {
        drop(self);
    }

    /// Without reading through the WebSocket (so no Pong is ever sent), peeks
    /// at the socket until a close frame from the server is there; returns its
    /// code, or None if none arrived within `d`.
    pub async fn peek_close_without_reading(&self, d: Duration) -> Option<u16> {
        let MaybeTlsStream::Plain(tcp) = self.inner.get_ref() else {
            panic!("plain TCP expected");
        };
        let deadline = tokio::time::Instant::now() + d;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            let n = match tokio::time::timeout(left, tcp.peek(&mut buf)).await {
                Err(_) => return None,
                Ok(Err(_)) => return None,
                Ok(Ok(n)) => n,
            };
            if let Some(code) = find_close(&buf[..n]) {
                return Some(code);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
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

/// Scans unmasked server frames for a close frame; returns its code.
fn find_close(mut b: &[u8]) -> Option<u16> {
    while b.len() >= 2 {
        let opcode = b[0] & 0x0f;
        let (len, head) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().ok()?) as usize, 10),
            126 | 127 => return None,
            l => (l as usize, 2),
        };
        if opcode == 8 {
            return (len >= 2 && b.len() >= head + 2)
                .then(|| u16::from_be_bytes([b[head], b[head + 1]]))
                .or(Some(1005));
        }
        b = b.get(head + len..)?;
    }
    None
}

/// A board as a client sees it: built from a snapshot (or empty at seq 0),
/// then moved forward one event at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardState {
    pub title: String,
    pub notes: std::collections::BTreeMap<String, Value>,
    pub seq: u64,
}

impl BoardState {
    /// An empty board at seq 0.
    pub fn empty(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            notes: Default::default(),
            seq: 0,
        }
    }

    /// From `board` and `notes` JSON at `seq` (a REST snapshot or a `subscribed.snapshot`).
    pub fn from_parts(board: &Value, notes: &Value, seq: u64) -> Self {
        let notes = notes
            .as_array()
            .expect("notes array")
            .iter()
            .map(|n| (n["id"].as_str().expect("note id").to_owned(), n.clone()))
            .collect();
        Self {
            title: board["title"].as_str().expect("title").to_owned(),
            notes,
            seq,
        }
    }

    /// From `GET /api/boards/{b}`'s body.
    pub fn from_rest(body: &Value) -> Self {
        Self::from_parts(
            &body["board"],
            &body["notes"],
            body["seq"].as_u64().expect("seq"),
        )
    }

    /// Applies the next event (its seq must be `self.seq + 1`).
    pub fn apply(&mut self, ev: &Value) {
        let seq = ev["seq"].as_u64().expect("event seq");
        assert_eq!(seq, self.seq + 1, "events must come in seq order: {ev}");
        self.seq = seq;
        match ev["kind"].as_str().expect("kind") {
            "note.created" => {
                let id = ev["note"]["id"].as_str().expect("id").to_owned();
                assert!(
                    self.notes.insert(id, ev["note"].clone()).is_none(),
                    "created twice: {ev}"
                );
            }
            "note.updated" => {
                let id = ev["id"].as_str().expect("id");
                let note = self
                    .notes
                    .get_mut(id)
                    .unwrap_or_else(|| panic!("update of an unknown note: {ev}"));
                for (k, v) in ev["delta"].as_object().expect("delta") {
                    note[k.as_str()] = v.clone();
                }
                note["version"] = ev["version"].clone();
                note["updated_at"] = ev["at"].clone();
            }
            "note.deleted" => {
                let id = ev["id"].as_str().expect("id");
                assert!(
                    self.notes.remove(id).is_some(),
                    "delete of an unknown note: {ev}"
                );
            }
            "board.updated" => self.title = ev["title"].as_str().expect("title").to_owned(),
            _ => {}
        }
    }
}
