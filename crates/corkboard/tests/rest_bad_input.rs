//! Bad input over REST: malformed and mistyped bodies, unknown fields and
//! enum values, empty updates, oversized fields and bodies, unknown ids and
//! routes, and the Origin allow-list. Every refusal carries the contract's
//! error body and writes nothing.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const JSON: [(&str, &str); 1] = [("content-type", "application/json")];

/// A board with a note, an owner and an editor; `state()` fingerprints everything a write could touch.
struct World {
    s: TestServer,
    owner: Client,
    editor: Client,
    board: String,
    note: String,
}

impl World {
    async fn new() -> Self {
        Self::with(|_| {}).await
    }

    async fn with(tweak: impl FnOnce(&mut corkboard::config::Config)) -> Self {
        let s = TestServer::start_with(tweak).await;
        let owner = s.user("owner").await;
        let editor = s.user("editor").await;
        let board = owner.board("Board").await;
        assert_eq!(
            owner.add_member(&board, &editor, "editor").await.status,
            200
        );
        let note = owner
            .note(&board, json!({"x": 1, "y": 2, "text": "t"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            s,
            owner,
            editor,
            board,
            note,
        }
    }

    fn notes(&self) -> String {
        format!("/api/boards/{}/notes", self.board)
    }

    fn note_path(&self) -> String {
        format!("/api/boards/{}/notes/{}", self.board, self.note)
    }

    fn board_path(&self) -> String {
        format!("/api/boards/{}", self.board)
    }

    /// Boards list, snapshot, members and tokens as the owner sees them.
    async fn state(&self) -> Value {
        let list = self.owner.get("/api/boards").await.body;
        let snap = self.owner.get(&self.board_path()).await.body;
        let members = self
            .owner
            .get(&format!("{}/members", self.board_path()))
            .await
            .body;
        let tokens = self.owner.get("/api/tokens").await.body;
        json!({"list": list, "snap": snap, "members": members, "tokens": tokens})
    }

    /// Sends `body` raw as the owner and asserts the error and that nothing changed.
    async fn refused(&self, m: Method, path: &str, body: &str, status: u16, code: &str) {
        let before = self.state().await;
        let r = self
            .owner
            .raw(m.clone(), path, body.to_owned(), &JSON)
            .await;
        assert_eq!(
            r.status, status,
            "{m} {path} body {body:.80}: got {}",
            r.text
        );
        assert_error(&r, status, code);
        assert_eq!(
            self.state().await,
            before,
            "{m} {path} body {body:.80} changed state"
        );
    }
}

/// Bodies every JSON endpoint must refuse as 400: not JSON, empty, or not an object.
const NOT_AN_OBJECT: [&str; 12] = [
    "",
    "   ",
    "{",
    "{\"x\": 1,",
    "nope",
    "null",
    "[]",
    "[1, 2]",
    "42",
    "\"text\"",
    "true",
    "{} {}",
];

/// POST notes: malformed, empty, mistyped, null, unknown, out-of-range and bad-id bodies are 400 and write nothing.
#[tokio::test]
async fn create_note_bad_bodies() {
    let w = World::new().await;
    let p = w.notes();
    let mut bodies: Vec<String> = NOT_AN_OBJECT.iter().map(|s| s.to_string()).collect();
    for v in [
        json!({}),
        json!({"x": 1}),
        json!({"y": 1}),
        json!({"x": "1", "y": 0}),
        json!({"x": 0, "y": "0"}),
        json!({"x": true, "y": 0}),
        json!({"x": [1], "y": 0}),
        json!({"x": null, "y": 0}),
        json!({"x": 0, "y": 0, "text": null}),
        json!({"x": 0, "y": 0, "text": 5}),
        json!({"x": 0, "y": 0, "w": null}),
        json!({"x": 0, "y": 0, "h": null}),
        json!({"x": 0, "y": 0, "color": null}),
        json!({"x": 0, "y": 0, "id": null}),
        json!({"x": 0, "y": 0, "op": null}),
        json!({"x": 0, "y": 0, "w": "big"}),
        json!({"x": 0, "y": 0, "w": 0}),
        json!({"x": 0, "y": 0, "w": -1}),
        json!({"x": 0, "y": 0, "h": 0}),
        json!({"x": 0, "y": 0, "h": -0.5}),
        json!({"x": 0, "y": 0, "color": "orange"}),
        json!({"x": 0, "y": 0, "color": "Yellow"}),
        json!({"x": 0, "y": 0, "color": ""}),
        json!({"x": 0, "y": 0, "color": 1}),
        json!({"x": 0, "y": 0, "z": 1}),
        json!({"x": 0, "y": 0, "board": "other"}),
        json!({"x": 0, "y": 0, "version": 3}),
        json!({"x": 0, "y": 0, "base_version": 1}),
        json!({"x": 0, "y": 0, "id": ""}),
        json!({"x": 0, "y": 0, "id": "a/b"}),
        json!({"x": 0, "y": 0, "id": "a".repeat(65)}),
        json!({"x": 0, "y": 0, "id": 12}),
        json!({"x": 0, "y": 0, "op": ""}),
        json!({"x": 0, "y": 0, "op": "bad op!"}),
        json!({"x": 0, "y": 0, "op": "o".repeat(65)}),
    ] {
        bodies.push(v.to_string());
    }
    bodies.push(r#"{"x": 1e400, "y": 0}"#.into());
    bodies.push(r#"{"x": NaN, "y": 0}"#.into());
    bodies.push(r#"{"x": 0, "y": 0, "text": "unterminated}"#.into());
    for b in &bodies {
        w.refused(Method::POST, &p, b, 400, "bad_request").await;
    }
    // Text over the limit is too_large.
    let long = json!({"x": 0, "y": 0, "text": "a".repeat(10_001)}).to_string();
    w.refused(Method::POST, &p, &long, 413, "too_large").await;
    // Invalid UTF-8 in a body.
    let before = w.state().await;
    let mut raw = br#"{"x": 0, "y": 0, "text": ""#.to_vec();
    raw.extend_from_slice(&[0xff, 0xfe]);
    raw.extend_from_slice(br#""}"#);
    let r = w.owner.raw(Method::POST, &p, raw, &JSON).await;
    assert_error(&r, 400, "bad_request");
    assert_eq!(w.state().await, before);
}

/// PATCH notes: empty updates (`{}`, only op, only base_version), nulls, wrong types, unknown fields and enums are 400 and write nothing.
#[tokio::test]
async fn update_note_bad_bodies() {
    let w = World::new().await;
    let p = w.note_path();
    let mut bodies: Vec<String> = NOT_AN_OBJECT.iter().map(|s| s.to_string()).collect();
    for v in [
        json!({}),
        json!({"op": "7f0c9a52-3b7e-4c8f-9d0a-000000000001"}),
        json!({"base_version": 1}),
        json!({"op": "7f0c9a52-3b7e-4c8f-9d0a-000000000002", "base_version": 1}),
        json!({"x": null}),
        json!({"text": null}),
        json!({"color": null}),
        json!({"x": 1, "base_version": null}),
        json!({"x": 1, "op": null}),
        json!({"x": "1"}),
        json!({"y": false}),
        json!({"text": ["a"]}),
        json!({"text": {"a": 1}}),
        json!({"color": "orange"}),
        json!({"color": "GRAY"}),
        json!({"w": 0}),
        json!({"h": -3}),
        json!({"w": "1"}),
        json!({"z": 1}),
        json!({"x": 1, "z": 1}),
        json!({"x": 1, "id": "other"}),
        json!({"x": 1, "version": 2}),
        json!({"x": 1, "base_version": -1}),
        json!({"x": 1, "base_version": 1.5}),
        json!({"x": 1, "base_version": "1"}),
        json!({"x": 1, "op": "bad op!"}),
    ] {
        bodies.push(v.to_string());
    }
    bodies.push(r#"{"x": 1e999}"#.into());
    for b in &bodies {
        w.refused(Method::PATCH, &p, b, 400, "bad_request").await;
    }
    let long = json!({"text": "é".repeat(10_001)}).to_string();
    w.refused(Method::PATCH, &p, &long, 413, "too_large").await;
}

/// An empty update with an op commits nothing and is not remembered: the same op then applies a real update.
#[tokio::test]
async fn empty_update_op_is_not_remembered() {
    let w = World::new().await;
    let op = "7f0c9a52-3b7e-4c8f-9d0a-00000000000a";
    let r = w.owner.patch(&w.note_path(), json!({"op": op})).await;
    assert_error(&r, 400, "bad_request");
    let seq = w.owner.get(&w.board_path()).await.body["seq"]
        .as_u64()
        .unwrap();
    let r = w
        .owner
        .patch(&w.note_path(), json!({"op": op, "text": "real"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["seq"], seq + 1);
    assert_eq!(r.body["note"]["text"], "real");
}

/// DELETE notes: an optional body must still be valid `{op?}`; bad ones are 400 and the note survives.
#[tokio::test]
async fn delete_note_bad_bodies() {
    let w = World::new().await;
    let p = w.note_path();
    for b in [
        "{",
        "nope",
        "42",
        r#"{"z": 1}"#,
        r#"{"op": 5}"#,
        r#"{"op": null}"#,
        r#"{"op": "bad op!"}"#,
        r#"{"op": ""}"#,
    ] {
        w.refused(Method::DELETE, &p, b, 400, "bad_request").await;
    }
    // An empty body is fine.
    let r = w.owner.delete(&p).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// POST /api/boards and PATCH board: bad bodies and titles are 400 (no board created, title and seq unchanged).
#[tokio::test]
async fn board_bad_bodies() {
    let w = World::new().await;
    let mut bodies: Vec<String> = NOT_AN_OBJECT.iter().map(|s| s.to_string()).collect();
    for v in [
        json!({}),
        json!({"title": ""}),
        json!({"title": "  "}),
        json!({"title": null}),
        json!({"title": 5}),
        json!({"title": ["a"]}),
        json!({"title": "ok", "owner": "someone"}),
        json!({"title": "ok", "role": "owner"}),
        json!({"name": "ok"}),
        json!({"title": "é".repeat(201)}),
        json!({"title": "x".repeat(1000)}),
        json!({"title": "ok", "op": null}),
        json!({"title": "ok", "op": "not an op id"}),
        json!({"title": "ok", "op": 7}),
    ] {
        bodies.push(v.to_string());
    }
    let bp = w.board_path();
    for b in &bodies {
        w.refused(Method::POST, "/api/boards", b, 400, "bad_request")
            .await;
        w.refused(Method::PATCH, &bp, b, 400, "bad_request").await;
    }
}

/// Signup: malformed, mistyped, null, unknown-field and oversized bodies are 400 and create no account.
#[tokio::test]
async fn signup_bad_bodies() {
    let s = TestServer::start().await;
    let anon = s.anon();
    let mut bodies: Vec<String> = NOT_AN_OBJECT.iter().map(|s| s.to_string()).collect();
    for v in [
        json!({}),
        json!({"username": "zed"}),
        json!({"password": "password123"}),
        json!({"username": null, "password": "password123"}),
        json!({"username": "zed", "password": null}),
        json!({"username": 5, "password": "password123"}),
        json!({"username": "zed", "password": 12345678}),
        json!({"username": ["zed"], "password": "password123"}),
        json!({"username": "zed", "password": "password123", "email": "z@x"}),
        json!({"username": "zed", "password": "password123", "role": "admin"}),
        json!({"username": "zed", "password": "short"}),
        json!({"username": "zed", "password": "p".repeat(257)}),
        json!({"username": "z".repeat(33), "password": "password123"}),
        json!({"username": "zed zed", "password": "password123"}),
    ] {
        bodies.push(v.to_string());
    }
    for b in &bodies {
        let r = anon
            .raw(Method::POST, "/api/auth/signup", b.clone(), &JSON)
            .await;
        assert_error(&r, 400, "bad_request");
        assert!(r.cookie.is_none(), "{b}");
    }
    // No account "zed" was created by any of them.
    let login = anon
        .post(
            "/api/auth/login",
            json!({"username": "zed", "password": "password123"}),
        )
        .await;
    assert_error(&login, 401, "unauthorized");
    let ok = anon
        .post(
            "/api/auth/signup",
            json!({"username": "zed", "password": "password123"}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

/// Login: malformed or mistyped bodies are 400, not 401, and open no session.
#[tokio::test]
async fn login_bad_bodies() {
    let s = TestServer::start().await;
    s.user("ann").await;
    let anon = s.anon();
    for b in [
        "",
        "{",
        "[]",
        r#"{"username": "ann"}"#,
        r#"{"username": "ann", "password": null}"#,
        r#"{"username": "ann", "password": 5}"#,
        r#"{"username": "ann", "password": "password123", "remember": true}"#,
    ] {
        let r = anon
            .raw(Method::POST, "/api/auth/login", b.to_owned(), &JSON)
            .await;
        assert_error(&r, 400, "bad_request");
        assert!(r.cookie.is_none());
    }
}

/// Invites and member roles: unknown role values ("admin"), "owner", null and unknown fields are 400 and change nothing.
#[tokio::test]
async fn role_bad_bodies() {
    let w = World::new().await;
    let inv = format!("{}/invites", w.board_path());
    let mem = format!("{}/members/{}", w.board_path(), w.editor.id());
    for v in [
        json!({}),
        json!({"role": "admin"}),
        json!({"role": "Editor"}),
        json!({"role": ""}),
        json!({"role": null}),
        json!({"role": 1}),
        json!({"role": "owner"}),
        json!({"role": "editor", "extra": true}),
    ] {
        let b = v.to_string();
        w.refused(Method::POST, &inv, &b, 400, "bad_request").await;
        w.refused(Method::PATCH, &mem, &b, 400, "bad_request").await;
    }
    for b in NOT_AN_OBJECT {
        w.refused(Method::POST, &inv, b, 400, "bad_request").await;
        w.refused(Method::PATCH, &mem, b, 400, "bad_request").await;
    }
    for v in [
        json!({"role": "viewer", "username": 5}),
        json!({"role": "viewer", "username": ["editor"]}),
    ] {
        w.refused(Method::POST, &inv, &v.to_string(), 400, "bad_request")
            .await;
    }
    assert_eq!(
        w.editor.get(&w.board_path()).await.body["board"]["role"],
        "editor"
    );
}

/// Tokens: bad names and bodies are 400 and create no token.
#[tokio::test]
async fn token_bad_bodies() {
    let w = World::new().await;
    let mut bodies: Vec<String> = NOT_AN_OBJECT.iter().map(|s| s.to_string()).collect();
    for v in [
        json!({}),
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": null}),
        json!({"name": 1}),
        json!({"name": "x".repeat(101)}),
        json!({"name": "ci", "expires": 3}),
    ] {
        bodies.push(v.to_string());
    }
    for b in &bodies {
        w.refused(Method::POST, "/api/tokens", b, 400, "bad_request")
            .await;
    }
}

/// A body over 1 MiB is 413 too_large on every JSON endpoint (even if it is valid JSON); exactly 1 MiB is accepted.
#[tokio::test]
async fn bodies_over_one_mib_are_too_large() {
    let w = World::new().await;
    let limit = 1 << 20;
    let pad = |json: &str, total: usize| format!("{json}{}", " ".repeat(total - json.len()));
    let cases = [
        (Method::POST, w.notes(), r#"{"x":1,"y":2}"#),
        (Method::PATCH, w.note_path(), r#"{"x":1}"#),
        (Method::POST, "/api/boards".to_owned(), r#"{"title":"t"}"#),
        (Method::PATCH, w.board_path(), r#"{"title":"t"}"#),
        (Method::POST, "/api/tokens".to_owned(), r#"{"name":"t"}"#),
    ];
    for (m, p, json) in &cases {
        w.refused(m.clone(), p, &pad(json, limit + 1), 413, "too_large")
            .await;
        w.refused(m.clone(), p, &pad(json, 3 * limit), 413, "too_large")
            .await;
    }
    let r =
        w.s.anon()
            .raw(
                Method::POST,
                "/api/auth/signup",
                pad(r#"{"username":"big","password":"password123"}"#, limit + 1),
                &JSON,
            )
            .await;
    assert_error(&r, 413, "too_large");
    // One huge text string is too_large too.
    let huge = json!({"x": 0, "y": 0, "text": "a".repeat(limit)}).to_string();
    w.refused(Method::POST, &w.notes(), &huge, 413, "too_large")
        .await;
    // Exactly at the limit passes.
    let r = w
        .owner
        .raw(
            Method::POST,
            &w.notes(),
            pad(r#"{"x":1,"y":2}"#, limit),
            &JSON,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// A smaller configured body limit applies the same way.
#[tokio::test]
async fn configured_body_limit() {
    let w = World::with(|c| c.max_body_bytes = 100).await;
    let body = format!(r#"{{"x":1,"y":2,"text":"{}"}}"#, "a".repeat(100));
    w.refused(Method::POST, &w.notes(), &body, 413, "too_large")
        .await;
    let r = w.owner.post(&w.notes(), json!({"x": 1, "y": 2})).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Ids that do not exist (board, note, member, invite token) are 404 not_found and change nothing.
#[tokio::test]
async fn unknown_ids_are_not_found() {
    let w = World::new().await;
    let b = &w.board;
    let n = &w.note;
    let other = w.owner.board("Other").await;
    let foreign_note = w.owner.note(&other, json!({"x": 0, "y": 0})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stranger = w.s.user("stranger").await;
    let missing = "01900000-0000-7000-8000-000000000000";
    let cases = vec![
        (Method::GET, format!("/api/boards/{missing}"), None),
        (
            Method::PATCH,
            format!("/api/boards/{missing}"),
            Some(json!({"title": "t"})),
        ),
        (Method::DELETE, format!("/api/boards/{missing}"), None),
        (Method::GET, format!("/api/boards/{missing}/members"), None),
        (
            Method::POST,
            format!("/api/boards/{missing}/invites"),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::POST,
            format!("/api/boards/{missing}/notes"),
            Some(json!({"x": 0, "y": 0})),
        ),
        (
            Method::PATCH,
            format!("/api/boards/{missing}/notes/{n}"),
            Some(json!({"x": 0})),
        ),
        (
            Method::DELETE,
            format!("/api/boards/{missing}/notes/{n}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/boards/{b}/notes/{missing}"),
            Some(json!({"x": 0})),
        ),
        (
            Method::DELETE,
            format!("/api/boards/{b}/notes/{missing}"),
            None,
        ),
        // A note that exists, but on another board.
        (
            Method::PATCH,
            format!("/api/boards/{b}/notes/{foreign_note}"),
            Some(json!({"x": 0})),
        ),
        (
            Method::DELETE,
            format!("/api/boards/{b}/notes/{foreign_note}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/boards/{b}/members/{missing}"),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::DELETE,
            format!("/api/boards/{b}/members/{missing}"),
            None,
        ),
        // A real user who is not a member.
        (
            Method::PATCH,
            format!("/api/boards/{b}/members/{}", stranger.id()),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::DELETE,
            format!("/api/boards/{b}/members/{}", stranger.id()),
            None,
        ),
        (Method::POST, "/api/invites/cbi_nope/accept".into(), None),
        (Method::POST, format!("/api/invites/{missing}/accept"), None),
    ];
    let other_before = w.owner.get(&format!("/api/boards/{other}")).await.body;
    for (m, p, body) in cases {
        let before = w.state().await;
        let r = w.owner.call(m.clone(), &p, body).await;
        assert_eq!(r.status, 404, "{m} {p}: {}", r.text);
        assert_error(&r, 404, "not_found");
        assert_eq!(w.state().await, before, "{m} {p} changed state");
    }
    assert_eq!(
        w.owner.get(&format!("/api/boards/{other}")).await.body,
        other_before
    );
    // A stranger accepting a bogus invite gains nothing.
    let r = stranger
        .call(Method::POST, "/api/invites/cbi_nope/accept", None)
        .await;
    assert_error(&r, 404, "not_found");
    assert_eq!(
        stranger.get("/api/boards").await.body,
        json!({"boards": []})
    );
}

/// Unknown routes and unsupported methods get 404 with the contract's error body, with or without credentials.
#[tokio::test]
async fn unknown_routes_are_not_found() {
    let w = World::new().await;
    let b = &w.board;
    let cases = vec![
        (Method::GET, "/api/nope".to_owned()),
        (Method::POST, "/nope".to_owned()),
        (Method::POST, "/api/boards/x/y/z".to_owned()),
        (Method::GET, format!("/api/boards/{b}/nope")),
        (Method::PUT, format!("/api/boards/{b}")),
        (Method::GET, format!("/api/boards/{b}/notes")),
        (Method::DELETE, "/api/boards".to_owned()),
        (Method::GET, "/api/auth/signup".to_owned()),
    ];
    for (m, p) in cases {
        for c in [&w.owner, &w.s.anon()] {
            let before = w.state().await;
            let r = c.call(m.clone(), &p, None).await;
            assert_eq!(r.status, 404, "{m} {p}: {}", r.text);
            assert_error(&r, 404, "not_found");
            assert_eq!(w.state().await, before);
        }
    }
}

/// Outside `/api`, GET is the web UI's: an unknown page is a 404 (the UI's
/// own page when the UI is built in), never a 200.
#[tokio::test]
async fn unknown_pages_are_not_found() {
    let w = World::new().await;
    let r = w.s.anon().get("/no/such/page").await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = w.s.anon().get("/").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A foreign Origin on POST/PATCH/DELETE is 403 forbidden whatever the credentials, and nothing changes.
#[tokio::test]
async fn foreign_origin_is_forbidden() {
    let w = World::new().await;
    let port = w.s.base.rsplit(':').next().unwrap().to_owned();
    let foreign = [
        "http://evil.example".to_owned(),
        "null".to_owned(),
        format!("https://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{}", port.parse::<u16>().unwrap() ^ 1),
        "http://127.0.0.1".to_owned(),
    ];
    let token = w.owner.post("/api/tokens", json!({"name": "t"})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = w.owner.with_bearer(&token);
    let inv = format!("{}/invites", w.board_path());
    let cases = vec![
        (
            Method::POST,
            "/api/boards".to_owned(),
            json!({"title": "t"}).to_string(),
        ),
        (
            Method::PATCH,
            w.board_path(),
            json!({"title": "evil"}).to_string(),
        ),
        (Method::DELETE, w.board_path(), String::new()),
        (Method::POST, inv, json!({"role": "editor"}).to_string()),
        (Method::POST, w.notes(), json!({"x": 0, "y": 0}).to_string()),
        (
            Method::PATCH,
            w.note_path(),
            json!({"text": "evil"}).to_string(),
        ),
        (Method::DELETE, w.note_path(), String::new()),
        (
            Method::DELETE,
            format!("{}/members/{}", w.board_path(), w.editor.id()),
            String::new(),
        ),
        (
            Method::POST,
            "/api/tokens".to_owned(),
            json!({"name": "evil"}).to_string(),
        ),
        (Method::POST, "/api/auth/logout".to_owned(), String::new()),
    ];
    for origin in &foreign {
        for (m, p, body) in &cases {
            for c in [&w.owner, &bearer] {
                let before = w.state().await;
                let r = c
                    .raw(
                        m.clone(),
                        p,
                        body.clone(),
                        &[("content-type", "application/json"), ("origin", origin)],
                    )
                    .await;
                assert_eq!(r.status, 403, "{m} {p} from {origin}: {}", r.text);
                assert_error(&r, 403, "forbidden");
                assert_eq!(w.state().await, before, "{m} {p} from {origin}");
            }
        }
    }
    // The session survived the refused logout.
    assert_eq!(w.owner.get("/api/me").await.status, 200);
    // Signup and login from a foreign origin are refused too.
    let anon = w.s.anon();
    let creds = json!({"username": "mallory", "password": "password123"}).to_string();
    let hdr = [
        ("content-type", "application/json"),
        ("origin", "http://evil.example"),
    ];
    let r = anon
        .raw(Method::POST, "/api/auth/signup", creds.clone(), &hdr)
        .await;
    assert_error(&r, 403, "forbidden");
    assert!(r.cookie.is_none());
    let r = anon
        .raw(
            Method::POST,
            "/api/auth/login",
            json!({"username": "owner", "password": "password123"}).to_string(),
            &hdr,
        )
        .await;
    assert_error(&r, 403, "forbidden");
    assert!(r.cookie.is_none());
    // mallory was not created.
    let r = anon
        .raw(Method::POST, "/api/auth/signup", creds, &JSON)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Reads (GET) are not refused for a foreign Origin.
#[tokio::test]
async fn foreign_origin_may_read() {
    let w = World::new().await;
    let r = w
        .owner
        .raw(
            Method::GET,
            &w.board_path(),
            "",
            &[("origin", "http://evil.example")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The server's own origin passes, as does a request with no Origin header at all.
#[tokio::test]
async fn own_origin_and_no_origin_pass() {
    let w = World::new().await;
    let own = w.s.base.clone();
    let hdr = [("content-type", "application/json"), ("origin", &own)];
    let r = w
        .owner
        .raw(
            Method::POST,
            &w.notes(),
            json!({"x": 0, "y": 0}).to_string(),
            &hdr,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let n = r.body["note"]["id"].as_str().unwrap().to_owned();
    let path = format!("{}/{n}", w.notes());
    let r = w
        .owner
        .raw(
            Method::PATCH,
            &path,
            json!({"text": "own"}).to_string(),
            &hdr,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = w.owner.raw(Method::DELETE, &path, "", &hdr).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = w
        .owner
        .raw(
            Method::POST,
            "/api/boards",
            json!({"title": "own"}).to_string(),
            &hdr,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r =
        w.s.anon()
            .raw(
                Method::POST,
                "/api/auth/signup",
                json!({"username": "newbie", "password": "password123"}).to_string(),
                &hdr,
            )
            .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // No Origin header: a non-browser client.
    let r = w.owner.post(&w.notes(), json!({"x": 0, "y": 0})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = w.owner.raw(Method::DELETE, &w.board_path(), "", &[]).await;
    assert_eq!(r.status, 204, "{}", r.text);
}

/// With `allowed_origin = ["http://localhost:3000"]` that origin passes, the own origin still passes, and others are refused.
#[tokio::test]
async fn configured_allowed_origin_passes() {
    let w = World::with(|c| c.allowed_origin = vec!["http://localhost:3000".into()]).await;
    let body = json!({"x": 0, "y": 0}).to_string();
    for (origin, status) in [
        ("http://localhost:3000", 201),
        (w.s.base.as_str(), 201),
        ("http://localhost:3001", 403),
        ("http://evil.example", 403),
    ] {
        let before = w.state().await;
        let r = w
            .owner
            .raw(
                Method::POST,
                &w.notes(),
                body.clone(),
                &[("content-type", "application/json"), ("origin", origin)],
            )
            .await;
        assert_eq!(r.status, status, "{origin}: {}", r.text);
        if status == 403 {
            assert_error(&r, 403, "forbidden");
            assert_eq!(w.state().await, before);
        }
    }
}

/// A JSON array is not an object: positional bodies like `["title"]` must be 400 and write nothing.
#[tokio::test]
async fn array_bodies_are_refused() {
    let w = World::new().await;
    let bp = w.board_path();
    let np = w.note_path();
    let mem = format!("{bp}/members/{}", w.editor.id());
    let cases: Vec<(Method, &str, &str)> = vec![
        (Method::POST, "/api/boards", r#"["Sneaky"]"#),
        (Method::PATCH, &bp, r#"["Renamed"]"#),
        (Method::POST, "/api/tokens", r#"["tok"]"#),
        (Method::PATCH, &mem, r#"["viewer"]"#),
        (Method::PATCH, &np, r#"["op-1", 99, "positional"]"#),
        (Method::DELETE, &np, "[]"),
    ];
    for (m, p, b) in cases {
        w.refused(m, p, b, 400, "bad_request").await;
    }
    let r =
        w.s.anon()
            .raw(
                Method::POST,
                "/api/auth/signup",
                r#"["arrayuser", "password123"]"#,
                &JSON,
            )
            .await;
    assert_error(&r, 400, "bad_request");
}

/// A 413 the client actually receives: the server drains an over-limit body
/// before answering, instead of closing while the client is still sending
/// (about 1 in 20 such requests saw a connection reset instead of the 413).
/// The client here sends its 2 MiB in pieces, as a slow uplink would, then
/// reads the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_oversized_body_gets_its_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("big").await;
    let Auth::Cookie(cookie) = &ann.auth else {
        panic!("a session")
    };
    let addr = s.base.trim_start_matches("http://").to_owned();
    let total = 2 << 20;
    let mut lost = 0;
    for _ in 0..10 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /api/boards/{b}/notes HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: corkboard_session={cookie}\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n"
        );
        c.write_all(head.as_bytes()).await.unwrap();
        let piece = vec![b' '; 64 << 10];
        for _ in 0..total / piece.len() {
            if c.write_all(&piece).await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        let mut out = Vec::new();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(5), c.read_to_end(&mut out)).await;
        if !String::from_utf8_lossy(&out).starts_with("HTTP/1.1 413") {
            lost += 1;
        }
    }
    assert_eq!(lost, 0, "{lost} of 10 never received their 413");
}
