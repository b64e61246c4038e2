//! Member flows over REST: invites (with and without a username), accepting
//! them, changing roles and listing members (protocol.md, "REST").

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn seq(c: &Client, b: &str) -> u64 {
    c.get(&format!("/api/boards/{b}")).await.body["seq"]
        .as_u64()
        .unwrap()
}

async fn invite(c: &Client, b: &str, body: Value) -> Resp {
    c.post(&format!("/api/boards/{b}/invites"), body).await
}

async fn accept(c: &Client, token: &str) -> Resp {
    c.call(Method::POST, &format!("/api/invites/{token}/accept"), None)
        .await
}

/// The members list as `[(username, role)]`.
async fn members(c: &Client, b: &str) -> Vec<(String, String)> {
    let r = c.get(&format!("/api/boards/{b}/members")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user"]["username"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// An invite naming an existing user answers 201 `{token, id, expires_at, single_use}` and writes no board event.
#[tokio::test]
async fn invite_with_username() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    let r = invite(&ann, &b, json!({"role": "editor", "username": "bob"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let mut keys: Vec<&str> = r
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["expires_at", "id", "single_use", "token"],
        "{}",
        r.text
    );
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());
    assert_eq!(seq(&ann, &b).await, 0, "an invite is not a board change");
    // The invite alone does not make bob a member.
    assert_error(
        &bob.get(&format!("/api/boards/{b}")).await,
        404,
        "not_found",
    );
    let r = accept(&bob, &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "editor");
    // Usernames are case-insensitive here too.
    let r = invite(&ann, &b, json!({"role": "viewer", "username": "BOB"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// An invite naming an unknown username is 404 not_found; role "owner" is 400; neither changes the board.
#[tokio::test]
async fn invite_rejections() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let b = ann.board("B").await;
    let r = invite(&ann, &b, json!({"role": "editor", "username": "ghost"})).await;
    assert_error(&r, 404, "not_found");
    let r = invite(&ann, &b, json!({"role": "owner"})).await;
    assert_error(&r, 400, "bad_request");
    let r = invite(&ann, &b, json!({"role": "owner", "username": "ann"})).await;
    assert_error(&r, 400, "bad_request");
    assert_eq!(seq(&ann, &b).await, 0);
    assert_eq!(
        members(&ann, &b).await,
        vec![("ann".into(), "owner".into())]
    );
}

/// Accepting answers 200 with the Board as the newcomer sees it (their role), and is a board event.
#[tokio::test]
async fn accept_returns_board_with_role() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("Team").await;
    for (name, role) in [("bob", "viewer"), ("cat", "editor")] {
        let c = if name == "bob" {
            bob.clone()
        } else {
            s.user(name).await
        };
        let before = seq(&ann, &b).await;
        let token = invite(&ann, &b, json!({"role": role})).await.body["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = accept(&c, &token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let mut keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "created_at",
                "id",
                "owner",
                "role",
                "seq",
                "title",
                "updated_at"
            ]
        );
        assert_eq!(r.body["id"], b.as_str());
        assert_eq!(r.body["title"], "Team");
        assert_eq!(r.body["owner"], ann.user);
        assert_eq!(r.body["role"], role);
        assert_eq!(r.body["seq"], before + 1);
        assert_eq!(seq(&ann, &b).await, before + 1);
        let snap = c.get(&format!("/api/boards/{b}")).await;
        assert_eq!(snap.body["board"]["role"], role);
        let list = c.get("/api/boards").await;
        assert_eq!(list.body["boards"][0]["id"], b.as_str());
        assert_eq!(list.body["boards"][0]["role"], role);
    }
}

/// Accepting the same invite twice keeps the role and commits nothing the second time.
#[tokio::test]
async fn accept_twice_keeps_role() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    let token = invite(&ann, &b, json!({"role": "editor"})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = accept(&bob, &token).await;
    assert_eq!(first.status, 200);
    let seq1 = seq(&ann, &b).await;
    let again = accept(&bob, &token).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["role"], "editor");
    assert_eq!(seq(&ann, &b).await, seq1);
    assert_eq!(
        members(&ann, &b).await,
        vec![
            ("ann".to_owned(), "owner".to_owned()),
            ("bob".to_owned(), "editor".to_owned())
        ]
    );
}

/// Existing members keep their role when accepting another invite: the owner stays owner, an editor is not demoted.
#[tokio::test]
async fn accept_by_existing_member_keeps_role() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    ann.add_member(&b, &bob, "editor").await;
    let seq1 = seq(&ann, &b).await;
    let viewer_token = invite(&ann, &b, json!({"role": "viewer"})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = accept(&ann, &viewer_token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "owner");
    let r = accept(&bob, &viewer_token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "editor");
    assert_eq!(seq(&ann, &b).await, seq1);
}

/// An invite link can be used by several people, and a member who left can rejoin through it.
#[tokio::test]
async fn invite_link_is_reusable() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let cat = s.user("cat").await;
    let b = ann.board("B").await;
    let token = invite(&ann, &b, json!({"role": "viewer"})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(accept(&bob, &token).await.status, 200);
    assert_eq!(accept(&cat, &token).await.status, 200);
    let r = bob
        .delete(&format!("/api/boards/{b}/members/{}", bob.id()))
        .await;
    assert_eq!(r.status, 204);
    let r = accept(&bob, &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "viewer");
    assert_eq!(members(&ann, &b).await.len(), 3);
}

/// PATCH members/{user_id} answers 200 `{user, role}`, is a board event, and the new role takes effect at once.
#[tokio::test]
async fn change_member_role() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    ann.add_member(&b, &bob, "editor").await;
    let path = format!("/api/boards/{b}/members/{}", bob.id());
    let before = seq(&ann, &b).await;
    let r = ann.patch(&path, json!({"role": "viewer"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"user": bob.user, "role": "viewer"}));
    assert_eq!(seq(&ann, &b).await, before + 1);
    assert_eq!(
        bob.get(&format!("/api/boards/{b}")).await.body["board"]["role"],
        "viewer"
    );
    assert_error(
        &bob.post(&format!("/api/boards/{b}/notes"), json!({"x": 0, "y": 0}))
            .await,
        403,
        "forbidden",
    );
    let r = ann.patch(&path, json!({"role": "editor"})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "editor");
    let r = bob
        .post(&format!("/api/boards/{b}/notes"), json!({"x": 0, "y": 0}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    // Promoting to owner is not a role change the contract allows.
    let r = ann.patch(&path, json!({"role": "owner"})).await;
    assert_error(&r, 400, "bad_request");
    assert_eq!(
        members(&ann, &b).await,
        vec![
            ("ann".to_owned(), "owner".to_owned()),
            ("bob".to_owned(), "editor".to_owned())
        ]
    );
}

/// GET members lists `{user, role}` for everyone, the owner first, whoever asks.
#[tokio::test]
async fn members_list_owner_first() {
    let s = TestServer::start().await;
    // Usernames chosen so that alphabetical order would not put the owner first.
    let zed = s.user("zed").await;
    let amy = s.user("amy").await;
    let bea = s.user("bea").await;
    let b = zed.board("B").await;
    zed.add_member(&b, &amy, "viewer").await;
    zed.add_member(&b, &bea, "editor").await;
    for c in [&zed, &amy, &bea] {
        let r = c.get(&format!("/api/boards/{b}/members")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let list = r.body["members"].as_array().unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0], json!({"user": zed.user, "role": "owner"}));
        for m in list {
            let mut keys: Vec<&String> = m.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["role", "user"]);
        }
        let rest: Vec<&Value> = list[1..].iter().collect();
        assert!(rest.contains(&&json!({"user": amy.user, "role": "viewer"})));
        assert!(rest.contains(&&json!({"user": bea.user, "role": "editor"})));
    }
}

/// Role changes and removals aimed at non-members or the owner fail (404 / 403) and change nothing.
#[tokio::test]
async fn member_change_targets() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let stranger = s.user("stranger").await;
    let b = ann.board("B").await;
    ann.add_member(&b, &bob, "viewer").await;
    let before = seq(&ann, &b).await;
    let p = |id: String| format!("/api/boards/{b}/members/{id}");
    assert_error(
        &ann.patch(&p(stranger.id()), json!({"role": "editor"}))
            .await,
        404,
        "not_found",
    );
    assert_error(&ann.delete(&p(stranger.id())).await, 404, "not_found");
    assert_error(
        &ann.patch(&p(ann.id()), json!({"role": "editor"})).await,
        403,
        "forbidden",
    );
    assert_error(&ann.delete(&p(ann.id())).await, 403, "forbidden");
    assert_eq!(seq(&ann, &b).await, before);
    assert_error(
        &stranger.get(&format!("/api/boards/{b}")).await,
        404,
        "not_found",
    );
}

/// Invites to a deleted board can no longer be accepted (404).
#[tokio::test]
async fn invite_to_deleted_board_is_not_found() {
    let s = TestServer::start().await;
    let ann = s.user("ann").await;
    let bob = s.user("bob").await;
    let b = ann.board("B").await;
    let token = invite(&ann, &b, json!({"role": "editor"})).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(ann.delete(&format!("/api/boards/{b}")).await.status, 204);
    assert_error(&accept(&bob, &token).await, 404, "not_found");
    assert_eq!(bob.get("/api/boards").await.body, json!({"boards": []}));
}
