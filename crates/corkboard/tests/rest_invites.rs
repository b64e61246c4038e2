//! Invite links over REST (security issue 17, item 4): expiry, single use,
//! listing and revocation by the owner, the preview, old links that cannot
//! undo a removal or demotion, `op` replays of invite and member calls, and
//! the per-user invite quotas (429 `rate_limited`).

mod common;

use std::sync::Arc;

use common::*;
use corkboard::core::{ManualClock, Timestamp};
use reqwest::Method;
use serde_json::{json, Value};

/// A server on a clock that moves only when told to.
async fn on_clock(tweak: impl FnOnce(&mut corkboard::config::Config)) -> (TestServer, ManualClock) {
    let clock = ManualClock::new(Timestamp(1_795_460_311_000));
    let s = TestServer::start_with_clock(tweak, Arc::new(clock.clone())).await;
    (s, clock)
}

async fn invite(c: &Client, b: &str, body: Value) -> Resp {
    c.post(&format!("/api/boards/{b}/invites"), body).await
}

/// Creates an invite and returns its token.
async fn token(c: &Client, b: &str, body: Value) -> String {
    let r = invite(c, b, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body["token"].as_str().unwrap().to_owned()
}

async fn accept(c: &Client, token: &str, body: Option<Value>) -> Resp {
    c.call(Method::POST, &format!("/api/invites/{token}/accept"), body)
        .await
}

async fn preview(c: &Client, token: &str) -> Resp {
    c.get(&format!("/api/invites/{token}")).await
}

async fn listed(c: &Client, b: &str) -> Vec<Value> {
    let r = c.get(&format!("/api/boards/{b}/invites")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["invites"].as_array().unwrap().clone()
}

async fn seq(c: &Client, b: &str) -> u64 {
    c.get(&format!("/api/boards/{b}")).await.body["seq"]
        .as_u64()
        .unwrap()
}

/// The create answer carries id, expiry and single_use; the owner's listing
/// shows the invite without its token; other members may not list.
#[tokio::test]
async fn create_and_list_invites() {
    let (s, _) = on_clock(|c| c.invite_ttl = 600).await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    let r = invite(&ann, &b, json!({"role": "viewer"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.body["token"].as_str().unwrap().starts_with("cbi_"));
    assert_eq!(
        r.body["expires_at"], "2026-11-23T19:08:31.000Z",
        "default --invite-ttl"
    );
    assert_eq!(r.body["single_use"], false);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let r = invite(
        &ann,
        &b,
        json!({"role": "editor", "username": "bob", "single_use": true, "expires_in": 60}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["expires_at"], "2026-11-23T18:59:31.000Z");
    let named = r.body["id"].as_str().unwrap().to_owned();
    let list = listed(&ann, &b).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], named.as_str());
    assert_eq!(list[0]["username"], "bob");
    assert_eq!(list[0]["single_use"], true);
    assert_eq!(list[0]["uses"], 0);
    assert_eq!(list[0]["created_by"]["username"], "ann");
    assert_eq!(list[1]["role"], "viewer");
    assert!(list[1].get("username").is_none());
    assert!(
        !json!(list).to_string().contains(&token),
        "listing shows a token"
    );
    accept(&bob, &token, None).await;
    assert_eq!(listed(&ann, &b).await[1]["uses"], 1);
    assert_error(
        &bob.get(&format!("/api/boards/{b}/invites")).await,
        403,
        "forbidden",
    );
    // expires_in beyond --invite-max-ttl, or zero, is 400.
    for bad in [json!(0), json!(30 * 24 * 3600 + 1), json!(-1), json!("1")] {
        let r = invite(&ann, &b, json!({"role": "viewer", "expires_in": bad})).await;
        assert_error(&r, 400, "bad_request");
    }
}

/// An expired invite previews and accepts as 404 not_found.
#[tokio::test]
async fn expired_invite_is_not_found() {
    let (s, clock) = on_clock(|_| {}).await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    let t = token(&ann, &b, json!({"role": "editor", "expires_in": 60})).await;
    assert_eq!(preview(&bob, &t).await.status, 200);
    clock.advance(60_000);
    assert_error(&preview(&bob, &t).await, 404, "not_found");
    assert_error(&accept(&bob, &t, None).await, 404, "not_found");
    assert_error(
        &bob.get(&format!("/api/boards/{b}")).await,
        404,
        "not_found",
    );
    assert!(
        listed(&ann, &b).await.is_empty(),
        "expired invites are not listed"
    );
}

/// A single-use invite lets one user join; the next gets 404, the one who
/// joined may open it again.
#[tokio::test]
async fn single_use_invite_joins_once() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let cat = s.user("cat").await;
    let b = ann.board("B").await;
    let t = token(&ann, &b, json!({"role": "editor", "single_use": true})).await;
    let r = accept(&bob, &t, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "editor");
    assert_error(&accept(&cat, &t, None).await, 404, "not_found");
    assert_error(&preview(&cat, &t).await, 404, "not_found");
    assert_eq!(accept(&bob, &t, None).await.status, 200);
}

/// A revoked invite is 404 everywhere; only the owner may revoke.
#[tokio::test]
async fn revoked_invite_is_not_found() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let cat = s.user("cat").await;
    let b = ann.board("B").await;
    ann.add_member(&b, &bob, "editor").await;
    let r = invite(&ann, &b, json!({"role": "viewer"})).await;
    let (t, id) = (
        r.body["token"].as_str().unwrap(),
        r.body["id"].as_str().unwrap(),
    );
    let path = format!("/api/boards/{b}/invites/{id}");
    assert_error(&bob.delete(&path).await, 403, "forbidden");
    assert_error(&cat.delete(&path).await, 404, "not_found");
    let r = ann.delete(&path).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_error(&ann.delete(&path).await, 404, "not_found");
    assert_error(&accept(&cat, t, None).await, 404, "not_found");
    assert_error(&preview(&cat, t).await, 404, "not_found");
    let left = listed(&ann, &b).await;
    assert_eq!(left.len(), 1, "only bob's invite is left");
    assert_ne!(left[0]["id"], id);
}

/// The preview shows board and role to a signed-in user without joining;
/// unknown tokens are 404, anonymous callers 401.
#[tokio::test]
async fn preview_shows_board_and_role() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Roadmap").await;
    let r = invite(&ann, &b, json!({"role": "editor"})).await;
    let t = r.body["token"].as_str().unwrap();
    let p = preview(&bob, t).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(
        p.body,
        json!({
            "board": {"id": b, "title": "Roadmap", "owner": ann.user},
            "role": "editor",
            "expires_at": r.body["expires_at"],
        })
    );
    assert_error(
        &bob.get(&format!("/api/boards/{b}")).await,
        404,
        "not_found",
    );
    assert_error(&preview(&bob, "cbi_nope").await, 404, "not_found");
    assert_error(&preview(&s.anon(), t).await, 401, "unauthorized");
}

/// A member the owner removed cannot rejoin through a link made before the
/// removal (403); a link made after it works.
#[tokio::test]
async fn removed_member_cannot_rejoin_with_old_link() {
    let (s, clock) = on_clock(|_| {}).await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    let t = token(&ann, &b, json!({"role": "editor"})).await;
    assert_eq!(accept(&bob, &t, None).await.status, 200);
    clock.advance(1);
    let r = ann
        .delete(&format!("/api/boards/{b}/members/{}", bob.id()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    clock.advance(1);
    assert_error(&accept(&bob, &t, None).await, 403, "forbidden");
    assert_error(
        &bob.get(&format!("/api/boards/{b}")).await,
        404,
        "not_found",
    );
    let fresh = token(&ann, &b, json!({"role": "viewer"})).await;
    let r = accept(&bob, &fresh, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "viewer");
}

/// A member lowered to viewer who leaves cannot come back as editor through
/// an older editor link.
#[tokio::test]
async fn downgraded_member_cannot_reaccept_as_editor() {
    let (s, clock) = on_clock(|_| {}).await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    let t = token(&ann, &b, json!({"role": "editor"})).await;
    assert_eq!(accept(&bob, &t, None).await.status, 200);
    clock.advance(1);
    let member = format!("/api/boards/{b}/members/{}", bob.id());
    let r = ann.patch(&member, json!({"role": "viewer"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    clock.advance(1);
    assert_eq!(bob.delete(&member).await.status, 204);
    assert_error(&accept(&bob, &t, None).await, 403, "forbidden");
    assert_error(
        &bob.get(&format!("/api/boards/{b}")).await,
        404,
        "not_found",
    );
}

/// Invite create and accept, role change and removal with an `op`: a retry
/// applies nothing twice and answers the first status and body.
#[tokio::test]
async fn op_retries_apply_once() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    let body = json!({"role": "editor", "single_use": true, "op": "inv-1"});
    let first = invite(&ann, &b, body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = invite(&ann, &b, body).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(listed(&ann, &b).await.len(), 1);
    let t = first.body["token"].as_str().unwrap();
    let op = Some(json!({"op": "acc-1"}));
    let first = accept(&bob, t, op.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let n = seq(&ann, &b).await;
    let again = accept(&bob, t, op).await;
    assert_eq!((again.status, &again.body), (200, &first.body));
    let member = format!("/api/boards/{b}/members/{}", bob.id());
    let body = json!({"role": "viewer", "op": "role-1"});
    let first = ann.patch(&member, body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = ann.patch(&member, body).await;
    assert_eq!((again.status, &again.body), (200, &first.body));
    assert_eq!(seq(&ann, &b).await, n + 1, "the role change applied once");
    let rm = Some(json!({"op": "rm-1"}));
    assert_eq!(
        ann.call(Method::DELETE, &member, rm.clone()).await.status,
        204
    );
    let again = ann.call(Method::DELETE, &member, rm).await;
    assert_eq!(again.status, 204, "{}", again.text);
    assert_eq!(seq(&ann, &b).await, n + 2, "the removal applied once");
    // A bad op is refused.
    let r = invite(&ann, &b, json!({"role": "viewer", "op": ""})).await;
    assert_error(&r, 400, "bad_request");
}

/// Over --invites-per-hour, or --named-invites-per-day naming one user, an
/// invite is 429 rate_limited with `retry_after` (and Retry-After).
#[tokio::test]
async fn invite_quotas_are_rate_limited() {
    let (s, clock) = on_clock(|c| {
        c.invites_per_hour = 5;
        c.named_invites_per_day = 2;
    })
    .await;
    let ann = s.user("ann").await;
    s.user("bob").await;
    s.user("cat").await;
    let b = ann.board("B").await;
    let named = |who: &str| json!({"role": "viewer", "username": who});
    for _ in 0..2 {
        assert_eq!(invite(&ann, &b, named("bob")).await.status, 201);
        clock.advance(1000);
    }
    let r = invite(&ann, &b, named("bob")).await;
    assert_error(&r, 429, "rate_limited");
    assert_eq!(r.body["error"]["details"]["retry_after"], 24 * 3600 - 2);
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(invite(&ann, &b, named("cat")).await.status, 201);
    for _ in 0..2 {
        assert_eq!(
            invite(&ann, &b, json!({"role": "viewer"})).await.status,
            201
        );
    }
    let r = invite(&ann, &b, json!({"role": "viewer"})).await;
    assert_error(&r, 429, "rate_limited");
    assert_eq!(r.body["error"]["details"]["retry_after"], 3600 - 2);
    clock.advance(3600 * 1000);
    assert_eq!(
        invite(&ann, &b, json!({"role": "viewer"})).await.status,
        201
    );
    assert_error(&invite(&ann, &b, named("bob")).await, 429, "rate_limited");
}
