//! The task that owns one joined connection: it forwards the frames a sender
//! hands it, answers Socket.IO pings, and timestamps every relayed payload it
//! receives into its own HDR histogram (merged by the workload at the end).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{is_engineio_ping, sender_of, Target, Ws};
use crate::realtime::stamp;

/// Counters every pump of a run adds to as it goes, so the workload can see
/// when deliveries stop arriving.
#[derive(Default)]
pub struct Live {
    /// Payloads received so far.
    pub delivered: AtomicU64,
    /// Receive time of the latest payload, µs since the run's start.
    pub last_us: AtomicU64,
}

/// What one connection measured.
pub struct Received {
    pub hist: Histogram<u64>,
    /// The server closed the connection (or it failed) before the run ended.
    pub dropped: bool,
}

/// Runs until `stop` turns true or the connection ends. `me` is this
/// connection's index: payloads it sent itself are not deliveries.
pub async fn run(
    me: usize,
    mut ws: Ws,
    target: Target,
    base: Instant,
    mut outgoing: Option<mpsc::Receiver<Message>>,
    mut stop: watch::Receiver<bool>,
    live: Arc<Live>,
) -> Received {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let mut dropped = false;
    loop {
        tokio::select! {
            m = ws.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    if is_engineio_ping(target, t.as_str()) {
                        if ws.send(Message::Text("3".into())).await.is_err() {
                            dropped = true;
                            break;
                        }
                    } else if sender_of(t.as_bytes()) == Some(me) {
                        // Its own payload echoed back (Nchan's pubsub does): not a delivery.
                    } else if let Some(sent) = stamp(t.as_bytes()) {
                        let now = base.elapsed().as_micros() as u64;
                        let _ = hist.record(now.saturating_sub(sent).max(1));
                        live.delivered.fetch_add(1, Ordering::Relaxed);
                        live.last_us.fetch_max(now, Ordering::Relaxed);
                    }
                }
                Some(Ok(_)) => {}
                _ => {
                    dropped = true;
                    break;
                }
            },
            out = next_outgoing(&mut outgoing) => match out {
                Some(m) => {
                    if ws.send(m).await.is_err() {
                        dropped = true;
                        break;
                    }
                }
                None => outgoing = None,
            },
            _ = stop.changed() => break,
        }
    }
    Received { hist, dropped }
}

/// The next frame to send, or never when this connection sends nothing.
async fn next_outgoing(rx: &mut Option<mpsc::Receiver<Message>>) -> Option<Message> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
