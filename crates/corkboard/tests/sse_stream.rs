//! The board stream (`GET /api/boards/{b}/stream`) over a real socket: the
//! wire format, resuming, refusals, and how a stream ends (access lost,
//! token revoked, shutdown).

mod common;

use std::time::Duration;

use common::sse::{self, Block, Next};
use common::ws::Ws;
use common::*;
use corkboard::core::{Clock, SystemClock, Timestamp};
use serde_json::{json, Value};

fn stream_path(b: &str) -> String {
    format!("/api/boards/{b}/stream")
}

/// Reads the opening of a stream: the `retry:` block, then every event up to
/// and including the `presence` members list the server sends once the
/// subscription is live. Returns the blocks between the two.
async fn opening(st: &mut sse::Sse) -> Vec<Block> {
    let first = st.next_block().await;
    assert!(
        first.retry.is_some(),
        "first block must be retry: {first:?}"
    );
    let mut out = st.events_until(|b| b.kind() == "presence").await;
    let members = out.pop().unwrap();
    assert!(members.id.is_none(), "presence has no id: {members:?}");
    assert!(
        members.json()["members"].is_array(),
        "members list: {members:?}"
    );
    out
}

fn ids(blocks: &[Block]) -> Vec<u64> {
    blocks.iter().map(Block::id_u64).collect()
}

/// Creates `n` notes on `b`; returns the seq of the last.
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

/// Headers, `retry:` first, a snapshot when no position is given, presence
/// without an id, and `: keep-alive` comments at the configured interval.
#[tokio::test]
async fn format_snapshot_presence_and_keepalive() {
    let mut s = TestServer::start_with(|c| {
        c.sse_keepalive_ms = 100;
        c.sse_retry_ms = 1234;
    })
    .await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    notes(&ann, &b, 2).await;
    let mut st = sse::open(&ann, &stream_path(&b), &[]).await;
    assert_eq!(st.status, 200);
    assert_eq!(st.headers["content-type"], "text/event-stream");
    assert_eq!(st.headers["cache-control"], "no-cache");
    let first = st.next_block().await;
    assert_eq!(first.raw, "retry: 1234", "the first block is retry alone");
    let snap = st.next_event().await;
    assert_eq!(snap.kind(), "snapshot", "{snap:?}");
    assert_eq!(snap.id.as_deref(), Some("2"));
    let data = snap.json();
    assert_eq!(data["seq"], 2);
    assert_eq!(data["board"]["id"], json!(b));
    assert_eq!(data["board"]["title"], "Sprint");
    assert_eq!(data["notes"].as_array().unwrap().len(), 2);
    let pres = st.next_event().await;
    assert_eq!(pres.kind(), "presence");
    assert_eq!(pres.id, None, "presence carries no id: {pres:?}");
    let p = pres.json();
    assert_eq!(p["type"], "presence");
    assert_eq!(p["board"], json!(b));
    assert_eq!(p["members"][0]["user"]["username"], "ann");
    assert_eq!(p["members"][0]["connections"], 1);
    // Nothing happens on the board: keep-alive comments keep coming.
    let t0 = std::time::Instant::now();
    let mut keepalives = 0;
    while keepalives < 3 {
        match st.next_within(Duration::from_secs(3)).await {
            Next::Block(b) if b.is_comment() => {
                assert_eq!(b.raw, ": keep-alive");
                keepalives += 1;
            }
            other => panic!("expected a keep-alive comment, got {other:?}"),
        }
    }
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "3 keep-alives at 100 ms took {:?}",
        t0.elapsed()
    );
    s.stop().await;
}

/// Every event is `event: <kind>`, `id: <seq>`, `data: <Event JSON>`, and
/// the data is the same Event long poll returns.
#[tokio::test]
async fn events_carry_kind_seq_and_event_json() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    let mut st = sse::open(&ann, &stream_path(&b), &[]).await;
    let open = opening(&mut st).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].kind(), "snapshot");
    assert_eq!(open[0].id.as_deref(), Some("0"));
    assert_eq!(
        open[0].json(),
        json!({"board": open[0].json()["board"], "notes": [], "seq": 0})
    );

    let note = ann
        .note(
            &b,
            json!({"x": 1, "y": 2, "text": "hello \"sse\"\nline two"}),
        )
        .await;
    let id = note["id"].as_str().unwrap();
    let r = ann
        .patch(
            &format!("/api/boards/{b}/notes/{id}"),
            json!({"text": "changed", "color": "pink"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ann
        .patch(&format!("/api/boards/{b}"), json!({"title": "Renamed"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ann.delete(&format!("/api/boards/{b}/notes/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let kinds = [
        "note.created",
        "note.updated",
        "board.updated",
        "note.deleted",
    ];
    let mut got = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let ev = st.next_event().await;
        let seq = i as u64 + 1;
        assert_eq!(ev.kind(), *kind, "{ev:?}");
        assert_eq!(ev.id_u64(), seq);
        assert_eq!(
            ev.raw,
            format!("event: {kind}\nid: {seq}\ndata: {}", ev.data),
            "one data line"
        );
        let data = ev.json();
        assert_eq!(data["kind"], *kind);
        assert_eq!(data["seq"], seq);
        assert_eq!(data["board"], json!(b));
        assert_eq!(data["by"]["username"], "ann");
        got.push(data);
    }
    assert_eq!(got[0]["note"]["text"], "hello \"sse\"\nline two");
    assert_eq!(got[1]["delta"], json!({"text": "changed", "color": "pink"}));
    assert_eq!(got[1]["version"], 2);
    assert_eq!(got[2]["title"], "Renamed");
    assert_eq!(got[3]["id"], json!(id));
    let polled = ann.get(&format!("/api/boards/{b}/events?after=0")).await;
    assert_eq!(polled.body["events"], Value::Array(got));
    s.stop().await;
}

/// `Last-Event-ID: N` and `?since=N` resume with exactly the events after N
/// (no snapshot), then live events follow without a gap; the header wins over
/// the query.
#[tokio::test]
async fn resume_with_last_event_id_or_since() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    notes(&ann, &b, 5).await;
    let path = stream_path(&b);

    let mut a = sse::open(&ann, &path, &[("last-event-id", "2")]).await;
    let replayed = opening(&mut a).await;
    assert_eq!(ids(&replayed), [3, 4, 5]);
    assert!(replayed.iter().all(|b| b.kind() == "note.created"));
    assert_eq!(notes(&ann, &b, 1).await, 6);
    let live = a.next_event().await;
    assert_eq!((live.kind(), live.id_u64()), ("note.created", 6));

    let mut q = sse::open(&ann, &format!("{path}?since=4"), &[]).await;
    assert_eq!(ids(&opening(&mut q).await), [5, 6]);

    let mut z = sse::open(&ann, &path, &[("last-event-id", "0")]).await;
    assert_eq!(ids(&opening(&mut z).await), [1, 2, 3, 4, 5, 6]);

    // At the current seq: nothing to replay; the header wins over ?since.
    let mut cur = sse::open(&ann, &format!("{path}?since=1"), &[("last-event-id", "6")]).await;
    assert!(opening(&mut cur).await.is_empty());
    assert_eq!(notes(&ann, &b, 1).await, 7);
    for st in [&mut a, &mut q, &mut z, &mut cur] {
        let ev = st.events_until(|b| b.id.is_some()).await;
        assert_eq!(ids(&ev[ev.len() - 1..]), [7], "{ev:?}");
        assert!(ev[..ev.len() - 1].iter().all(|b| b.kind() == "presence"));
    }
    s.stop().await;
}

/// A position older than the log keeps, or beyond the board's seq, gets an
/// `event: snapshot` at the current seq instead of a replay.
#[tokio::test]
async fn too_old_or_future_position_gets_a_snapshot() {
    let mut s = TestServer::start_with(|c| {
        c.log_min_events = 2;
        c.log_min_age = 0;
    })
    .await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    assert_eq!(notes(&ann, &b, 6).await, 6);
    let later = Timestamp(SystemClock.now().0 + 1000);
    let pruned = s
        .running
        .as_ref()
        .unwrap()
        .state
        .app
        .store
        .prune(later)
        .await
        .unwrap();
    assert_eq!(pruned, 4, "events 1–4 go, the last 2 stay");
    let path = stream_path(&b);
    for (header, query) in [("1", ""), ("", "?since=3"), ("7", ""), ("", "?since=100")] {
        let headers: Vec<(&str, &str)> = if header.is_empty() {
            vec![]
        } else {
            vec![("last-event-id", header)]
        };
        let mut st = sse::open(&ann, &format!("{path}{query}"), &headers).await;
        let open = opening(&mut st).await;
        assert_eq!(open.len(), 1, "{header:?}{query}: {open:?}");
        assert_eq!(open[0].kind(), "snapshot", "{header:?}{query}");
        assert_eq!(open[0].id_u64(), 6);
        let data = open[0].json();
        assert_eq!(data["seq"], 6);
        assert_eq!(data["notes"].as_array().unwrap().len(), 6);
    }
    // The oldest position the log can still continue from replays.
    let mut st = sse::open(&ann, &path, &[("last-event-id", "4")]).await;
    assert_eq!(ids(&opening(&mut st).await), [5, 6]);
    s.stop().await;
}

/// An unparsable `Last-Event-ID` or `since` is 400 with the contract's error body.
#[tokio::test]
async fn unparsable_positions_are_bad_requests() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    let path = stream_path(&b);
    let cases: [(&str, &[(&str, &str)]); 6] = [
        (&path, &[("last-event-id", "abc")]),
        (&path, &[("last-event-id", "1.5")]),
        (&path, &[("last-event-id", "-3")]),
        (&format!("{path}?since=x"), &[]),
        (&format!("{path}?since=-1"), &[]),
        ("/api/notifications/stream", &[("last-event-id", "nope")]),
    ];
    for (p, h) in cases {
        let r = sse::try_open(&ann, p, h).await.err().expect("refused");
        assert_error(&r, 400, "bad_request");
    }
    s.stop().await;
}

/// A non-member (and an unknown board) gets 404; no credentials get 401.
#[tokio::test]
async fn non_member_404_anonymous_401() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let eve = s.user("eve").await;
    let b = ann.board("Sprint").await;
    let r = sse::try_open(&eve, &stream_path(&b), &[])
        .await
        .err()
        .unwrap();
    assert_error(&r, 404, "not_found");
    let r = sse::try_open(&ann, &stream_path("nope"), &[])
        .await
        .err()
        .unwrap();
    assert_error(&r, 404, "not_found");
    let anon = s.anon();
    let r = sse::try_open(&anon, &stream_path(&b), &[])
        .await
        .err()
        .unwrap();
    assert_error(&r, 401, "unauthorized");
    let r = sse::try_open(&anon, "/api/notifications/stream", &[])
        .await
        .err()
        .unwrap();
    assert_error(&r, 401, "unauthorized");
    s.stop().await;
}

/// Streams count toward the per-user connection limit with WebSockets: over
/// it is 429; closing one frees a place; other users are not affected.
#[tokio::test]
async fn connection_limit_per_user_is_429() {
    let mut s = TestServer::start_with(|c| c.max_connections_per_user = 2).await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "viewer").await;
    let one = sse::open(&ann, &stream_path(&b), &[]).await;
    let _two = sse::open(&ann, "/api/notifications/stream", &[]).await;
    let r = sse::try_open(&ann, &stream_path(&b), &[])
        .await
        .err()
        .unwrap();
    assert_error(&r, 429, "rate_limited");
    let r = sse::try_open(&ann, "/api/notifications/stream", &[])
        .await
        .err()
        .unwrap();
    assert_error(&r, 429, "rate_limited");
    let (status, _) = common::ws::try_connect(&ann, &[]).await.err().unwrap();
    assert_eq!(status, 429);
    // Another user still gets in.
    let mut bobs = sse::open(&bob, &stream_path(&b), &[]).await;
    opening(&mut bobs).await;
    // Closing a stream frees its place (once the server notices).
    drop(one);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut again = loop {
        match sse::try_open(&ann, &stream_path(&b), &[]).await {
            Ok(st) => break st,
            Err(r) => {
                assert_error(&r, 429, "rate_limited");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the closed stream's place was not freed within 5 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    opening(&mut again).await;
    s.stop().await;
}

/// A member removed from the board: their stream delivers `member.left` and
/// ends; reconnecting (with or without a position) is 404.
#[tokio::test]
async fn removed_member_gets_member_left_then_the_stream_ends() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "editor").await;
    let mut st = sse::open(&bob, &stream_path(&b), &[]).await;
    opening(&mut st).await;
    let mut anns = sse::open(&ann, &stream_path(&b), &[]).await;
    opening(&mut anns).await;
    let r = ann
        .delete(&format!("/api/boards/{b}/members/{}", bob.id()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let rest = st.until_end(Duration::from_secs(5)).await;
    let numbered: Vec<&Block> = rest.iter().filter(|b| b.kind() != "presence").collect();
    assert_eq!(numbered.len(), 1, "{rest:?}");
    let left = numbered[0];
    assert_eq!(left.kind(), "member.left");
    assert_eq!(left.json()["user"]["id"], json!(bob.id()));
    assert_eq!(rest.last().unwrap(), left, "member.left is the last block");
    // The owner's stream sees the same event and stays open.
    let ev = anns.events_until(|b| b.kind() == "member.left").await;
    assert_eq!(ev.last().unwrap().id, left.id);
    for h in [&[][..], &[("last-event-id", "1")][..]] {
        let r = sse::try_open(&bob, &stream_path(&b), h)
            .await
            .err()
            .unwrap();
        assert_error(&r, 404, "not_found");
    }
    s.stop().await;
}

/// Deleting the board: every stream on it delivers `board.deleted` and ends.
#[tokio::test]
async fn board_deletion_ends_streams() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Sprint").await;
    ann.add_member(&b, &bob, "viewer").await;
    let mut a = sse::open(&ann, &stream_path(&b), &[]).await;
    let mut o = sse::open(&bob, &stream_path(&b), &[]).await;
    opening(&mut a).await;
    opening(&mut o).await;
    let r = ann.delete(&format!("/api/boards/{b}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    for st in [&mut a, &mut o] {
        // Presence `left` for the other member may still come after the
        // event (the hub ends the subscriptions one by one); no other event does.
        let rest = st.until_end(Duration::from_secs(5)).await;
        let numbered: Vec<&Block> = rest.iter().filter(|b| b.kind() != "presence").collect();
        assert_eq!(numbered.len(), 1, "{rest:?}");
        assert_eq!(numbered[0].kind(), "board.deleted", "{rest:?}");
        assert_eq!(numbered[0].id_u64(), 2);
        assert_eq!(numbered[0].json()["board"], json!(b));
    }
    for c in [&ann, &bob] {
        let r = sse::try_open(c, &stream_path(&b), &[]).await.err().unwrap();
        assert_error(&r, 404, "not_found");
    }
    s.stop().await;
}

/// Revoking the token a stream was opened with ends that stream (only that
/// one); logging out ends the session's streams.
#[tokio::test]
async fn revoked_token_and_logout_end_streams() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    let t = ann.post("/api/tokens", json!({"name": "cli"})).await;
    assert_eq!(t.status, 201, "{}", t.text);
    let bearer = ann.with_bearer(t.body["token"].as_str().unwrap());
    let mut by_token = sse::open(&bearer, &stream_path(&b), &[]).await;
    let mut by_token_n = sse::open(&bearer, "/api/notifications/stream", &[]).await;
    let mut by_cookie = sse::open(&ann, &stream_path(&b), &[]).await;
    opening(&mut by_token).await;
    opening(&mut by_cookie).await;
    let r = ann
        .delete(&format!("/api/tokens/{}", t.body["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    by_token.until_end(Duration::from_secs(5)).await;
    by_token_n.until_end(Duration::from_secs(5)).await;
    let r = sse::try_open(&bearer, &stream_path(&b), &[])
        .await
        .err()
        .unwrap();
    assert_error(&r, 401, "unauthorized");
    // The cookie's stream is untouched.
    notes(&ann, &b, 1).await;
    let ev = by_cookie.next_event().await;
    assert_eq!((ev.kind(), ev.id_u64()), ("note.created", 1));
    let r = ann.post("/api/auth/logout", json!({})).await;
    assert_eq!(r.status, 204, "{}", r.text);
    by_cookie.until_end(Duration::from_secs(5)).await;
    s.stop().await;
}

/// Shutdown: each stream gets `event: shutdown` with a `retry:` line, then ends.
#[tokio::test]
async fn shutdown_sends_shutdown_with_retry_then_ends() {
    let mut s = TestServer::start_with(|c| c.sse_retry_ms = 777).await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    let mut board = sse::open(&ann, &stream_path(&b), &[]).await;
    opening(&mut board).await;
    let mut notif = sse::open(&ann, "/api/notifications/stream", &[]).await;
    assert!(notif.next_block().await.retry.is_some());
    assert_eq!(notif.next_event().await.kind(), "unread");
    let t0 = std::time::Instant::now();
    let (_, a, n) = tokio::join!(
        s.stop(),
        board.until_end(Duration::from_secs(10)),
        notif.until_end(Duration::from_secs(10)),
    );
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    for rest in [a, n] {
        let last = rest.last().expect("a shutdown block");
        assert_eq!(last.kind(), "shutdown", "{rest:?}");
        assert_eq!(last.retry, Some(777), "{last:?}");
        assert_eq!(last.id, None);
    }
}

/// The stream is a WebSocket peer: an event written over WebSocket RPC
/// reaches the SSE stream with the same seq.
#[tokio::test]
async fn websocket_writes_reach_the_stream() {
    let mut s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("Sprint").await;
    let mut st = sse::open(&ann, &stream_path(&b), &[]).await;
    opening(&mut st).await;
    let mut ws = Ws::connect(&ann).await;
    let r = ws
        .rpc(
            "note.create",
            json!({"board": b, "x": 0, "y": 0, "text": "ws"}),
        )
        .await;
    assert_eq!(r["result"]["seq"], 1, "{r}");
    let ev = st.next_event().await;
    assert_eq!((ev.kind(), ev.id_u64()), ("note.created", 1));
    assert_eq!(ev.json()["note"]["text"], "ws");
    s.stop().await;
}
