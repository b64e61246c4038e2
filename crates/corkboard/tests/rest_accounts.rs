//! Accounts over REST: signup, login, logout, `/api/me`, API tokens and the
//! per-IP signup and failed-login limits (protocol.md, "Authentication").

mod common;

use std::sync::Arc;

use common::*;
use corkboard::config::Config;
use corkboard::core::{ManualClock, Timestamp};
use reqwest::Method;
use serde_json::{json, Value};

/// Signs up `name` with `password` from an anonymous client.
async fn signup(s: &TestServer, name: &str, password: &str) -> Resp {
    s.anon()
        .post(
            "/api/auth/signup",
            json!({"username": name, "password": password}),
        )
        .await
}

/// Logs in `name` with `password` from an anonymous client.
async fn login(s: &TestServer, name: &str, password: &str) -> Resp {
    s.anon()
        .post(
            "/api/auth/login",
            json!({"username": name, "password": password}),
        )
        .await
}

/// A client of `s` holding the session cookie `cookie`.
fn with_cookie(s: &TestServer, cookie: &str) -> Client {
    Client {
        auth: Auth::Cookie(cookie.to_owned()),
        ..s.anon()
    }
}

/// The sorted keys of a JSON object.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// A stopped clock in the middle of a minute, so rate-limit windows cannot roll over mid-test.
fn mid_minute_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(Timestamp(1_790_000_000_000 + 30_000)))
}

/// Signup answers 201 `{user: {id, username}}` with an HttpOnly, SameSite=Lax, Path=/ cookie, not Secure over plain HTTP.
#[tokio::test]
async fn signup_returns_user_and_session_cookie() {
    let s = TestServer::start().await;
    let r = signup(&s, "ann", "password123").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(keys(&r.body), vec!["user"]);
    assert_eq!(keys(&r.body["user"]), vec!["id", "username"]);
    assert_eq!(r.body["user"]["username"], "ann");
    assert!(!r.body["user"]["id"].as_str().unwrap().is_empty());
    let sc = r.set_cookie.clone().expect("Set-Cookie");
    let attrs: Vec<String> = sc.split(';').map(|a| a.trim().to_lowercase()).collect();
    assert!(attrs.iter().any(|a| a == "httponly"), "{sc}");
    assert!(attrs.iter().any(|a| a == "samesite=lax"), "{sc}");
    assert!(attrs.iter().any(|a| a == "path=/"), "{sc}");
    assert!(!attrs.iter().any(|a| a == "secure"), "{sc}");
    let me = with_cookie(&s, &r.cookie.unwrap()).get("/api/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body, json!({"user": r.body["user"]}));
}

/// With `secure_cookies` (TLS in front), the session cookie carries `Secure`.
#[tokio::test]
async fn secure_cookies_flag_marks_cookie_secure() {
    let s = TestServer::start_with(|c| c.secure_cookies = true).await;
    let r = signup(&s, "ann", "password123").await;
    assert_eq!(r.status, 201, "{}", r.text);
    let sc = r.set_cookie.expect("Set-Cookie");
    assert!(
        sc.split(';')
            .any(|a| a.trim().eq_ignore_ascii_case("secure")),
        "{sc}"
    );
}

/// Usernames must be 3–32 characters: 2 and 33 are refused, 3 and 32 accepted.
#[tokio::test]
async fn username_length_bounds() {
    let s = TestServer::start().await;
    for bad in ["", "a", "ab", &"a".repeat(33)] {
        assert_error(&signup(&s, bad, "password123").await, 400, "bad_request");
    }
    assert_eq!(signup(&s, "abc", "password123").await.status, 201);
    let long = "b".repeat(32);
    let r = signup(&s, &long, "password123").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["user"]["username"], long.as_str());
}

/// Usernames may only hold `[a-z0-9_.-]`; spaces, punctuation and non-ASCII letters are refused.
#[tokio::test]
async fn username_character_rules() {
    let s = TestServer::start().await;
    for bad in [
        "a b c",
        "ann!",
        "an/n",
        "émile",
        "ann@x",
        "a\u{0}bc",
        "ann\n",
        "日本語名",
    ] {
        assert_error(&signup(&s, bad, "password123").await, 400, "bad_request");
    }
    let r = signup(&s, "a.b-c_d9", "password123").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["user"]["username"], "a.b-c_d9");
}

/// Uppercase usernames are stored lowercased, and login accepts any case.
#[tokio::test]
async fn username_is_normalized_to_lowercase() {
    let s = TestServer::start().await;
    let r = signup(&s, "Bob_Smith", "password123").await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["user"]["username"], "bob_smith");
    let id = r.body["user"]["id"].clone();
    for name in ["bob_smith", "BOB_SMITH", "Bob_Smith"] {
        let l = login(&s, name, "password123").await;
        assert_eq!(l.status, 200, "login as {name}: {}", l.text);
        assert_eq!(l.body["user"]["id"], id);
        assert_eq!(l.body["user"]["username"], "bob_smith");
    }
}

/// A taken name is 409 conflict, whatever its case, and the first account is untouched.
#[tokio::test]
async fn username_uniqueness_is_case_insensitive() {
    let s = TestServer::start().await;
    assert_eq!(signup(&s, "carol", "password123").await.status, 201);
    for dup in ["carol", "CAROL", "Carol"] {
        assert_error(&signup(&s, dup, "otherpass99").await, 409, "conflict");
    }
    assert_eq!(login(&s, "carol", "password123").await.status, 200);
    assert_error(
        &login(&s, "carol", "otherpass99").await,
        401,
        "unauthorized",
    );
}

/// Passwords are 8–256 characters counted as characters: 8 "é" (16 bytes) pass, 7 fail, 257 fail.
#[tokio::test]
async fn password_length_counts_characters() {
    let s = TestServer::start().await;
    let cases: Vec<(String, bool)> = vec![
        ("1234567".into(), false),
        ("ééééééé".into(), false),
        (String::new(), false),
        ("x".repeat(257), false),
        ("é".repeat(257), false),
        ("12345678".into(), true),
        ("éééééééé".into(), true),
        ("x".repeat(256), true),
        ("é".repeat(256), true),
    ];
    for (i, (pw, ok)) in cases.iter().enumerate() {
        let name = format!("user{i}");
        let r = signup(&s, &name, pw).await;
        if *ok {
            assert_eq!(r.status, 201, "{} chars: {}", pw.chars().count(), r.text);
            assert_eq!(login(&s, &name, pw).await.status, 200);
        } else {
            assert_error(&r, 400, "bad_request");
            // Nothing was created: the name is still free.
            assert_error(&login(&s, &name, pw).await, 401, "unauthorized");
        }
    }
}

/// Login answers 200 `{user}` with a fresh working session cookie.
#[tokio::test]
async fn login_opens_a_new_session() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let r = login(&s, "ann", "password123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(keys(&r.body), vec!["user"]);
    assert_eq!(r.body["user"], ann.user);
    let cookie = r.cookie.clone().expect("session cookie");
    let Auth::Cookie(first) = &ann.auth else {
        panic!()
    };
    assert_ne!(&cookie, first, "each login is a new session");
    let sc = r.set_cookie.unwrap().to_lowercase();
    assert!(
        sc.contains("httponly") && sc.contains("samesite=lax"),
        "{sc}"
    );
    let me = with_cookie(&s, &cookie).get("/api/me").await;
    assert_eq!(me.body["user"], ann.user);
}

/// A wrong password and an unknown user both get 401 unauthorized, indistinguishably, with no cookie.
#[tokio::test]
async fn login_failures_are_401() {
    let s = TestServer::start().await;
    s.user("ann").await;
    let wrong = login(&s, "ann", "password124").await;
    assert_error(&wrong, 401, "unauthorized");
    assert!(wrong.cookie.is_none());
    let unknown = login(&s, "nobody", "password123").await;
    assert_error(&unknown, 401, "unauthorized");
    assert!(unknown.cookie.is_none());
    assert_eq!(
        wrong.body["error"]["message"], unknown.body["error"]["message"],
        "a wrong password must not reveal that the user exists"
    );
    assert_error(&login(&s, "ann", "").await, 401, "unauthorized");
}

/// Logout answers 204; that session's cookie then gets 401, while another session of the same user still works.
#[tokio::test]
async fn logout_revokes_only_that_session() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let other = with_cookie(&s, &login(&s, "ann", "password123").await.cookie.unwrap());
    assert_eq!(ann.get("/api/me").await.status, 200);
    let r = ann.call(Method::POST, "/api/auth/logout", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    assert_error(&ann.get("/api/me").await, 401, "unauthorized");
    assert_error(&ann.get("/api/boards").await, 401, "unauthorized");
    assert_error(
        &ann.post("/api/boards", json!({"title": "t"})).await,
        401,
        "unauthorized",
    );
    assert_eq!(other.get("/api/me").await.body["user"], ann.user);
    // Logging out again with the dead cookie is itself unauthorized.
    assert_error(
        &ann.call(Method::POST, "/api/auth/logout", None).await,
        401,
        "unauthorized",
    );
}

/// `/api/me` is 401 without credentials or with a made-up one, and `{user}` with a session.
#[tokio::test]
async fn me_requires_credentials() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    assert_error(&s.anon().get("/api/me").await, 401, "unauthorized");
    assert_error(
        &with_cookie(&s, "cbs_bogus").get("/api/me").await,
        401,
        "unauthorized",
    );
    assert_error(
        &ann.with_bearer("cbt_bogus").get("/api/me").await,
        401,
        "unauthorized",
    );
    let me = ann.get("/api/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body, json!({"user": ann.user}));
}

/// POST /api/tokens → 201 `{id, name, token, created_at}`; the token works as a Bearer on any endpoint.
#[tokio::test]
async fn token_create_and_use() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let r = ann.post("/api/tokens", json!({"name": "ci"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(keys(&r.body), vec!["created_at", "id", "name", "token"]);
    assert_eq!(r.body["name"], "ci");
    let created = r.body["created_at"].as_str().unwrap();
    assert!(
        created.ends_with('Z') && created.contains('T'),
        "RFC 3339 UTC: {created}"
    );
    let token = r.body["token"].as_str().unwrap();
    let bot = ann.with_bearer(token);
    let me = bot.get("/api/me").await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["user"], ann.user);
    // Also works for writes and the scheme is case-insensitive.
    let b = bot.board("via token").await;
    let lower = s
        .anon()
        .raw(
            Method::GET,
            &format!("/api/boards/{b}"),
            "",
            &[("authorization", &format!("bearer {token}"))],
        )
        .await;
    assert_eq!(lower.status, 200, "{}", lower.text);
}

/// GET /api/tokens lists `{id, name, created_at}` for each live token and never the secret.
#[tokio::test]
async fn token_list_hides_secrets() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let a = ann.post("/api/tokens", json!({"name": "one"})).await.body;
    let b = ann.post("/api/tokens", json!({"name": "two"})).await.body;
    bob.post("/api/tokens", json!({"name": "bobs"})).await;
    let r = ann.get("/api/tokens").await;
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.body), vec!["tokens"]);
    let list = r.body["tokens"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", r.text);
    for t in list {
        assert_eq!(keys(t), vec!["created_at", "id", "name"]);
    }
    let mut ids: Vec<&str> = list.iter().map(|t| t["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want = vec![a["id"].as_str().unwrap(), b["id"].as_str().unwrap()];
    want.sort();
    assert_eq!(ids, want);
    for secret in [&a["token"], &b["token"]] {
        assert!(!r.text.contains(secret.as_str().unwrap()));
    }
    assert!(!r.text.contains("bobs"));
    // A session is not a token.
    let fresh = s.user("cat").await;
    assert_eq!(fresh.get("/api/tokens").await.body, json!({"tokens": []}));
}

/// DELETE /api/tokens/{id} → 204; the token then gets 401 and leaves the list; deleting again is 404.
#[tokio::test]
async fn token_revoke() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let t = ann.post("/api/tokens", json!({"name": "ci"})).await.body;
    let keep = ann.post("/api/tokens", json!({"name": "keep"})).await.body;
    let bot = ann.with_bearer(t["token"].as_str().unwrap());
    assert_eq!(bot.get("/api/me").await.status, 200);
    let id = t["id"].as_str().unwrap();
    let r = ann.delete(&format!("/api/tokens/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_error(&bot.get("/api/me").await, 401, "unauthorized");
    assert_error(&bot.get("/api/boards").await, 401, "unauthorized");
    let list = ann.get("/api/tokens").await.body;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 1);
    assert_eq!(list["tokens"][0]["id"], keep["id"]);
    assert_error(
        &ann.delete(&format!("/api/tokens/{id}")).await,
        404,
        "not_found",
    );
    // The other token and the session are unaffected.
    let other = ann.with_bearer(keep["token"].as_str().unwrap());
    assert_eq!(other.get("/api/me").await.status, 200);
    assert_eq!(ann.get("/api/me").await.status, 200);
}

/// A token may revoke itself (Bearer-authenticated DELETE) and is dead afterwards.
#[tokio::test]
async fn token_revokes_itself() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let t = ann.post("/api/tokens", json!({"name": "ci"})).await.body;
    let bot = ann.with_bearer(t["token"].as_str().unwrap());
    let r = bot
        .delete(&format!("/api/tokens/{}", t["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_error(&bot.get("/api/me").await, 401, "unauthorized");
}

/// Unknown token ids and other users' token ids are 404, and the other user's token keeps working.
#[tokio::test]
async fn token_revoke_unknown_or_foreign_is_404() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    assert_error(
        &ann.delete("/api/tokens/does-not-exist").await,
        404,
        "not_found",
    );
    let bt = bob.post("/api/tokens", json!({"name": "bobs"})).await.body;
    let r = ann
        .delete(&format!("/api/tokens/{}", bt["id"].as_str().unwrap()))
        .await;
    assert_error(&r, 404, "not_found");
    let bot = bob.with_bearer(bt["token"].as_str().unwrap());
    assert_eq!(bot.get("/api/me").await.body["user"], bob.user);
    assert_eq!(
        bob.get("/api/tokens").await.body["tokens"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// Token endpoints need credentials, and a token name must be present and non-blank.
#[tokio::test]
async fn token_auth_and_name_rules() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let anon = s.anon();
    assert_error(
        &anon.post("/api/tokens", json!({"name": "x"})).await,
        401,
        "unauthorized",
    );
    assert_error(&anon.get("/api/tokens").await, 401, "unauthorized");
    assert_error(&anon.delete("/api/tokens/x").await, 401, "unauthorized");
    for bad in [
        json!({}),
        json!({"name": ""}),
        json!({"name": null}),
        json!({"name": 5}),
        json!({"name": "x", "scope": "all"}),
    ] {
        assert_error(
            &ann.post("/api/tokens", bad.clone()).await,
            400,
            "bad_request",
        );
    }
    assert_eq!(ann.get("/api/tokens").await.body, json!({"tokens": []}));
}

/// With 3 signups a minute, the 4th from the same IP is 429 rate_limited; a new minute allows more.
#[tokio::test]
async fn signup_rate_limit() {
    let clock = mid_minute_clock();
    let s = TestServer::start_with_clock(|c| c.signups_per_minute = 3, clock.clone()).await;
    for i in 0..3 {
        let r = signup(&s, &format!("user{i}"), "password123").await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = signup(&s, "user3", "password123").await;
    assert_error(&r, 429, "rate_limited");
    assert!(r.cookie.is_none());
    // Nothing was created for the refused signup.
    assert_error(
        &login(&s, "user3", "password123").await,
        401,
        "unauthorized",
    );
    clock.advance(60_000);
    assert_eq!(signup(&s, "user3", "password123").await.status, 201);
}

/// With 2 failed logins a minute, after 2 failures even a correct login is 429 until the minute ends.
#[tokio::test]
async fn failed_login_rate_limit() {
    let clock = mid_minute_clock();
    let s = TestServer::start_with_clock(|c| c.failed_logins_per_minute = 2, clock.clone()).await;
    s.user("ann").await;
    // A success does not count as a failure.
    assert_eq!(login(&s, "ann", "password123").await.status, 200);
    assert_error(&login(&s, "ann", "wrongpass1").await, 401, "unauthorized");
    assert_error(&login(&s, "ghost", "wrongpass2").await, 401, "unauthorized");
    let r = login(&s, "ann", "password123").await;
    assert_error(&r, 429, "rate_limited");
    assert!(r.cookie.is_none());
    assert_error(&login(&s, "ann", "wrongpass3").await, 429, "rate_limited");
    clock.advance(60_000);
    assert_eq!(login(&s, "ann", "password123").await.status, 200);
}

/// Logs in `name` with `password` as the client at `ip`, through a proxy at
/// 127.0.0.1 that sent `X-Forwarded-For: ip`.
async fn login_from(s: &TestServer, ip: &str, name: &str, password: &str) -> Resp {
    let body = json!({"username": name, "password": password}).to_string();
    s.anon()
        .raw(
            Method::POST,
            "/api/auth/login",
            body,
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", ip),
            ],
        )
        .await
}

/// A server behind a proxy at 127.0.0.1 (`--trusted-proxy`), after `tweak`,
/// with the user `ann`.
async fn behind_proxy(clock: Arc<ManualClock>, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let s = TestServer::start_with_clock(
        |c| {
            c.trusted_proxy = vec!["127.0.0.1/32".parse().unwrap()];
            tweak(c);
        },
        clock,
    )
    .await;
    s.user("ann").await;
    s
}

/// 40 wrong guesses at once from one address, against a limit of 20: each
/// is counted before its password is checked, so at most 20 get 401.
#[tokio::test]
async fn concurrent_failed_logins_are_counted_atomically() {
    let clock = mid_minute_clock();
    let s = TestServer::start_with_clock(
        |c| {
            c.failed_logins_per_minute = 20;
            c.login_backoff_after = 1_000;
        },
        clock,
    )
    .await;
    s.user("ann").await;
    let guesses: Vec<_> = (0..40)
        .map(|i| {
            let c = s.anon();
            tokio::spawn(async move {
                c.post(
                    "/api/auth/login",
                    json!({"username": "ann", "password": format!("wrongpass{i}")}),
                )
                .await
            })
        })
        .collect();
    let (mut denied, mut limited) = (0, 0);
    for g in guesses {
        let r = g.await.expect("task");
        match r.status {
            401 => denied += 1,
            429 => {
                assert_error(&r, 429, "rate_limited");
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!((denied, limited), (20, 20));
}

/// Behind a trusted proxy each forwarded client has its own failed-login
/// allowance; a spoofed X-Forwarded-For from an untrusted peer changes nothing.
#[tokio::test]
async fn failed_logins_are_counted_per_forwarded_client() {
    let clock = mid_minute_clock();
    let s = behind_proxy(clock.clone(), |c| c.failed_logins_per_minute = 2).await;
    for pw in ["wrongpass1", "wrongpass2"] {
        assert_error(
            &login_from(&s, "198.51.100.1", "ann", pw).await,
            401,
            "unauthorized",
        );
    }
    let r = login_from(&s, "198.51.100.1", "ann", "password123").await;
    assert_error(&r, 429, "rate_limited");
    // The next client behind the same proxy is not locked out.
    assert_eq!(
        login_from(&s, "198.51.100.2", "ann", "password123")
            .await
            .status,
        200
    );
    // Prepending an address does not make a new client: nginx appends the real one.
    let r = login_from(&s, "203.0.113.5, 198.51.100.1", "ann", "password123").await;
    assert_error(&r, 429, "rate_limited");

    // Without --trusted-proxy the header is ignored: one peer, one allowance.
    let s = TestServer::start_with_clock(|c| c.failed_logins_per_minute = 2, clock).await;
    s.user("ann").await;
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_error(
            &login_from(&s, ip, "ann", "wrongpass").await,
            401,
            "unauthorized",
        );
    }
    let r = login_from(&s, "198.51.100.3", "ann", "password123").await;
    assert_error(&r, 429, "rate_limited");
}

/// After 3 failures of one account from one address that pair waits 1 s,
/// then 2 s (429 with `retry_after`), while the owner logs in from another
/// address at once; a correct password ends the backoff.
#[tokio::test]
async fn failed_logins_back_off_per_account_and_address() {
    let clock = mid_minute_clock();
    let s = behind_proxy(clock.clone(), |c| c.login_backoff_after = 3).await;
    s.user("bob").await;
    let attacker = "198.51.100.66";
    for i in 0..3 {
        let r = login_from(&s, attacker, "ann", &format!("guess{i}xx")).await;
        assert_error(&r, 401, "unauthorized");
    }
    let r = login_from(&s, attacker, "ann", "password123").await;
    assert_error(&r, 429, "rate_limited");
    assert_eq!(r.body["error"]["details"]["retry_after"], 1);
    // The victim, elsewhere, is not locked out; the attacker's other accounts neither.
    assert_eq!(
        login_from(&s, "203.0.113.7", "ann", "password123")
            .await
            .status,
        200
    );
    assert_error(
        &login_from(&s, attacker, "bob", "guess").await,
        401,
        "unauthorized",
    );
    clock.advance(1_000);
    assert_error(
        &login_from(&s, attacker, "ann", "guess3xx").await,
        401,
        "unauthorized",
    );
    let r = login_from(&s, attacker, "ann", "password123").await;
    assert_eq!(r.body["error"]["details"]["retry_after"], 2, "{}", r.text);
    clock.advance(2_000);
    assert_eq!(
        login_from(&s, attacker, "ann", "password123").await.status,
        200
    );
    // Success started the pair afresh: the next failure is not delayed.
    assert_error(
        &login_from(&s, attacker, "ann", "guess4xx").await,
        401,
        "unauthorized",
    );
    assert_error(
        &login_from(&s, attacker, "ann", "guess5xx").await,
        401,
        "unauthorized",
    );
}
