//! The gRPC door driven by a client nobody here wrote: Python grpcio, with
//! stubs generated from proto/corkboard/v1/corkboard.proto. Each test starts a
//! real server, sets users, boards and API tokens up over REST, and runs one
//! scenario of tests/grpc-client/scenarios.py, which must exit 0. Where a
//! scenario needs the harness (a REST write, a WebSocket peer, a revocation, a
//! shutdown), it prints `READY` and the test acts. gRPC-Web is checked here
//! with reqwest.
//!
//! Needs the venv and stubs of `make test-deps` (scripts/grpc-client-deps.sh).
//! Missing them is a failure, not a skip.

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::sse;
use common::ws::Ws;
use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/grpc-client")
}

/// The venv's python; fails (never skips) when `make test-deps` has not run.
fn python() -> PathBuf {
    let dir = client_dir();
    let py = dir.join(".venv/bin/python");
    assert!(
        py.is_file(),
        "{} is missing: run `make test-deps` (scripts/grpc-client-deps.sh) to create the \
         Python grpcio venv and stubs",
        py.display()
    );
    assert!(
        dir.join("gen/corkboard/v1/corkboard_pb2_grpc.py").is_file(),
        "the Python gRPC stubs are missing: run `make test-deps` (scripts/grpc-client-deps.sh)"
    );
    py
}

/// `host:port` of a server base URL.
fn target(base: &str) -> String {
    base.trim_start_matches("http://").to_owned()
}

/// One running scenario.
struct Py {
    name: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: tokio::task::JoinHandle<String>,
    /// Every stdout line read so far.
    out: Vec<String>,
}

impl Py {
    fn spawn(scenario: &str, base: &str, args: Value) -> Py {
        let mut child = tokio::process::Command::new(python())
            .arg(client_dir().join("scenarios.py"))
            .arg(scenario)
            .arg(target(base))
            .arg(args.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the venv's python");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s).await;
            s
        });
        Py {
            name: scenario.to_owned(),
            child,
            lines,
            stderr,
            out: Vec::new(),
        }
    }

    /// Reads stdout until a line starting with `prefix` (20 s); returns the rest of it.
    async fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Ok(Ok(Some(l))) => {
                    self.out.push(l.clone());
                    if let Some(rest) = l.strip_prefix(prefix) {
                        return rest.trim().to_owned();
                    }
                }
                Ok(_) => {
                    let err = self.fail_text().await;
                    panic!(
                        "{}: stdout ended before `{prefix}`; stdout:\n{}\nstderr:\n{err}",
                        self.name,
                        self.out.join("\n")
                    )
                }
                Err(_) => panic!(
                    "{}: no `{prefix}` within 20 s; stdout:\n{}",
                    self.name,
                    self.out.join("\n")
                ),
            }
        }
    }

    async fn fail_text(&mut self) -> String {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        let _ = self.child.start_kill();
        match tokio::time::timeout(Duration::from_secs(5), &mut self.stderr).await {
            Ok(Ok(s)) => s,
            _ => "(stderr unavailable)".to_owned(),
        }
    }

    /// Waits (40 s) for the scenario to exit; asserts exit 0; returns every stdout line.
    async fn finish(mut self) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        loop {
            match tokio::time::timeout_at(deadline, self.lines.next_line()).await {
                Ok(Ok(Some(l))) => self.out.push(l),
                Ok(_) => break,
                Err(_) => {
                    let _ = self.child.start_kill();
                    panic!(
                        "{}: still running after 40 s; stdout:\n{}",
                        self.name,
                        self.out.join("\n")
                    )
                }
            }
        }
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{}: did not exit", self.name))
            .expect("wait");
        let err = self.stderr.await.unwrap_or_default();
        assert!(
            status.success(),
            "scenario `{}` failed ({status});\nstdout:\n{}\nstderr:\n{err}",
            self.name,
            self.out.join("\n")
        );
        self.out
    }

    /// Runs a scenario to its end.
    async fn run(scenario: &str, base: &str, args: Value) -> Vec<String> {
        Py::spawn(scenario, base, args).finish().await
    }
}

/// The JSON payloads of the lines tagged `tag` (`EVENT {…}` → `{…}`).
fn tagged(out: &[String], tag: &str) -> Vec<Value> {
    let prefix = format!("{tag} ");
    out.iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|j| serde_json::from_str(j).unwrap_or_else(|e| panic!("{tag} line ({e}): {j}")))
        .collect()
}

/// A proto3-JSON integer (uint64 comes as a string) or a plain number.
fn num(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {v}")),
        Value::Number(n) => n.as_u64().unwrap_or_else(|| panic!("not a u64: {v}")),
        _ => panic!("not a number: {v}"),
    }
}

/// A new API token for `c`: (id, secret).
async fn token(c: &Client) -> (String, String) {
    let r = c.post("/api/tokens", json!({"name": "grpc"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (
        r.body["id"].as_str().expect("token id").to_owned(),
        r.body["token"].as_str().expect("token secret").to_owned(),
    )
}

async fn secret(c: &Client) -> String {
    token(c).await.1
}

/// The gRPC status the contract maps an error code to.
fn grpc_status_of(code: &str) -> &'static str {
    match code {
        "unauthorized" => "UNAUTHENTICATED",
        "forbidden" => "PERMISSION_DENIED",
        "not_found" => "NOT_FOUND",
        "conflict" => "ABORTED",
        "bad_request" | "invalid_message" | "unknown_type" | "unknown_method" => "INVALID_ARGUMENT",
        "too_large" | "rate_limited" => "RESOURCE_EXHAUSTED",
        "unavailable" => "UNAVAILABLE",
        "internal" => "INTERNAL",
        other => panic!("unknown error code {other}"),
    }
}

/// Ann with a board "Sprint" and a token; bob an editor of it, with a token.
struct Setup {
    s: TestServer,
    ann: Client,
    bob: Client,
    board: String,
    ann_token: String,
    bob_token: String,
}

async fn setup() -> Setup {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let board = ann.board("Sprint").await;
    let r = ann.add_member(&board, &bob, "editor").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ann_token = secret(&ann).await;
    let bob_token = secret(&bob).await;
    Setup {
        s,
        ann,
        bob,
        board,
        ann_token,
        bob_token,
    }
}

/// No token, a bad token, a non-Bearer header → UNAUTHENTICATED with
/// `corkboard-error-code: unauthorized`; a token works.
#[tokio::test]
async fn auth_statuses() {
    let t = setup().await;
    Py::run(
        "auth",
        &t.s.base,
        json!({"token": t.ann_token, "board": t.board}),
    )
    .await;
}

/// The unary calls, their results, and the conflict's rich status (the current Note).
#[tokio::test]
async fn unary_calls() {
    let t = setup().await;
    t.ann.note(&t.board, json!({"x": 1, "y": 1})).await;
    Py::run(
        "unary",
        &t.s.base,
        json!({"token": t.ann_token, "board": t.board, "title": "Sprint"}),
    )
    .await;
    // What gRPC wrote is what REST reads.
    let r = t.ann.get(&format!("/api/boards/{}", t.board)).await;
    assert_eq!(r.body["notes"].as_array().unwrap().len(), 1, "{}", r.text);
}

/// The same op or client id again (also an op first used over REST): the
/// same answer, one write.
#[tokio::test]
async fn idempotent_retries() {
    let t = setup().await;
    let r = t
        .ann
        .post(
            &format!("/api/boards/{}/notes", t.board),
            json!({"op": "rest-op-1", "x": 1, "y": 1, "text": "via rest"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    Py::run(
        "idempotency",
        &t.s.base,
        json!({"token": t.ann_token, "board": t.board, "rest_op": "rest-op-1",
               "rest_note_id": r.body["note"]["id"], "rest_seq": r.body["seq"],
               "rest_text": "via rest"}),
    )
    .await;
    let (seqs, head) = t.ann.all_seqs(&t.board).await;
    assert_eq!(seqs.len() as u64, head, "one event per applied write");
}

/// A viewer's mutation → PERMISSION_DENIED; a non-member → NOT_FOUND.
#[tokio::test]
async fn viewer_and_outsider() {
    let t = setup().await;
    let vic = t.s.user("vic").await;
    let r = t.ann.add_member(&t.board, &vic, "viewer").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let eve = t.s.user("eve").await;
    let note = t.ann.note(&t.board, json!({"x": 1, "y": 1})).await;
    Py::run(
        "authz",
        &t.s.base,
        json!({
            "board": t.board,
            "note_id": note["id"],
            "viewer_token": secret(&vic).await,
            "outsider_token": secret(&eve).await,
        }),
    )
    .await;
}

/// Bad input writes nothing: INVALID_ARGUMENT, or what REST answers for
/// over-long text (mapped), and RESOURCE_EXHAUSTED for a message over 64 KiB.
#[tokio::test]
async fn bad_input_writes_nothing() {
    let t = setup().await;
    let note = t.ann.note(&t.board, json!({"x": 1, "y": 1})).await;
    let r = t
        .ann
        .post(
            &format!("/api/boards/{}/notes", t.board),
            json!({"x": 1, "y": 1, "text": "é".repeat(10_001)}),
        )
        .await;
    assert!(r.status >= 400, "REST took 10,001 characters: {}", r.text);
    let code = r.body["error"]["code"]
        .as_str()
        .expect("error code")
        .to_owned();
    Py::run(
        "bad_input",
        &t.s.base,
        json!({
            "token": t.ann_token,
            "board": t.board,
            "note_id": note["id"],
            "too_long_status": grpc_status_of(&code),
            "too_long_code": code,
        }),
    )
    .await;
}

/// Subscribe without `since`: snapshot, subscribed (replayed 0), presence
/// members, then REST and WebSocket writes as events, exactly once, in order,
/// each with its payload (a `delta` with only the named fields).
#[tokio::test]
async fn subscribe_sees_rest_and_websocket_writers() {
    let t = setup().await;
    let b = &t.board;
    let first = t.ann.note(b, json!({"x": 1, "y": 1, "text": "one"})).await;
    let mut py = Py::spawn(
        "subscribe",
        &t.s.base,
        json!({"token": t.bob_token, "board": b, "live": 6, "want_replayed": 0}),
    );
    let ready: u64 = py.wait_for("READY").await.parse().unwrap();
    assert_eq!(ready, 2, "subscribed.seq after a note and bob joining");
    let nid = first["id"].as_str().unwrap();
    t.ann
        .note(b, json!({"x": 2, "y": 2, "text": "two", "color": "blue"}))
        .await;
    let r = t
        .ann
        .patch(
            &format!("/api/boards/{b}/notes/{nid}"),
            json!({"x": 42.5, "color": "green"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = t.ann.delete(&format!("/api/boards/{b}/notes/{nid}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = t
        .ann
        .patch(&format!("/api/boards/{b}"), json!({"title": "Renamed"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let carl = t.s.user("carl").await;
    let r = t.ann.add_member(b, &carl, "viewer").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mut ws = Ws::connect(&t.ann).await;
    // Ann's WebSocket subscription makes her present: a `presence` joined on bob's stream.
    ws.subscribe(b, None).await;
    let r = ws
        .rpc(
            "note.create",
            json!({"board": b, "x": 9, "y": 9, "text": "from ws"}),
        )
        .await;
    assert_eq!(r["type"], "result", "{r}");
    let out = py.finish().await;
    let ev = tagged(&out, "EVENT");
    let kinds: Vec<&str> = ev.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "note.created",
            "note.updated",
            "note.deleted",
            "board.updated",
            "member.joined",
            "note.created"
        ]
    );
    let seqs: Vec<u64> = ev.iter().map(|e| num(&e["seq"])).collect();
    assert_eq!(seqs, (3..=8).collect::<Vec<_>>());
    assert_eq!(ev[0]["note"]["text"], "two");
    assert_eq!(ev[0]["note"]["color"], "COLOR_BLUE");
    assert_eq!(ev[0]["by"]["username"], "ann");
    let delta = ev[1]["delta"].as_object().unwrap();
    let mut keys: Vec<&str> = delta.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["color", "id", "version", "x"], "{delta:?}");
    assert_eq!(delta["x"], 42.5);
    assert_eq!(delta["color"], "COLOR_GREEN");
    assert_eq!(num(&delta["version"]), 4);
    assert_eq!(ev[2]["note_id"], nid);
    assert_eq!(ev[3]["title"], "Renamed");
    assert_eq!(ev[4]["member"]["user"]["username"], "carl");
    assert_eq!(ev[4]["member"]["role"], "ROLE_VIEWER");
    assert_eq!(ev[5]["note"]["text"], "from ws");
    let msgs = tagged(&out, "MSG");
    assert_eq!(num(&msgs[0]["seq"]), 2, "{}", msgs[0]);
    // The full member list once, after `subscribed`: bob, by his own stream.
    let members = msgs[1]["presence"]["members"].as_array().expect("members");
    assert!(
        members.iter().any(|m| m["user"]["username"] == "bob"),
        "{members:?}"
    );
    let joined: Vec<&Value> = msgs[2..]
        .iter()
        .filter_map(|m| m["presence"]["joined"].as_array())
        .flatten()
        .collect();
    assert!(
        joined.iter().any(|p| p["user"]["username"] == "ann"),
        "no presence joined for ann: {out:#?}"
    );
}

/// Subscribe with `since` inside the log: the events after it, `subscribed`
/// with `replayed`, presence, then live.
#[tokio::test]
async fn subscribe_since_replays_then_goes_live() {
    let t = setup().await;
    for i in 0..4 {
        t.ann.note(&t.board, json!({"x": i, "y": 0})).await;
    }
    // seq 1 is bob joining; 2..=5 the notes.
    let mut py = Py::spawn(
        "subscribe",
        &t.s.base,
        json!({"token": t.bob_token, "board": t.board, "since": 2, "want_replayed": 3, "live": 1}),
    );
    assert_eq!(py.wait_for("READY").await, "5");
    t.ann.note(&t.board, json!({"x": 9, "y": 9})).await;
    let out = py.finish().await;
    let seqs: Vec<u64> = tagged(&out, "EVENT")
        .iter()
        .map(|e| num(&e["seq"]))
        .collect();
    assert_eq!(seqs, [3, 4, 5, 6]);
}

/// The owner removes the subscriber: `member.left`, `unsubscribed{revoked}`, then OK.
#[tokio::test]
async fn removed_member_gets_member_left_then_unsubscribed() {
    let t = setup().await;
    let mut py = Py::spawn(
        "subscribe",
        &t.s.base,
        json!({"token": t.bob_token, "board": t.board, "end": "revoked"}),
    );
    py.wait_for("READY").await;
    let r = t
        .ann
        .delete(&format!("/api/boards/{}/members/{}", t.board, t.bob.id()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let out = py.finish().await;
    let ev = tagged(&out, "EVENT");
    assert_eq!(ev.len(), 1, "{out:?}");
    assert_eq!(ev[0]["kind"], "member.left");
    assert_eq!(ev[0]["member"]["user"]["username"], "bob");
    assert!(out.iter().any(|l| l == "END OK"), "{out:?}");
}

/// The board is deleted: `board.deleted`, `unsubscribed{deleted}`, then OK.
#[tokio::test]
async fn deleted_board_gets_board_deleted_then_unsubscribed() {
    let t = setup().await;
    let mut py = Py::spawn(
        "subscribe",
        &t.s.base,
        json!({"token": t.bob_token, "board": t.board, "end": "deleted"}),
    );
    py.wait_for("READY").await;
    let r = t.ann.delete(&format!("/api/boards/{}", t.board)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let out = py.finish().await;
    let ev = tagged(&out, "EVENT");
    assert_eq!(ev.len(), 1, "{out:?}");
    assert_eq!(ev[0]["kind"], "board.deleted");
}

/// A cancelled Subscribe resumed with `since` = the last seq seen, while
/// another client writes: every event exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_a_dropped_stream_is_exactly_once() {
    let t = setup().await;
    let out = Py::run(
        "resume",
        &t.s.base,
        json!({"token": t.ann_token, "writer_token": t.bob_token, "board": t.board,
               "writes": 60, "cut_after": 15}),
    )
    .await;
    println!("{out:#?}");
}

/// Connect: welcome, subscribe, every call kind answered once with its id,
/// conflict as `error` with `current`, signals between sessions, unsubscribe,
/// and a failed subscribe as `error{code, board}`.
#[tokio::test]
async fn connect_session() {
    let t = setup().await;
    Py::run(
        "connect",
        &t.s.base,
        json!({"token": t.ann_token, "peer_token": t.bob_token, "board": t.board,
               "username": "ann", "peer_username": "bob"}),
    )
    .await;
}

/// Connect's errors keep the session (viewer calls, bad signals, an empty
/// message, a call without a method); a message over 64 KiB ends it.
#[tokio::test]
async fn connect_errors() {
    let t = setup().await;
    let vic = t.s.user("vic").await;
    let r = t.ann.add_member(&t.board, &vic, "viewer").await;
    assert_eq!(r.status, 200, "{}", r.text);
    Py::run(
        "connect_edges",
        &t.s.base,
        json!({"owner_token": t.ann_token, "viewer_token": secret(&vic).await,
               "board": t.board, "viewer_username": "vic"}),
    )
    .await;
    let (_, head) = t.ann.all_seqs(&t.board).await;
    assert_eq!(head, 2, "bob and vic joining, nothing else written");
}

/// Subscribe's positions: `since` = the board's seq (nothing to replay),
/// `since` = 0 (the whole log), `since` beyond the seq (a snapshot).
#[tokio::test]
async fn subscribe_since_edges() {
    let t = setup().await;
    for i in 0..3 {
        t.ann.note(&t.board, json!({"x": i, "y": 0})).await;
    }
    // seq 1: bob joined; 2..=4: the notes. Each case writes one more.
    let mut seq = 4u64;
    for case in ["at the head", "from zero", "beyond the head"] {
        let (since, snapshot, replayed) = match case {
            "at the head" => (seq, false, Some(0)),
            "from zero" => (0, false, Some(seq)),
            _ => (seq + 100, true, None),
        };
        let mut args = json!({"token": t.bob_token, "board": t.board, "since": since,
                              "want_snapshot": snapshot, "live": 1});
        if let Some(k) = replayed {
            args["want_replayed"] = json!(k);
        }
        let mut py = Py::spawn("subscribe", &t.s.base, args);
        let at: u64 = py.wait_for("READY").await.parse().unwrap();
        assert_eq!(at, seq, "{case}: subscribed.seq");
        let n = t.ann.note(&t.board, json!({"x": 9, "y": 9})).await;
        seq += 1;
        let out = py.finish().await;
        let events = tagged(&out, "EVENT");
        let last = events.last().expect("an event");
        assert_eq!(last["note"]["id"], n["id"], "{case}");
        assert_eq!(num(&last["seq"]), seq, "{case}");
        assert_eq!(
            events.len() as u64,
            replayed.unwrap_or(0) + 1,
            "{case}: {out:#?}"
        );
    }
}

/// Connect: 100 calls at once, each answered once with its id, events in
/// order; a second subscribe with an earlier `since` replays from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_many_calls_and_resubscribe() {
    let t = setup().await;
    Py::run(
        "connect_many",
        &t.s.base,
        json!({"token": t.ann_token, "board": t.board}),
    )
    .await;
}

/// A gRPC subscriber is present for WebSocket subscribers while its stream is
/// open, and leaves when the client cancels it (or its process exits).
#[tokio::test]
async fn grpc_subscriber_presence_joins_and_leaves() {
    let t = setup().await;
    let mut ws = Ws::connect(&t.ann).await;
    ws.subscribe(&t.board, None).await;
    let out = Py::run(
        "subscribe",
        &t.s.base,
        json!({"token": t.bob_token, "board": t.board, "live": 0}),
    )
    .await;
    assert!(out.iter().any(|l| l.starts_with("READY")), "{out:?}");
    let has = |v: &Value, key: &str| {
        v["type"] == "presence"
            && v[key]
                .as_array()
                .is_some_and(|a| a.iter().any(|p| p["user"]["username"] == "bob"))
    };
    let msgs = ws.recv_until(|v| has(v, "joined")).await;
    assert!(msgs.iter().all(|v| !has(v, "left")), "{msgs:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let v = ws
            .recv_within(left)
            .await
            .expect("bob's presence `left` within 10 s of his gRPC stream ending");
        if has(&v, "left") {
            break;
        }
    }
    let r = t
        .ann
        .get(&format!("/api/boards/{}/presence", t.board))
        .await;
    let names: Vec<&str> = r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["user"]["username"].as_str())
        .collect();
    assert_eq!(names, ["ann"], "{}", r.text);
}

/// Signals cross doors: a Connect session's signal reaches a WebSocket
/// subscriber (with `from`), and a WebSocket signal reaches the Connect session.
#[tokio::test]
async fn signals_between_connect_and_websocket() {
    let t = setup().await;
    let mut ws = Ws::connect(&t.bob).await;
    let sub = ws.subscribe(&t.board, None).await;
    assert_eq!(sub.last().unwrap()["type"], "subscribed", "{sub:?}");
    let mut py = Py::spawn(
        "connect_hold",
        &t.s.base,
        json!({"token": t.ann_token, "board": t.board, "send_signal": "typing",
               "want_signal_from": "bob", "end": "OK"}),
    );
    py.wait_for("READY").await;
    let got = ws
        .recv_until(|v| v["type"] == "signal")
        .await
        .pop()
        .unwrap();
    assert_eq!(got["board"], json!(t.board), "{got}");
    assert_eq!(got["name"], "typing", "{got}");
    assert_eq!(got["from"]["username"], "ann", "{got}");
    assert_eq!(got["data"], json!({"from": "grpc"}), "{got}");
    ws.send(json!({"type": "signal", "board": t.board, "name": "cursor", "data": {"x": 3}}))
        .await;
    let out = py.finish().await;
    let sig = tagged(&out, "SIGNAL");
    assert_eq!(sig.len(), 1, "{out:?}");
    assert_eq!(sig[0]["name"], "cursor");
    assert_eq!(sig[0]["from"]["username"], "bob");
    let data: Value = serde_json::from_str(sig[0]["data_json"].as_str().unwrap()).unwrap();
    assert_eq!(data, json!({"x": 3}));
}

/// gRPC writes are seen by WebSocket and SSE subscribers, with the same seqs.
#[tokio::test]
async fn grpc_writer_seen_by_websocket_and_sse() {
    let t = setup().await;
    let b = &t.board;
    let mut ws = Ws::connect(&t.bob).await;
    ws.subscribe(b, None).await;
    let mut st = sse::open(&t.bob, &format!("/api/boards/{b}/stream"), &[]).await;
    let out = Py::run(
        "write",
        &t.s.base,
        json!({"token": t.ann_token, "board": b}),
    )
    .await;
    let writes = tagged(&out, "NOTE");
    assert_eq!(writes.len(), 3, "{out:?}");
    let seqs: Vec<u64> = writes.iter().map(|w| num(&w["seq"])).collect();
    let id = writes[0]["id"].as_str().unwrap();

    let mut ws_events = Vec::new();
    while ws_events.len() < 3 {
        let v = ws.recv().await;
        if v["type"] == "event" {
            ws_events.push(v);
        }
    }
    let kinds: Vec<&str> = ws_events
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["note.created", "note.updated", "note.deleted"]);
    let ws_seqs: Vec<u64> = ws_events
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(ws_seqs, seqs);
    assert_eq!(ws_events[0]["note"]["id"], id);
    assert_eq!(ws_events[0]["note"]["color"], "pink");
    assert_eq!(ws_events[0]["by"]["username"], "ann");
    let delta = ws_events[1]["delta"].as_object().unwrap();
    assert_eq!(delta.len(), 2, "{delta:?}");
    assert_eq!(delta["x"].as_f64(), Some(50.0), "{delta:?}");
    assert_eq!(delta["color"], "green", "{delta:?}");

    let mut sse_events = Vec::new();
    while sse_events.len() < 3 {
        let blk = st.next_event().await;
        if blk.kind().starts_with("note.") {
            sse_events.push(blk);
        }
    }
    let sse_seqs: Vec<u64> = sse_events.iter().map(|b| b.id_u64()).collect();
    assert_eq!(sse_seqs, seqs);
    assert_eq!(sse_events[2].json()["id"], id);
}

/// Notifications: the unread ones, an `unread` count, then a live mention
/// and the new count; `after` replays only what follows it.
#[tokio::test]
async fn notifications_replay_and_live_mention() {
    let t = setup().await;
    t.ann
        .note(&t.board, json!({"x": 1, "y": 1, "text": "hi @bob"}))
        .await;
    // The mention commits with the note; `board.activity` (bob is not present)
    // follows it: wait for both, so REST and the stream see the same list.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let list = loop {
        let list = t.bob.get("/api/notifications").await;
        assert_eq!(list.status, 200, "{}", list.text);
        let kinds: Vec<&str> = list.body["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["kind"].as_str())
            .collect();
        if kinds.contains(&"mention") && kinds.contains(&"board.activity") {
            break list;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mention and board.activity for bob within 5 s: {}",
            list.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // REST lists newest first; the stream replays in id order.
    let mut notes: Vec<Value> = list.body["notifications"].as_array().unwrap().clone();
    notes.reverse();
    let kinds: Vec<&str> = notes.iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"mention"), "{}", list.text);
    let unread = list.body["unread"].as_u64().unwrap();
    let mut py = Py::spawn(
        "notifications",
        &t.s.base,
        json!({"token": t.bob_token, "want_replay": kinds, "want_unread": unread, "live": 1,
               "then_unread": 0}),
    );
    assert_eq!(py.wait_for("READY").await, unread.to_string());
    t.ann
        .note(&t.board, json!({"x": 2, "y": 2, "text": "again @bob"}))
        .await;
    assert_eq!(py.wait_for("READY2").await, (unread + 1).to_string());
    // Marking them read pushes the new count.
    let list = t.bob.get("/api/notifications").await;
    let newest = list.body["notifications"][0]["id"].clone();
    let r = t
        .bob
        .post("/api/notifications/read", json!({"up_to": newest}))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let out = py.finish().await;
    let live = tagged(&out, "NOTE");
    assert_eq!(live.len(), 1, "{out:?}");
    assert_eq!(live[0]["kind"], "mention");
    assert_eq!(live[0]["text"], "again @bob");
    assert_eq!(live[0]["by"]["username"], "ann");
    assert_eq!(live[0]["board"], json!(t.board));

    // `after` the first: only the later ones.
    let first = notes[0]["id"].as_str().unwrap().to_owned();
    let list = t.bob.get("/api/notifications").await;
    let mut all: Vec<Value> = list.body["notifications"].as_array().unwrap().clone();
    all.reverse();
    let later: Vec<&str> = all[1..]
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    Py::run(
        "notifications",
        &t.s.base,
        json!({"token": t.bob_token, "after": first, "want_replay": later,
               "want_unread": list.body["unread"], "live": 0}),
    )
    .await;
}

/// An invite naming a user reaches their open Notifications stream as `invited`,
/// with the invite token as its text.
#[tokio::test]
async fn notifications_live_invite() {
    let t = setup().await;
    let carl = t.s.user("carl").await;
    let mut py = Py::spawn(
        "notifications",
        &t.s.base,
        json!({"token": secret(&carl).await, "want_replay": [], "want_unread": 0, "live": 1}),
    );
    py.wait_for("READY").await;
    let r = t
        .ann
        .post(
            &format!("/api/boards/{}/invites", t.board),
            json!({"role": "editor", "username": "carl"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let out = py.finish().await;
    let live = tagged(&out, "NOTE");
    assert_eq!(live.len(), 1, "{out:?}");
    assert_eq!(live[0]["kind"], "invited");
    assert_eq!(live[0]["text"], r.body["token"]);
    assert_eq!(live[0]["board"], json!(t.board));
    assert_eq!(live[0]["by"]["username"], "ann");
}

/// Revoking the token ends its open Subscribe, Connect and Notifications streams
/// with UNAUTHENTICATED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_the_token_ends_its_streams() {
    let t = setup().await;
    let (id, tok) = token(&t.bob).await;
    let mut sub = Py::spawn(
        "subscribe",
        &t.s.base,
        json!({"token": tok, "board": t.board, "end": "UNAUTHENTICATED"}),
    );
    let mut conn = Py::spawn(
        "connect_hold",
        &t.s.base,
        json!({"token": tok, "board": t.board, "end": "UNAUTHENTICATED"}),
    );
    // Another token of the same user is not affected.
    let mut other = Py::spawn(
        "subscribe",
        &t.s.base,
        json!({"token": t.bob_token, "board": t.board, "live": 1}),
    );
    let mut notes = Py::spawn(
        "notifications",
        &t.s.base,
        json!({"token": tok, "want_replay": [], "want_unread": 0, "live": 0,
               "end": "UNAUTHENTICATED"}),
    );
    sub.wait_for("READY").await;
    conn.wait_for("READY").await;
    other.wait_for("READY").await;
    notes.wait_for("READY").await;
    let r = t.bob.delete(&format!("/api/tokens/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    sub.finish().await;
    conn.finish().await;
    notes.finish().await;
    t.ann.note(&t.board, json!({"x": 1, "y": 1})).await;
    other.finish().await;
    // The revoked token no longer authenticates a call; the other one does.
    Py::run(
        "unary_status",
        &t.s.base,
        json!({"token": tok, "status": "UNAUTHENTICATED", "code": "unauthorized"}),
    )
    .await;
    Py::run(
        "unary_status",
        &t.s.base,
        json!({"token": t.bob_token, "status": "OK"}),
    )
    .await;
}

/// examples/grpc_client.py runs as its docstring says: lists boards,
/// subscribes, creates a note and prints the event.
#[tokio::test]
async fn example_client_runs() {
    let t = setup().await;
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/grpc_client.py");
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(python())
            .arg(&example)
            .arg(target(&t.s.base))
            .arg(&t.board)
            .args(["--text", "example note"])
            .env("CORKBOARD_TOKEN", &t.ann_token)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the example finishes within 30 s")
    .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{}: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        example.display(),
        out.status
    );
    assert!(stdout.contains(&format!("board {}", t.board)), "{stdout}");
    assert!(stdout.contains("note.created by ann"), "{stdout}");
    assert!(stdout.contains("example note"), "{stdout}");
}

/// Shutdown ends open Subscribe, Connect and Notifications streams with UNAVAILABLE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_streams_with_unavailable() {
    let mut t = setup().await;
    let mut sub = Py::spawn(
        "subscribe",
        &t.s.base,
        json!({"token": t.bob_token, "board": t.board, "end": "UNAVAILABLE"}),
    );
    let mut conn = Py::spawn(
        "connect_hold",
        &t.s.base,
        json!({"token": t.ann_token, "board": t.board, "end": "UNAVAILABLE"}),
    );
    let mut notes = Py::spawn(
        "notifications",
        &t.s.base,
        json!({"token": t.bob_token, "want_replay": [], "want_unread": 0, "live": 0,
               "end": "UNAVAILABLE"}),
    );
    sub.wait_for("READY").await;
    conn.wait_for("READY").await;
    notes.wait_for("READY").await;
    tokio::time::timeout(Duration::from_secs(20), t.s.stop())
        .await
        .expect("the server stops within 20 s with gRPC streams open");
    sub.finish().await;
    conn.finish().await;
    notes.finish().await;
}

/// grpc.health.v1 says SERVING; reflection (v1) describes corkboard.v1.Corkboard.
#[tokio::test]
async fn health_and_reflection() {
    let s = TestServer::start().await;
    Py::run("health", &s.base, json!({})).await;
}

/// gRPC under TLS on the same listener (h2 through ALPN), with a certificate
/// the Python client trusts.
#[tokio::test]
async fn grpc_over_tls() {
    let certs = tempfile::tempdir().expect("tempdir");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert = certs.path().join("cert.pem");
    let key = certs.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let s = TestServer::start_with(|c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    })
    .await;
    let addr = s.running.as_ref().unwrap().addr;
    let _ = http_client(); // installs the rustls provider reqwest needs
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .expect("client");
    let anon = Client {
        base: format!("https://localhost:{}", addr.port()),
        http,
        auth: Auth::None,
        user: Value::Null,
    };
    let ann = anon.signup("ann").await;
    let board = ann.board("Secure").await;
    Py::run(
        "tls",
        &s.base,
        json!({"token": secret(&ann).await, "board": board, "ca": cert, "name": "localhost"}),
    )
    .await;
}

/// Splits a gRPC-Web body into (flag, payload) frames.
fn grpc_web_frames(body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        assert!(rest.len() >= 5, "a truncated frame header: {rest:?}");
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        assert!(rest.len() >= 5 + len, "a truncated frame: {rest:?}");
        frames.push((rest[0], rest[5..5 + len].to_vec()));
        rest = &rest[5 + len..];
    }
    frames
}

/// The grpc-status of a gRPC-Web answer: from its trailer frame, or its headers
/// (a trailers-only answer).
fn grpc_web_status(headers: &reqwest::header::HeaderMap, frames: &[(u8, Vec<u8>)]) -> String {
    if let Some((_, t)) = frames.iter().find(|(f, _)| f & 0x80 != 0) {
        let text = String::from_utf8_lossy(t).to_string();
        for line in text.split("\r\n") {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim().eq_ignore_ascii_case("grpc-status") {
                    return v.trim().to_owned();
                }
            }
        }
        panic!("a trailer frame without grpc-status: {text:?}");
    }
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no grpc-status in the trailer frame nor the headers"))
}

/// gRPC-Web on the same port over HTTP/1.1: ListBoards answers a data frame
/// with the board and a trailer frame with `grpc-status:0`; no token → 16.
#[tokio::test]
async fn grpc_web_list_boards() {
    let t = setup().await;
    let url = format!("{}/corkboard.v1.Corkboard/ListBoards", t.s.base);
    let _ = http_client(); // installs the rustls provider reqwest needs
    let http = reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client");
    // The empty ListBoardsRequest, framed: flag 0, length 0.
    let frame = vec![0u8, 0, 0, 0, 0];
    let res = http
        .post(&url)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("accept", "application/grpc-web+proto")
        .header("authorization", format!("Bearer {}", t.ann_token))
        .body(frame.clone())
        .send()
        .await
        .expect("gRPC-Web request");
    assert_eq!(res.status(), 200);
    assert_eq!(res.version(), reqwest::Version::HTTP_11);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/grpc-web"), "content-type {ct}");
    let headers = res.headers().clone();
    let body = res.bytes().await.expect("body");
    let frames = grpc_web_frames(&body);
    assert_eq!(grpc_web_status(&headers, &frames), "0", "{frames:?}");
    let data: Vec<&Vec<u8>> = frames
        .iter()
        .filter(|(f, _)| f & 0x80 == 0)
        .map(|(_, d)| d)
        .collect();
    assert_eq!(data.len(), 1, "{frames:?}");
    let board = t.board.as_bytes();
    assert!(
        data[0].windows(board.len()).any(|w| w == board),
        "the board id is not in the ListBoardsResponse"
    );
    assert!(
        data[0].windows(6).any(|w| w == b"Sprint"),
        "the title is not in the ListBoardsResponse"
    );

    let res = http
        .post(&url)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(frame)
        .send()
        .await
        .expect("gRPC-Web request");
    let headers = res.headers().clone();
    let body = res.bytes().await.expect("body");
    let frames = grpc_web_frames(&body);
    assert_eq!(grpc_web_status(&headers, &frames), "16", "{frames:?}");
}

/// gRPC-Web server streaming over HTTP/1.1 (what a browser does): Subscribe's
/// frames arrive as they are sent: snapshot, subscribed, presence, then a live event.
#[tokio::test]
async fn grpc_web_subscribe_streams() {
    let t = setup().await;
    let _ = http_client(); // installs the rustls provider reqwest needs
    let http = reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client");
    // SubscribeRequest{board}: field 1, length-delimited.
    let board = t.board.as_bytes();
    assert!(board.len() < 128);
    let mut msg = vec![0x0a, board.len() as u8];
    msg.extend_from_slice(board);
    let mut body = vec![0u8];
    body.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    body.extend_from_slice(&msg);
    let mut res = http
        .post(format!("{}/corkboard.v1.Corkboard/Subscribe", t.s.base))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("authorization", format!("Bearer {}", t.bob_token))
        .body(body)
        .send()
        .await
        .expect("gRPC-Web Subscribe");
    assert_eq!(res.status(), 200);
    let mut buf = Vec::new();
    let mut frames: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut wrote = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    // BoardUpdate's oneof tags: snapshot 1, event 2, subscribed 3, presence 4.
    while frames.len() < 4 {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("gRPC-Web frames so far: {frames:?}"))
            .expect("chunk")
            .unwrap_or_else(|| panic!("the stream ended; frames: {frames:?}"));
        buf.extend_from_slice(&chunk);
        while buf.len() >= 5 {
            let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
            if buf.len() < 5 + len {
                break;
            }
            frames.push((buf[0], buf[5..5 + len].to_vec()));
            buf.drain(..5 + len);
        }
        if frames.len() >= 3 && !wrote {
            wrote = true;
            t.ann
                .note(&t.board, json!({"x": 1, "y": 1, "text": "web"}))
                .await;
        }
    }
    let tags: Vec<(u8, u8)> = frames.iter().map(|(f, d)| (*f, d[0])).collect();
    assert_eq!(
        tags,
        [(0, 0x0a), (0, 0x1a), (0, 0x22), (0, 0x12)],
        "snapshot, subscribed, presence, event: {frames:?}"
    );
    assert!(frames[3].1.windows(3).any(|w| w == b"web"));
}

/// Cluster mode: a note created over gRPC on node 0 reaches a gRPC Subscribe on node 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_grpc_write_on_one_node_reaches_subscriber_on_another() {
    let test = "cluster_grpc_write_on_one_node_reaches_subscriber_on_another";
    if !cluster::services_available(test, false).await {
        return;
    }
    let c = cluster::Cluster::start(2, &cluster::redis_url(), false).await;
    let ann = c.user("ann").await;
    let b = ann.board("Cluster").await;
    let tok = secret(&ann).await;
    let mut sub = Py::spawn(
        "subscribe",
        &c.node(1),
        json!({"token": tok, "board": b, "live": 1}),
    );
    assert_eq!(sub.wait_for("READY").await, "0");
    let out = Py::run(
        "create_note",
        &c.node(0),
        json!({"token": tok, "board": b, "text": "across nodes"}),
    )
    .await;
    let created = &tagged(&out, "NOTE")[0];
    let out = sub.finish().await;
    let ev = tagged(&out, "EVENT");
    assert_eq!(ev.len(), 1, "{out:?}");
    assert_eq!(ev[0]["kind"], "note.created");
    assert_eq!(ev[0]["note"]["id"], created["id"]);
    assert_eq!(ev[0]["note"]["text"], "across nodes");
    assert_eq!(num(&ev[0]["seq"]), num(&created["seq"]));
}
