//! Opening WebSockets from a chosen loopback source address, and joining a
//! room on each server the bench drives: Corkboard (board subscribe), the Node
//! `ws` relay, the Socket.IO relay and Nchan (see bench/peers/README.md).
//!
//! One source address gives about 28,000 ephemeral ports, and closed
//! connections keep theirs in TIME_WAIT for a minute, so connections are spread
//! over 127.0.0.1, 127.0.0.2, … (`Sources`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{lookup_host, TcpSocket};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

/// A client WebSocket as every workload holds it.
pub type Ws = tokio_tungstenite::WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Which server a relay-style workload talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// Corkboard: subscribe to a board, relay with `signal` messages.
    Corkboard,
    /// bench/peers/ws-relay (Node `ws`).
    Ws,
    /// bench/peers/socketio-relay (Socket.IO over its WebSocket transport).
    Socketio,
    /// bench/peers/nchan (nginx with the Nchan module, a `nchan_pubsub websocket` location).
    Nchan,
}

impl Target {
    /// The name used in reports.
    pub fn label(self) -> &'static str {
        match self {
            Target::Corkboard => "corkboard",
            Target::Ws => "node-ws",
            Target::Socketio => "socket.io",
            Target::Nchan => "nchan",
        }
    }
}

/// Round-robin source addresses 127.0.0.1 ..= 127.0.0.N for outgoing connections.
#[derive(Clone, Copy, Debug)]
pub struct Sources(pub u8);

impl Sources {
    /// The source address of the `i`-th connection.
    pub fn addr(self, i: usize) -> IpAddr {
        let n = self.0.max(1) as usize;
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % n) as u8))
    }
}

/// The server a workload drives: where it is, which kind it is, the peers'
/// shared token, and how many loopback source addresses to connect from.
#[derive(clap::Args, Clone, Debug)]
pub struct ServerArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Which server: corkboard, or a peer relay from bench/peers.
    #[arg(long, value_enum, default_value = "corkboard")]
    pub target: Target,
    /// The peers' shared token (their BENCH_TOKEN).
    #[arg(long, default_value = "bench")]
    pub token: String,
    /// Source addresses to spread connections over: 127.0.0.1 ..= 127.0.0.N.
    #[arg(long, default_value_t = 8)]
    pub sources: u8,
}

impl ServerArgs {
    /// The source addresses to connect from.
    pub fn sources(&self) -> Sources {
        Sources(self.sources)
    }
}

/// Small client buffers: the bench holds tens of thousands of these.
pub fn ws_config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.read_buffer_size = 4096;
    c.write_buffer_size = 0;
    c
}

/// Opens a WebSocket to `url` (ws://host:port/path) from `source`, with extra headers.
pub async fn open(
    url: &str,
    headers: &[(&'static str, String)],
    source: Option<IpAddr>,
) -> Result<Ws> {
    let mut req = url.into_client_request()?;
    for (k, v) in headers {
        req.headers_mut().insert(*k, v.parse()?);
    }
    let host = req.uri().host().context("no host")?.to_owned();
    let port = req.uri().port_u16().unwrap_or(80);
    let dst: SocketAddr = lookup_host((host.as_str(), port))
        .await?
        .next()
        .context("no address")?;
    let sock = if dst.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(src) = source.filter(|_| dst.is_ipv4()) {
        sock.bind(SocketAddr::new(src, 0))?;
    }
    let tcp = sock.connect(dst).await.context("tcp connect")?;
    tcp.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        req,
        MaybeTlsStream::Plain(tcp),
        Some(ws_config()),
    )
    .await
    .context("websocket handshake")?;
    Ok(ws)
}

/// Where and as whom to join: the server's base URL (http://…), the credential
/// (Corkboard API token or the peers' shared token) and the room (board id).
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub target: Target,
    pub url: String,
    pub token: String,
    pub room: String,
}

/// What joining returned: Corkboard's `subscribed` reports how many events it replayed.
pub struct Joined {
    pub ws: Ws,
    pub replayed: u64,
}

/// Connects, authenticates and joins the endpoint's room (for Corkboard:
/// subscribes to the board, from `since` when given), waiting for the server's
/// confirmation. Replayed events before `subscribed` are counted.
pub async fn join(ep: &Endpoint, source: Option<IpAddr>, since: Option<u64>) -> Result<Joined> {
    let base = ep.url.replacen("http://", "ws://", 1);
    match ep.target {
        Target::Corkboard => {
            let headers = [
                ("authorization", format!("Bearer {}", ep.token)),
                ("sec-websocket-protocol", "corkboard.v1".to_owned()),
            ];
            let mut ws = open(&format!("{base}/ws"), &headers, source).await?;
            let mut sub = json!({"type": "subscribe", "board": ep.room});
            if let Some(s) = since {
                sub["since"] = json!(s);
            }
            ws.send(Message::Text(sub.to_string().into())).await?;
            loop {
                let v: Value = serde_json::from_str(&next_text(&mut ws).await?)?;
                match v["type"].as_str() {
                    Some("subscribed") => {
                        let replayed = v["replayed"].as_u64().unwrap_or(0);
                        return Ok(Joined { ws, replayed });
                    }
                    Some("error") => bail!("subscribe failed: {v}"),
                    _ => {}
                }
            }
        }
        Target::Ws => {
            let mut ws = open(&format!("{base}/?token={}", ep.token), &[], source).await?;
            ws.send(Message::Text(format!("join {}", ep.room).into()))
                .await?;
            let want = format!("joined {}", ep.room);
            while next_text(&mut ws).await? != want {}
            Ok(Joined { ws, replayed: 0 })
        }
        Target::Socketio => {
            let url = format!("{base}/socket.io/?EIO=4&transport=websocket");
            let mut ws = open(&url, &[], source).await?;
            // Engine.IO open packet: 0{"sid":…,"pingInterval":…}.
            let open_pkt = next_socketio(&mut ws).await?;
            if !open_pkt.starts_with('0') {
                bail!("socket.io: expected open, got {open_pkt}");
            }
            let connect = format!("40{}", json!({"token": ep.token}));
            ws.send(Message::Text(connect.into())).await?;
            let ack = next_socketio(&mut ws).await?;
            if !ack.starts_with("40") {
                bail!("socket.io connect refused: {ack}");
            }
            let join = format!("42{}", json!(["join", ep.room]));
            ws.send(Message::Text(join.into())).await?;
            let want = format!("42{}", json!(["joined", ep.room]));
            while next_socketio(&mut ws).await? != want {}
            Ok(Joined { ws, replayed: 0 })
        }
        // The upgrade is the join: the location's channel is the room, and a
        // wrong token is refused with 401 before it.
        Target::Nchan => {
            let url = format!("{base}/room/{}?token={}", ep.room, ep.token);
            let ws = open(&url, &[], source).await?;
            Ok(Joined { ws, replayed: 0 })
        }
    }
}

/// The next text frame.
pub async fn next_text(ws: &mut Ws) -> Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(c))) => bail!("closed: {c:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("read: {e}"),
            None => bail!("ended"),
        }
    }
}

/// The next Socket.IO packet that is not an Engine.IO ping (pings are answered).
async fn next_socketio(ws: &mut Ws) -> Result<String> {
    loop {
        let t = next_text(ws).await?;
        if t == "2" {
            ws.send(Message::Text("3".into())).await?;
            continue;
        }
        return Ok(t);
    }
}

/// One 64-byte application payload carrying its send time (µs since the
/// run's start) as `t=<µs>` and its sender as `s=<i>` (Nchan echoes a
/// payload to its sender too; the sender drops its own), framed as each
/// server expects a relayed message.
pub fn payload_frame(target: Target, room: &str, sent_us: u64, sender: usize) -> Message {
    let mut p = format!("t={sent_us};s={sender};");
    while p.len() < 64 {
        p.push('x');
    }
    let text = match target {
        Target::Corkboard => {
            json!({"type": "signal", "board": room, "name": "typing", "data": {"p": p}}).to_string()
        }
        Target::Ws | Target::Nchan => p,
        Target::Socketio => format!("42{}", json!(["msg", p])),
    };
    Message::Text(text.into())
}

/// The sender index `s=<i>` a payload carries.
pub fn sender_of(frame: &[u8]) -> Option<usize> {
    let i = memchr::memmem::find(frame, b";s=")?;
    let digits = &frame[i + 3..];
    let end = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// Whether a received frame is an Engine.IO ping the client must answer with "3".
pub fn is_engineio_ping(target: Target, frame: &str) -> bool {
    target == Target::Socketio && frame == "2"
}
