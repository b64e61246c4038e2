//! `/metrics` is bounded whatever clients send (made-up HTTP methods share
//! one label), and can be protected by a token or moved to its own listener.

mod common;

use common::*;
use reqwest::Method;

async fn metrics_text(c: &Client) -> String {
    let r = c.get("/metrics").await;
    assert_eq!(r.status, 200);
    r.text
}

#[tokio::test]
async fn made_up_methods_do_not_add_series() {
    let s = TestServer::start().await;
    let anon = s.anon();
    let before = metrics_text(&anon).await.len();
    for i in 0..13 {
        let name = format!("M{i}{}", "X".repeat(2_000));
        let m = Method::from_bytes(name.as_bytes()).unwrap();
        let r = anon.call(m, "/api/boards", None).await;
        assert!(r.status >= 400);
    }
    let after = metrics_text(&anon).await;
    assert!(
        !after.contains("XXXXXXXXXX"),
        "a made-up method became a label"
    );
    assert!(after.contains("method=\"other\""));
    assert!(
        after.len() < before + 4_000,
        "/metrics grew from {before} to {} bytes",
        after.len()
    );
}

#[tokio::test]
async fn a_token_protects_metrics() {
    let s = TestServer::start_with(|c| c.metrics_token = Some("s3cret".into())).await;
    let r = s.anon().get("/metrics").await;
    assert_eq!(r.status, 401);
    let r = s.anon().with_bearer("wrong").get("/metrics").await;
    assert_eq!(r.status, 401);
    let r = s.anon().with_bearer("s3cret").get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("corkboard_http_requests_total"));
}

#[tokio::test]
async fn metrics_listen_moves_metrics_off_the_main_port() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let s = TestServer::start_with(|c| {
        c.metrics_listen = Some(format!("127.0.0.1:{port}").parse().unwrap())
    })
    .await;
    let r = s.anon().get("/metrics").await;
    assert_eq!(r.status, 404, "not on the main listener");
    let side = TestServer::anon_at(&format!("http://127.0.0.1:{port}"));
    let mut text = String::new();
    for _ in 0..50 {
        if let Ok(r) = side.try_call(Method::GET, "/metrics", None).await {
            text = r.text;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        text.contains("# TYPE"),
        "served on its own listener: {text:.200}"
    );
}
