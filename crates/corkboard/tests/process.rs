//! Tests that run the real `corkboard` binary as a separate process:
//! `kill -9` in the middle of acknowledged writes, and graceful SIGTERM.

mod common;

use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Proc {
    child: Child,
    base: String,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

async fn spawn(data: &std::path::Path, port: u16) -> Proc {
    let child = common::binary(port, data).spawn().expect("spawn corkboard");
    let base = format!("http://127.0.0.1:{port}");
    let http = common::http_client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Proc { child, base }
}

async fn setup(base: &str) -> (String, String) {
    let http = common::http_client();
    let r = http
        .post(format!("{base}/api/auth/signup"))
        .body(json!({"username": "ann", "password": "password123"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let t: Value = http
        .post(format!("{base}/api/tokens"))
        .header("cookie", cookie)
        .body(r#"{"name":"crash"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = t["token"].as_str().unwrap().to_owned();
    let b: Value = http
        .post(format!("{base}/api/boards"))
        .bearer_auth(&token)
        .body(r#"{"title":"crash"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (token, b["id"].as_str().unwrap().to_owned())
}

/// `kill -9` while 16 writers stream creates: after a restart every
/// acknowledged note is there, and the log has no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_dash_nine_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut p = spawn(dir.path(), port).await;
    let (token, board) = setup(&p.base).await;
    let acked = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..16 {
        let (acked, stop, base, token, board) = (
            acked.clone(),
            stop.clone(),
            p.base.clone(),
            token.clone(),
            board.clone(),
        );
        writers.push(tokio::spawn(async move {
            let http = common::http_client();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) && i < 100_000 {
                let id = format!("w{w}-n{i}");
                i += 1;
                let r = http
                    .post(format!("{base}/api/boards/{board}/notes"))
                    .bearer_auth(&token)
                    .body(json!({"id": id, "x": 1, "y": 2, "text": id}).to_string())
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => acked.lock().push(id),
                    _ => break,
                }
            }
        }));
    }
    // Let acknowledged writes accumulate, then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().len() < 1500 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    p.child.kill().expect("SIGKILL");
    let _ = p.child.wait();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }
    let acked = acked.lock().clone();
    assert!(
        acked.len() >= 100,
        "only {} writes acknowledged",
        acked.len()
    );

    let mut p = spawn(dir.path(), free_port()).await;
    let http = common::http_client();
    let snap: Value = http
        .get(format!("{}/api/boards/{board}", p.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let present: std::collections::HashSet<&str> = snap["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| !present.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged writes lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    // seq equals the number of notes (only creates happened), with no gap.
    assert_eq!(snap["seq"].as_u64().unwrap() as usize, present.len());
    println!(
        "acknowledged {} writes before kill -9; {} present after restart",
        acked.len(),
        present.len()
    );
    let _ = p.child.kill();
    let _ = p.child.wait();
}

/// SIGTERM: the process drains, closes the store and exits with code 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_zero_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = spawn(dir.path(), free_port()).await;
    let (token, board) = setup(&p.base).await;
    let started = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = p.child.wait().unwrap();
    assert!(code.success(), "exit status {code:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let mut p = spawn(dir.path(), free_port()).await;
    let r = common::http_client()
        .get(format!("{}/api/boards/{board}", p.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _ = p.child.kill();
    let _ = p.child.wait();
}
