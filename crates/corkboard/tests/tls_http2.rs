//! TLS with HTTP/2: a browser-like client multiplexes many SSE streams on
//! one connection, and cookies are `Secure`.

use std::time::Duration;

use corkboard::config::Config;
use corkboard::server;
use serde_json::{json, Value};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .expect("client")
}

/// Twenty SSE streams from one client share a single HTTP/2 connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_streams_share_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::for_tests(dir.path().to_path_buf());
    cfg.tls_self_signed = true;
    let running = server::start(&cfg).await.expect("start");
    let base = format!("https://127.0.0.1:{}", running.addr.port());
    let http = client();

    let r = http
        .post(format!("{base}/api/auth/signup"))
        .body(json!({"username": "ann", "password": "password123"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 201);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("; Secure"), "{set_cookie}");
    assert!(
        set_cookie.starts_with("__Host-corkboard_session="),
        "the __Host- prefix under TLS: {set_cookie}"
    );
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000",
        "HSTS under TLS"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let b: Value = http
        .post(format!("{base}/api/boards"))
        .header("cookie", &cookie)
        .body(r#"{"title":"h2"}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let board = b["id"].as_str().unwrap().to_owned();

    let mut streams = Vec::new();
    for _ in 0..20 {
        let r = http
            .get(format!("{base}/api/boards/{board}/stream"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.version(), reqwest::Version::HTTP_2);
        streams.push(r);
    }
    // Every stream is live: each starts with its retry line and snapshot.
    for r in streams.iter_mut() {
        let first = tokio::time::timeout(Duration::from_secs(5), r.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(first.starts_with(b"retry:"));
    }
    assert_eq!(running.tls_connections(), Some(1));
    // Each stream counts once its subscription is live (just after its
    // snapshot is queued): poll until all twenty are.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let presence: Value = http
            .get(format!("{base}/api/boards/{board}/presence"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if presence["members"][0]["connections"] == 20 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "presence never reached 20: {presence}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(running.tls_connections(), Some(1));
    drop(streams);
    running.shutdown().await;
}
