//! Workloads (c) connection storm and (f) resume storm: `clients` connect,
//! authenticate and join one room, started at `rate` per second with at most
//! `inflight` handshakes outstanding, and all stay open. Reports the time until
//! every client is subscribed and the per-client connect latency (TCP connect
//! to the server's confirmation). With `behind`, each Corkboard client resumes
//! with a `since` that many events back and must get exactly that many replayed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, Endpoint, ServerArgs};
use crate::procstat;
use crate::relay::endpoint;
use crate::session::Session;

/// The sizes of one storm.
#[derive(clap::Args)]
pub struct StormArgs {
    /// The server under test and how to reach it.
    #[command(flatten)]
    pub server: ServerArgs,
    /// Clients that connect.
    #[arg(long, default_value_t = 10000)]
    pub clients: usize,
    /// Connections started per second.
    #[arg(long, default_value_t = 10000)]
    pub rate: u64,
    /// Most handshakes in progress at once.
    #[arg(long, default_value_t = 1000)]
    pub inflight: usize,
    /// Resume (Corkboard only): subscribe with a `since` this many events back.
    #[arg(long)]
    pub behind: Option<u64>,
    /// Server PID, to report its CPU time and RSS from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// Makes `n` events on the board with `note.update` RPCs and returns the seq
/// before the first of them.
async fn make_events(s: &Session, ep: &Endpoint, n: u64) -> Result<u64> {
    let note = s.note(&ep.room).await?;
    let mut ws = conn::join(ep, None, None).await?.ws;
    let mut before = 0;
    for id in 0..=n {
        let rpc = json!({"type": "rpc", "id": id, "method": "note.update",
            "params": {"board": ep.room, "id": note, "text": format!("resume {id}")}});
        ws.send(Message::Text(rpc.to_string().into())).await?;
        loop {
            let v: Value = serde_json::from_str(&conn::next_text(&mut ws).await?)?;
            if v["type"] == "result" && v["id"] == id {
                if id == 0 {
                    before = v["result"]["seq"].as_u64().context("no seq")?;
                }
                break;
            }
            if v["type"] == "error" {
                bail!("note.update: {v}");
            }
        }
    }
    let _ = ws.close(None).await;
    while ws.next().await.is_some() {}
    Ok(before)
}

/// Runs the storm and reports one JSON object.
pub async fn storm(a: StormArgs) -> Result<Value> {
    let (ep, session) = endpoint(a.server.target, &a.server.url, &a.server.token).await?;
    let since = match (a.behind, &session) {
        (Some(n), Some(s)) => Some(make_events(s, &ep, n).await?),
        (Some(_), None) => bail!("--behind needs --target corkboard"),
        _ => None,
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats0 = a.server_pid.and_then(procstat::stats);
    let gate = Arc::new(Semaphore::new(a.inflight.max(1)));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / a.rate.max(1) as f64));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..a.clients {
        tick.tick().await;
        let permit = gate.clone().acquire_owned().await?;
        let (ep, src) = (ep.clone(), a.server.sources().addr(i));
        tasks.spawn(async move {
            let t0 = Instant::now();
            let r =
                tokio::time::timeout(Duration::from_secs(30), conn::join(&ep, Some(src), since))
                    .await;
            drop(permit);
            let took = t0.elapsed();
            match r {
                Ok(Ok(j)) => Ok((j, took, start.elapsed())),
                Ok(Err(e)) => Err(e),
                Err(_) => bail!("timed out"),
            }
        });
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors, mut short) = (0u64, 0u64, 0u64);
    let mut all_done = Duration::ZERO;
    let mut first_error = None;
    let mut held = Vec::with_capacity(a.clients);
    while let Some(r) = tasks.join_next().await {
        match r.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok((j, took, at)) => {
                ok += 1;
                hist.record(took.as_micros().max(1) as u64)?;
                all_done = all_done.max(at);
                if a.behind.is_some_and(|n| j.replayed != n) {
                    short += 1;
                }
                held.push(j.ws);
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(format!("{e:#}"));
            }
        }
    }
    let stats1 = a.server_pid.and_then(procstat::stats);
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let mut out = json!({
        "workload": if a.behind.is_some() { "resume storm" } else { "connection storm" },
        "server": a.server.target.label(),
        "clients": a.clients,
        "start_rate_per_sec": a.rate,
        "inflight": a.inflight,
        "subscribed": ok,
        "errors": errors,
        "seconds_until_all_subscribed": (all_done.as_secs_f64() * 1000.0).round() / 1000.0,
        "connect_p50_ms": ms(0.5), "connect_p99_ms": ms(0.99), "connect_p999_ms": ms(0.999),
    });
    if let Some(n) = a.behind {
        out["events_behind"] = json!(n);
        out["wrong_replay_count"] = json!(short);
    }
    if let Some(e) = first_error {
        out["first_error"] = json!(e);
    }
    if let (Some((c0, _)), Some((c1, rss))) = (stats0, stats1) {
        out["server_cpu_seconds"] = json!(((c1 - c0) * 100.0).round() / 100.0);
        out["server_rss_mib"] = json!((rss as f64 / 1048576.0).round());
    }
    drop(held);
    Ok(out)
}
