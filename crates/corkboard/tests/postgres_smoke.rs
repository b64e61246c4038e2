//! The server on PostgreSQL (`--database-url`), over a real socket: a short
//! REST flow (signup, board, notes, an idempotent retry, a conflict), then
//! concurrent writers on one board through two servers sharing the database
//! (two nodes): the log has every seq once, with no gap.
//!
//! Needs the PostgreSQL server of `CORKBOARD_TEST_PG_URL` (default
//! postgres://postgres@127.0.0.1:5432/postgres; `make test` starts it). When
//! it is unreachable the tests fail if `CI` is set, else warn loudly and return.

mod common;

use common::*;
use corkboard::store::postgres::testing::{available, TestDatabase};
use serde_json::{json, Value};

async fn pg_server(db: &TestDatabase) -> TestServer {
    let url = db.url.clone();
    TestServer::start_with(move |cfg| {
        cfg.database_url = Some(url);
        cfg.database_pool_size = 8;
        // Point --data somewhere that must stay unused.
        cfg.data = cfg.data.join("unused");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_flow_on_postgres() {
    if !available("rest_flow_on_postgres").await {
        return;
    }
    let db = TestDatabase::create().await;
    let mut s = pg_server(&db).await;
    assert!(
        !s.dir.path().join("unused").exists(),
        "--data is not used with PostgreSQL"
    );
    let r = s.anon().get("/readyz").await;
    assert_eq!(r.status, 200, "{}", r.text);

    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let r = s
        .anon()
        .post(
            "/api/auth/signup",
            json!({"username": "ann", "password": "password123"}),
        )
        .await;
    assert_error(&r, 409, "conflict");
    let b = ann.board("Plan").await;
    assert_eq!(ann.add_member(&b, &bob, "editor").await.status, 200);

    // A create, retried with the same op: one note, the original answer.
    let body =
        json!({"op": "7f0c9a52-3b7e-4c8f-9d0a-000000000001", "x": 1, "y": 2, "text": "hi @bob"});
    let first = ann
        .post(&format!("/api/boards/{b}/notes"), body.clone())
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = ann.post(&format!("/api/boards/{b}/notes"), body).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    let note = first.body["note"].clone();
    let path = format!("/api/boards/{b}/notes/{}", note["id"].as_str().unwrap());

    // Bob was mentioned.
    let r = bob.get("/api/notifications").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let list = r.body["notifications"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        list.iter().any(|n| n["kind"] == "mention"),
        "mention notification: {}",
        r.text
    );

    // base_version: bob moves it, ann's stale move conflicts.
    let base = note["version"].as_u64().unwrap();
    let r = bob
        .patch(&path, json!({"base_version": base, "text": "bob", "x": 3}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = ann
        .patch(&path, json!({"base_version": base, "x": 4}))
        .await;
    assert_error(&r, 409, "conflict");
    assert_eq!(r.body["error"]["details"]["note"]["text"], "bob");
    // A different field with the same base is fine.
    let r = ann
        .patch(&path, json!({"base_version": base, "color": "blue"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let snap = ann.get(&format!("/api/boards/{b}")).await;
    assert_eq!(snap.status, 200, "{}", snap.text);
    assert_eq!(snap.body["notes"].as_array().unwrap().len(), 1);
    assert_eq!(snap.body["notes"][0]["text"], "bob");
    assert_eq!(snap.body["notes"][0]["color"], "blue");
    let (seqs, head) = ann.all_seqs(&b).await;
    assert_eq!(seqs, (1..=head).collect::<Vec<u64>>());
    assert_eq!(snap.body["seq"].as_u64(), Some(head));

    let r = ann.delete(&path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    s.stop().await;

    // Everything is in the database: a new server on it knows the user, the
    // session and the board.
    let mut s = pg_server(&db).await;
    let r = s
        .anon()
        .post(
            "/api/auth/login",
            json!({"username": "ann", "password": "password123"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ann2 = Client {
        base: s.base.clone(),
        ..ann.clone()
    };
    let snap = ann2.get(&format!("/api/boards/{b}")).await;
    assert_eq!(snap.status, 200, "{}", snap.text);
    assert_eq!(snap.body["seq"].as_u64(), Some(head + 1));
    assert!(snap.body["notes"].as_array().unwrap().is_empty());
    s.stop().await;
}

/// Two nodes on one database, eight writers alternating between them on one
/// board: every create succeeds once and the log is 1..=N without gap or duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_through_two_nodes() {
    if !available("concurrent_writers_through_two_nodes").await {
        return;
    }
    let db = TestDatabase::create().await;
    let mut n1 = pg_server(&db).await;
    let mut n2 = pg_server(&db).await;
    let ann = n1.user("ann").await;
    let b = ann.board("Busy").await;
    // The session lives in the database, so it works on either node.
    let on = |node: &TestServer| Client {
        base: node.base.clone(),
        ..ann.clone()
    };
    let clients = [on(&n1), on(&n2)];
    const WRITERS: usize = 8;
    const EACH: usize = 15;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let c = clients[w % 2].clone();
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..EACH {
                let op = format!("7f0c9a52-3b7e-4c8f-9d0a-{:06}{:06}", w, i);
                let body = json!({"op": op, "x": i, "y": w});
                let r = c
                    .post(&format!("/api/boards/{b}/notes"), body.clone())
                    .await;
                assert_eq!(r.status, 201, "{}", r.text);
                seqs.push(r.body["seq"].as_u64().unwrap());
                if i % 5 == 0 {
                    // A retry of the same op: the original answer, not a new note.
                    let again = c.post(&format!("/api/boards/{b}/notes"), body).await;
                    assert_eq!(again.body, r.body);
                }
            }
            seqs
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    acked.sort_unstable();
    let n = (WRITERS * EACH) as u64;
    assert_eq!(acked, (1..=n).collect::<Vec<u64>>(), "acknowledged seqs");
    for c in &clients {
        let (seqs, head) = c.all_seqs(&b).await;
        assert_eq!(head, n);
        assert_eq!(
            seqs,
            (1..=n).collect::<Vec<u64>>(),
            "the log via {}",
            c.base
        );
        let snap = c.get(&format!("/api/boards/{b}")).await;
        let notes: &Vec<Value> = snap.body["notes"].as_array().unwrap();
        assert_eq!(notes.len() as u64, n);
    }
    n1.stop().await;
    n2.stop().await;
}

/// U+0000 is a `bad_request` on PostgreSQL as on SQLite (it was a 500:
/// PostgreSQL cannot store NUL in `text`), and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_text_or_title_is_bad_request_on_postgres() {
    if !available("nul_in_text_or_title_is_bad_request_on_postgres").await {
        return;
    }
    let db = TestDatabase::create().await;
    let s = pg_server(&db).await;
    let ann = s.user("ann").await;
    let b = ann.board("Plan").await;
    let r = ann
        .post(
            &format!("/api/boards/{b}/notes"),
            json!({"x": 1, "y": 1, "text": "a\u{0}b"}),
        )
        .await;
    assert_error(&r, 400, "bad_request");
    let r = ann
        .patch(&format!("/api/boards/{b}"), json!({"title": "x\u{0}"}))
        .await;
    assert_error(&r, 400, "bad_request");
    let r = ann.post("/api/boards", json!({"title": "x\u{0}"})).await;
    assert_error(&r, 400, "bad_request");
    let r = ann.get(&format!("/api/boards/{b}")).await;
    assert_eq!(r.body["seq"], 0, "nothing written: {}", r.text);
}
