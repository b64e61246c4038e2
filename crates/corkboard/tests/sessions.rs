//! Sessions over real HTTP and WebSocket: the list, revoking one, "sign out
//! everywhere (else)", the password change, and server-side idle and
//! absolute expiry (protocol.md, "Sessions"). Every revocation closes the
//! session's WebSockets with 4001 and ends its SSE streams; the current
//! session keeps working.

mod common;

use std::time::Duration;

use common::sse::{Next, Sse};
use common::ws::{Closed, Ws};
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Logs `name` in again (password `password`), with `agent` as User-Agent:
/// a fresh session of the same user.
async fn login_as(s: &TestServer, name: &str, password: &str, agent: &str) -> Client {
    let anon = s.anon();
    let body = json!({"username": name, "password": password}).to_string();
    let r = anon
        .raw(
            Method::POST,
            "/api/auth/login",
            body,
            &[("content-type", "application/json"), ("user-agent", agent)],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    Client {
        auth: Auth::Cookie(r.cookie.expect("cookie")),
        user: r.body["user"].clone(),
        ..anon
    }
}

async fn login(s: &TestServer, name: &str) -> Client {
    login_as(s, name, "password123", "test-agent/1").await
}

/// The caller's sessions as listed.
async fn sessions(c: &Client) -> Vec<Value> {
    let r = c.get("/api/sessions").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["sessions"].as_array().expect("sessions").clone()
}

/// The id of the caller's current session.
async fn current_id(c: &Client) -> String {
    let all = sessions(c).await;
    let cur: Vec<_> = all.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(cur.len(), 1, "exactly one current session: {all:?}");
    cur[0]["id"].as_str().unwrap().to_owned()
}

/// A live WebSocket and notification stream of `c`.
async fn live(c: &Client) -> (Ws, Sse) {
    let ws = Ws::connect(c).await;
    let sse = common::sse::open(c, "/api/notifications/stream", &[]).await;
    (ws, sse)
}

/// Asserts both connections end: the WebSocket with 4001.
async fn assert_ended(ws: &mut Ws, sse: &mut Sse) {
    assert_eq!(ws.closed().await, Closed::Code(4001));
    loop {
        match sse.next_within(Duration::from_secs(5)).await {
            Next::Ended => break,
            Next::Block(_) => continue,
            Next::Timeout => panic!("the stream outlived its session"),
        }
    }
}

/// Asserts `c` is refused (401 `unauthorized`) on REST.
async fn assert_signed_out(c: &Client) {
    let r = c.get("/api/me").await;
    assert_error(&r, 401, "unauthorized");
}

/// Every session is listed with its times and the agent it signed in with,
/// never its secret, and exactly one is marked current.
#[tokio::test]
async fn sessions_are_listed_without_secrets() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let other = login_as(&s, "ann", "password123", "agent-b/2").await;
    let list = sessions(&ann).await;
    assert_eq!(list.len(), 2);
    let mut keys: Vec<_> = list[1].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "current",
            "expires_at",
            "id",
            "ip",
            "last_used_at",
            "user_agent"
        ]
    );
    assert_eq!(list[1]["user_agent"], "agent-b/2");
    assert_eq!(list[1]["ip"], "127.0.0.1");
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[1]["current"], false);
    assert!(list[0].get("user_agent").is_none(), "no agent was sent");
    let text = ann.get("/api/sessions").await.text;
    assert!(!text.contains("cbs_"), "no secret in {text}");
    assert_eq!(current_id(&other).await, list[1]["id"].as_str().unwrap());
    // A token sees the sessions, none of them current.
    let t = ann.post("/api/tokens", json!({"name": "ci"})).await;
    let bearer = ann.with_bearer(t.body["token"].as_str().unwrap());
    let via_token = sessions(&bearer).await;
    assert_eq!(via_token.len(), 2);
    assert!(via_token.iter().all(|s| s["current"] == false));
}

/// Revoking another session closes its WebSocket (4001) and SSE stream and
/// signs it out; the current one keeps working; another user's id is 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_session_ends_its_connections() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let phone = login(&s, "ann").await;
    let bob = s.user("bob").await;
    let phone_id = current_id(&phone).await;
    let (mut ws, mut sse) = live(&phone).await;
    assert_error(
        &bob.delete(&format!("/api/sessions/{phone_id}")).await,
        404,
        "not_found",
    );
    assert_eq!(phone.get("/api/me").await.status, 200);
    let r = ann.delete(&format!("/api/sessions/{phone_id}")).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_ended(&mut ws, &mut sse).await;
    assert_signed_out(&phone).await;
    assert_eq!(ann.get("/api/me").await.status, 200);
    assert_error(
        &ann.delete(&format!("/api/sessions/{phone_id}")).await,
        404,
        "not_found",
    );
    assert_eq!(sessions(&ann).await.len(), 1);
}

/// "Sign out everywhere else" ends every other session and its connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_others_keeps_only_the_current_session() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let phone = login(&s, "ann").await;
    let laptop = login(&s, "ann").await;
    let bob = s.user("bob").await;
    let (mut ws1, mut sse1) = live(&phone).await;
    let (mut ws2, mut sse2) = live(&laptop).await;
    let (mut ws_ann, _sse_ann) = live(&ann).await;
    let r = ann
        .call(Method::POST, "/api/sessions/revoke-others", None)
        .await;
    assert_eq!((r.status, &r.body), (200, &json!({"revoked": 2})));
    assert_ended(&mut ws1, &mut sse1).await;
    assert_ended(&mut ws2, &mut sse2).await;
    assert_signed_out(&phone).await;
    assert_signed_out(&laptop).await;
    assert_eq!(ann.get("/api/me").await.status, 200);
    assert_eq!(
        bob.get("/api/me").await.status,
        200,
        "other users are untouched"
    );
    assert_eq!(sessions(&ann).await.len(), 1);
    assert!(
        ws_ann.sync().await.is_empty(),
        "the current session's socket stays open"
    );
}

/// "Sign out everywhere" ends this session too and clears its cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_all_ends_every_session() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let phone = login(&s, "ann").await;
    let (mut ws, mut sse) = live(&ann).await;
    let r = ann.call(Method::POST, "/api/auth/logout-all", None).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert!(r.set_cookie.unwrap_or_default().contains("Max-Age=0"));
    assert_ended(&mut ws, &mut sse).await;
    assert_signed_out(&ann).await;
    assert_signed_out(&phone).await;
}

/// A password change needs the current password (403 otherwise), obeys the
/// signup rule, ends the other sessions and their connections, keeps this
/// one and the API tokens; the old password no longer logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_ends_the_other_sessions() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let phone = login(&s, "ann").await;
    let t = ann.post("/api/tokens", json!({"name": "ci"})).await;
    let bearer = ann.with_bearer(t.body["token"].as_str().unwrap());
    let (mut ws, mut sse) = live(&phone).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    let r = ann
        .post(
            "/api/auth/password",
            change("wrong-password", "new-password-1"),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    let r = ann
        .post("/api/auth/password", change("password123", "short"))
        .await;
    assert_error(&r, 400, "bad_request");
    let r = ann
        .post(
            "/api/auth/password",
            json!({"current_password": "password123"}),
        )
        .await;
    assert_error(&r, 400, "bad_request");
    assert_eq!(
        phone.get("/api/me").await.status,
        200,
        "nothing changed yet"
    );
    let r = ann
        .post(
            "/api/auth/password",
            change("password123", "new-password-1"),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_ended(&mut ws, &mut sse).await;
    assert_signed_out(&phone).await;
    assert_eq!(ann.get("/api/me").await.status, 200);
    assert_eq!(bearer.get("/api/me").await.status, 200, "tokens are kept");
    let r = s
        .anon()
        .post(
            "/api/auth/login",
            json!({"username": "ann", "password": "password123"}),
        )
        .await;
    assert_error(&r, 401, "unauthorized");
    login_as(&s, "ann", "new-password-1", "x").await;
}

/// Guesses of the current password are throttled like logins.
#[tokio::test]
async fn password_guesses_are_throttled() {
    let s = TestServer::start_with(|c| c.login_backoff_after = 2).await;
    let ann = s.user("ann").await;
    let guess = json!({"current_password": "guess-guess", "new_password": "new-password-1"});
    assert_error(
        &ann.post("/api/auth/password", guess.clone()).await,
        403,
        "forbidden",
    );
    assert_error(
        &ann.post("/api/auth/password", guess.clone()).await,
        403,
        "forbidden",
    );
    let r = ann.post("/api/auth/password", guess).await;
    assert_error(&r, 429, "rate_limited");
    assert!(
        r.body["error"]["details"]["retry_after"].as_u64().is_some(),
        "{:?}",
        r.body
    );
}

/// A session used more often than the idle timeout lives on; left idle
/// longer than it, it is refused (401) and its cookie's Max-Age is the
/// absolute limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sessions_expire() {
    let s = TestServer::start_with(|c| {
        c.session_idle_timeout = 3;
        c.session_max_age = 1000;
    })
    .await;
    let r = s
        .anon()
        .post(
            "/api/auth/signup",
            json!({"username": "ann", "password": "password123"}),
        )
        .await;
    assert!(r
        .set_cookie
        .as_deref()
        .unwrap_or_default()
        .contains("Max-Age=1000"));
    let ann = Client {
        auth: Auth::Cookie(r.cookie.expect("cookie")),
        ..s.anon()
    };
    let start = tokio::time::Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        assert_eq!(ann.get("/api/me").await.status, 200, "used, so alive");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let r = ann.get("/api/me").await;
    assert_error(&r, 401, "unauthorized");
}

/// However often it is used, a session ends at its absolute limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_at_their_max_age() {
    let s = TestServer::start_with(|c| {
        c.session_idle_timeout = 1000;
        c.session_max_age = 2;
    })
    .await;
    let ann = s.user("ann").await;
    let start = tokio::time::Instant::now();
    loop {
        let r = ann.get("/api/me").await;
        if r.status == 401 {
            break;
        }
        assert_eq!(r.status, 200);
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "still alive after 4 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "ended too early"
    );
    // Signing in again gives a fresh session.
    let again = login(&s, "ann").await;
    assert_eq!(again.get("/api/me").await.status, 200);
}

/// Left idle, a session ends on its own: its open WebSocket closes with
/// 4001, its SSE stream ends, its waiting long poll is answered 401, and a
/// new upgrade is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_closes_live_connections() {
    let s = TestServer::start_with(|c| {
        c.session_idle_timeout = 2;
        c.session_max_age = 1000;
    })
    .await;
    let ann = s.user("ann").await;
    let b = ann.board("b").await;
    let (mut ws, mut sse) = live(&ann).await;
    let poller = ann.clone();
    let path = format!("/api/boards/{b}/events?after=0&wait=20");
    let poll = tokio::spawn(async move { poller.get(&path).await });
    let start = tokio::time::Instant::now();
    assert_ended(&mut ws, &mut sse).await;
    let r = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the poll was answered at expiry")
        .unwrap();
    assert_eq!(r.status, 401, "{:?}", r.body);
    assert!(start.elapsed() < Duration::from_secs(8));
    match common::ws::try_connect(&ann, &[("sec-websocket-protocol", "corkboard.v1")]).await {
        Ok(_) => panic!("an expired session upgraded"),
        Err((status, _)) => assert_eq!(status, 401),
    }
    assert_signed_out(&ann).await;
}
