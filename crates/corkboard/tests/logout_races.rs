//! Revocation wins every race: a stream opened while logout runs does not
//! survive it, a long poll waiting when the session ends is answered 401,
//! and long polls count toward the per-user connection limit.

mod common;

use std::time::Duration;

use common::sse::Next;
use common::*;
use reqwest::Method;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_long_poll_ends_with_the_session() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("b").await;
    let poller = ann.clone();
    let path = format!("/api/boards/{b}/events?after=0&wait=20");
    let poll = tokio::spawn(async move { poller.get(&path).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = ann.call(Method::POST, "/api/auth/logout", None).await;
    assert_eq!(r.status, 204);
    let r = tokio::time::timeout(Duration::from_secs(3), poll)
        .await
        .expect("the poll was answered at logout, not at its 20 s deadline")
        .unwrap();
    assert_eq!(r.status, 401, "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_count_toward_the_connection_limit() {
    let s = TestServer::start_with(|c| c.max_connections_per_user = 1).await;
    let ann = s.user("ann").await;
    let b = ann.board("b").await;
    let _stream = common::sse::open(&ann, &format!("/api/boards/{b}/stream"), &[]).await;
    let r = ann
        .get(&format!("/api/boards/{b}/events?after=0&wait=1"))
        .await;
    assert_eq!(r.status, 429, "{:?}", r.body);
}

/// A stream opened concurrently with logout either fails or ends soon after;
/// it never stays open on a revoked session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_opened_during_logout_does_not_survive_it() {
    let s = TestServer::start().await;
    let owner = s.user("ann").await;
    let b = owner.board("b").await;
    for round in 0..25 {
        let session = s.login("ann").await;
        let opener = session.clone();
        let path = format!("/api/boards/{b}/stream");
        let open = tokio::spawn(async move { common::sse::try_open(&opener, &path, &[]).await });
        if round % 2 == 0 {
            tokio::task::yield_now().await;
        }
        let r = session.call(Method::POST, "/api/auth/logout", None).await;
        assert_eq!(r.status, 204);
        match open.await.unwrap() {
            Err(resp) => assert_eq!(resp.status, 401, "round {round}"),
            Ok(mut stream) => loop {
                match stream.next_within(Duration::from_secs(3)).await {
                    Next::Ended => break,
                    Next::Block(_) => continue,
                    Next::Timeout => panic!("round {round}: the stream outlived the logout"),
                }
            },
        }
    }
}
