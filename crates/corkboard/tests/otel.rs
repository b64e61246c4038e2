//! Traces over OTLP (`--otlp-endpoint`): the real binary sends its spans to
//! a small OTLP/gRPC receiver this test runs, and one change is one trace
//! from the door to the fan-out (request → command → commit → fanout), with
//! the board and the seq the client got. A collector that never answers
//! neither fails nor slows requests, and shutdown stays bounded.

#[path = "common/cluster.rs"]
mod cluster;
mod common;

use std::collections::HashMap;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::ws::Ws;
use common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use serde_json::json;

#[allow(clippy::all, clippy::pedantic, dead_code)]
mod pb {
    include!(concat!(env!("OUT_DIR"), "/messages/corkboard.v1.rs"));
}

/// Creates a note through the gRPC door (`CreateNote`); returns its seq.
async fn grpc_create(c: &Client, base: &str, board: &str) -> u64 {
    let r = c.post("/api/tokens", json!({"name": "grpc"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let token = r.body["token"].as_str().expect("token");
    let channel = tonic::transport::Channel::from_shared(base.to_owned())
        .expect("uri")
        .connect()
        .await
        .expect("h2c connection");
    let mut req = tonic::Request::new(pb::CreateNoteRequest {
        board: board.to_owned(),
        x: 5.0,
        ..Default::default()
    });
    let bearer = format!("Bearer {token}").parse().expect("metadata");
    req.metadata_mut().insert("authorization", bearer);
    pb::corkboard_client::CorkboardClient::new(channel)
        .create_note(req)
        .await
        .expect("CreateNote")
        .into_inner()
        .seq
}

/// A span as received, with its resource's attributes.
#[derive(Clone, Debug)]
struct Got {
    trace: Vec<u8>,
    id: Vec<u8>,
    parent: Vec<u8>,
    name: String,
    attrs: HashMap<String, String>,
    resource: HashMap<String, String>,
}

fn attrs(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(Any::StringValue(s)) => s.clone(),
                Some(Any::IntValue(i)) => i.to_string(),
                Some(Any::BoolValue(b)) => b.to_string(),
                Some(Any::DoubleValue(d)) => d.to_string(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), v)
        })
        .collect()
}

/// The OTLP trace service: keeps every span it is sent.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Got>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut got = self.spans.lock().expect("lock");
        for rs in req.into_inner().resource_spans {
            let resource = attrs(&rs.resource.map(|r| r.attributes).unwrap_or_default());
            for ss in rs.scope_spans {
                for s in ss.spans {
                    got.push(Got {
                        trace: s.trace_id,
                        id: s.span_id,
                        parent: s.parent_span_id,
                        name: s.name,
                        attrs: attrs(&s.attributes),
                        resource: resource.clone(),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Runs the receiver on a loopback port; returns its endpoint URL.
async fn start_receiver(r: Receiver) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = tonic::service::Routes::new(TraceServiceServer::new(r)).into_axum_router();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// The binary under test, killed on drop.
struct Node {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn(args: &[&str]) -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = cluster::free_port();
    let child = common::binary(port, dir.path())
        .args(["--rest-mutation-rate", "0"])
        .args(args)
        .spawn()
        .expect("spawn corkboard");
    let base = format!("http://127.0.0.1:{port}");
    cluster::wait_ready(&base, Duration::from_secs(20)).await;
    Node {
        child,
        base,
        _dir: dir,
    }
}

/// Waits (10 s at most) until `found` finds what it looks for among the
/// spans received; `what` names it in the failure.
async fn wait_for<T>(r: &Receiver, what: &str, found: impl Fn(&[Got]) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let spans = r.spans.lock().expect("lock").clone();
        if let Some(t) = found(&spans) {
            return t;
        }
        let got: Vec<_> = spans.iter().map(|s| (&s.name, &s.attrs)).collect();
        assert!(
            Instant::now() < deadline,
            "no {what} within 10 s; got {got:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `commit` span of each seq of `board`.
async fn commits_for(r: &Receiver, board: &str, seqs: &[u64]) -> Vec<Got> {
    wait_for(r, &format!("commit span for each of {seqs:?}"), |spans| {
        seqs.iter()
            .map(|seq| {
                spans.iter().find(|s| {
                    s.name == "commit"
                        && s.attrs.get("board").map(String::as_str) == Some(board)
                        && s.attrs.get("seq") == Some(&seq.to_string())
                })
            })
            .map(|s| s.cloned())
            .collect()
    })
    .await
}

/// The span named `name` whose parent is `parent`.
async fn child_of(r: &Receiver, parent: &Got, name: &str) -> Got {
    let what = format!("{name} span under {} {:?}", parent.name, parent.attrs);
    wait_for(r, &what, |spans| {
        spans
            .iter()
            .find(|s| s.name == name && s.parent == parent.id)
            .cloned()
    })
    .await
}

fn by_id(r: &Receiver, id: &[u8]) -> Got {
    r.spans
        .lock()
        .expect("lock")
        .iter()
        .find(|s| s.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("no span with id {id:?}"))
}

/// A new user, their board, and a WebSocket subscribed to it.
async fn subscribed(node: &Node) -> (Client, String, Ws) {
    let ann = TestServer::anon_at(&node.base).signup("ann").await;
    let board = ann.board("b").await;
    let mut ws = Ws::connect(&ann).await;
    let sub = ws.subscribe(&board, None).await;
    assert_eq!(sub.last().expect("answer")["type"], "subscribed");
    (ann, board, ws)
}

/// One note.create over WebSocket RPC, one over REST and one over gRPC:
/// each is one trace
/// request → command → commit → fanout, with the board and the seq the
/// client was answered, and the fan-out counts the one subscriber.
#[tokio::test]
async fn one_change_is_one_trace_from_the_door_to_the_fan_out() {
    let receiver = Receiver::default();
    let endpoint = start_receiver(receiver.clone()).await;
    let node = spawn(&[
        "--otlp-endpoint",
        &endpoint,
        "--otlp-export-delay-ms",
        "50",
        "--node-id",
        "otel-node",
    ])
    .await;
    let (ann, board, mut ws) = subscribed(&node).await;

    let r = ws
        .rpc("note.create", json!({"board": board, "x": 1, "y": 2}))
        .await;
    assert_eq!(r["type"], "result", "{r}");
    let ws_seq = r["result"]["seq"].as_u64().expect("seq");
    let r = ann
        .post(
            &format!("/api/boards/{board}/notes"),
            json!({"x": 3, "y": 4}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let rest_seq = r.body["seq"].as_u64().expect("seq");
    let grpc_seq = grpc_create(&ann, &node.base, &board).await;

    let seqs = [ws_seq, rest_seq, grpc_seq];
    let commits = commits_for(&receiver, &board, &seqs).await;
    let doors = [
        ("ws", "note.create"),
        ("http", "note.create"),
        ("grpc", "CreateNote"),
    ];
    for (commit, ((door, method), seq)) in commits.iter().zip(doors.into_iter().zip(seqs)) {
        let command = by_id(&receiver, &commit.parent);
        assert_eq!(command.name, "command", "the commit's parent");
        assert_eq!(command.attrs["name"], "note.create");
        let request = by_id(&receiver, &command.parent);
        assert_eq!(request.name, "request", "the command's parent");
        assert_eq!(request.attrs["door"], door);
        assert_eq!(request.attrs["method"], method);
        let fanout = child_of(&receiver, commit, "fanout").await;
        assert_eq!(fanout.attrs["board"], board);
        assert_eq!(fanout.attrs["seq"], seq.to_string());
        assert_eq!(fanout.attrs["recipients"], "1", "the one subscriber");
        for s in [&command, &request, &fanout] {
            assert_eq!(s.trace, commit.trace, "{} is in the commit's trace", s.name);
        }
        assert_eq!(request.resource["service.name"], "corkboard");
        assert_eq!(request.resource["service.instance.id"], "otel-node");
    }
    let traces: std::collections::BTreeSet<_> = commits.iter().map(|c| &c.trace).collect();
    assert_eq!(traces.len(), 3, "one trace per request");
    // Only the pipeline's spans are exported (no HTTP-layer or library spans).
    let names: std::collections::BTreeSet<String> = receiver
        .spans
        .lock()
        .expect("lock")
        .iter()
        .map(|s| s.name.clone())
        .collect();
    for n in &names {
        assert!(
            ["request", "command", "commit", "fanout"].contains(&n.as_str()),
            "unexpected span {n}"
        );
    }
    ws.close().await;
}

/// A collector that accepts connections and never answers: every request
/// still succeeds without waiting for it (the slowest well under the export
/// timeout), and SIGTERM exits 0 within the drain plus the flush bound.
#[tokio::test]
async fn a_collector_that_never_answers_neither_fails_nor_slows_requests() {
    let hole = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", hole.local_addr().expect("addr"));
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = hole.accept().await {
            conns.push(c);
        }
    });
    let mut node = spawn(&[
        "--otlp-endpoint",
        &endpoint,
        "--otlp-timeout-ms",
        "3000",
        "--otlp-export-delay-ms",
        "20",
        "--otlp-queue",
        "64",
        "--otlp-batch",
        "16",
        "--drain-timeout",
        "2",
    ])
    .await;
    let (ann, board, ws) = subscribed(&node).await;
    let mut slowest = Duration::ZERO;
    for i in 0..150 {
        let started = Instant::now();
        let r = ann
            .post(
                &format!("/api/boards/{board}/notes"),
                json!({"x": i, "y": 0}),
            )
            .await;
        slowest = slowest.max(started.elapsed());
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    // 150 requests make about 600 spans: the 64-span queue overflowed and
    // exports hung on the collector, and no request waited for either.
    assert!(
        slowest < Duration::from_millis(1500),
        "slowest request took {slowest:?} (export timeout 3 s)"
    );
    ws.close().await;
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &node.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let code = loop {
        if let Some(code) = node.child.try_wait().expect("wait") {
            break code;
        }
        assert!(
            Instant::now() < deadline,
            "still running 15 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(code.success(), "exit status {code:?}");
    // Drain (2 s) + flush bound (3 s) + 1 s for the export thread + margin.
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "exit took {:?}",
        started.elapsed()
    );
    held.abort();
}
