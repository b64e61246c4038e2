//! Real-time workloads: idle connections (server RSS per connection),
//! event fan-out latency (WebSocket and SSE), and signal throughput.
//!
//! Latency is measured end to end inside this process: the writer embeds its
//! send time (ns since a shared start `Instant`) in the note text or signal
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
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::procstat;
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
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::Ws => "websocket",
            Transport::Sse => "sse",
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.read_buffer_size = 4096;
    c.write_buffer_size = 0;
    c
}

/// Opens a WebSocket as the session's user.
pub async fn ws_connect(s: &Session) -> Result<Ws> {
    let url = format!("{}/ws", s.url.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request()?;
    req.headers_mut()
        .insert("authorization", format!("Bearer {}", s.token).parse()?);
    req.headers_mut()
        .insert("sec-websocket-protocol", "corkboard.v1".parse()?);
    let (ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(ws_config()), false)
        .await
        .context("websocket connect")?;
    Ok(ws)
}

async fn ws_next_json(ws: &mut Ws) -> Result<Value> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str())?),
            Some(Ok(Message::Close(c))) => bail!("closed: {c:?}"),
            Some(Ok(_)) => continue,
            Some(Err(e)) => bail!("read: {e}"),
            None => bail!("ended"),
        }
    }
}

/// Connects and subscribes (waits for `subscribed`).
pub async fn ws_subscribe(s: &Session, board: &str) -> Result<Ws> {
    let mut ws = ws_connect(s).await?;
    ws.send(Message::Text(
        json!({"type": "subscribe", "board": board})
            .to_string()
            .into(),
    ))
    .await?;
    loop {
        let v = ws_next_json(&mut ws).await?;
        match v["type"].as_str() {
            Some("subscribed") => return Ok(ws),
            Some("error") => bail!("subscribe failed: {v}"),
            _ => {}
        }
    }
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

/// Idle subscribed connections: server RSS per connection.
pub async fn idle(
    url: &str,
    transport: Transport,
    conns: usize,
    server_pid: u32,
    rate: u64,
) -> Result<Value> {
    let s = Session::new(url).await?;
    let board = s.board().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, rss0) = procstat::stats(server_pid).context("server /proc")?;
    let started = Instant::now();
    let mut ws_conns = Vec::new();
    let mut sse_conns = Vec::new();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut batch = tokio::task::JoinSet::new();
    for i in 0..conns {
        let s = s.clone();
        let board = board.clone();
        batch.spawn(async move {
            match transport {
                Transport::Ws => ws_subscribe(&s, &board).await.map(|w| (Some(w), None)),
                Transport::Sse => {
                    let c = reqwest::Client::builder()
                        .pool_max_idle_per_host(0)
                        .build()?;
                    sse_subscribe(&s, &c, &board).await.map(|r| (None, Some(r)))
                }
            }
        });
        if batch.len() >= 200 || i + 1 == conns {
            while let Some(r) = batch.join_next().await {
                let (w, sse) = r??;
                ws_conns.extend(w);
                sse_conns.extend(sse);
            }
        }
        tokio::time::sleep(interval).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, rss1) = procstat::stats(server_pid).context("server /proc")?;
    let held = ws_conns.len() + sse_conns.len();
    Ok(json!({
        "workload": "idle subscribed connections",
        "transport": transport.label(),
        "connections": held,
        "connect_seconds": (connect_secs * 100.0).round() / 100.0,
        "server_rss_before_mib": rss0 as f64 / 1048576.0,
        "server_rss_after_mib": rss1 as f64 / 1048576.0,
        "rss_per_connection_kib": ((rss1 as f64 - rss0 as f64) / 1024.0 / held.max(1) as f64 * 100.0).round() / 100.0,
    }))
}

/// Extracts the number after `t=` in a frame (cheap; no JSON parse per delivery).
fn stamp(frame: &[u8]) -> Option<u64> {
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
pub async fn fanout(
    url: &str,
    transport: Transport,
    subscribers: usize,
    rate: u64,
    duration: u64,
    server_pid: Option<u32>,
) -> Result<Value> {
    let s = Session::new(url).await?;
    let board = s.board().await?;
    let note = s.note(&board).await?;
    let base = Instant::now();
    let hist = Arc::new(Hist::new());
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..subscribers {
        let (hist, delivered, stop) = (hist.clone(), delivered.clone(), stop.clone());
        match transport {
            Transport::Ws => {
                let mut ws = ws_subscribe(&s, &board).await?;
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
                let mut r = sse_subscribe(&s, &c, &board).await?;
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
    let writer = ws_connect(&s).await?;
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
        "updates_per_sec": rate,
        "updates_sent": sent,
        "deliveries": d,
        "expected_deliveries": sent * subscribers as u64,
        "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999), "max_ms": h.max() as f64 / 1000.0,
    });
    if let (Some((c0, _)), Some((c1, rss))) = (cpu0, cpu1) {
        out["server_cpu_us_per_delivery"] =
            json!(((c1 - c0) * 1e6 / d.max(1) as f64 * 100.0).round() / 100.0);
        out["server_rss_mib"] = json!((rss as f64 / 1048576.0).round());
    }
    Ok(out)
}

/// Signals: `subscribers` on one board, `senders` of them sending 64-byte
/// `typing` signals at `rate` signals/s in total; latency sent → received.
pub async fn signals(
    url: &str,
    subscribers: usize,
    senders: usize,
    rate: u64,
    duration: u64,
    server_pid: Option<u32>,
) -> Result<Value> {
    let s = Session::new(url).await?;
    let board = s.board().await?;
    let base = Instant::now();
    let hist = Arc::new(Hist::new());
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    let mut sender_sinks = Vec::new();
    for i in 0..subscribers {
        let ws = ws_subscribe(&s, &board).await?;
        let (sink, mut stream) = ws.split();
        if i < senders {
            sender_sinks.push(sink);
        } else {
            drop(sink);
        }
        let (hist, delivered, stop) = (hist.clone(), delivered.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).ok();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let m = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
                let Ok(Some(Ok(Message::Text(t)))) = m else {
                    continue;
                };
                if let Some(sent) = stamp(t.as_bytes()) {
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
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu0 = server_pid.and_then(procstat::stats);
    let per_sender = (rate as f64 / senders.max(1) as f64).max(0.1);
    let end = Instant::now() + Duration::from_secs(duration);
    let sent_total = Arc::new(AtomicU64::new(0));
    let mut sender_tasks = Vec::new();
    for mut sink in sender_sinks {
        let board = board.clone();
        let sent_total = sent_total.clone();
        sender_tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_sender));
            while Instant::now() < end {
                tick.tick().await;
                let t = base.elapsed().as_micros() as u64;
                // ~64 bytes of data.
                let data =
                    json!({"note": "n-0123456789", "t": format!("t={t}"), "pad": "xxxxxxxxxx"});
                let msg = json!({"type": "signal", "board": board, "name": "typing", "data": data});
                if sink
                    .send(Message::Text(msg.to_string().into()))
                    .await
                    .is_err()
                {
                    return;
                }
                sent_total.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in sender_tasks {
        let _ = t.await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu1 = server_pid.and_then(procstat::stats);
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        let _ = r.await;
    }
    let h = hist
        .0
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    let d = delivered.load(Ordering::Relaxed);
    let sent = sent_total.load(Ordering::Relaxed);
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let mut out = json!({
        "workload": "signal fan-out (typing, 64-byte data)",
        "transport": "websocket",
        "subscribers": subscribers,
        "senders": senders,
        "offered_signals_per_sec": rate,
        "offered_deliveries_per_sec": rate * (subscribers as u64 - 1),
        "signals_sent": sent,
        "deliveries": d,
        "deliveries_per_sec": (d as f64 / duration as f64).round(),
        "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999),
    });
    if let (Some((c0, _)), Some((c1, _))) = (cpu0, cpu1) {
        out["server_cpu_us_per_delivery"] =
            json!(((c1 - c0) * 1e6 / d.max(1) as f64 * 100.0).round() / 100.0);
    }
    Ok(out)
}
