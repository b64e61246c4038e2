//! Collaborative text checked against a Yjs implementation the server shares
//! no code with: pycrdt (Python bindings for yrs, from PyPI), over real
//! WebSocket RPC, events and REST. Each test starts a real server, sets up
//! three editors (ann owns the board, bob and carl are members) with API
//! tokens and a note, and runs one scenario of tests/grpc-client/text_pycrdt.py,
//! which must exit 0. Its checks are exact (see the script); the test then
//! reads the note and the event log back over REST.
//!
//! The random edits are seeded (`tests/common/seed.rs`): the seed is printed
//! with the command that replays it (`CORKBOARD_SEED=N`), and seeds that once
//! failed are kept in the regression lists below.
//!
//! Needs the venv of `make test-deps` (scripts/grpc-client-deps.sh) with
//! pycrdt and websockets. Missing it is a failure, not a skip.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::seed::{self, Regression};
use common::*;
use serde_json::{json, Value};

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/grpc-client")
}

/// The venv's python with pycrdt and websockets; fails (never skips) without them.
fn python() -> PathBuf {
    let py = client_dir().join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run `make test-deps` (scripts/grpc-client-deps.sh) to create the \
         Python venv with pycrdt and websockets",
        py.display()
    );
    let ok = std::process::Command::new(&py)
        .args(["-c", "import pycrdt, websockets"])
        .status()
        .expect("run the venv's python");
    assert!(
        ok.success(),
        "pycrdt or websockets is missing from {}: run `make test-deps` \
         (scripts/grpc-client-deps.sh)",
        py.display()
    );
    py
}

const INITIAL: &str = "Hello, wörld 👋 世界";

/// Ann's board with bob and carl as editors, everyone's API token, and a note.
struct Setup {
    s: TestServer,
    ann: Client,
    board: String,
    note: String,
    tokens: Vec<String>,
}

async fn setup() -> Setup {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let carl = s.user("carl").await;
    let board = ann.board("Text").await;
    for other in [&bob, &carl] {
        let r = ann.add_member(&board, other, "editor").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let mut tokens = Vec::new();
    for c in [&ann, &bob, &carl] {
        let r = c.post("/api/tokens", json!({"name": "pycrdt"})).await;
        assert_eq!(r.status, 201, "{}", r.text);
        tokens.push(r.body["token"].as_str().expect("token").to_owned());
    }
    let note = ann
        .note(&board, json!({"x": 1, "y": 1, "text": INITIAL}))
        .await["id"]
        .as_str()
        .expect("note id")
        .to_owned();
    Setup {
        s,
        ann,
        board,
        note,
        tokens,
    }
}

/// Runs `scenario` with `seed` (60 s at most) and asserts it exits 0; returns
/// its stdout lines.
async fn run(t: &Setup, scenario: &str, seed: u64, extra: Value) -> Vec<String> {
    let mut args = json!({
        "board": t.board, "note": t.note, "tokens": t.tokens,
        "seed": seed, "initial_text": INITIAL,
    });
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    let out = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new(python())
            .arg(client_dir().join("text_pycrdt.py"))
            .arg(scenario)
            .arg(&t.s.base)
            .arg(args.to_string())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{scenario} (seed {seed}) still running after 90 s"))
    .expect("run the scenario");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scenario `{scenario}` (seed {seed}) failed ({});\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout.lines().map(str::to_owned).collect()
}

/// The payload of the one `TAG {json}` line.
fn tagged(out: &[String], tag: &str) -> Value {
    let prefix = format!("{tag} ");
    let lines: Vec<&String> = out.iter().filter(|l| l.starts_with(&prefix)).collect();
    assert_eq!(lines.len(), 1, "one {tag} line: {out:?}");
    serde_json::from_str(&lines[0][prefix.len()..]).expect("json")
}

/// What the script saw at the end is what the server holds: the note's text
/// and version over REST, the head of a gap-free log, and the last text event's
/// `delta.text`.
async fn check_final(t: &Setup, out: &[String]) -> String {
    let fin = tagged(out, "FINAL");
    let r = t.ann.get(&format!("/api/boards/{}", t.board)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let note = r.body["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == json!(t.note))
        .expect("the note")
        .clone();
    assert_eq!(note["text"], fin["text"], "REST note text vs the script's");
    assert_eq!(note["version"], fin["version"]);
    let (seqs, head) = t.ann.all_seqs(&t.board).await;
    assert_eq!(head, fin["seq"].as_u64().unwrap(), "the board's head seq");
    assert_eq!(seqs, (1..=head).collect::<Vec<_>>(), "a gap-free log");
    let r = t
        .ann
        .get(&format!(
            "/api/boards/{}/events?after={}",
            t.board,
            head.saturating_sub(1)
        ))
        .await;
    let last = &r.body["events"][0];
    assert_eq!(last["kind"], "note.updated", "{last}");
    assert_eq!(last["delta"]["text"], fin["text"]);
    fin["text"].as_str().unwrap().to_owned()
}

/// Three pycrdt documents type concurrently (RPC and REST), unicode included:
/// all documents, the REST note and fresh `note.text_state`s converge to
/// exactly what an independent document makes of every update sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pycrdt_edits_converge() {
    converge(seed::seed("concurrent_pycrdt_edits_converge")).await;
}

/// Seeds that once made [`concurrent_pycrdt_edits_converge`] fail, each with
/// what it caught and the fixing commit (see `tests/common/seed.rs`). None so far.
const CONVERGE_PYCRDT_REGRESSIONS: &[Regression] = &[];

/// Replays [`CONVERGE_PYCRDT_REGRESSIONS`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pycrdt_edits_regression_seeds() {
    seed::regressions(
        "concurrent_pycrdt_edits_converge",
        CONVERGE_PYCRDT_REGRESSIONS,
        converge,
    )
    .await;
}

async fn converge(seed: u64) {
    let t = setup().await;
    let out = run(&t, "converge", seed, json!({"rounds": 25})).await;
    let stat = tagged(&out, "STAT");
    assert!(stat["edits"].as_u64().unwrap() >= 75, "{stat}");
    let text = check_final(&t, &out).await;
    assert_ne!(text, INITIAL);
}

/// Plain replacements (RPC `note.update`, REST PATCH) racing character edits:
/// exact replacement texts in results and events, concurrent inserts kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacement_races_character_edits() {
    replace_race(seed::seed("replacement_races_character_edits")).await;
}

/// Seeds that once made [`replacement_races_character_edits`] fail (see
/// `tests/common/seed.rs`). None so far.
const REPLACE_RACE_REGRESSIONS: &[Regression] = &[];

/// Replays [`REPLACE_RACE_REGRESSIONS`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacement_races_regression_seeds() {
    seed::regressions(
        "replacement_races_character_edits",
        REPLACE_RACE_REGRESSIONS,
        replace_race,
    )
    .await;
}

async fn replace_race(seed: u64) {
    let t = setup().await;
    let out = run(&t, "replace_race", seed, json!({"rounds": 12})).await;
    check_final(&t, &out).await;
}

/// Random bytes, another root type, formatting, embeds, control characters,
/// client id 0: `bad_request`, nothing changes; missing dependencies:
/// `bad_request` with `reason: resync`; 10,000 characters accepted, 10,001
/// `too_large`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_updates_change_nothing() {
    let t = setup().await;
    let seed = seed::seed("malformed_and_oversized_updates_change_nothing");
    let out = run(&t, "bad_updates", seed, json!({})).await;
    let text = check_final(&t, &out).await;
    assert_eq!(text.chars().count(), 10_000);
}

/// The `text_update` fuzz target's finding (docs/fuzzing.md, "Found"): a block
/// by client 0 past its clock was accepted and reached the note's text but not
/// its document. Now refused (`bad_request`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_by_client_0_past_its_clock_is_refused() {
    let t = setup().await;
    let seed = seed::seed("insert_by_client_0_past_its_clock_is_refused");
    let out = run(&t, "client0_gap", seed, json!({})).await;
    check_final(&t, &out).await;
}
