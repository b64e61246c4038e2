//! Collaborative text: N clients typing into one note (issue 14). Each client
//! is a WebSocket subscribed to the board with its own yrs document of the
//! note (loaded with `note.text_state`). It types one character at a random
//! place (or deletes one, keeping the text near `--chars`) at `--rate`
//! keystrokes per second, sending each as a `note.edit` RPC (open loop), and
//! applies every `text_update` of the board's `note.updated` events to its
//! document, as a browser does.
//!
//! The same clients then do the same with plain replacements (`note.update`
//! with the whole new text, which the server applies as the smallest diff):
//! the peer figure. For each phase: acknowledged ops/s, RPC latency, and
//! server CPU per op (utime+stime of `--server-pid` from /proc over the
//! measured window, divided by the RPCs answered in it; the fan-out of every
//! event to all N clients is part of that cost). At the end of each phase every
//! client's document must equal the server's text (`converged`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::Engine as _;
use futures_util::SinkExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::{
    ClientID, Doc, GetString, OffsetKind, Options, ReadTxn, Text, TextRef, Transact, Update,
};

use crate::conn::{self, Endpoint, Target, Ws};
use crate::procstat;
use crate::session::Session;

/// The sizes of one text-edit run.
#[derive(clap::Args)]
pub struct TextEditArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Clients typing into the one note (a WebSocket and a document each).
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Keystrokes per second per client (each one RPC).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Unmeasured seconds of typing before each phase's window.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// The text length the typing hovers around (deletes outweigh inserts above it).
    #[arg(long, default_value_t = 1000)]
    pub chars: usize,
    /// Phases: `edit` (note.edit), `update` (note.update), or `both`.
    #[arg(long, default_value = "both")]
    pub phases: String,
    /// Server PID, to report its CPU time and RSS from /proc.
    #[arg(long)]
    pub server_pid: Option<u32>,
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Which RPC a phase types with.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Edit,
    Update,
}

/// xorshift64*: enough randomness for positions, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

const KEYS: &[&str] = &[
    "a", "e", "t", "o", " ", "n", "s", "é", "世", "k", "\n", "r", "ü", "i",
];

/// One typing client.
struct Typist {
    ws: Ws,
    doc: Doc,
    text: TextRef,
    rng: Rng,
    board: String,
    note: String,
    next_id: u64,
    pending: HashMap<u64, Instant>,
    /// The board seq of the last event applied.
    seq: u64,
}

/// What one client measured in a phase.
struct Tally {
    hist: Histogram<u64>,
    /// Answers (results) received in the window, whenever sent.
    answered_in_window: u64,
    /// Results for RPCs sent in the window.
    acked: u64,
    errors: u64,
    first_error: Option<String>,
    max_seq: u64,
}

impl Typist {
    fn text_now(&self) -> String {
        self.text.get_string(&self.doc.transact())
    }

    fn apply(&mut self, update: &[u8]) -> Result<()> {
        let u = Update::decode_v1(update).context("text_update does not decode")?;
        self.doc
            .transact_mut()
            .apply_update(u)
            .context("text_update does not apply")?;
        Ok(())
    }

    /// Handles one frame: answers, and events (applying `text_update`).
    fn on_frame(&mut self, v: &Value, tally: Option<(&mut Tally, Instant, Instant)>) -> Result<()> {
        match v["type"].as_str() {
            Some("result") | Some("error") => {
                let Some(sent) = v["id"].as_u64().and_then(|id| self.pending.remove(&id)) else {
                    return Ok(());
                };
                if let Some((t, from, end)) = tally {
                    let now = Instant::now();
                    if v["type"] == "result" {
                        if let Some(s) = v["result"]["seq"].as_u64() {
                            t.max_seq = t.max_seq.max(s);
                        }
                        if now >= from && now < end {
                            t.answered_in_window += 1;
                        }
                        if sent >= from && sent < end {
                            t.acked += 1;
                            t.hist.record(sent.elapsed().as_micros().max(1) as u64)?;
                        }
                    } else {
                        t.errors += 1;
                        t.first_error.get_or_insert_with(|| v.to_string());
                    }
                }
            }
            Some("event") => {
                let seq = v["seq"].as_u64().unwrap_or(0);
                if seq != self.seq + 1 {
                    bail!("event seq {seq} after {}", self.seq);
                }
                self.seq = seq;
                if v["kind"] == "note.updated" && v["id"] == self.note.as_str() {
                    if let Some(u) = v["text_update"].as_str() {
                        let bytes = B64.decode(u).context("text_update is not base64")?;
                        self.apply(&bytes)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn next_frame(&mut self) -> Result<Value> {
        Ok(serde_json::from_str(&conn::next_text(&mut self.ws).await?)?)
    }

    async fn send_rpc(&mut self, method: &str, params: Value) -> Result<u64> {
        self.next_id += 1;
        let id = self.next_id;
        let m = json!({"type": "rpc", "id": id, "method": method, "params": params});
        self.pending.insert(id, Instant::now());
        self.ws.send(Message::Text(m.to_string().into())).await?;
        Ok(id)
    }

    /// One keystroke: an insert at a random place, or a delete when the text
    /// is past `target` characters (most of the time) or by chance.
    async fn keystroke(&mut self, mode: Mode, target: usize) -> Result<()> {
        let current = self.text_now();
        let n = current.chars().count() as u64;
        let delete_p = if n as usize > target { 60 } else { 15 };
        let delete = n > 0 && self.rng.below(100) < delete_p;
        let at = self.rng.below(if delete { n } else { n + 1 });
        let key = KEYS[self.rng.below(KEYS.len() as u64) as usize];
        match mode {
            Mode::Edit => {
                // Every key is in the BMP: UTF-16 offsets are character offsets.
                let before = self.doc.transact().state_vector();
                {
                    let mut txn = self.doc.transact_mut();
                    if delete {
                        self.text.remove_range(&mut txn, at as u32, 1);
                    } else {
                        self.text.insert(&mut txn, at as u32, key);
                    }
                }
                let update = self.doc.transact().encode_diff_v1(&before);
                let params = json!({"board": self.board, "id": self.note,
                    "update": B64.encode(update)});
                self.send_rpc("note.edit", params).await?;
            }
            Mode::Update => {
                let mut chars: Vec<char> = current.chars().collect();
                if delete {
                    chars.remove(at as usize);
                } else {
                    chars.insert(at as usize, key.chars().next().unwrap());
                }
                let text: String = chars.into_iter().collect();
                let params = json!({"board": self.board, "id": self.note, "text": text});
                self.send_rpc("note.update", params).await?;
            }
        }
        Ok(())
    }

    /// Types until `end`, one keystroke every `period` (first after `offset`),
    /// then waits for every answer.
    async fn phase(
        mut self,
        mode: Mode,
        period: Duration,
        offset: Duration,
        target: usize,
        from: Instant,
        end: Instant,
    ) -> Result<(Self, Tally)> {
        let mut tally = Tally {
            hist: Histogram::new_with_bounds(1, 60_000_000, 3)?,
            answered_in_window: 0,
            acked: 0,
            errors: 0,
            first_error: None,
            max_seq: 0,
        };
        let mut tick = tokio::time::interval_at((Instant::now() + offset).into(), period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick(), if Instant::now() < end => {
                    self.keystroke(mode, target).await?;
                }
                frame = self.next_frame() => {
                    let v = frame?;
                    self.on_frame(&v, Some((&mut tally, from, end)))?;
                }
                _ = tokio::time::sleep_until(end.into()), if Instant::now() < end => {}
            }
            if Instant::now() >= end && self.pending.is_empty() {
                break;
            }
            if Instant::now() >= end + Duration::from_secs(30) {
                bail!("{} RPCs unanswered 30 s after the end", self.pending.len());
            }
        }
        Ok((self, tally))
    }

    /// Reads events until the board's seq reaches `head`.
    async fn drain(mut self, head: u64) -> Result<Self> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.seq < head {
            let v = tokio::time::timeout_at(deadline.into(), self.next_frame())
                .await
                .with_context(|| format!("at seq {} of {head} after 30 s", self.seq))??;
            self.on_frame(&v, None)?;
        }
        Ok(self)
    }
}

/// Opens a client: subscribes (snapshot), then loads the note's document.
async fn open_typist(s: &Session, board: &str, note: &str, i: usize) -> Result<Typist> {
    let ep = Endpoint {
        target: Target::Corkboard,
        url: s.url.clone(),
        token: s.token.clone(),
        room: board.to_owned(),
    };
    let joined = conn::join(&ep, Some(conn::Sources(8).addr(i)), None).await?;
    let seed = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut rng = Rng(seed | 1);
    // A random non-zero Yjs client id (0 is the server's), 31 bits like Yjs's.
    let client_id = 1 + rng.below((1 << 31) - 1);
    let doc = Doc::with_options(Options {
        client_id: ClientID::new(client_id),
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    });
    let text = doc.get_or_insert_text("text");
    let mut t = Typist {
        ws: joined.ws,
        doc,
        text,
        rng,
        board: board.to_owned(),
        note: note.to_owned(),
        next_id: 0,
        pending: HashMap::new(),
        seq: 0,
    };
    // The subscribed frame (snapshot) carried the seq; join() consumed it, so
    // ask the board's head with the document (no event can come between
    // because nobody types yet).
    let id = t
        .send_rpc("note.text_state", json!({"board": board, "id": note}))
        .await?;
    let id2 = t.send_rpc("board.get", json!({"board": board})).await?;
    let (mut state, mut seq) = (None, None);
    while state.is_none() || seq.is_none() {
        let v = t.next_frame().await?;
        if v["type"] == "error" {
            bail!("setup RPC failed: {v}");
        }
        if v["id"] == id {
            state = Some(
                v["result"]["state"]
                    .as_str()
                    .context("no state")?
                    .to_owned(),
            );
        } else if v["id"] == id2 {
            seq = Some(v["result"]["seq"].as_u64().context("no seq")?);
        }
    }
    t.pending.clear();
    t.seq = seq.unwrap();
    t.apply(&B64.decode(state.unwrap())?)?;
    Ok(t)
}

/// The server's text and the size of its document, over REST.
async fn server_text(s: &Session, board: &str, note: &str) -> Result<(String, usize, u64)> {
    let http = reqwest::Client::new();
    let b: Value = http
        .get(format!("{}/api/boards/{board}", s.url))
        .bearer_auth(&s.token)
        .send()
        .await?
        .json()
        .await?;
    let text = b["notes"]
        .as_array()
        .and_then(|ns| ns.iter().find(|n| n["id"] == note))
        .and_then(|n| n["text"].as_str())
        .context("the note is missing")?
        .to_owned();
    let st: Value = http
        .get(format!(
            "{}/api/boards/{board}/notes/{note}/text_state",
            s.url
        ))
        .bearer_auth(&s.token)
        .send()
        .await?
        .json()
        .await?;
    let bytes = B64
        .decode(st["state"].as_str().context("no text_state")?)?
        .len();
    Ok((text, bytes, b["seq"].as_u64().unwrap_or(0)))
}

/// Runs one phase on every client; returns the clients and the phase's report.
async fn run_phase(
    a: &TextEditArgs,
    s: &Session,
    board: &str,
    note: &str,
    typists: Vec<Typist>,
    mode: Mode,
) -> Result<(Vec<Typist>, Value)> {
    let n = typists.len();
    let period = Duration::from_secs_f64(1.0 / a.rate.max(0.01));
    let start = Instant::now();
    let from = start + Duration::from_secs(a.warmup);
    let end = from + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for (i, t) in typists.into_iter().enumerate() {
        // Spread the clients' keystrokes evenly over one period.
        let offset = period.mul_f64(i as f64 / n as f64);
        tasks.push(tokio::spawn(
            t.phase(mode, period, offset, a.chars, from, end),
        ));
    }
    tokio::time::sleep_until(from.into()).await;
    let cpu0 = a.server_pid.and_then(procstat::stats);
    tokio::time::sleep_until(end.into()).await;
    let cpu1 = a.server_pid.and_then(procstat::stats);
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut answered, mut acked, mut errors, mut head) = (0u64, 0u64, 0u64, 0u64);
    let mut first_error = None;
    let mut back = Vec::new();
    for t in tasks {
        let (t, tally) = t.await??;
        total.add(&tally.hist)?;
        answered += tally.answered_in_window;
        acked += tally.acked;
        errors += tally.errors;
        head = head.max(tally.max_seq);
        if first_error.is_none() {
            first_error = tally.first_error;
        }
        back.push(t);
    }
    // Every client catches up with the last event, then compares its document.
    let mut tasks = Vec::new();
    for t in back {
        tasks.push(tokio::spawn(t.drain(head)));
    }
    let mut typists = Vec::new();
    for t in tasks {
        typists.push(t.await??);
    }
    let (server, state_bytes, seq) = server_text(s, board, note).await?;
    let diverged = typists.iter().filter(|t| t.text_now() != server).count();
    let secs = a.seconds as f64;
    let ms = |q: f64| total.value_at_quantile(q) as f64 / 1000.0;
    let mut out = json!({
        "rpc": if mode == Mode::Edit { "note.edit" } else { "note.update" },
        "acked": acked,
        "errors": errors,
        "ops_per_sec": (acked as f64 / secs).round(),
        "p50_ms": ms(0.5), "p99_ms": ms(0.99), "p999_ms": ms(0.999),
        "final_chars": server.chars().count(),
        "final_state_bytes": state_bytes,
        "final_seq": seq,
        "clients_diverged": diverged,
        "converged": diverged == 0 && seq == head,
    });
    if let Some(e) = first_error {
        out["first_error"] = json!(e);
    }
    if let (Some((c0, _)), Some((c1, rss))) = (cpu0, cpu1) {
        out["server_cpu_us_per_op"] = json!(((c1 - c0) * 1e6 / answered.max(1) as f64).round());
        out["server_cpu_percent"] = json!(((c1 - c0) * 100.0 / secs).round());
        out["server_rss_mib"] = json!((rss as f64 / 1048576.0).round());
    }
    Ok((typists, out))
}

/// Runs the workload and reports one JSON object.
pub async fn text_edit(a: TextEditArgs) -> Result<Value> {
    let s = Session::new(&a.url).await?;
    let board = s.board().await?;
    let note = s.note(&board).await?;
    let mut typists = Vec::new();
    for i in 0..a.clients {
        typists.push(open_typist(&s, &board, &note, i).await?);
    }
    let mut out = json!({
        "workload": "collaborative text",
        "clients": a.clients,
        "keystrokes_per_sec_per_client": a.rate,
        "target_chars": a.chars,
        "seconds": a.seconds,
    });
    let phases: &[(Mode, &str)] = match a.phases.as_str() {
        "edit" => &[(Mode::Edit, "note_edit")],
        "update" => &[(Mode::Update, "note_update")],
        "both" => &[(Mode::Edit, "note_edit"), (Mode::Update, "note_update")],
        other => bail!("--phases {other}: edit, update or both"),
    };
    for &(mode, key) in phases {
        let (back, report) = run_phase(&a, &s, &board, &note, typists, mode).await?;
        typists = back;
        out[key] = report;
    }
    if let (Some(e), Some(u)) = (
        out["note_edit"]["server_cpu_us_per_op"].as_f64(),
        out["note_update"]["server_cpu_us_per_op"].as_f64(),
    ) {
        out["edit_cpu_vs_update"] = json!(((e / u.max(1.0)) * 100.0).round() / 100.0);
    }
    Ok(out)
}
