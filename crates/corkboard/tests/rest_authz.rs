//! The authorization matrix of the REST table: anonymous, non-member,
//! viewer, editor and owner against every board route, checking both the
//! answer and that a refused request changed nothing.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// A board with one member of each role, an outsider, and one note.
struct World {
    s: TestServer,
    owner: Client,
    editor: Client,
    viewer: Client,
    outsider: Client,
    anon: Client,
    board: String,
    note: String,
    /// A live invite of the board (for the revoke route).
    invite_id: String,
}

impl World {
    async fn new() -> Self {
        let s = TestServer::start().await;
        let owner = s.user("owner").await;
        let editor = s.user("editor").await;
        let viewer = s.user("viewer").await;
        let outsider = s.user("outsider").await;
        let anon = s.anon();
        let board = owner.board("Matrix").await;
        assert_eq!(
            owner.add_member(&board, &editor, "editor").await.status,
            200
        );
        assert_eq!(
            owner.add_member(&board, &viewer, "viewer").await.status,
            200
        );
        let note = owner
            .note(&board, json!({"x": 1, "y": 2, "text": "n"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = owner
            .post(
                &format!("/api/boards/{board}/invites"),
                json!({"role": "viewer"}),
            )
            .await;
        let invite_id = r.body["id"].as_str().expect("invite id").to_owned();
        Self {
            s,
            invite_id,
            owner,
            editor,
            viewer,
            outsider,
            anon,
            board,
            note,
        }
    }

    /// The board's state as the owner sees it (seq, title, notes, members).
    async fn state(&self) -> Value {
        let snap = self.owner.get(&format!("/api/boards/{}", self.board)).await;
        assert_eq!(snap.status, 200, "{}", snap.text);
        let members = self
            .owner
            .get(&format!("/api/boards/{}/members", self.board))
            .await;
        json!({"snap": snap.body, "members": members.body["members"]})
    }

    async fn seq(&self) -> u64 {
        self.owner
            .get(&format!("/api/boards/{}", self.board))
            .await
            .body["seq"]
            .as_u64()
            .unwrap()
    }

    /// A fresh invite token for the board.
    async fn invite(&self, role: &str) -> String {
        let r = self
            .owner
            .post(
                &format!("/api/boards/{}/invites", self.board),
                json!({"role": role}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Every board-scoped route: (method, path, body). Member targets are the viewer.
    fn board_routes(&self) -> Vec<(Method, String, Option<Value>)> {
        let b = &self.board;
        let n = &self.note;
        let v = self.viewer.id();
        vec![
            (Method::GET, format!("/api/boards/{b}"), None),
            (
                Method::PATCH,
                format!("/api/boards/{b}"),
                Some(json!({"title": "hijacked"})),
            ),
            (Method::DELETE, format!("/api/boards/{b}"), None),
            (
                Method::POST,
                format!("/api/boards/{b}/invites"),
                Some(json!({"role": "editor"})),
            ),
            (Method::GET, format!("/api/boards/{b}/invites"), None),
            (
                Method::DELETE,
                format!("/api/boards/{b}/invites/{}", self.invite_id),
                None,
            ),
            (Method::GET, format!("/api/boards/{b}/members"), None),
            (
                Method::PATCH,
                format!("/api/boards/{b}/members/{v}"),
                Some(json!({"role": "editor"})),
            ),
            (Method::DELETE, format!("/api/boards/{b}/members/{v}"), None),
            (
                Method::POST,
                format!("/api/boards/{b}/notes"),
                Some(json!({"x": 0, "y": 0})),
            ),
            (
                Method::PATCH,
                format!("/api/boards/{b}/notes/{n}"),
                Some(json!({"text": "hijacked"})),
            ),
            (Method::DELETE, format!("/api/boards/{b}/notes/{n}"), None),
        ]
    }
}

/// Anonymous callers get 401 unauthorized on every route of the table, and nothing changes.
#[tokio::test]
async fn anonymous_is_unauthorized_everywhere() {
    let w = World::new().await;
    let before = w.state().await;
    let token = w.invite("editor").await;
    let mut routes = w.board_routes();
    routes.push((Method::GET, "/api/boards".into(), None));
    routes.push((
        Method::POST,
        "/api/boards".into(),
        Some(json!({"title": "x"})),
    ));
    routes.push((Method::POST, format!("/api/invites/{token}/accept"), None));
    routes.push((Method::GET, format!("/api/invites/{token}"), None));
    for (m, path, body) in routes {
        let r = w.anon.call(m.clone(), &path, body).await;
        assert_error(&r, 401, "unauthorized");
        assert_eq!(w.state().await, before, "{m} {path} changed the board");
    }
}

/// A signed-in non-member gets 404 not_found on every board route (existence not revealed), and nothing changes.
#[tokio::test]
async fn non_member_gets_not_found_on_board_routes() {
    let w = World::new().await;
    let before = w.state().await;
    for (m, path, body) in w.board_routes() {
        let r = w.outsider.call(m.clone(), &path, body).await;
        assert_error(&r, 404, "not_found");
        assert_eq!(w.state().await, before, "{m} {path} changed the board");
    }
    // Same answer as for a board that does not exist at all.
    let ghost = w.outsider.get("/api/boards/no-such-board").await;
    let real = w.outsider.get(&format!("/api/boards/{}", w.board)).await;
    assert_eq!(ghost.status, real.status);
    assert_eq!(ghost.body["error"]["code"], real.body["error"]["code"]);
    let list = w.outsider.get("/api/boards").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body, json!({"boards": []}));
}

/// A viewer reads the snapshot, members and board list (200) but every mutation is 403 forbidden and changes nothing.
#[tokio::test]
async fn viewer_reads_but_cannot_mutate() {
    let w = World::new().await;
    let b = &w.board;
    let snap = w.viewer.get(&format!("/api/boards/{b}")).await;
    assert_eq!(snap.status, 200);
    assert_eq!(snap.body["board"]["role"], "viewer");
    assert_eq!(snap.body["notes"].as_array().unwrap().len(), 1);
    let members = w.viewer.get(&format!("/api/boards/{b}/members")).await;
    assert_eq!(members.status, 200);
    assert_eq!(members.body["members"].as_array().unwrap().len(), 3);
    let list = w.viewer.get("/api/boards").await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["boards"][0]["id"], b.as_str());
    assert_eq!(list.body["boards"][0]["role"], "viewer");

    let before = w.state().await;
    let e = w.editor.id();
    let o = w.owner.id();
    let n = &w.note;
    let mutations = vec![
        (
            Method::PATCH,
            format!("/api/boards/{b}"),
            Some(json!({"title": "t"})),
        ),
        (Method::DELETE, format!("/api/boards/{b}"), None),
        (
            Method::POST,
            format!("/api/boards/{b}/invites"),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::POST,
            format!("/api/boards/{b}/invites"),
            Some(json!({"role": "editor", "username": "outsider"})),
        ),
        (
            Method::PATCH,
            format!("/api/boards/{b}/members/{e}"),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::PATCH,
            format!("/api/boards/{b}/members/{}", w.viewer.id()),
            Some(json!({"role": "editor"})),
        ),
        (Method::DELETE, format!("/api/boards/{b}/members/{e}"), None),
        (Method::DELETE, format!("/api/boards/{b}/members/{o}"), None),
        (
            Method::POST,
            format!("/api/boards/{b}/notes"),
            Some(json!({"x": 0, "y": 0})),
        ),
        (
            Method::PATCH,
            format!("/api/boards/{b}/notes/{n}"),
            Some(json!({"x": 5})),
        ),
        (Method::DELETE, format!("/api/boards/{b}/notes/{n}"), None),
    ];
    for (m, path, body) in mutations {
        let r = w.viewer.call(m.clone(), &path, body).await;
        assert_error(&r, 403, "forbidden");
        assert_eq!(w.state().await, before, "{m} {path} changed the board");
    }
}

/// An editor creates, updates and deletes notes and renames the board; each advances seq by one.
#[tokio::test]
async fn editor_may_edit_notes_and_rename() {
    let w = World::new().await;
    let b = &w.board;
    let seq0 = w.seq().await;
    let r = w
        .editor
        .post(&format!("/api/boards/{b}/notes"), json!({"x": 3, "y": 4}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["note"]["created_by"], w.editor.user);
    let mine = r.body["note"]["id"].as_str().unwrap().to_owned();
    // Editors may change any note, not just their own.
    let r = w
        .editor
        .patch(
            &format!("/api/boards/{b}/notes/{}", w.note),
            json!({"text": "edited"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = w
        .editor
        .delete(&format!("/api/boards/{b}/notes/{mine}"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = w
        .editor
        .patch(&format!("/api/boards/{b}"), json!({"title": "Renamed"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["title"], "Renamed");
    assert_eq!(r.body["role"], "editor");
    assert_eq!(w.seq().await, seq0 + 4);
}

/// An editor is 403 forbidden for board deletion, invites, role changes and removing others, and nothing changes.
#[tokio::test]
async fn editor_cannot_manage_board_or_members() {
    let w = World::new().await;
    let b = &w.board;
    let v = w.viewer.id();
    let e = w.editor.id();
    let o = w.owner.id();
    let before = w.state().await;
    let refused = vec![
        (Method::DELETE, format!("/api/boards/{b}"), None),
        (
            Method::POST,
            format!("/api/boards/{b}/invites"),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::POST,
            format!("/api/boards/{b}/invites"),
            Some(json!({"role": "editor", "username": "outsider"})),
        ),
        (
            Method::PATCH,
            format!("/api/boards/{b}/members/{v}"),
            Some(json!({"role": "editor"})),
        ),
        (
            Method::PATCH,
            format!("/api/boards/{b}/members/{e}"),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::PATCH,
            format!("/api/boards/{b}/members/{o}"),
            Some(json!({"role": "viewer"})),
        ),
        (Method::DELETE, format!("/api/boards/{b}/members/{v}"), None),
        (Method::DELETE, format!("/api/boards/{b}/members/{o}"), None),
    ];
    for (m, path, body) in refused {
        let r = w.editor.call(m.clone(), &path, body).await;
        assert_error(&r, 403, "forbidden");
        assert_eq!(w.state().await, before, "{m} {path} changed the board");
    }
    // The reads are fine.
    assert_eq!(
        w.editor
            .get(&format!("/api/boards/{b}/members"))
            .await
            .status,
        200
    );
}

/// The owner may do everything: notes, rename, invite, change roles, remove members, delete the board.
#[tokio::test]
async fn owner_may_do_everything() {
    let w = World::new().await;
    let b = &w.board;
    let o = &w.owner;
    let seq0 = w.seq().await;
    let n = o.note(b, json!({"x": 0, "y": 0})).await;
    let r = o
        .patch(
            &format!("/api/boards/{b}/notes/{}", n["id"].as_str().unwrap()),
            json!({"color": "pink"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = o.delete(&format!("/api/boards/{b}/notes/{}", w.note)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = o
        .patch(&format!("/api/boards/{b}"), json!({"title": "Mine"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["role"], "owner");
    let r = o
        .post(
            &format!("/api/boards/{b}/invites"),
            json!({"role": "viewer"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = o
        .patch(
            &format!("/api/boards/{b}/members/{}", w.viewer.id()),
            json!({"role": "editor"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({"user": w.viewer.user, "role": "editor"}));
    let r = o
        .delete(&format!("/api/boards/{b}/members/{}", w.editor.id()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    // notes ×3, rename, role change, removal: six events (invites are not board events).
    assert_eq!(w.seq().await, seq0 + 6);
    assert_error(
        &w.editor.get(&format!("/api/boards/{b}")).await,
        404,
        "not_found",
    );
    let r = o.delete(&format!("/api/boards/{b}")).await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    for c in [&w.owner, &w.viewer] {
        assert_error(&c.get(&format!("/api/boards/{b}")).await, 404, "not_found");
        assert_eq!(c.get("/api/boards").await.body, json!({"boards": []}));
    }
}

/// The owner cannot change their own role nor leave or remove themselves (403), and nothing changes.
#[tokio::test]
async fn owner_cannot_demote_or_remove_self() {
    let w = World::new().await;
    let b = &w.board;
    let o = w.owner.id();
    let before = w.state().await;
    for role in ["editor", "viewer"] {
        let r = w
            .owner
            .patch(
                &format!("/api/boards/{b}/members/{o}"),
                json!({"role": role}),
            )
            .await;
        assert_error(&r, 403, "forbidden");
        assert_eq!(w.state().await, before);
    }
    let r = w
        .owner
        .delete(&format!("/api/boards/{b}/members/{o}"))
        .await;
    assert_error(&r, 403, "forbidden");
    assert_eq!(w.state().await, before);
    assert_eq!(
        w.owner.get(&format!("/api/boards/{b}")).await.body["board"]["role"],
        "owner"
    );
}

/// An editor and a viewer may leave (DELETE their own membership → 204); afterwards the board is 404 for them.
#[tokio::test]
async fn members_may_leave() {
    let w = World::new().await;
    let b = &w.board;
    for c in [&w.editor, &w.viewer] {
        let seq = w.seq().await;
        let r = c
            .delete(&format!("/api/boards/{b}/members/{}", c.id()))
            .await;
        assert_eq!(r.status, 204, "{}", r.text);
        assert_eq!(w.seq().await, seq + 1, "leaving is a board event");
        assert_error(&c.get(&format!("/api/boards/{b}")).await, 404, "not_found");
        assert_error(
            &c.get(&format!("/api/boards/{b}/members")).await,
            404,
            "not_found",
        );
        assert_error(
            &c.post(&format!("/api/boards/{b}/notes"), json!({"x": 0, "y": 0}))
                .await,
            404,
            "not_found",
        );
        assert_eq!(c.get("/api/boards").await.body, json!({"boards": []}));
        // Leaving twice: no longer a member, so the board is not found.
        assert_error(
            &c.delete(&format!("/api/boards/{b}/members/{}", c.id()))
                .await,
            404,
            "not_found",
        );
    }
    let members = w.owner.get(&format!("/api/boards/{b}/members")).await;
    assert_eq!(members.body["members"].as_array().unwrap().len(), 1);
}

/// A member removed by the owner loses access (404) and drops out of the members list.
#[tokio::test]
async fn removed_member_loses_access() {
    let w = World::new().await;
    let b = &w.board;
    let r = w
        .owner
        .delete(&format!("/api/boards/{b}/members/{}", w.viewer.id()))
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert_error(
        &w.viewer.get(&format!("/api/boards/{b}")).await,
        404,
        "not_found",
    );
    let members = w.owner.get(&format!("/api/boards/{b}/members")).await;
    let ids: Vec<&str> = members.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&w.viewer.id().as_str()));
    assert_eq!(ids.len(), 2);
}

/// GET /api/boards lists exactly the caller's boards, each with the caller's own role.
#[tokio::test]
async fn board_list_shows_callers_boards_and_roles() {
    let w = World::new().await;
    let own2 = w.editor.board("Editor's own").await;
    for (c, role) in [
        (&w.owner, "owner"),
        (&w.editor, "editor"),
        (&w.viewer, "viewer"),
    ] {
        let r = c.get("/api/boards").await;
        assert_eq!(r.status, 200);
        let boards = r.body["boards"].as_array().unwrap();
        let shared = boards
            .iter()
            .find(|x| x["id"] == w.board.as_str())
            .unwrap_or_else(|| panic!("{role} misses the board: {}", r.text));
        assert_eq!(shared["role"], role);
        assert_eq!(shared["owner"], w.owner.user);
        let has_own2 = boards.iter().any(|x| x["id"] == own2.as_str());
        assert_eq!(has_own2, role == "editor");
    }
}

/// Anyone signed in may accept an invite (that is how non-members join); the joined role is the invite's.
#[tokio::test]
async fn non_member_accepts_invite() {
    let w = World::new().await;
    let token = w.invite("viewer").await;
    let seq = w.seq().await;
    let r = w
        .outsider
        .call(Method::POST, &format!("/api/invites/{token}/accept"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], w.board.as_str());
    assert_eq!(r.body["role"], "viewer");
    assert_eq!(w.seq().await, seq + 1);
    let snap = w.outsider.get(&format!("/api/boards/{}", w.board)).await;
    assert_eq!(snap.status, 200);
    assert_error(
        &w.outsider
            .post(
                &format!("/api/boards/{}/notes", w.board),
                json!({"x": 0, "y": 0}),
            )
            .await,
        403,
        "forbidden",
    );
    drop(w.s);
}

/// After the owner deletes the board, every board route is 404 for every former member, reads and writes alike.
#[tokio::test]
async fn deleted_board_is_not_found_for_everyone() {
    let w = World::new().await;
    let token = w.invite("editor").await;
    let r = w.owner.delete(&format!("/api/boards/{}", w.board)).await;
    assert_eq!(r.status, 204, "{}", r.text);
    for c in [&w.owner, &w.editor, &w.viewer, &w.outsider] {
        for (m, path, body) in w.board_routes() {
            let r = c.call(m.clone(), &path, body).await;
            assert_eq!(r.status, 404, "{m} {path}: {}", r.text);
            assert_error(&r, 404, "not_found");
        }
        assert_error(
            &c.call(Method::POST, &format!("/api/invites/{token}/accept"), None)
                .await,
            404,
            "not_found",
        );
        assert_eq!(c.get("/api/boards").await.body, json!({"boards": []}));
    }
}

/// An op id belongs to the member who sent it: a viewer replaying an
/// editor's op id is `forbidden` (it was answered 201 with the editor's
/// result), and another editor sending the same op id makes a change of
/// their own instead of receiving the first one's answer.
#[tokio::test]
async fn op_ids_are_checked_for_authorization_and_scoped_per_user() {
    let s = TestServer::start().await;
    let own = s.user("owner1").await;
    let ed = s.user("editor1").await;
    let viewer = s.user("viewer1").await;
    let b = own.board("b").await;
    assert_eq!(own.add_member(&b, &ed, "editor").await.status, 200);
    assert_eq!(own.add_member(&b, &viewer, "viewer").await.status, 200);
    let body = json!({"op": "shared-op-1", "x": 1, "y": 2, "text": "mine"});
    let first = own
        .post(&format!("/api/boards/{b}/notes"), body.clone())
        .await;
    assert_eq!(first.status, 201);
    let r = viewer
        .post(&format!("/api/boards/{b}/notes"), body.clone())
        .await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    assert_eq!(r.body["error"]["code"], "forbidden");
    let theirs = ed
        .post(&format!("/api/boards/{b}/notes"), body.clone())
        .await;
    assert_eq!(theirs.status, 201);
    assert_ne!(
        theirs.body["note"]["id"], first.body["note"]["id"],
        "a change of their own, not a replay"
    );
    let again = own.post(&format!("/api/boards/{b}/notes"), body).await;
    assert_eq!(again.body, first.body, "the owner's retry still replays");
    let snap = own.get(&format!("/api/boards/{b}")).await;
    assert_eq!(snap.body["notes"].as_array().map(Vec::len), Some(2));
}
