//! Workload (a), relay fan-out: `subscribers` connections join one room
//! (Corkboard: subscribe to one board), the first `senders` of them send
//! 64-byte payloads at `rate` per second in total, and every other member
//! receives each one. The same workload runs against Corkboard's `signal`
//! messages and against the peer relays, so the figures compare directly.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::conn::{self, Endpoint, ServerArgs, Target};
use crate::procstat;
use crate::pump::{self, Live};
use crate::session::Session;

/// The sizes and rates of one relay run.
#[derive(clap::Args)]
pub struct RelayArgs {
    /// The server under test and how to reach it.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Members of the room.
    #[arg(long, default_value_t = 1000)]
    pub subscribers: usize,
    /// Members that also send.
    #[arg(long, default_value_t = 10)]
    pub senders: usize,
    /// Payloads offered per second, all senders together.
    #[arg(long, default_value_t = 100)]
    pub rate: u64,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Server PID, to report its CPU time and RSS from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// The endpoint of a room on `target`: a fresh user and board on Corkboard,
/// the shared token and a fixed room on the peers.
pub async fn endpoint(
    target: Target,
    url: &str,
    token: &str,
) -> Result<(Endpoint, Option<Session>)> {
    if target == Target::Corkboard {
        let s = Session::new(url).await?;
        let board = s.board().await?;
        let ep = Endpoint {
            target,
            url: url.to_owned(),
            token: s.token.clone(),
            room: board,
        };
        return Ok((ep, Some(s)));
    }
    let ep = Endpoint {
        target,
        url: url.to_owned(),
        token: token.to_owned(),
        room: "bench-room".to_owned(),
    };
    Ok((ep, None))
}

/// Runs the relay workload and reports one JSON object.
pub async fn relay(a: RelayArgs) -> Result<Value> {
    let (ep, _session) = endpoint(a.server.target, &a.server.url, &a.server.token).await?;
    let base = Instant::now();
    let live = Arc::new(Live::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut pumps = Vec::new();
    let mut sinks = Vec::new();
    for i in 0..a.subscribers {
        let joined = conn::join(&ep, Some(a.server.sources().addr(i)), None).await?;
        let outgoing = if i < a.senders {
            let (tx, rx) = mpsc::channel(1024);
            sinks.push(tx);
            Some(rx)
        } else {
            None
        };
        pumps.push(tokio::spawn(pump::run(
            i,
            joined.ws,
            a.server.target,
            base,
            outgoing,
            stop_rx.clone(),
            live.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu0 = a.server_pid.and_then(procstat::stats);
    let first_us = base.elapsed().as_micros() as u64;
    let per_sender = (a.rate as f64 / a.senders.max(1) as f64).max(0.1);
    let period = Duration::from_secs_f64(1.0 / per_sender);
    let start = tokio::time::Instant::now();
    let end = Instant::now() + Duration::from_secs(a.duration);
    let mut senders = Vec::new();
    for (i, tx) in sinks.into_iter().enumerate() {
        let room = ep.room.clone();
        // Senders are spread evenly over one period, so the offered load is a
        // steady stream: started together they would send in bursts of
        // `senders` payloads at once, and every server's p99 would measure
        // how it absorbs a burst rather than the offered rate.
        let first = start + period.mul_f64(i as f64 / a.senders.max(1) as f64);
        senders.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(first, period);
            let mut sent = 0u64;
            while Instant::now() < end {
                tick.tick().await;
                let now_us = base.elapsed().as_micros() as u64;
                let frame = conn::payload_frame(a.server.target, &room, now_us, i);
                if tx.send(frame).await.is_err() {
                    break;
                }
                sent += 1;
            }
            sent
        }));
    }
    let mut sent = 0;
    for s in senders {
        sent += s.await.unwrap_or(0);
    }
    // Let queued payloads arrive: until nothing new for 300 ms, at most 5 s.
    let drain_end = Instant::now() + Duration::from_secs(5);
    let mut seen = u64::MAX;
    while Instant::now() < drain_end {
        let now = live.delivered.load(Ordering::Relaxed);
        if now == seen {
            break;
        }
        seen = now;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let cpu1 = a.server_pid.and_then(procstat::stats);
    let _ = stop_tx.send(true);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut dropped = 0;
    for p in pumps {
        if let Ok(r) = p.await {
            hist.add(r.hist)?;
            dropped += r.dropped as u64;
        }
    }
    let delivered = live.delivered.load(Ordering::Relaxed);
    let last_us = live.last_us.load(Ordering::Relaxed).max(first_us + 1);
    // Over the whole time deliveries took, so a server that falls behind is not flattered.
    let secs = ((last_us - first_us) as f64 / 1e6).max(a.duration as f64);
    let expected = sent * (a.subscribers as u64 - 1);
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let mut out = json!({
        "workload": "relay fan-out (64-byte payloads)",
        "server": a.server.target.label(),
        "subscribers": a.subscribers,
        "senders": a.senders,
        "offered_per_sec": a.rate,
        "offered_deliveries_per_sec": a.rate * (a.subscribers as u64 - 1),
        "sent": sent,
        "deliveries": delivered,
        "expected_deliveries": expected,
        "deliveries_per_sec": (delivered as f64 / secs).round(),
        "connections_dropped": dropped,
        "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999),
    });
    if let (Some((c0, _)), Some((c1, rss))) = (cpu0, cpu1) {
        out["server_cpu_us_per_delivery"] =
            json!(((c1 - c0) * 1e6 / delivered.max(1) as f64 * 100.0).round() / 100.0);
        out["server_rss_mib"] = json!((rss as f64 / 1048576.0).round());
    }
    Ok(out)
}
