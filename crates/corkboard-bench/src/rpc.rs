//! Workload (d): durable note updates over WebSocket RPC on SQLite. Each of
//! `connections` WebSockets keeps `inflight` `note.update` RPCs outstanding on
//! its own note (closed loop: a new one goes out when one is answered) and
//! records every acknowledgement latency. Connection i writes to board
//! i mod `boards` (0: a board per connection).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::procstat;
use crate::realtime::ws_connect;
use crate::session::Session;

/// The sizes of one RPC run.
#[derive(clap::Args)]
pub struct RpcArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// WebSockets, each with its own note.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// RPCs outstanding per connection (closed loop).
    #[arg(long, default_value_t = 4)]
    pub inflight: usize,
    /// Boards the connections share (connection i uses board i mod N); 0: one each.
    #[arg(long, default_value_t = 0)]
    pub boards: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Unmeasured seconds first (setup happens in them).
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// Server PID, to report its CPU time and RSS from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

/// What one connection measured: latencies, acks and errors in the window.
type Tally = (Histogram<u64>, u64, u64);

async fn one_connection(
    s: Session,
    board: String,
    inflight: usize,
    from: Instant,
    end: Instant,
) -> Result<Tally> {
    let note = s.note(&board).await?;
    let mut ws = ws_connect(&s).await?;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors) = (0u64, 0u64);
    let mut pending: HashMap<u64, Instant> = HashMap::new();
    let mut next_id = 0u64;
    let rpc = |id: u64| {
        let m = json!({"type": "rpc", "id": id, "method": "note.update",
            "params": {"board": board, "id": note, "text": format!("update {id}")}});
        Message::Text(m.to_string().into())
    };
    for _ in 0..inflight {
        next_id += 1;
        pending.insert(next_id, Instant::now());
        ws.send(rpc(next_id)).await?;
    }
    let hard_end = end + Duration::from_secs(5);
    while !pending.is_empty() && Instant::now() < hard_end {
        let Ok(Some(Ok(m))) = tokio::time::timeout_at(hard_end.into(), ws.next()).await else {
            break;
        };
        let Message::Text(t) = m else { continue };
        let v: Value = serde_json::from_str(t.as_str())?;
        let Some(id) = v["id"].as_u64() else { continue };
        let Some(sent) = pending.remove(&id) else {
            continue;
        };
        if sent >= from && sent < end {
            if v["type"] == "result" {
                ok += 1;
                hist.record(sent.elapsed().as_micros().max(1) as u64)?;
            } else {
                errors += 1;
            }
        }
        if Instant::now() < end {
            next_id += 1;
            pending.insert(next_id, Instant::now());
            ws.send(rpc(next_id)).await?;
        }
    }
    errors += pending.len() as u64;
    Ok((hist, ok, errors))
}

/// Runs the workload and reports one JSON object.
pub async fn rpc(a: RpcArgs) -> Result<Value> {
    let s = Session::new(&a.url).await?;
    let n_boards = if a.boards == 0 {
        a.connections
    } else {
        a.boards
    };
    let mut boards = Vec::new();
    for _ in 0..n_boards {
        boards.push(s.board().await?);
    }
    // Setup (notes, connections) happens inside the warm-up.
    let from = Instant::now() + Duration::from_secs(a.warmup.max(1));
    let end = from + Duration::from_secs(a.duration);
    let mut tasks = Vec::new();
    for c in 0..a.connections {
        let board = boards[c % n_boards].clone();
        tasks.push(tokio::spawn(one_connection(
            s.clone(),
            board,
            a.inflight.max(1),
            from,
            end,
        )));
    }
    tokio::time::sleep_until(from.into()).await;
    let cpu0 = a.server_pid.and_then(procstat::stats);
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors) = (0u64, 0u64);
    let mut cpu1 = None;
    for t in tasks {
        let (h, o, e) = t.await??;
        if cpu1.is_none() {
            cpu1 = a.server_pid.and_then(procstat::stats);
        }
        total.add(h)?;
        ok += o;
        errors += e;
    }
    let secs = a.duration as f64;
    let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
    let mut out = json!({
        "workload": "durable note updates (WebSocket RPC, SQLite)",
        "connections": a.connections,
        "inflight_per_connection": a.inflight,
        "boards": n_boards,
        "seconds": secs,
        "acked": ok,
        "errors": errors,
        "ops_per_sec": (ok as f64 / secs).round(),
        "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999),
    });
    if let (Some((c0, _)), Some((c1, rss))) = (cpu0, cpu1) {
        out["server_cpu_us_per_op"] = json!(((c1 - c0) * 1e6 / ok.max(1) as f64).round());
        out["server_rss_mib"] = json!((rss as f64 / 1048576.0).round());
    }
    Ok(out)
}
