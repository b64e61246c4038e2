//! A real, independent EventSource (the npm `eventsource` package, run by
//! node from tests/sse-client/es.js) reads a board stream through a TCP
//! proxy that the test cuts mid-stream. The EventSource reconnects on its
//! own, with `Last-Event-ID`, while writers keep going; every event must
//! arrive exactly once, in order.
//!
//! Needs `node` (≥ 20) and `npm ci --prefix crates/corkboard/tests/sse-client`
//! (`make test` runs it). Missing either is a failure, not a skip.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy in front of the server whose connections can be cut at once.
struct Proxy {
    addr: SocketAddr,
    kill: watch::Sender<u64>,
    /// The request head (up to the blank line) of every proxied connection, in order.
    requests: Arc<Mutex<Vec<String>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let (kill, kill_rx) = watch::channel(0u64);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reqs = requests.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let mut kill_rx = kill_rx.clone();
                kill_rx.borrow_and_update();
                let reqs = reqs.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async {
                        let mut head = Vec::new();
                        let mut recorded = false;
                        let mut buf = vec![0u8; 8192];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if !recorded {
                                head.extend_from_slice(&buf[..n]);
                                if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                                    let text = String::from_utf8_lossy(&head[..end]).into_owned();
                                    reqs.lock().unwrap().push(text);
                                    recorded = true;
                                }
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let down = async {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    };
                    tokio::select! {
                        _ = async { tokio::join!(up, down) } => {}
                        _ = kill_rx.changed() => {}
                    }
                    // Returning drops all four halves: both sockets close.
                });
            }
        });
        Proxy {
            addr,
            kill,
            requests,
            accept,
        }
    }

    /// Cuts every connection open now (both sockets dropped, no goodbye).
    fn cut(&self) {
        self.kill.send_modify(|g| *g += 1);
    }
}

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sse-client")
}

/// Board events written in all (after the 3 that precede the stream).
const WRITES: u64 = 80;
/// The client-observed seqs at which the proxied connection is cut.
const CUT_AT: [u64; 2] = [20, 55];

/// The npm `eventsource` client reconnects by itself through two dropped
/// connections with `Last-Event-ID`; writers keep going meanwhile; every
/// event arrives exactly once and in seq order, after a single snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventsource_resumes_through_dropped_connections_exactly_once() {
    let dir = client_dir();
    assert!(
        dir.join("node_modules/eventsource/package.json").is_file(),
        "the npm eventsource package is missing: run \
         `npm ci --prefix crates/corkboard/tests/sse-client --no-audit --no-fund` \
         (`make test` does)"
    );
    let mut s = TestServer::start_with(|c| {
        c.sse_retry_ms = 200;
        c.sse_keepalive_ms = 1000;
    })
    .await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    for i in 0..3 {
        ann.note(&b, json!({"x": i, "y": 0, "text": format!("before {i}")}))
            .await;
    }
    let upstream = s.running.as_ref().unwrap().addr;
    let proxy = Proxy::start(upstream).await;
    let Auth::Cookie(cookie) = &ann.auth else {
        unreachable!()
    };
    let url = format!("http://{}/api/boards/{b}/stream", proxy.addr);
    let mut child = tokio::process::Command::new("node")
        .arg(dir.join("es.js"))
        .arg(&url)
        .arg(format!("cookie:{cookie}"))
        .arg(WRITES.to_string())
        .arg("30000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("`node` (≥ 20) is needed for this test: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let stderr_task = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });

    let mut got: Vec<Value> = Vec::new();
    let mut opens = 0u64;
    // (Last id the client had printed, writer's seq) when each connection was cut,
    // and the writer's seq when each new connection opened.
    let mut cuts: Vec<(u64, u64)> = Vec::new();
    let mut reopened_at: Vec<u64> = Vec::new();
    let committed = Arc::new(AtomicU64::new(3));
    let mut writer: Option<tokio::task::JoinHandle<()>> = None;
    // The writer never gets more than 10 events past a cut point before the
    // cut has happened, so there is always something left to resume.
    let (cuts_done, cuts_rx) = watch::channel(0usize);
    let mut last_id = 0u64;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let line = match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Err(_) => panic!("no end within 40 s; got {} lines; cuts {cuts:?}", got.len()),
            Ok(Ok(Some(l))) => l,
            Ok(Ok(None)) | Ok(Err(_)) => break,
        };
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("es.js printed a non-JSON line ({e}): {line}"));
        if v.get("open").is_some() {
            opens += 1;
            if opens > 1 {
                reopened_at.push(committed.load(Ordering::SeqCst));
            }
            continue;
        }
        let id: u64 = v["id"].as_str().unwrap().parse().unwrap();
        last_id = id;
        got.push(v.clone());
        if v["event"] == "snapshot" && writer.is_none() {
            // The stream is live: start writing, steadily, through the cuts.
            let w = ann.clone();
            let b = b.clone();
            let committed = committed.clone();
            let mut cuts_rx = cuts_rx.clone();
            writer = Some(tokio::spawn(async move {
                let mut first_note = String::new();
                for i in 0..WRITES {
                    let seq = 4 + i;
                    for (k, at) in CUT_AT.iter().enumerate() {
                        if seq > at + 10 {
                            cuts_rx.wait_for(|n| *n > k).await.expect("cuts");
                        }
                    }
                    let r = if i % 3 == 2 {
                        w.patch(
                            &format!("/api/boards/{b}/notes/{first_note}"),
                            json!({"text": format!("edit {i}"), "x": i}),
                        )
                        .await
                    } else {
                        w.post(
                            &format!("/api/boards/{b}/notes"),
                            json!({"x": i, "y": 1, "text": format!("w{i} ✓ \"q\"")}),
                        )
                        .await
                    };
                    assert!(r.status == 200 || r.status == 201, "{}", r.text);
                    if i == 0 {
                        first_note = r.body["note"]["id"].as_str().unwrap().to_owned();
                    }
                    committed.store(r.body["seq"].as_u64().unwrap(), Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(8)).await;
                }
            }));
        }
        if cuts.len() < CUT_AT.len() && id >= CUT_AT[cuts.len()] {
            cuts.push((id, committed.load(Ordering::SeqCst)));
            proxy.cut();
            cuts_done.send_replace(cuts.len());
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("node exits")
        .unwrap();
    let err = stderr_task.await.unwrap();
    assert!(status.success(), "es.js failed ({status}); stderr:\n{err}");
    writer.expect("writer started").await.unwrap();

    // Exactly one snapshot, first, at seq 3 (resuming never needed another).
    assert_eq!(got[0]["event"], "snapshot", "{:?}", got[0]);
    assert_eq!(got[0]["id"], "3");
    let snap: Value = serde_json::from_str(got[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(snap["seq"], 3);
    assert_eq!(snap["notes"].as_array().unwrap().len(), 3);
    let events = &got[1..];
    assert!(
        events.iter().all(|e| e["event"] != "snapshot"),
        "a second snapshot"
    );
    let ids: Vec<u64> = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    let want: Vec<u64> = (4..4 + WRITES).collect();
    assert_eq!(ids, want, "every event exactly once, in order");
    for e in events {
        let data: Value = serde_json::from_str(e["data"].as_str().unwrap()).unwrap();
        assert_eq!(data["seq"].to_string(), e["id"].as_str().unwrap());
        assert_eq!(data["kind"], e["event"]);
        assert_eq!(data["board"], json!(b));
    }
    assert_eq!(last_id, 3 + WRITES);

    println!("cuts (client id, writer seq): {cuts:?}; writer seq at reopen: {reopened_at:?}");
    println!("es.js stderr:\n{err}");
    // Two cuts, two reconnects; each reconnect asked to resume where it was.
    assert_eq!(cuts.len(), 2, "{cuts:?}");
    assert_eq!(opens, 3, "one open and two reconnects; stderr:\n{err}");
    let requests = proxy.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert!(
        !requests[0].to_ascii_lowercase().contains("last-event-id"),
        "{}",
        requests[0]
    );
    for (i, req) in requests.iter().enumerate() {
        assert!(
            req.contains("corkboard_session="),
            "auth on every request: {req}"
        );
        if i == 0 {
            continue;
        }
        let resume: u64 = req
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("last-event-id")
                    .then(|| v.trim().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("reconnect {i} without Last-Event-ID: {req}"));
        assert!(
            resume >= cuts[i - 1].0,
            "reconnect {i} resumes from {resume}, before the cut at {}",
            cuts[i - 1].0
        );
        assert!(resume < 3 + WRITES);
        println!("reconnect {i}: Last-Event-ID {resume}");
    }
    // Writers kept going while the client was away: events committed before
    // a reconnect opened came in the replay, not live.
    assert!(
        cuts.iter()
            .zip(&reopened_at)
            .any(|((seen, _), reopened)| reopened > seen),
        "no writes happened during a disconnection: cuts {cuts:?}, reopened at {reopened_at:?}"
    );
    proxy.accept.abort();
    s.stop().await;
}
