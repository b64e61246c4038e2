//! Long poll, `GET /api/boards/{b}/events?after=S&wait=T`: at once when
//! events exist, at the first new event, empty after `wait`; 410 for a
//! position the log cannot continue from.

mod common;

use std::time::{Duration, Instant};

use common::*;
use corkboard::core::{Clock, SystemClock, Timestamp};
use serde_json::json;

async fn notes(c: &Client, b: &str, n: usize) -> u64 {
    let mut seq = 0;
    for i in 0..n {
        let r = c
            .post(
                &format!("/api/boards/{b}/notes"),
                json!({"x": i, "y": 0, "text": format!("n{i}")}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        seq = r.body["seq"].as_u64().unwrap();
    }
    seq
}

fn seqs(r: &Resp) -> Vec<u64> {
    r.body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("events: {}", r.text))
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

/// Events after the position exist: the answer comes at once, whatever `wait`.
#[tokio::test]
async fn answers_at_once_when_events_exist() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    notes(&ann, &b, 3).await;
    let t0 = Instant::now();
    let r = ann
        .get(&format!("/api/boards/{b}/events?after=0&wait=20"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(seqs(&r), [1, 2, 3]);
    assert_eq!(r.body["seq"], 3);
    assert_eq!(r.body["events"][0]["kind"], "note.created");
    assert_eq!(r.body["events"][0]["board"], json!(b));
    // `wait` above the cap is accepted (capped), and changes nothing here.
    let r = ann
        .get(&format!("/api/boards/{b}/events?after=1&wait=1000"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(seqs(&r), [2, 3]);
    // No `after`: from the start; no `wait`: no waiting.
    let r = ann.get(&format!("/api/boards/{b}/events")).await;
    assert_eq!(seqs(&r), [1, 2, 3]);
    let r = ann.get(&format!("/api/boards/{b}/events?after=3")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"events": [], "seq": 3}));
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    s.stop().await;
}

/// Nothing new yet: the request waits and answers at the first new event,
/// long before `wait` runs out.
#[tokio::test]
async fn waits_and_wakes_at_the_first_new_event() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    notes(&ann, &b, 2).await;
    let poller = ann.clone();
    let path = format!("/api/boards/{b}/events?after=2&wait=20");
    let t0 = Instant::now();
    let poll = tokio::spawn(async move { (poller.get(&path).await, Instant::now()) });
    // Give the poll time to start waiting (if it has not, it answers at once
    // anyway; the check below is on what it returns and when).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished(), "the poll must wait for an event");
    let written = Instant::now();
    let r = ann
        .post(
            &format!("/api/boards/{b}/notes"),
            json!({"x": 0, "y": 0, "text": "wake"}),
        )
        .await;
    assert_eq!(r.body["seq"], 3);
    let (r, answered) = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("poll answers within 10 s")
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(seqs(&r), [3]);
    assert_eq!(r.body["seq"], 3);
    assert_eq!(r.body["events"][0]["note"]["text"], "wake");
    assert!(
        answered.duration_since(written) < Duration::from_secs(3),
        "woke {:?} after the write",
        answered.duration_since(written)
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    s.stop().await;
}

/// Events on another board do not answer the poll; with nothing new it
/// answers `{events: [], seq}` after `wait`.
#[tokio::test]
async fn times_out_with_an_empty_list() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    let other = ann.board("Other").await;
    notes(&ann, &b, 1).await;
    let poller = ann.clone();
    let path = format!("/api/boards/{b}/events?after=1&wait=0.8");
    let t0 = Instant::now();
    let poll = tokio::spawn(async move { poller.get(&path).await });
    notes(&ann, &other, 2).await;
    let r = tokio::time::timeout(Duration::from_secs(10), poll)
        .await
        .expect("poll answers")
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"events": [], "seq": 1}));
    assert!(
        took >= Duration::from_millis(750),
        "answered after {took:?}"
    );
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    s.stop().await;
}

/// Bad `after` and `wait` values are 400 with the contract's error body.
#[tokio::test]
async fn bad_parameters_are_bad_requests() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    for q in [
        "wait=-1",
        "wait=abc",
        "wait=NaN",
        "wait=inf",
        "after=x",
        "after=-1",
        "after=1.5",
    ] {
        let r = ann.get(&format!("/api/boards/{b}/events?{q}")).await;
        assert_error(&r, 400, "bad_request");
    }
    s.stop().await;
}

/// A position older than the log keeps, or beyond the board's seq, is 410 `gone`.
#[tokio::test]
async fn positions_the_log_cannot_continue_from_are_gone() {
    let mut s = TestServer::start_with(|c| {
        c.log_min_events = 2;
        c.log_min_age = 0;
    })
    .await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    assert_eq!(notes(&ann, &b, 6).await, 6);
    let r = ann.get(&format!("/api/boards/{b}/events?after=7")).await;
    assert_error(&r, 410, "gone");
    let pruned = s
        .running
        .as_ref()
        .unwrap()
        .state
        .app
        .store
        .prune(Timestamp(SystemClock.now().0 + 1000))
        .await
        .unwrap();
    assert_eq!(pruned, 4);
    for after in [0, 1, 3, 7, 1000] {
        let t0 = Instant::now();
        let r = ann
            .get(&format!("/api/boards/{b}/events?after={after}&wait=10"))
            .await;
        assert_error(&r, 410, "gone");
        assert!(t0.elapsed() < Duration::from_secs(3), "410 at once");
    }
    let r = ann.get(&format!("/api/boards/{b}/events?after=4")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(seqs(&r), [5, 6]);
    s.stop().await;
}

/// A non-member (or an unknown board) gets 404, no credentials 401.
#[tokio::test]
async fn non_member_404_anonymous_401() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let eve = s.user("eve").await;
    let b = ann.board("Sprint").await;
    let r = eve
        .get(&format!("/api/boards/{b}/events?after=0&wait=5"))
        .await;
    assert_error(&r, 404, "not_found");
    let r = ann.get("/api/boards/nope/events?after=0").await;
    assert_error(&r, 404, "not_found");
    let r = s.anon().get(&format!("/api/boards/{b}/events")).await;
    assert_error(&r, 401, "unauthorized");
    s.stop().await;
}

/// A poll waiting when the server shuts down answers at once (empty), not
/// at the end of `wait` or the drain deadline.
#[tokio::test]
async fn shutdown_answers_a_waiting_poll() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    notes(&ann, &b, 1).await;
    let poller = ann.clone();
    let path = format!("/api/boards/{b}/events?after=1&wait=25");
    let poll = tokio::spawn(async move { poller.get(&path).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!poll.is_finished(), "the poll must be waiting");
    let t0 = Instant::now();
    s.stop().await;
    let r = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the poll answers during shutdown")
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"events": [], "seq": 1}));
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
}
