//! Real-time workloads: idle connections (server RSS per connection, workload
//! (b)) and fan-out of durable updates (WebSocket, SSE and gRPC `Subscribe`,
//! workload (e)).
//!
//! Latency is measured end to end inside this process: the writer embeds its
//! send time (µs since a shared start `Instant`) in the note text or signal
//! data, and each subscriber subtracts it from its receive time, so no clock
//! is shared with the server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use parking_lot_free::Hist;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, ServerArgs, Target, Ws};
use crate::grpc;
use crate::procstat;
use crate::pump::{self, Live};
use crate::relay::endpoint;
use crate::session::Session;

/// A mutex-wrapped histogram the per-task histograms are merged into at the end.
mod parking_lot_free {
    use hdrhistogram::Histogram;
    use std::sync::Mutex;

    pub struct Hist(pub Mutex<Histogram<u64>>);

    impl Hist {
        pub fn new() -> Self {
            Self(Mutex::new(
                Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
            ))
        }
    }
}

/// Which transport a workload uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    Ws,
    Sse,
    /// gRPC `Subscribe` streams, several per HTTP/2 connection.
    Grpc,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::Ws => "websocket",
            Transport::Sse => "sse",
            Transport::Grpc => "grpc",
        }
    }
}

/// Opens a WebSocket as the session's user.
pub async fn ws_connect(s: &Session) -> Result<Ws> {
    let url = format!("{}/ws", s.url.replacen("http://", "ws://", 1));
    let headers = [
        ("authorization", format!("Bearer {}", s.token)),
        ("sec-websocket-protocol", "corkboard.v1".to_owned()),
    ];
    conn::open(&url, &headers, None).await
}

/// Opens an SSE stream to the board and reads its first chunk.
pub async fn sse_subscribe(
    s: &Session,
    client: &reqwest::Client,
    board: &str,
) -> Result<reqwest::Response> {
    let mut r = client
        .get(format!("{}/api/boards/{board}/stream", s.url))
        .bearer_auth(&s.token)
        .send()
        .await?;
    if r.status().as_u16() != 200 {
        bail!("stream: {}", r.status());
    }
    r.chunk().await?;
    Ok(r)
}

/// Idle subscribed connections: server RSS per connection. `target` picks the
/// server (Corkboard over `transport`, or a peer relay over WebSocket);
/// WebSocket clients come from `sources` loopback addresses and each is held
/// by a pump task that answers pings, so the server keeps it.
#[derive(clap::Args)]
pub struct IdleArgs {
    /// The server under test and how to reach it.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Corkboard's transport (peers always use WebSocket).
    #[arg(long, value_enum, default_value = "ws")]
    pub transport: Transport,
    /// Connections to hold.
    #[arg(long, default_value_t = 1000)]
    pub connections: usize,
    /// Connections opened per second.
    #[arg(long, default_value_t = 2000)]
    pub rate: u64,
    /// Server PID, to read its RSS from /proc.
    #[arg(long)]
    pub server_pid: u32,
    /// gRPC: `Subscribe` streams per HTTP/2 connection (1 ..= 200, the
    /// server's concurrent-stream limit).
    #[arg(long, default_value_t = 100)]
    pub streams_per_connection: usize,
    /// Corkboard: distinct users the connections belong to, all members of the
    /// one board, in consecutive blocks (connection i is user i·users/connections):
    /// each new user's first connection is a presence join every subscriber
    /// hears, and each subscriber gets the members list so far.
    #[arg(long, default_value_t = 1)]
    pub users: usize,
}

/// What the idle workload holds per client.
enum Held {
    Ws(Ws),
    Sse(reqwest::Response),
    Grpc(tonic::Streaming<grpc::pb::BoardUpdate>),
}

/// Opens `connections` idle subscribed connections and reports server RSS per connection.
pub async fn idle(a: IdleArgs) -> Result<Value> {
    let (ep, session) = endpoint(a.server.target, &a.server.url, &a.server.token).await?;
    let users = a.users.clamp(1, a.connections.max(1));
    let mut tokens = vec![ep.token.clone()];
    let mut sessions = vec![session.clone()];
    if let (Some(owner), true) = (&session, users > 1) {
        let invite = owner.invite(&ep.room).await?;
        for _ in 1..users {
            let s = Session::new(&a.server.url).await?;
            s.accept(&invite).await?;
            tokens.push(s.token.clone());
            sessions.push(Some(s));
        }
    }
    // The baseline is taken after a first tenth of the connections (at most
    // 500) is open and the server has settled, so start-up and sign-up memory
    // (argon2 takes 19 MiB) that the allocator returns later does not count:
    // the figure is the marginal cost of one more connection.
    let warm = (a.connections / 10).clamp(1, 500);
    let mut rss0 = 0;
    let mut held0 = 0;
    let started = Instant::now();
    let (_stop_tx, stop_rx) = watch::channel(false);
    let live = Arc::new(Live::default());
    let mut held = 0usize;
    let mut sse_conns = Vec::new();
    let mut pumps = Vec::new();
    let mut readers = Vec::new();
    let interval = Duration::from_secs_f64(1.0 / a.rate.max(1) as f64);
    let corkboard = a.server.target == Target::Corkboard;
    let grpc_per_conn = a.streams_per_connection.clamp(1, grpc::SERVER_MAX_STREAMS);
    let chans = if corkboard && a.transport == Transport::Grpc {
        grpc::channels(
            std::slice::from_ref(&a.server.url),
            a.connections,
            grpc_per_conn,
            Some(a.server.sources()),
        )?
    } else {
        Vec::new()
    };
    let mut batch = tokio::task::JoinSet::new();
    for i in 0..a.connections {
        let user = i * tokens.len() / a.connections.max(1);
        let (mut ep, session) = (ep.clone(), sessions[user].clone());
        ep.token = tokens[user].clone();
        let src = a.server.sources().addr(i);
        let transport = if corkboard {
            a.transport
        } else {
            Transport::Ws
        };
        let ch = chans.get(i / grpc_per_conn).cloned();
        batch.spawn(async move {
            match (transport, session, ch) {
                (Transport::Sse, Some(s), _) => {
                    let c = reqwest::Client::builder()
                        .pool_max_idle_per_host(0)
                        .local_address(src)
                        .build()?;
                    sse_subscribe(&s, &c, &ep.room).await.map(Held::Sse)
                }
                (Transport::Grpc, _, Some(ch)) => grpc::subscribe_timed(ch, &ep.token, &ep.room)
                    .await
                    .map(Held::Grpc),
                _ => conn::join(&ep, Some(src), None)
                    .await
                    .map(|j| Held::Ws(j.ws)),
            }
        });
        if batch.len() >= 200 || i + 1 == a.connections || i + 1 == warm {
            while let Some(r) = batch.join_next().await {
                match r?? {
                    Held::Ws(ws) => {
                        let p = pump::run(
                            usize::MAX,
                            ws,
                            a.server.target,
                            started,
                            None,
                            stop_rx.clone(),
                            live.clone(),
                        );
                        pumps.push(tokio::spawn(p));
                    }
                    Held::Sse(r) => sse_conns.push(r),
                    Held::Grpc(mut stream) => {
                        // Reads what the server sends (presence) until the stream ends.
                        readers.push(tokio::spawn(async move {
                            while let Ok(Some(_)) = stream.message().await {}
                        }));
                    }
                }
                held += 1;
            }
            if i + 1 == warm {
                tokio::time::sleep(Duration::from_secs(1)).await;
                rss0 = procstat::stats(a.server_pid).context("server /proc")?.1;
                held0 = held;
            }
        }
        tokio::time::sleep(interval).await;
    }
    let connect_secs = started.elapsed().as_secs_f64() - 1.0; // less the baseline pause
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, rss1) = procstat::stats(a.server_pid).context("server /proc")?;
    let still_open = pumps.iter().filter(|p| !p.is_finished()).count()
        + readers.iter().filter(|r| !r.is_finished()).count()
        + sse_conns.len();
    let mut out = json!({
        "workload": "idle subscribed connections",
        "server": a.server.target.label(),
        "transport": if a.server.target == Target::Corkboard { a.transport.label() } else { "websocket" },
        "connections": held,
        "users": tokens.len(),
        // Achieved, not the `--rate` asked for: the client's connect path can be slower.
        "opened_per_sec": (held as f64 / connect_secs.max(0.001)).round(),
        "still_open": still_open,
        "connect_seconds": (connect_secs * 100.0).round() / 100.0,
        "server_rss_before_mib": rss0 as f64 / 1048576.0,
        "server_rss_after_mib": rss1 as f64 / 1048576.0,
        "baseline_connections": held0,
        "rss_per_connection_kib": ((rss1 as f64 - rss0 as f64) / 1024.0 / (held - held0).max(1) as f64 * 100.0).round() / 100.0,
    });
    if !chans.is_empty() {
        // For gRPC a "connection" above is one `Subscribe` stream.
        out["streams_per_connection"] = json!(grpc_per_conn);
        out["http2_connections"] = json!(chans.len());
    }
    Ok(out)
}

/// Extracts the number after `t=` in a frame (cheap; no JSON parse per delivery).
pub fn stamp(frame: &[u8]) -> Option<u64> {
    let i = memchr::memmem::find(frame, b"t=")?;
    let digits = &frame[i + 2..];
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// Fan-out: `subscribers` on one board, one writer updating a note at `rate`/s
/// over WebSocket RPC; latency from RPC sent to event received.
/// Where the fan-out's clients connect: in cluster mode the subscribers can
/// be spread over some nodes and the writer put on another.
pub struct Placement {
    /// Subscriber i connects to `subscribers[i % len]` (empty: the session's URL).
    pub subscribers: Vec<String>,
    /// The writer's node (None: the session's URL).
    pub writer: Option<String>,
    /// gRPC: `Subscribe` streams per HTTP/2 connection.
    pub streams_per_connection: usize,
}

pub async fn fanout(
    url: &str,
    transport: Transport,
    subscribers: usize,
    rate: u64,
    duration: u64,
    server_pid: Option<u32>,
    placement: Placement,
) -> Result<Value> {
    let s = Session::new(url).await?;
    let board = s.board().await?;
    let note = s.note(&board).await?;
    let sub_urls = if placement.subscribers.is_empty() {
        vec![s.url.clone()]
    } else {
        placement.subscribers.clone()
    };
    let writer_url = placement.writer.clone().unwrap_or_else(|| s.url.clone());
    let base = Instant::now();
    let hist = Arc::new(Hist::new());
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // gRPC streams that ended before the run did (they should not).
    let ended = Arc::new(AtomicU64::new(0));
    let per_conn = placement
        .streams_per_connection
        .clamp(1, grpc::SERVER_MAX_STREAMS);
    let chans = if transport == Transport::Grpc {
        grpc::channels(&sub_urls, subscribers, per_conn, None)?
    } else {
        Vec::new()
    };
    let mut tasks = Vec::new();
    for i in 0..subscribers {
        let (hist, delivered, stop) = (hist.clone(), delivered.clone(), stop.clone());
        let node = &sub_urls[i % sub_urls.len()];
        match transport {
            Transport::Grpc => {
                // Connection c goes to node c mod nodes (see grpc::channels).
                let ch = chans[i / per_conn].clone();
                let mut stream = grpc::subscribe_timed(ch, &s.token, &board).await?;
                let ended = ended.clone();
                tasks.push(tokio::spawn(async move {
                    let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let m = tokio::time::timeout(Duration::from_millis(500), stream.message())
                            .await;
                        let u = match m {
                            Err(_) => continue,
                            Ok(Ok(Some(u))) => u,
                            Ok(_) => {
                                ended.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                        };
                        if let Some(sent) = grpc::stamp(&u).filter(|t| *t > 0) {
                            let now = base.elapsed().as_micros() as u64;
                            if let Some(h) = local.as_mut() {
                                let _ = h.record(now.saturating_sub(sent).max(1));
                            }
                            n += 1;
                        }
                    }
                    delivered.fetch_add(n, Ordering::Relaxed);
                    if let (Some(h), Ok(mut g)) = (local, hist.0.lock()) {
                        let _ = g.add(h);
                    }
                }));
            }
            Transport::Ws => {
                let ep = conn::Endpoint {
                    target: Target::Corkboard,
                    url: node.clone(),
                    token: s.token.clone(),
                    room: board.clone(),
                };
                let mut ws = conn::join(&ep, None, None).await?.ws;
                tasks.push(tokio::spawn(async move {
                    // A histogram per subscriber, merged at the end: no shared lock
                    // on the hot path of the load generator.
                    let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let m = tokio::time::timeout(Duration::from_millis(500), ws.next()).await;
                        let Ok(Some(Ok(m))) = m else { continue };
                        if let Message::Text(t) = m {
                            if let Some(sent) = stamp(t.as_bytes()).filter(|t| *t > 0) {
                                let now = base.elapsed().as_micros() as u64;
                                if let Some(h) = local.as_mut() {
                                    let _ = h.record(now.saturating_sub(sent).max(1));
                                }
                                n += 1;
                            }
                        }
                    }
                    delivered.fetch_add(n, Ordering::Relaxed);
                    if let (Some(h), Ok(mut g)) = (local, hist.0.lock()) {
                        let _ = g.add(h);
                    }
                }));
            }
            Transport::Sse => {
                let c = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()?;
                let mut r = sse_subscribe(&s.at(node), &c, &board).await?;
                tasks.push(tokio::spawn(async move {
                    let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let m = tokio::time::timeout(Duration::from_millis(500), r.chunk()).await;
                        let Ok(Ok(Some(chunk))) = m else { continue };
                        let now = base.elapsed().as_micros() as u64;
                        // A chunk may hold several events.
                        for part in chunk
                            .split(|b| *b == b'\n')
                            .filter(|l| l.starts_with(b"data:"))
                        {
                            if let Some(sent) = stamp(part).filter(|t| *t > 0) {
                                if let Some(h) = local.as_mut() {
                                    let _ = h.record(now.saturating_sub(sent).max(1));
                                }
                                n += 1;
                            }
                        }
                    }
                    delivered.fetch_add(n, Ordering::Relaxed);
                    if let (Some(h), Ok(mut g)) = (local, hist.0.lock()) {
                        let _ = g.add(h);
                    }
                }));
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu0 = server_pid.and_then(procstat::stats);
    // The load generator's own CPU: near 100 % of its core, latency is its queueing too.
    let (own0, t0) = (procstat::stats(std::process::id()), Instant::now());
    let writer = ws_connect(&s.at(&writer_url)).await?;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    let end = Instant::now() + Duration::from_secs(duration);
    let mut sent = 0u64;
    let (mut wsink, mut wstream) = writer.split();
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = wstream.next().await {} });
    while Instant::now() < end {
        tick.tick().await;
        sent += 1;
        let t = base.elapsed().as_micros() as u64;
        let msg = json!({"type": "rpc", "id": sent, "method": "note.update",
            "params": {"board": board, "id": note, "text": format!("t={t}")}});
        wsink.send(Message::Text(msg.to_string().into())).await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu1 = server_pid.and_then(procstat::stats);
    let own1 = procstat::stats(std::process::id());
    let wall = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    drain.abort();
    drop(wsink);
    let h: Histogram<u64> = hist
        .0
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    let d = delivered.load(Ordering::Relaxed);
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let mut out = json!({
        "workload": "event fan-out (durable note.update over WebSocket RPC)",
        "transport": transport.label(),
        "subscribers": subscribers,
        "subscriber_nodes": sub_urls.len(),
        "cross_node": !sub_urls.contains(&writer_url),
        "updates_per_sec": rate,
        "updates_sent": sent,
        "deliveries": d,
        "expected_deliveries": sent * subscribers as u64,
        "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999), "max_ms": h.max() as f64 / 1000.0,
    });
    if transport == Transport::Grpc {
        out["streams_per_connection"] = json!(per_conn);
        out["http2_connections"] = json!(chans.len());
        out["streams_ended"] = json!(ended.load(Ordering::Relaxed));
    }
    if let (Some((l0, _)), Some((l1, _))) = (own0, own1) {
        out["loadgen_cpu_pct"] = json!(((l1 - l0) / wall * 100.0).round());
    }
    if let (Some((c0, _)), Some((c1, rss))) = (cpu0, cpu1) {
        out["server_cpu_pct"] = json!(((c1 - c0) / wall * 100.0).round());
        out["server_cpu_us_per_delivery"] =
            json!(((c1 - c0) * 1e6 / d.max(1) as f64 * 100.0).round() / 100.0);
        out["server_rss_mib"] = json!((rss as f64 / 1048576.0).round());
    }
    Ok(out)
}
