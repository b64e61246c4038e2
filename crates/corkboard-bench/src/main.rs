//! `corkboard-bench`: a load generator for Corkboard and the peer relays in
//! bench/peers (Node `ws`, Socket.IO). Every subcommand runs for a bounded
//! time, stops by itself and prints one JSON line on stdout.
//!
//! `writes`: durable note creates over REST. Each writer is its own task
//! with its own keep-alive connection, sending creates in a closed loop (the
//! next one after the previous is acknowledged) and recording every
//! acknowledgement latency in an HDR histogram. Writers rotate to a fresh
//! board before the per-board note limit. The run stops by itself after
//! `--duration`; the result is one JSON line on stdout.

mod conn;
mod grpc;
mod procstat;
mod pump;
mod realtime;
mod relay;
mod rpc;
mod session;
mod storm;
mod text;

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "corkboard-bench", about = "Load generator for Corkboard")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Durable note creates per second and acknowledgement latency.
    Writes {
        /// Server base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Concurrent writers (one connection each).
        #[arg(long, default_value_t = 16)]
        writers: usize,
        /// Measured seconds.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Unmeasured warm-up seconds.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// Creates per board before a writer moves to a new board.
        #[arg(long, default_value_t = 4000)]
        notes_per_board: u64,
        /// Boards the writers share (writer i writes to board i mod N); 0 gives
        /// each writer its own board.
        #[arg(long, default_value_t = 0)]
        boards: usize,
        /// Server PID, to report its CPU time and RSS from /proc.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Idle subscribed connections: server RSS per connection (workload b).
    Idle(realtime::IdleArgs),
    /// Event fan-out latency: N subscribers, one writer at R updates/s.
    Fanout {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, value_enum, default_value = "ws")]
        transport: realtime::Transport,
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        #[arg(long, default_value_t = 200)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        duration: u64,
        #[arg(long)]
        server_pid: Option<u32>,
        /// Cluster mode: nodes the subscribers connect to, round robin
        /// (comma-separated; default --url).
        #[arg(long, value_delimiter = ',')]
        subscriber_url: Vec<String>,
        /// Cluster mode: the node the writer sends its updates to (default --url).
        #[arg(long)]
        writer_url: Option<String>,
        /// gRPC: `Subscribe` streams per HTTP/2 connection (1 ..= 200, the
        /// server's concurrent-stream limit).
        #[arg(long, default_value_t = 100)]
        streams_per_connection: usize,
    },
    /// Relay fan-out (workload a): N members of one room, S of them sending
    /// 64-byte payloads at R per second in total; Corkboard uses `signal`s.
    Relay(relay::RelayArgs),
    /// Connection storm (workload c), or with --behind a resume storm on
    /// Corkboard (workload f): clients connect, authenticate and join at once.
    Storm(storm::StormArgs),
    /// Durable note updates over WebSocket RPC (workload d): acked ops/s and ack latency.
    Rpc(rpc::RpcArgs),
    /// Collaborative text: N clients typing into one note with `note.edit`
    /// (yrs documents), then with `note.update` replacements; server CPU per op.
    TextEdit(text::TextEditArgs),
}

async fn writes(
    url: String,
    writers: usize,
    duration: u64,
    warmup: u64,
    notes_per_board: u64,
    boards: usize,
    server_pid: Option<u32>,
) -> Result<Value> {
    let session = std::sync::Arc::new(session::Session::new(&url).await?);
    let mut shared = Vec::new();
    for _ in 0..boards {
        shared.push(session.board_with(&reqwest::Client::new()).await?);
    }
    let shared = std::sync::Arc::new(shared);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(warmup);
    let end = measure_from + Duration::from_secs(duration);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let session = session.clone();
        let shared = shared.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()?;
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
            let (mut ok, mut errors) = (0u64, 0u64);
            let fixed = (!shared.is_empty()).then(|| shared[w % shared.len()].clone());
            let mut board = match &fixed {
                Some(b) => b.clone(),
                None => session.board_with(&client).await?,
            };
            let mut on_board = 0u64;
            let mut i = 0u64;
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                if fixed.is_none() && on_board >= notes_per_board {
                    board = session.board_with(&client).await?;
                    on_board = 0;
                }
                i += 1;
                let body = format!(
                    r#"{{"op":"w{w}-{i}-{}","x":{i},"y":{w},"text":"bench note {i}"}}"#,
                    start.elapsed().as_nanos()
                );
                let sent = Instant::now();
                let r = client
                    .post(format!("{}/api/boards/{board}/notes", session.url))
                    .bearer_auth(&session.token)
                    .body(body)
                    .send()
                    .await;
                let good = match r {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s == 201
                    }
                    Err(_) => false,
                };
                on_board += 1;
                if sent >= measure_from {
                    if good {
                        ok += 1;
                        hist.record(sent.elapsed().as_micros().max(1) as u64)?;
                    } else {
                        errors += 1;
                    }
                }
            }
            anyhow::Ok((hist, ok, errors))
        }));
    }
    let cpu_before = server_pid.and_then(procstat::stats);
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut ok, mut errors) = (0u64, 0u64);
    for t in tasks {
        let (h, o, e) = t.await??;
        total.add(h)?;
        ok += o;
        errors += e;
    }
    let cpu_after = server_pid.and_then(procstat::stats);
    let secs = duration as f64;
    let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
    let mut out = json!({
        "workload": "durable note creates (REST, SQLite)",
        "writers": writers,
        "boards": if boards == 0 { writers } else { boards },
        "seconds": secs,
        "acked": ok,
        "errors": errors,
        "ops_per_sec": (ok as f64 / secs).round(),
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "p999_ms": ms(0.999),
    });
    if let (Some((c0, _)), Some((c1, rss))) = (cpu_before, cpu_after) {
        out["server_cpu_us_per_op"] = json!(((c1 - c0) * 1e6 / ok.max(1) as f64).round());
        out["server_rss_mib"] = json!((rss as f64 / 1048576.0).round());
    }
    Ok(out)
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let out = match cli.cmd {
        Cmd::Writes {
            url,
            writers,
            duration,
            warmup,
            notes_per_board,
            boards,
            server_pid,
        } => {
            writes(
                url,
                writers,
                duration,
                warmup,
                notes_per_board,
                boards,
                server_pid,
            )
            .await?
        }
        Cmd::Idle(a) => realtime::idle(a).await?,
        Cmd::Fanout {
            url,
            transport,
            subscribers,
            rate,
            duration,
            server_pid,
            subscriber_url,
            writer_url,
            streams_per_connection,
        } => {
            let placement = realtime::Placement {
                subscribers: subscriber_url,
                writer: writer_url,
                streams_per_connection,
            };
            realtime::fanout(
                &url,
                transport,
                subscribers,
                rate,
                duration,
                server_pid,
                placement,
            )
            .await?
        }
        Cmd::Relay(a) => relay::relay(a).await?,
        Cmd::Storm(a) => storm::storm(a).await?,
        Cmd::Rpc(a) => rpc::rpc(a).await?,
        Cmd::TextEdit(a) => text::text_edit(a).await?,
    };
    println!("{out}");
    // Exit at once: thousands of open connections need no orderly teardown.
    std::process::exit(0)
}
