//! The gRPC door driven by tonic's own client, for what needs control of
//! HTTP/2 flow control: a `Subscribe` whose client stops reading falls
//! behind, its outbox fills, and the stream ends with RESOURCE_EXHAUSTED
//! (the WebSocket 1013 rule), while the server's memory for it stays within
//! `--outbox-bytes` plus the HTTP/2 send buffer. The independent client
//! (Python grpcio) covers the rest in tests/grpc_python.rs.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

#[allow(clippy::all, clippy::pedantic, dead_code)]
mod pb {
    include!(concat!(env!("OUT_DIR"), "/messages/corkboard.v1.rs"));
}

use pb::corkboard_client::CorkboardClient;

async fn token(c: &Client) -> String {
    let r = c.post("/api/tokens", json!({"name": "grpc"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["token"].as_str().expect("token").to_owned()
}

fn authed<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    let v: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    r.metadata_mut().insert("authorization", v);
    r
}

async fn client(base: &str) -> CorkboardClient<Channel> {
    // HTTP/2's own 64 KiB windows (hyper's client defaults are 2 and 5 MiB),
    // so a client that stops reading stops the server soon.
    let ch = Channel::from_shared(base.to_owned())
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .expect("h2c connection");
    CorkboardClient::new(ch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_ends_with_resource_exhausted() {
    let server = TestServer::start_with(|c| {
        c.outbox_bytes = 32 * 1024;
        c.http2_send_buffer = 16 * 1024;
    })
    .await;
    let ann = server.user("ann").await;
    let board = ann.board("slow").await;
    let tok = token(&ann).await;
    let mut slow = client(&server.base).await;
    let req = pb::SubscribeRequest {
        board: board.clone(),
        since: None,
    };
    let mut stream = slow
        .subscribe(authed(req, &tok))
        .await
        .expect("subscribe")
        .into_inner();
    // Read up to `subscribed`, then stop reading.
    loop {
        let u = stream.message().await.unwrap().expect("an update");
        if matches!(u.update, Some(pb::board_update::Update::Subscribed(_))) {
            break;
        }
    }
    // About 600 KiB of events: far more than the client's HTTP/2 window
    // (64 KiB), the server's send buffer and the outbox together.
    let text = "x".repeat(5_000);
    for i in 0..120 {
        let r = ann
            .post(
                &format!("/api/boards/{board}/notes"),
                json!({"x": i, "y": 0, "text": text}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    // A reader keeps working meanwhile: the slow one slows nobody down.
    let mut fast = client(&server.base).await;
    let snap = fast
        .get_board(authed(
            pb::GetBoardRequest {
                board: board.clone(),
            },
            &tok,
        ))
        .await
        .expect("get board")
        .into_inner();
    assert_eq!(snap.seq, 120);
    // Now read: what was queued before the overflow, then the end.
    let mut last = 0;
    let read = &mut last;
    let end = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.message().await {
                Ok(Some(u)) => {
                    if let Some(pb::board_update::Update::Event(e)) = u.update {
                        assert_eq!(e.seq, *read + 1, "in order, no gap before the end");
                        *read = e.seq;
                    }
                }
                Ok(None) => panic!("the stream ended OK; expected RESOURCE_EXHAUSTED"),
                Err(s) => return s,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the stream did not end (read up to seq {last})"));
    assert_eq!(end.code(), Code::ResourceExhausted, "{end:?}");
    assert_eq!(
        end.metadata().get("corkboard-error-code").unwrap(),
        "rate_limited"
    );
    assert!(last < 120, "it fell behind (got {last} of 120 events)");
    // Resuming with `since` gets every event after the last one seen.
    let req = pb::SubscribeRequest {
        board: board.clone(),
        since: Some(last),
    };
    let mut again = fast
        .subscribe(authed(req, &tok))
        .await
        .expect("resubscribe")
        .into_inner();
    let mut next = last + 1;
    loop {
        let u = again.message().await.unwrap().expect("update");
        match u.update {
            Some(pb::board_update::Update::Event(e)) => {
                assert_eq!(e.seq, next);
                next += 1;
            }
            Some(pb::board_update::Update::Subscribed(s)) => {
                assert_eq!((s.seq, s.replayed), (120, 120 - last));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_undecodable_requests_get_contract_codes_and_write_nothing() {
    let server = TestServer::start().await;
    let ann = server.user("ann").await;
    let board = ann.board("limits").await;
    let tok = token(&ann).await;
    let mut c = client(&server.base).await;
    let big = pb::CreateNoteRequest {
        board: board.clone(),
        text: Some("y".repeat(70_000)),
        ..Default::default()
    };
    let e = c.create_note(authed(big, &tok)).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert_eq!(
        e.metadata().get("corkboard-error-code").unwrap(),
        "too_large"
    );
    let nan = pb::CreateNoteRequest {
        board: board.clone(),
        x: f64::NAN,
        ..Default::default()
    };
    let e = c.create_note(authed(nan, &tok)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(
        e.metadata().get("corkboard-error-code").unwrap(),
        "bad_request"
    );
    let colour = pb::CreateNoteRequest {
        board: board.clone(),
        color: 42,
        ..Default::default()
    };
    let e = c.create_note(authed(colour, &tok)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let snap = c
        .get_board(authed(pb::GetBoardRequest { board }, &tok))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((snap.seq, snap.notes.len()), (0, 0), "nothing was written");
}

/// A service the server does not have is UNIMPLEMENTED with the trailer
/// (it was a plain HTTP 404 a gRPC client could not read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_service_is_unimplemented_with_the_trailer() {
    let server = TestServer::start().await;
    let ch = Channel::from_shared(server.base.clone())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.unwrap();
    let e = grpc
        .unary::<_, pb::ListBoardsResponse, _>(
            Request::new(pb::ListBoardsRequest {}),
            tonic::codegen::http::uri::PathAndQuery::from_static("/corkboard.v2.Nope/ListBoards"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented, "{e:?}");
    assert_eq!(
        e.metadata().get("corkboard-error-code").unwrap(),
        "unknown_method"
    );
}

/// `after` beyond every notification id (even beyond u64) starts from now,
/// as protocol.md says; only a non-number is INVALID_ARGUMENT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_after_a_huge_id_start_from_now() {
    let server = TestServer::start().await;
    let ann = server.user("ann").await;
    let tok = token(&ann).await;
    let mut c = client(&server.base).await;
    let huge = pb::NotificationsRequest {
        after: Some("99999999999999999999999".into()),
    };
    let mut s = c
        .notifications(authed(huge, &tok))
        .await
        .expect("accepted")
        .into_inner();
    let first = s.message().await.unwrap().expect("the unread count");
    assert_eq!(
        first.update,
        Some(pb::notification_update::Update::Unread(0))
    );
    let bad = pb::NotificationsRequest {
        after: Some("12x".into()),
    };
    let e = c.notifications(authed(bad, &tok)).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
}
