//! The store contract suite: one set of checks every [`Store`] implementation
//! must pass (SQLite here; PostgreSQL runs the same functions). Each check
//! gets a fresh, empty store from the caller's factory.

use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::core::text::TextDoc;
use crate::core::{
    Action, Clock, ErrorCode, InviteUse, Limits, Mutation, NewNotification, NoteCreate, NoteUpdate,
    Notification, Outcome, Role, SystemClock, Timestamp, User,
};
use crate::store::{
    CommittedEvent, CredentialKind, EventSink, EventsAfter, InviteCount, NewBoard, NewCredential,
    NewInvite, Store, StoreError,
};

/// A sink that records every committed event, for assertions on fan-out order.
#[derive(Default)]
pub struct CaptureSink(pub Mutex<Vec<Arc<CommittedEvent>>>);

impl EventSink for CaptureSink {
    fn committed(&self, event: Arc<CommittedEvent>) {
        self.0.lock().push(event);
    }
}

impl CaptureSink {
    /// `(board, seq)` of everything seen so far.
    pub fn seqs(&self) -> Vec<(String, u64)> {
        self.0
            .lock()
            .iter()
            .map(|e| (e.event.board.clone(), e.event.seq))
            .collect()
    }
}

/// Runs every check against stores made by `make(sink, limits)`.
pub async fn run_all<F, Fut>(make: F)
where
    F: Fn(Arc<CaptureSink>, Limits) -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    let fresh = |limits: Limits| {
        let sink = Arc::new(CaptureSink::default());
        let fut = make(sink.clone(), limits);
        async move { (fut.await, sink) }
    };
    let (s, _) = fresh(Limits::default()).await;
    users_and_credentials(&*s).await;
    let (s, _) = fresh(Limits::default()).await;
    sessions_list_revoke_and_expire(&*s).await;
    let (s, sink) = fresh(Limits::default()).await;
    note_lifecycle_in_seq_order(&*s, &sink).await;
    let (s, sink) = fresh(Limits::default()).await;
    retries_apply_once(&*s, &sink).await;
    let (s, _) = fresh(Limits::default()).await;
    conflicts_by_field(&*s).await;
    let (s, sink) = fresh(Limits::default()).await;
    concurrent_writers_leave_no_gap(s.clone(), &sink).await;
    let (s, _) = fresh(Limits {
        log_min_events: 5,
        log_min_age_ms: 1000,
        ..Limits::default()
    })
    .await;
    retention_and_positions(&*s).await;
    let (s, sink) = fresh(Limits::default()).await;
    members_and_invites(&*s, &sink).await;
    let (s, _) = fresh(Limits::default()).await;
    invite_lifecycle(&*s).await;
    let (s, _) = fresh(Limits::default()).await;
    user_suggestions(&*s).await;
    let (s, _) = fresh(Limits {
        notes_per_board: 3,
        ..Limits::default()
    })
    .await;
    note_limit(&*s).await;
    let (s, sink) = fresh(Limits::default()).await;
    board_deletion(&*s, &sink).await;
    let (s, sink) = fresh(Limits::default()).await;
    mention_notifications(&*s, &sink).await;
    let (s, _) = fresh(Limits::default()).await;
    invited_notification(&*s).await;
    let (s, _) = fresh(Limits::default()).await;
    notification_ids_order_and_reads(&*s).await;
    let (s, _) = fresh(Limits::default()).await;
    notifications_go_with_their_board(&*s).await;
    let (s, _) = fresh(Limits::default()).await;
    older_notifications_and_reading_one(&*s).await;
    let (s, _) = fresh(Limits::default()).await;
    search_follows_every_write(&*s).await;
    let (s, _) = fresh(Limits {
        boards_per_user: 2,
        log_min_age_ms: 1000,
        ..Limits::default()
    })
    .await;
    board_quota_and_create_ops(&*s).await;
    let (s, sink) = fresh(Limits::default()).await;
    board_rename_and_delete_ops(&*s, &sink).await;
    let (s, sink) = fresh(Limits {
        deleted_note_ttl_ms: 1000,
        ..Limits::default()
    })
    .await;
    text_documents_and_restore(&*s, &sink).await;
    let (s, _) = fresh(Limits {
        log_min_events: 2,
        log_min_age_ms: 1,
        ..Limits::default()
    })
    .await;
    history_rebuilds_every_seq(&*s).await;
    for every in [0, 1, 7] {
        let (s, _) = fresh(Limits {
            history_checkpoint_every: every,
            ..Limits::default()
        })
        .await;
        history_of_random_mutations_matches_every_snapshot(&*s, every).await;
    }
}

/// A client's Yjs update: `f` applied to a document synced to `state`.
fn yjs_edit(
    client: u64,
    state: &[u8],
    f: impl FnOnce(&yrs::TextRef, &mut yrs::TransactionMut<'_>),
) -> Vec<u8> {
    use yrs::updates::decoder::Decode;
    use yrs::{ReadTxn, Transact};
    let doc = yrs::Doc::with_options(yrs::Options {
        client_id: yrs::ClientID::new(client),
        offset_kind: yrs::OffsetKind::Utf16,
        ..yrs::Options::default()
    });
    let text = doc.get_or_insert_text("text");
    doc.transact_mut()
        .apply_update(yrs::Update::decode_v1(state).unwrap())
        .unwrap();
    let before = doc.transact().state_vector();
    f(&text, &mut doc.transact_mut());
    let u = doc.transact().encode_diff_v1(&before);
    u
}

/// Text edits merge into the stored document (kept across writes and
/// deletes), and a deleted note comes back as it was.
pub async fn text_documents_and_restore(s: &dyn Store, sink: &CaptureSink) {
    use yrs::Text;
    let ann = user(s, "ann").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    let a = s.mutate(m("b1", &ann, None, create(1.0))).await.unwrap();
    let Outcome::NoteCreated { note, .. } = &a.outcome else {
        panic!("created expected")
    };
    let id = note.id.clone();
    let stored = s.note("b1", &id).await.unwrap().unwrap();
    assert_eq!(stored.text_state, None, "seeded lazily");
    let state0 = TextDoc::seeded("").state();
    // Two clients type concurrently from the same state.
    let u1 = yjs_edit(11, &state0, |t, txn| t.insert(txn, 0, "hello"));
    let u2 = yjs_edit(22, &state0, |t, txn| t.insert(txn, 0, "world"));
    for u in [&u1, &u2] {
        let edit = Action::EditNote {
            id: id.clone(),
            update: u.clone(),
        };
        s.mutate(m("b1", &ann, None, edit)).await.unwrap();
    }
    let stored = s.note("b1", &id).await.unwrap().unwrap();
    let doc = TextDoc::from_stored(stored.text_state.as_deref(), "").unwrap();
    assert_eq!(doc.text(), stored.note.text);
    assert_eq!(stored.note.text.len(), 10);
    assert!(stored.note.text.contains("hello") && stored.note.text.contains("world"));
    // A plain replacement goes through the document too.
    let upd = Action::UpdateNote {
        id: id.clone(),
        update: NoteUpdate {
            text: Some("replaced".into()),
            ..Default::default()
        },
    };
    let a = s.mutate(m("b1", &ann, None, upd)).await.unwrap();
    let last = sink.0.lock().last().unwrap().clone();
    let crate::core::EventBody::NoteUpdated { text_update, .. } = &last.event.body else {
        panic!("note.updated expected")
    };
    assert!(text_update.is_some(), "a replacement carries text_update");
    let stored = s.note("b1", &id).await.unwrap().unwrap();
    assert_eq!(
        TextDoc::from_stored(stored.text_state.as_deref(), "")
            .unwrap()
            .text(),
        "replaced"
    );
    // Delete, then restore: the same note and document come back.
    s.mutate(m("b1", &ann, None, Action::DeleteNote { id: id.clone() }))
        .await
        .unwrap();
    assert!(s.note("b1", &id).await.unwrap().is_none());
    let restore = || Action::RestoreNote { id: id.clone() };
    let r = s.mutate(m("b1", &ann, None, restore())).await.unwrap();
    assert_eq!(r.seq, a.seq + 2);
    let Outcome::NoteUpdated { note: back, .. } = &r.outcome else {
        panic!("restored note expected: {:?}", r.outcome)
    };
    assert_eq!((back.text.as_str(), back.version), ("replaced", r.seq));
    assert_eq!(sink.0.lock().last().unwrap().event.kind(), "note.created");
    let again = s.note("b1", &id).await.unwrap().unwrap();
    assert_eq!(again.text_state, stored.text_state);
    let snap = s.snapshot("b1", &ann.id).await.unwrap().unwrap();
    assert_eq!(snap.notes.len(), 1);
    // Not deleted: conflict. Never existed: not found.
    assert_eq!(
        code(s.mutate(m("b1", &ann, None, restore())).await),
        ErrorCode::Conflict
    );
    let ghost = Action::RestoreNote { id: "ghost".into() };
    assert_eq!(
        code(s.mutate(m("b1", &ann, None, ghost)).await),
        ErrorCode::NotFound
    );
    // Deleted twice and restored twice, within one writer batch or not.
    for _ in 0..2 {
        s.mutate(m("b1", &ann, None, Action::DeleteNote { id: id.clone() }))
            .await
            .unwrap();
        s.mutate(m("b1", &ann, None, restore())).await.unwrap();
    }
    assert_eq!(
        s.note("b1", &id).await.unwrap().unwrap().note.text,
        "replaced"
    );
    // Kept for the deleted-note TTL (1 s here), then pruned: not restorable.
    s.mutate(m("b1", &ann, None, Action::DeleteNote { id: id.clone() }))
        .await
        .unwrap();
    s.prune(Timestamp(SystemClock.now().0 + 500)).await.unwrap();
    s.mutate(m("b1", &ann, None, restore())).await.unwrap();
    s.mutate(m("b1", &ann, None, Action::DeleteNote { id: id.clone() }))
        .await
        .unwrap();
    s.prune(Timestamp(SystemClock.now().0 + 5_000))
        .await
        .unwrap();
    assert_eq!(
        code(s.mutate(m("b1", &ann, None, restore())).await),
        ErrorCode::NotFound
    );
    let a = s.mutate(m("b1", &ann, None, create(2.0))).await.unwrap();
    let Outcome::NoteCreated { note, .. } = &a.outcome else {
        panic!("created expected")
    };
    let id = note.id.clone();
    // A bad update commits nothing.
    let seq = s.board_for("b1", &ann.id).await.unwrap().unwrap().seq;
    let bad = Action::EditNote {
        id: id.clone(),
        update: vec![1, 2, 3],
    };
    assert_eq!(
        code(s.mutate(m("b1", &ann, None, bad)).await),
        ErrorCode::BadRequest
    );
    assert_eq!(s.board_for("b1", &ann.id).await.unwrap().unwrap().seq, seq);
}

async fn user(s: &dyn Store, name: &str) -> User {
    s.create_user(&format!("id-{name}"), name, "hash", Timestamp(1))
        .await
        .expect("create user")
}

fn m(board: &str, actor: &User, op: Option<&str>, action: Action) -> Mutation {
    Mutation {
        board: board.into(),
        actor: actor.clone(),
        op: op.map(Into::into),
        action,
    }
}

/// SHA-256 hex of an invite token, as the commands store it (`auth::hash_secret`).
fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// An invite of board `b1` by `by` with token `tok-{id}` (stored hashed),
/// created at `at`, living an hour from now.
fn invite(id: &str, role: Role, by: &User, at: Timestamp, notify: Option<User>) -> NewInvite {
    let token = format!("tok-{id}");
    NewInvite {
        id: id.into(),
        token_hash: token_hash(&token),
        token,
        board: "b1".into(),
        role,
        created_by: by.clone(),
        notify,
        created_at: at,
        expires_at: Timestamp(SystemClock.now().0 + 3_600_000),
        single_use: false,
        op: None,
    }
}

/// Joining through invite `id` (as the accept command does: found by its token's hash).
async fn join_via(s: &dyn Store, id: &str, u: &User) -> Result<crate::store::Applied, StoreError> {
    let hash = token_hash(&format!("tok-{id}"));
    let inv = s
        .find_invite(&hash, SystemClock.now())
        .await
        .unwrap()
        .expect("invite found");
    let action = Action::Join {
        role: inv.role,
        invite: Some(InviteUse {
            id: inv.id,
            created_at: inv.created_at,
        }),
    };
    s.mutate(m("b1", u, None, action)).await
}

fn create(x: f64) -> Action {
    Action::CreateNote(NoteCreate {
        x,
        y: 0.0,
        ..Default::default()
    })
}

fn code(r: Result<impl std::fmt::Debug, StoreError>) -> ErrorCode {
    match r {
        Err(StoreError::Rejected(e)) => e.code,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Users are unique by name; credentials are found by hash until revoked.
pub async fn users_and_credentials(s: &dyn Store) {
    let ann = user(s, "ann").await;
    assert_eq!(
        code(s.create_user("other", "ann", "h", Timestamp(1)).await),
        ErrorCode::Conflict
    );
    let (u, hash) = s.find_login("ann").await.unwrap().unwrap();
    assert_eq!((u, hash.as_str()), (ann.clone(), "hash"));
    assert!(s.find_login("bob").await.unwrap().is_none());
    for (id, kind, name) in [
        ("s1", CredentialKind::Session, None),
        ("t1", CredentialKind::Token, Some("ci")),
        ("t2", CredentialKind::Token, Some("laptop")),
    ] {
        s.create_credential(NewCredential {
            id: id.into(),
            user_id: ann.id.clone(),
            kind,
            name: name.map(Into::into),
            secret_hash: format!("hash-{id}"),
            created_at: Timestamp(5),
            user_agent: None,
            ip: None,
        })
        .await
        .unwrap();
    }
    let c = s.find_credential("hash-t1").await.unwrap().unwrap();
    assert_eq!(
        (c.id.as_str(), c.kind, c.user),
        ("t1", CredentialKind::Token, ann.clone())
    );
    let names: Vec<_> = s
        .list_tokens(&ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, vec!["ci", "laptop"]);
    assert!(s
        .revoke_credential(&ann.id, "t1", CredentialKind::Token)
        .await
        .unwrap());
    assert!(!s
        .revoke_credential(&ann.id, "t1", CredentialKind::Token)
        .await
        .unwrap());
    // A session id is not revocable as a token.
    assert!(!s
        .revoke_credential(&ann.id, "s1", CredentialKind::Token)
        .await
        .unwrap());
    assert!(s.find_credential("hash-t1").await.unwrap().is_none());
    assert_eq!(s.list_tokens(&ann.id).await.unwrap().len(), 1);
    // A token stored without a name lists with an empty one.
    s.create_credential(NewCredential {
        id: "t3".into(),
        user_id: ann.id.clone(),
        kind: CredentialKind::Token,
        name: None,
        secret_hash: "hash-t3".into(),
        created_at: Timestamp(6),
        user_agent: None,
        ip: None,
    })
    .await
    .unwrap();
    let names: Vec<_> = s
        .list_tokens(&ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    assert_eq!(
        names,
        vec![("t2".into(), "laptop".into()), ("t3".into(), String::new())]
    );
}

/// Sessions: listed with what they were opened with, touched, revoked all
/// but one, expired by age or idleness, ended by a password change; tokens
/// are never touched by any of these.
pub async fn sessions_list_revoke_and_expire(s: &dyn Store) {
    let ann = user(s, "ann").await;
    let bob = user(s, "bob").await;
    let add = |id: &'static str, who: &User, kind, at: i64| {
        s.create_credential(NewCredential {
            id: id.into(),
            user_id: who.id.clone(),
            kind,
            name: None,
            secret_hash: format!("hash-{id}"),
            created_at: Timestamp(at),
            user_agent: (kind == CredentialKind::Session).then(|| format!("agent-{id}")),
            ip: Some("192.0.2.1".into()),
        })
    };
    add("s1", &ann, CredentialKind::Session, 10).await.unwrap();
    add("s2", &ann, CredentialKind::Session, 20).await.unwrap();
    add("s3", &ann, CredentialKind::Session, 30).await.unwrap();
    add("t1", &ann, CredentialKind::Token, 5).await.unwrap();
    add("b1", &bob, CredentialKind::Session, 10).await.unwrap();
    let c = s.find_credential("hash-s2").await.unwrap().unwrap();
    assert_eq!(
        (c.created_at, c.last_used_at),
        (Timestamp(20), Timestamp(20))
    );
    s.touch_credential("s2", Timestamp(100)).await.unwrap();
    let c = s.find_credential("hash-s2").await.unwrap().unwrap();
    assert_eq!(c.last_used_at, Timestamp(100));
    let listed = s.list_sessions(&ann.id).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["s1", "s2", "s3"], "sessions only, oldest first");
    assert_eq!(listed[1].last_used_at, Timestamp(100));
    assert_eq!(listed[1].user_agent.as_deref(), Some("agent-s2"));
    assert_eq!(listed[1].ip.as_deref(), Some("192.0.2.1"));
    // Expired: created at or before 10, or last used at or before 30.
    let mut gone = s
        .expire_sessions(Timestamp(10), Timestamp(30))
        .await
        .unwrap();
    gone.sort();
    assert_eq!(gone, ["b1", "s1", "s3"]);
    assert!(s.find_credential("hash-s1").await.unwrap().is_none());
    assert!(
        s.find_credential("hash-t1").await.unwrap().is_some(),
        "tokens do not expire"
    );
    assert!(s
        .expire_sessions(Timestamp(10), Timestamp(30))
        .await
        .unwrap()
        .is_empty());
    add("s4", &ann, CredentialKind::Session, 200).await.unwrap();
    add("s5", &ann, CredentialKind::Session, 210).await.unwrap();
    add("b2", &bob, CredentialKind::Session, 200).await.unwrap();
    let mut gone = s.revoke_sessions(&ann.id, Some("s4")).await.unwrap();
    gone.sort();
    assert_eq!(gone, ["s2", "s5"]);
    let ids: Vec<_> = s
        .list_sessions(&ann.id)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(ids, ["s4"]);
    add("s6", &ann, CredentialKind::Session, 220).await.unwrap();
    let gone = s
        .change_password(&ann.id, "new-hash", Some("s6"))
        .await
        .unwrap();
    assert_eq!(gone, ["s4"]);
    let (_, hash) = s.find_login("ann").await.unwrap().unwrap();
    assert_eq!(hash, "new-hash");
    assert!(s.find_credential("hash-s6").await.unwrap().is_some());
    assert!(
        s.find_credential("hash-t1").await.unwrap().is_some(),
        "tokens are kept"
    );
    assert_eq!(s.revoke_sessions(&ann.id, None).await.unwrap(), ["s6"]);
    assert!(s.list_sessions(&ann.id).await.unwrap().is_empty());
    // Bob's live session was never touched by Ann's calls.
    assert!(s.find_credential("hash-b2").await.unwrap().is_some());
}

/// Create, update, delete: seq 1, 2, 3, stored and fanned out in order.
pub async fn note_lifecycle_in_seq_order(s: &dyn Store, sink: &CaptureSink) {
    let ann = user(s, "ann").await;
    let b = s
        .create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    assert_eq!((b.seq, b.role), (0, Role::Owner));
    let a = s.mutate(m("b1", &ann, None, create(1.0))).await.unwrap();
    assert_eq!((a.seq, a.replayed), (1, false));
    let Outcome::NoteCreated { note, seq: 1 } = &a.outcome else {
        panic!("created expected: {:?}", a.outcome)
    };
    let id = note.id.clone();
    assert_eq!(note.version, 1);
    let upd = Action::UpdateNote {
        id: id.clone(),
        update: NoteUpdate {
            text: Some("hello @bob".into()),
            ..Default::default()
        },
    };
    let a = s.mutate(m("b1", &ann, None, upd)).await.unwrap();
    assert_eq!(a.seq, 2);
    let Outcome::NoteUpdated { note, seq: 2 } = &a.outcome else {
        panic!("updated expected: {:?}", a.outcome)
    };
    assert_eq!(note.text, "hello @bob");
    let snap = s.snapshot("b1", &ann.id).await.unwrap().unwrap();
    assert_eq!((snap.seq, snap.notes.len()), (2, 1));
    assert_eq!(snap.notes[0].version, 2);
    let a = s
        .mutate(m("b1", &ann, None, Action::DeleteNote { id: id.clone() }))
        .await
        .unwrap();
    assert_eq!((a.seq, a.outcome), (3, Outcome::NoteDeleted { seq: 3 }));
    let EventsAfter::Events { events, seq } = s.events_after("b1", 0, 100).await.unwrap() else {
        panic!("events expected")
    };
    assert_eq!(seq, 3);
    assert_eq!(
        s.board_seqs(&["b1".into(), "no-such-board".into()])
            .await
            .unwrap(),
        vec![("b1".to_owned(), 3)],
        "heads of the boards that exist"
    );
    assert!(s.board_seqs(&[]).await.unwrap().is_empty());
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_slice(e).unwrap();
            format!("{}@{}", v["kind"].as_str().unwrap(), v["seq"])
        })
        .collect();
    assert_eq!(
        kinds,
        vec!["note.created@1", "note.updated@2", "note.deleted@3"]
    );
    // The fanned-out bytes are the stored bytes.
    let seen = sink.0.lock().clone();
    assert_eq!(seen.len(), 3);
    for (e, stored) in seen.iter().zip(&events) {
        assert_eq!(&e.json, stored);
    }
    assert_eq!(
        code(
            s.mutate(m("b1", &ann, None, Action::DeleteNote { id }))
                .await
        ),
        ErrorCode::NotFound
    );
    assert_eq!(s.board_for("b1", &ann.id).await.unwrap().unwrap().seq, 3);
}

/// A retried op or create id returns the original answer and applies nothing.
pub async fn retries_apply_once(s: &dyn Store, sink: &CaptureSink) {
    let ann = user(s, "ann").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    let with_id = Action::CreateNote(NoteCreate {
        id: Some("note-1".into()),
        x: 3.0,
        y: 4.0,
        ..Default::default()
    });
    let first = s
        .mutate(m("b1", &ann, Some("op-1"), with_id.clone()))
        .await
        .unwrap();
    let again = s
        .mutate(m("b1", &ann, Some("op-1"), with_id.clone()))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!((&again.outcome, again.seq), (&first.outcome, first.seq));
    // Same create id, no op: still the same note, applied once.
    let by_id = s.mutate(m("b1", &ann, None, with_id)).await.unwrap();
    assert!(by_id.replayed);
    assert_eq!(by_id.outcome, first.outcome);
    let upd = Action::UpdateNote {
        id: "note-1".into(),
        update: NoteUpdate {
            x: Some(9.0),
            ..Default::default()
        },
    };
    let u1 = s
        .mutate(m("b1", &ann, Some("op-2"), upd.clone()))
        .await
        .unwrap();
    // Someone else moves it; the retry of op-2 must not move it back.
    let other = Action::UpdateNote {
        id: "note-1".into(),
        update: NoteUpdate {
            x: Some(50.0),
            ..Default::default()
        },
    };
    s.mutate(m("b1", &ann, Some("op-3"), other)).await.unwrap();
    let u2 = s.mutate(m("b1", &ann, Some("op-2"), upd)).await.unwrap();
    assert_eq!(u2.outcome, u1.outcome);
    let snap = s.snapshot("b1", &ann.id).await.unwrap().unwrap();
    assert_eq!(snap.notes[0].x, 50.0);
    assert_eq!(snap.seq, 3);
    assert_eq!(sink.seqs().len(), 3);
    // Note ids are per board: the same client id on another board is a new note.
    let elsewhere = Action::CreateNote(NoteCreate {
        id: Some("note-1".into()),
        x: 0.0,
        y: 0.0,
        ..Default::default()
    });
    s.create_board("b2", &ann, "Other", Timestamp(1))
        .await
        .unwrap();
    let a = s.mutate(m("b2", &ann, None, elsewhere)).await.unwrap();
    assert_eq!((a.seq, a.replayed), (1, false));
    assert!(matches!(a.outcome, Outcome::NoteCreated { .. }));
}

/// `base_version` conflicts only on fields changed since; details carry the note.
pub async fn conflicts_by_field(s: &dyn Store) {
    let ann = user(s, "ann").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    let c = s.mutate(m("b1", &ann, None, create(0.0))).await.unwrap();
    let Outcome::NoteCreated { note, .. } = &c.outcome else {
        panic!("created expected: {:?}", c.outcome)
    };
    let id = note.id.clone();
    let upd = |f: fn(&mut NoteUpdate)| {
        let mut u = NoteUpdate {
            base_version: Some(1),
            ..Default::default()
        };
        f(&mut u);
        Action::UpdateNote {
            id: id.clone(),
            update: u,
        }
    };
    s.mutate(m(
        "b1",
        &ann,
        None,
        upd(|u| {
            u.text = Some("a".into());
            u.x = Some(5.0);
        }),
    ))
    .await
    .unwrap();
    // Different field, same base: fine.
    s.mutate(m(
        "b1",
        &ann,
        None,
        upd(|u| u.color = Some(crate::core::Color::Blue)),
    ))
    .await
    .unwrap();
    // Same field, stale base: conflict carrying the current note.
    match s
        .mutate(m("b1", &ann, None, upd(|u| u.x = Some(6.0))))
        .await
    {
        Err(StoreError::Rejected(e)) => {
            assert_eq!(e.code, ErrorCode::Conflict);
            let d = e.details.unwrap();
            assert_eq!(d["note"]["text"], "a");
            assert_eq!(d["note"]["x"], 5.0);
            assert_eq!(d["note"]["color"], "blue");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.board_for("b1", &ann.id).await.unwrap().unwrap().seq, 3);
    // Text with a stale base is no conflict (protocol.md, "Collaborative
    // text"): the replacement applies as the smallest diff.
    let a = s
        .mutate(m("b1", &ann, None, upd(|u| u.text = Some("b".into()))))
        .await
        .unwrap();
    assert_eq!(a.seq, 4);
}

/// Many concurrent writers on one board: seq 1..=N, no gap, no duplicate.
pub async fn concurrent_writers_leave_no_gap(s: Arc<dyn Store>, sink: &CaptureSink) {
    let ann = user(&*s, "ann").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    let all = write_concurrently(std::slice::from_ref(&s), "b1", &ann, 16, 25).await;
    assert_eq!(all, (1..=400).collect::<Vec<u64>>());
    let fanned: Vec<u64> = sink.seqs().into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        fanned,
        (1..=400).collect::<Vec<u64>>(),
        "fan-out in commit order"
    );
    let EventsAfter::Events { events, .. } = s.events_after("b1", 390, 100).await.unwrap() else {
        panic!()
    };
    assert_eq!(events.len(), 10);
}

/// `writers` tasks, writer `w` on `nodes[w % nodes.len()]`, each creating
/// `per_writer` notes on `board` in a closed loop (op ids `w{w}-{i}`);
/// returns every seq they were answered, sorted.
pub async fn write_concurrently(
    nodes: &[Arc<dyn Store>],
    board: &str,
    actor: &User,
    writers: usize,
    per_writer: usize,
) -> Vec<u64> {
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (s, actor, board) = (
            nodes[w % nodes.len()].clone(),
            actor.clone(),
            board.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..per_writer {
                let op = format!("w{w}-{i}");
                let a = s
                    .mutate(m(&board, &actor, Some(&op), create(i as f64)))
                    .await
                    .unwrap();
                seqs.push(a.seq);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    all
}

/// Retention keeps the newest events; older and future positions are told apart.
pub async fn retention_and_positions(s: &dyn Store) {
    let ann = user(s, "ann").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    for i in 0..12 {
        s.mutate(m("b1", &ann, Some(&format!("op{i}")), create(i as f64)))
            .await
            .unwrap();
    }
    // Nothing is old enough yet.
    let now = Timestamp(i64::MAX / 4);
    let real_now = crate::core::SystemClock;
    use crate::core::Clock;
    assert_eq!(s.prune(real_now.now()).await.unwrap(), 0);
    // Seven events leave the resume window (the floor moves to 7)…
    assert_eq!(s.prune(now).await.unwrap(), 7);
    assert_eq!(s.prune(now).await.unwrap(), 0, "the floor is where it was");
    assert_eq!(
        s.events_after("b1", 6, 100).await.unwrap(),
        EventsAfter::TooOld { seq: 12 }
    );
    // …but stay stored, for history.
    let kept = s.history_events("b1", &ann.id, 0, 100).await.unwrap();
    assert_eq!(kept.map(|p| (p.events.len(), p.seq)), Some((12, 12)));
    let EventsAfter::Events { events, seq } = s.events_after("b1", 7, 100).await.unwrap() else {
        panic!()
    };
    assert_eq!((events.len(), seq), (5, 12));
    assert_eq!(
        s.events_after("b1", 13, 100).await.unwrap(),
        EventsAfter::Future { seq: 12 }
    );
    // Op ids of pruned events are forgotten with them; recent ones are kept.
    let again = s
        .mutate(m("b1", &ann, Some("op11"), create(0.0)))
        .await
        .unwrap();
    assert!(again.replayed);
}

/// Invites, joins, role changes and removals are events too.
pub async fn members_and_invites(s: &dyn Store, sink: &CaptureSink) {
    let ann = user(s, "ann").await;
    let bob = user(s, "bob").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    assert!(s.board_for("b1", &bob.id).await.unwrap().is_none());
    let at = SystemClock.now();
    s.create_invite(invite("inv-1", Role::Viewer, &ann, at, Some(bob.clone())))
        .await
        .unwrap();
    let found = s
        .find_invite(&token_hash("tok-inv-1"), at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            found.board.as_str(),
            found.title.as_str(),
            &found.owner,
            found.role
        ),
        ("b1", "Plan", &ann, Role::Viewer)
    );
    assert!(found.usable);
    // Only the hash is stored: the token itself finds nothing.
    assert!(s.find_invite("tok-inv-1", at).await.unwrap().is_none());
    let j = join_via(s, "inv-1", &bob).await.unwrap();
    assert!(matches!(&j.outcome, Outcome::Joined { board } if board.role == Role::Viewer));
    assert_eq!(
        s.board_for("b1", &bob.id).await.unwrap().unwrap().role,
        Role::Viewer
    );
    // Viewers cannot write.
    assert_eq!(
        code(s.mutate(m("b1", &bob, None, create(0.0))).await),
        ErrorCode::Forbidden
    );
    let up = Action::SetRole {
        user_id: bob.id.clone(),
        role: Role::Editor,
    };
    let r = s.mutate(m("b1", &ann, None, up)).await.unwrap();
    assert_eq!(
        r.outcome,
        Outcome::RoleChanged {
            user: bob.clone(),
            role: Role::Editor
        }
    );
    s.mutate(m("b1", &bob, None, create(0.0))).await.unwrap();
    let members = s.members("b1").await.unwrap();
    assert_eq!(
        members,
        vec![(ann.clone(), Role::Owner), (bob.clone(), Role::Editor)]
    );
    let left = Action::RemoveMember {
        user_id: bob.id.clone(),
    };
    let r = s.mutate(m("b1", &bob, None, left)).await.unwrap();
    assert_eq!(r.outcome, Outcome::MemberRemoved);
    assert!(s.board_for("b1", &bob.id).await.unwrap().is_none());
    assert_eq!(
        code(s.mutate(m("b1", &bob, None, create(0.0))).await),
        ErrorCode::NotFound
    );
    let kinds: Vec<String> = sink
        .0
        .lock()
        .iter()
        .map(|e| e.event.kind().to_owned())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "member.joined",
            "member.updated",
            "note.created",
            "member.left"
        ]
    );
}

/// Suggestions are the users sharing a board with the caller whose name
/// starts with the prefix (`_` and `.` are plain characters), each once, by
/// name, never the caller, at most `limit`; a user who left stops counting.
pub async fn user_suggestions(s: &dyn Store) {
    let ann = user(s, "ann").await;
    let bob = user(s, "bob").await;
    let bo_b = user(s, "bo_b").await;
    let boa = user(s, "boa").await;
    let bored = user(s, "bored").await;
    let _stranger = user(s, "bob.stranger").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    s.create_board("b2", &bored, "Other", Timestamp(1))
        .await
        .unwrap();
    let at = SystemClock.now();
    s.create_invite(invite("inv-s", Role::Editor, &ann, at, None))
        .await
        .unwrap();
    for u in [&bob, &bo_b, &boa] {
        join_via(s, "inv-s", u).await.unwrap();
    }
    let names = |v: Vec<User>| v.into_iter().map(|u| u.username).collect::<Vec<_>>();
    // Only people sharing a board: bored (b2 only) and bob.stranger (none) are not listed.
    assert_eq!(
        names(s.suggest_users(&ann.id, "bo", 10).await.unwrap()),
        vec!["bo_b", "boa", "bob"]
    );
    // `_` matches only itself (a LIKE would have matched "boa" and "bob").
    assert_eq!(
        names(s.suggest_users(&ann.id, "bo_", 10).await.unwrap()),
        vec!["bo_b"]
    );
    assert_eq!(
        names(s.suggest_users(&ann.id, "bo", 2).await.unwrap()),
        vec!["bo_b", "boa"]
    );
    // Never the caller; a member sees the owner and the others, each once.
    assert_eq!(
        names(s.suggest_users(&bob.id, "b", 10).await.unwrap()),
        vec!["bo_b", "boa"]
    );
    assert_eq!(
        names(s.suggest_users(&bob.id, "a", 10).await.unwrap()),
        vec!["ann"]
    );
    assert!(s.suggest_users(&ann.id, "z", 10).await.unwrap().is_empty());
    // Sharing a second board does not list anyone twice.
    let b3 = s.create_board("b3", &ann, "Third", Timestamp(1)).await;
    b3.unwrap();
    let mut inv = invite("inv-3", Role::Viewer, &ann, at, None);
    inv.board = "b3".into();
    s.create_invite(inv).await.unwrap();
    let hash = token_hash("tok-inv-3");
    let found = s.find_invite(&hash, at).await.unwrap().unwrap();
    let join = Action::Join {
        role: found.role,
        invite: Some(InviteUse {
            id: found.id,
            created_at: found.created_at,
        }),
    };
    s.mutate(m("b3", &bob, None, join)).await.unwrap();
    assert_eq!(
        names(s.suggest_users(&ann.id, "bob", 10).await.unwrap()),
        vec!["bob"]
    );
    // Whoever leaves every shared board is no longer suggested.
    for b in ["b1", "b3"] {
        let leave = Action::RemoveMember {
            user_id: bob.id.clone(),
        };
        s.mutate(m(b, &bob, None, leave)).await.unwrap();
    }
    assert_eq!(
        names(s.suggest_users(&ann.id, "bo", 10).await.unwrap()),
        vec!["bo_b", "boa"]
    );
}

/// The per-board note limit is enforced inside the transaction.
pub async fn note_limit(s: &dyn Store) {
    let ann = user(s, "ann").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    for _ in 0..3 {
        s.mutate(m("b1", &ann, None, create(0.0))).await.unwrap();
    }
    assert_eq!(
        code(s.mutate(m("b1", &ann, None, create(0.0))).await),
        ErrorCode::TooLarge
    );
}

/// Deleting a board removes it for everyone and fans out `board.deleted`.
pub async fn board_deletion(s: &dyn Store, sink: &CaptureSink) {
    let ann = user(s, "ann").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    s.mutate(m("b1", &ann, None, create(0.0))).await.unwrap();
    let d = s
        .mutate(m("b1", &ann, None, Action::DeleteBoard))
        .await
        .unwrap();
    assert_eq!((d.outcome, d.seq), (Outcome::BoardDeleted, 2));
    assert!(s.board_for("b1", &ann.id).await.unwrap().is_none());
    assert!(s.list_boards(&ann.id).await.unwrap().is_empty());
    assert_eq!(code(s.events_after("b1", 0, 10).await), ErrorCode::NotFound);
    let last = sink.0.lock().last().cloned().unwrap();
    assert_eq!((last.event.kind(), last.event.seq), ("board.deleted", 2));
    assert_eq!(
        code(s.mutate(m("b1", &ann, None, create(0.0))).await),
        ErrorCode::NotFound
    );
}

fn text(id: &str, t: &str) -> Action {
    Action::UpdateNote {
        id: id.into(),
        update: NoteUpdate {
            text: Some(t.into()),
            ..Default::default()
        },
    }
}

/// Invites expire, can be single use, listed and revoked; a create's `op`
/// answer is remembered until revocation; and an invite older than a
/// member's removal or demotion cannot bring them back.
pub async fn invite_lifecycle(s: &dyn Store) {
    let [ann, bob, cy, dan] = [
        user(s, "ann").await,
        user(s, "bob").await,
        user(s, "cy_").await,
        user(s, "dan").await,
    ];
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    let now = SystemClock.now();
    let before = Timestamp(now.0 - 1000);
    // Single use: the second user gets not_found.
    let mut single = invite("single", Role::Editor, &ann, before, None);
    single.single_use = true;
    s.create_invite(single).await.unwrap();
    join_via(s, "single", &bob).await.unwrap();
    assert_eq!(code(join_via(s, "single", &cy).await), ErrorCode::NotFound);
    // Accepting again as a member commits nothing and uses nothing.
    assert!(join_via(s, "single", &bob).await.is_ok());
    // Expired: found (so a retry can replay) but not usable.
    let mut old = invite("old", Role::Viewer, &ann, before, Some(cy.clone()));
    old.expires_at = before;
    s.create_invite(old).await.unwrap();
    let hash = token_hash("tok-old");
    assert!(!s.find_invite(&hash, now).await.unwrap().unwrap().usable);
    assert_eq!(code(join_via(s, "old", &cy).await), ErrorCode::NotFound);
    // Revoked, with its op answer forgotten.
    let mut op = invite("op", Role::Viewer, &ann, before, None);
    op.op = Some(("op-1".into(), "{\"token\":\"x\"}".into()));
    s.create_invite(op).await.unwrap();
    assert_eq!(
        s.invite_answer("b1", &ann.id, "op-1").await.unwrap(),
        Some(Some("{\"token\":\"x\"}".into()))
    );
    assert_eq!(s.invite_answer("b1", &bob.id, "op-1").await.unwrap(), None);
    assert!(s.revoke_invite("b1", "op", now).await.unwrap());
    assert!(!s.revoke_invite("b1", "op", now).await.unwrap());
    assert!(!s.revoke_invite("b2", "single", now).await.unwrap());
    assert_eq!(
        s.invite_answer("b1", &ann.id, "op-1").await.unwrap(),
        Some(None)
    );
    assert_eq!(code(join_via(s, "op", &cy).await), ErrorCode::NotFound);
    // The listing: live invites only, newest first, never a token.
    s.create_invite(invite(
        "multi",
        Role::Editor,
        &ann,
        Timestamp(now.0 - 500),
        None,
    ))
    .await
    .unwrap();
    let listed = s.list_invites("b1", now).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        ["single", "multi"]
            .iter()
            .rev()
            .copied()
            .collect::<Vec<_>>()
    );
    let single = &listed[1];
    assert_eq!(
        (single.single_use, single.uses, single.role),
        (true, 1, Role::Editor)
    );
    assert_eq!(&single.created_by, &ann);
    let json = serde_json::to_value(&listed).unwrap().to_string();
    assert!(!json.contains("tok-"), "{json}");
    // Quota counts: everything ann created (revoked and expired too).
    let all = s.invites_since(&ann.id, None, Timestamp(0)).await.unwrap();
    assert_eq!(all.count, 4);
    assert_eq!(
        s.invites_since(&ann.id, Some(&cy.id), Timestamp(0))
            .await
            .unwrap(),
        InviteCount {
            count: 1,
            oldest: Some(before)
        }
    );
    assert_eq!(s.invites_since(&ann.id, None, now).await.unwrap().count, 0);
    // Removed by the owner: the older link no longer brings bob back.
    join_via(s, "multi", &dan).await.unwrap();
    let rm = |u: &User| Action::RemoveMember {
        user_id: u.id.clone(),
    };
    s.mutate(m("b1", &ann, None, rm(&bob))).await.unwrap();
    assert_eq!(code(join_via(s, "multi", &bob).await), ErrorCode::Forbidden);
    // Demoted, then left: the older link no longer makes dan an editor.
    let down = Action::SetRole {
        user_id: dan.id.clone(),
        role: Role::Viewer,
    };
    s.mutate(m("b1", &ann, None, down)).await.unwrap();
    s.mutate(m("b1", &dan, None, rm(&dan))).await.unwrap();
    assert_eq!(code(join_via(s, "multi", &dan).await), ErrorCode::Forbidden);
    // A member who leaves on their own can come back through an older link.
    join_via(s, "multi", &cy).await.unwrap();
    s.mutate(m("b1", &cy, None, rm(&cy))).await.unwrap();
    join_via(s, "multi", &cy).await.unwrap();
    // A link made after the removal works.
    let after = Timestamp(SystemClock.now().0 + 1);
    s.create_invite(invite("fresh", Role::Viewer, &ann, after, None))
        .await
        .unwrap();
    let j = join_via(s, "fresh", &bob).await.unwrap();
    assert!(matches!(&j.outcome, Outcome::Joined { board } if board.role == Role::Viewer));
}

/// A board with owner ann and members bob (editor) and dan (viewer); cy is no member.
async fn board_with_members(s: &dyn Store) -> [User; 4] {
    let [ann, bob, cy, dan] = [
        user(s, "ann").await,
        user(s, "bob").await,
        user(s, "cy_").await,
        user(s, "dan").await,
    ];
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    for (u, role) in [(&bob, Role::Editor), (&dan, Role::Viewer)] {
        s.mutate(m("b1", u, None, Action::Join { role, invite: None }))
            .await
            .unwrap();
    }
    [ann, bob, cy, dan]
}

fn note_id(o: &Outcome) -> String {
    match o {
        Outcome::NoteCreated { note, .. } | Outcome::NoteUpdated { note, .. } => note.id.clone(),
        other => panic!("a note outcome expected: {other:?}"),
    }
}

/// `(recipient, kind, text)` of the notifications committed with the last event.
fn last_notified(sink: &CaptureSink) -> Vec<(String, String, String)> {
    let last = sink.0.lock().last().cloned().unwrap();
    last.notifications
        .iter()
        .map(|(to, n)| (to.clone(), n.kind.clone(), n.text.clone()))
        .collect()
}

/// Mentions notify the board's members among the newly mentioned names,
/// never the actor, with the note's text cut to 280 characters; they are
/// committed with the event and listed for the recipient.
pub async fn mention_notifications(s: &dyn Store, sink: &CaptureSink) {
    let [ann, bob, cy, dan] = board_with_members(s).await;
    let created = s
        .mutate(m(
            "b1",
            &ann,
            None,
            Action::CreateNote(NoteCreate {
                text: Some("hi @bob @cy_ @ann".into()),
                ..Default::default()
            }),
        ))
        .await
        .unwrap();
    let id = note_id(&created.outcome);
    assert_eq!(
        last_notified(sink),
        vec![(bob.id.clone(), "mention".into(), "hi @bob @cy_ @ann".into())],
        "members only (cy is none), never the actor"
    );
    // Only newly added names count: bob is not notified again, dan is.
    s.mutate(m("b1", &ann, None, text(&id, "hi @bob @cy_ @ann @dan")))
        .await
        .unwrap();
    assert_eq!(
        last_notified(sink),
        vec![(
            dan.id.clone(),
            "mention".into(),
            "hi @bob @cy_ @ann @dan".into()
        )]
    );
    // Moving the note mentions nobody; bob mentioning himself neither.
    let mv = Action::UpdateNote {
        id: id.clone(),
        update: NoteUpdate {
            x: Some(5.0),
            ..Default::default()
        },
    };
    s.mutate(m("b1", &ann, None, mv)).await.unwrap();
    assert!(last_notified(sink).is_empty());
    s.mutate(m("b1", &ann, None, text(&id, "plain")))
        .await
        .unwrap();
    assert!(
        last_notified(sink).is_empty(),
        "removing mentions notifies nobody"
    );
    let long = format!("@ann {}", "é".repeat(400));
    s.mutate(m("b1", &bob, None, text(&id, &long)))
        .await
        .unwrap();
    let notified = last_notified(sink);
    assert_eq!(notified.len(), 1);
    assert_eq!(
        (notified[0].0.as_str(), notified[0].1.as_str()),
        (ann.id.as_str(), "mention")
    );
    assert_eq!(notified[0].2.chars().count(), 280);
    assert!(long.starts_with(&notified[0].2));
    // The recipient lists what the event carried.
    let listed = s.notifications(&bob.id, 0, 100, false).await.unwrap();
    assert_eq!(listed.len(), 1);
    let n = &listed[0];
    assert_eq!(
        (
            n.kind.as_str(),
            n.board.as_deref(),
            n.note.as_deref(),
            &n.by,
            n.read
        ),
        ("mention", Some("b1"), Some(id.as_str()), &ann, false)
    );
    let carried = sink.0.lock()[2].notifications[0].1.clone();
    assert_eq!(&carried, n, "the committed notification is the stored one");
    assert!(s
        .notifications(&cy.id, 0, 100, false)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(s.unread_count(&dan.id).await.unwrap(), 1);
}

/// An invite naming a user stores their `invited` notification, carrying the token.
pub async fn invited_notification(s: &dyn Store) {
    let ann = user(s, "ann").await;
    let bob = user(s, "bob").await;
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    let at = Timestamp(9);
    let new = |id: &str, notify| invite(id, Role::Editor, &ann, at, notify);
    assert_eq!(s.create_invite(new("inv-0", None)).await.unwrap(), None);
    let n = s
        .create_invite(new("inv-1", Some(bob.clone())))
        .await
        .unwrap()
        .expect("an invited notification");
    let expected = Notification {
        id: 1,
        kind: "invited".into(),
        board: Some("b1".into()),
        note: None,
        by: ann.clone(),
        at: Timestamp(9),
        text: "tok-inv-1".into(),
        read: false,
    };
    assert_eq!(n, expected);
    assert_eq!(
        s.notifications(&bob.id, 0, 100, false).await.unwrap(),
        vec![expected]
    );
    assert_eq!(s.unread_count(&bob.id).await.unwrap(), 1);
    assert_eq!(s.unread_count(&ann.id).await.unwrap(), 0);
}

fn activity(to: &User, by: &User, i: i64) -> NewNotification {
    NewNotification {
        user_id: to.id.clone(),
        kind: "board.activity",
        board: Some("b1".into()),
        note: None,
        by: by.clone(),
        at: Timestamp(i),
        text: format!("n{i}"),
    }
}

fn ids(list: &[Notification]) -> Vec<u64> {
    list.iter().map(|n| n.id).collect()
}

/// Ids increase per user from 1; listing is newest first (or oldest first,
/// for resuming), after a position and up to a limit; reads are counted.
pub async fn notification_ids_order_and_reads(s: &dyn Store) {
    let ann = user(s, "ann").await;
    let bob = user(s, "bob").await;
    for i in 1..=5 {
        let n = s.add_notification(activity(&ann, &bob, i)).await.unwrap();
        assert_eq!(n.id, i as u64);
        assert_eq!(n.text, format!("n{i}"));
    }
    let n = s.add_notification(activity(&bob, &ann, 1)).await.unwrap();
    assert_eq!(n.id, 1, "ids are per user");
    let newest = s.notifications(&ann.id, 0, 100, false).await.unwrap();
    assert_eq!(ids(&newest), vec![5, 4, 3, 2, 1]);
    assert_eq!(newest[0].text, "n5");
    assert_eq!(
        ids(&s.notifications(&ann.id, 2, 2, false).await.unwrap()),
        vec![5, 4]
    );
    assert_eq!(
        ids(&s.notifications(&ann.id, 2, 2, true).await.unwrap()),
        vec![3, 4]
    );
    assert_eq!(
        ids(&s.notifications(&ann.id, 0, 100, true).await.unwrap()),
        vec![1, 2, 3, 4, 5]
    );
    assert!(s
        .notifications(&ann.id, 5, 100, true)
        .await
        .unwrap()
        .is_empty());
    assert!(
        s.notifications(&ann.id, u64::MAX, 100, false)
            .await
            .unwrap()
            .is_empty(),
        "nothing is after the largest position"
    );
    assert_eq!(s.unread_count(&ann.id).await.unwrap(), 5);
    assert_eq!(s.mark_read(&ann.id, 3).await.unwrap(), 2);
    let read: Vec<bool> = s
        .notifications(&ann.id, 0, 100, true)
        .await
        .unwrap()
        .iter()
        .map(|n| n.read)
        .collect();
    assert_eq!(read, vec![true, true, true, false, false]);
    assert_eq!(
        s.unread_count(&bob.id).await.unwrap(),
        1,
        "another user's are untouched"
    );
    assert_eq!(
        s.mark_read(&ann.id, u64::MAX).await.unwrap(),
        0,
        "up to the largest id reads all"
    );
    assert_eq!(s.unread_count(&ann.id).await.unwrap(), 0);
}

/// Older pages come before an id, newest first; one notification is read
/// on its own (someone else's, or one that does not exist, is not found).
pub async fn older_notifications_and_reading_one(s: &dyn Store) {
    let ann = user(s, "ann").await;
    let bob = user(s, "bob").await;
    for i in 1..=7 {
        s.add_notification(activity(&ann, &bob, i)).await.unwrap();
    }
    s.add_notification(activity(&bob, &ann, 1)).await.unwrap();
    let before = |b, n| s.notifications_before(&ann.id, b, n);
    assert_eq!(ids(&before(6, 3).await.unwrap()), vec![5, 4, 3]);
    assert_eq!(ids(&before(3, 100).await.unwrap()), vec![2, 1]);
    assert!(before(1, 100).await.unwrap().is_empty());
    assert_eq!(ids(&before(u64::MAX, 2).await.unwrap()), vec![7, 6]);
    assert_eq!(s.mark_one_read(&ann.id, 4).await.unwrap(), Some(6));
    assert_eq!(
        s.mark_one_read(&ann.id, 4).await.unwrap(),
        Some(6),
        "twice is fine"
    );
    assert_eq!(s.mark_one_read(&ann.id, 99).await.unwrap(), None);
    assert_eq!(
        s.mark_one_read(&bob.id, 4).await.unwrap(),
        None,
        "not bob's"
    );
    let read: Vec<u64> = s
        .notifications(&ann.id, 0, 100, true)
        .await
        .unwrap()
        .iter()
        .filter(|n| n.read)
        .map(|n| n.id)
        .collect();
    assert_eq!(read, vec![4]);
    assert_eq!(s.unread_count(&bob.id).await.unwrap(), 1);
}

/// Search finds titles and live notes by word prefix, only on the caller's
/// boards, and follows every write: create, text update, Yjs edit, delete,
/// restore, rename, leave and board delete. Hostile input is just words.
pub async fn search_follows_every_write(s: &dyn Store) {
    use crate::store::search::Query;
    let ann = user(s, "ann").await;
    let bob = user(s, "bob").await;
    let find = |who: &User, q: &str| {
        let (who, q) = (who.id.clone(), Query::parse(q).unwrap());
        async move {
            s.search(&who, &q, 50)
                .await
                .unwrap()
                .into_iter()
                .map(|h| match h.note {
                    Some(_) => format!("{}:{}", h.board.id, h.text),
                    None => format!("{}#{}", h.board.id, h.text),
                })
                .collect::<Vec<_>>()
        }
    };
    s.create_board("b1", &ann, "Roadmap Zürich", Timestamp(1))
        .await
        .unwrap();
    s.create_board("b2", &bob, "Bob's stuff", Timestamp(1))
        .await
        .unwrap();
    let mk = |board: &'static str, who: &User, text: &str| {
        let a = Action::CreateNote(NoteCreate {
            text: Some(text.into()),
            ..Default::default()
        });
        s.mutate(m(board, who, None, a))
    };
    let Outcome::NoteCreated { note, .. } = mk("b1", &ann, "Sticky zebra crossing")
        .await
        .unwrap()
        .outcome
    else {
        panic!("created expected")
    };
    let id = note.id.clone();
    mk("b2", &bob, "zebra secret").await.unwrap();
    assert_eq!(find(&ann, "zebr").await, vec!["b1:Sticky zebra crossing"]);
    assert_eq!(
        find(&ann, "STI cross").await,
        vec!["b1:Sticky zebra crossing"]
    );
    assert!(
        find(&ann, "sti nothing").await.is_empty(),
        "every word must match"
    );
    assert_eq!(
        find(&ann, "zurich").await,
        vec!["b1#Roadmap Zürich"],
        "diacritics"
    );
    assert_eq!(
        find(&bob, "zebr").await,
        vec!["b2:zebra secret"],
        "only members' boards"
    );
    for hostile in [
        "\"",
        "*",
        "NEAR(",
        "-zebra",
        "zebra\" OR \"secret",
        "a:b",
        "'",
        "()^~",
        "日本",
    ] {
        let found = find(&ann, hostile).await;
        assert!(found.len() <= 1, "{hostile:?}: {found:?}");
    }
    // A plain text update, then a Yjs edit.
    let upd = Action::UpdateNote {
        id: id.clone(),
        update: NoteUpdate {
            text: Some("giraffe".into()),
            ..Default::default()
        },
    };
    s.mutate(m("b1", &ann, None, upd)).await.unwrap();
    assert!(find(&ann, "zebra").await.is_empty());
    assert_eq!(find(&ann, "gir").await, vec!["b1:giraffe"]);
    let state = TextDoc::from_stored(
        s.note("b1", &id)
            .await
            .unwrap()
            .unwrap()
            .text_state
            .as_deref(),
        "giraffe",
    )
    .unwrap()
    .state();
    let u = yjs_edit(33, &state, |t, txn| {
        use yrs::Text;
        t.insert(txn, 0, "okapi ")
    });
    s.mutate(m(
        "b1",
        &ann,
        None,
        Action::EditNote {
            id: id.clone(),
            update: u,
        },
    ))
    .await
    .unwrap();
    assert_eq!(find(&ann, "oka gir").await, vec!["b1:okapi giraffe"]);
    // A move changes nothing; delete, restore.
    let mv = Action::UpdateNote {
        id: id.clone(),
        update: NoteUpdate {
            x: Some(5.0),
            ..Default::default()
        },
    };
    s.mutate(m("b1", &ann, None, mv)).await.unwrap();
    assert_eq!(find(&ann, "okapi").await.len(), 1);
    s.mutate(m("b1", &ann, None, Action::DeleteNote { id: id.clone() }))
        .await
        .unwrap();
    assert!(
        find(&ann, "okapi").await.is_empty(),
        "a deleted note is not found"
    );
    s.mutate(m("b1", &ann, None, Action::RestoreNote { id: id.clone() }))
        .await
        .unwrap();
    assert_eq!(find(&ann, "okapi").await, vec!["b1:okapi giraffe"]);
    // Rename; membership; board delete.
    let rename = Action::RenameBoard {
        title: "Plans".into(),
    };
    s.mutate(m("b1", &ann, None, rename)).await.unwrap();
    assert!(find(&ann, "roadmap").await.is_empty());
    assert_eq!(find(&ann, "plan").await, vec!["b1#Plans"]);
    s.create_invite(invite("i1", Role::Viewer, &ann, Timestamp(2), None))
        .await
        .unwrap();
    join_via(s, "i1", &bob).await.unwrap();
    assert_eq!(find(&bob, "okapi").await.len(), 1, "a new member finds it");
    let leave = Action::RemoveMember {
        user_id: bob.id.clone(),
    };
    s.mutate(m("b1", &bob, None, leave)).await.unwrap();
    assert!(
        find(&bob, "okapi").await.is_empty(),
        "a member who left does not"
    );
    s.mutate(m("b1", &ann, None, Action::DeleteBoard))
        .await
        .unwrap();
    assert!(find(&ann, "okapi").await.is_empty());
    assert!(find(&ann, "plans").await.is_empty());
    assert_eq!(find(&bob, "zebra").await, vec!["b2:zebra secret"]);
}

/// Deleting a board deletes its notifications, and their ids are never handed out again.
pub async fn notifications_go_with_their_board(s: &dyn Store) {
    let [ann, bob, _, _] = board_with_members(s).await;
    s.create_board("b2", &ann, "Other", Timestamp(1))
        .await
        .unwrap();
    let mut other = activity(&bob, &ann, 1);
    other.board = Some("b2".into());
    assert_eq!(s.add_notification(other).await.unwrap().id, 1);
    for i in 0..3 {
        s.mutate(m(
            "b1",
            &ann,
            None,
            Action::CreateNote(NoteCreate {
                text: Some(format!("{i} @bob")),
                ..Default::default()
            }),
        ))
        .await
        .unwrap();
    }
    assert_eq!(
        ids(&s.notifications(&bob.id, 0, 100, false).await.unwrap()),
        vec![4, 3, 2, 1]
    );
    s.mutate(m("b1", &ann, None, Action::DeleteBoard))
        .await
        .unwrap();
    let left = s.notifications(&bob.id, 0, 100, false).await.unwrap();
    assert_eq!(ids(&left), vec![1]);
    assert_eq!(left[0].board.as_deref(), Some("b2"));
    assert_eq!(s.unread_count(&bob.id).await.unwrap(), 1);
    // A stream that saw id 4 must see the next one: ids only grow.
    let next = s.add_notification(activity(&bob, &ann, 9)).await.unwrap();
    assert_eq!(next.id, 5);
    assert_eq!(
        ids(&s.notifications(&bob.id, 4, 100, true).await.unwrap()),
        vec![5]
    );
}

fn new_board(id: &str, owner: &User, op: Option<&str>, at: i64) -> NewBoard {
    NewBoard {
        id: id.into(),
        owner: owner.clone(),
        title: format!("Board {id}"),
        op: op.map(Into::into),
        now: Timestamp(at),
    }
}

/// A retried board create answers the first board and creates no other;
/// the owner's quota is checked in the create's transaction, after the
/// replay; a deleted board frees its place; pruning forgets old create ops.
pub async fn board_quota_and_create_ops(s: &dyn Store) {
    let (ann, bob) = (user(s, "ann").await, user(s, "bob").await);
    let first = s
        .create_board_with(new_board("b1", &ann, Some("c1"), 1))
        .await
        .unwrap();
    assert!(!first.replayed);
    let again = s
        .create_board_with(new_board("b2", &ann, Some("c1"), 2))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.board, first.board, "the original answer, not b2");
    assert_eq!(s.list_boards(&ann.id).await.unwrap().len(), 1);
    // Another user's op of the same name is their own.
    let bobs = s
        .create_board_with(new_board("b3", &bob, Some("c1"), 3))
        .await
        .unwrap();
    assert_eq!((bobs.board.id.as_str(), bobs.replayed), ("b3", false));
    s.create_board("b4", &ann, "Two", Timestamp(4))
        .await
        .unwrap();
    assert_eq!(
        code(s.create_board_with(new_board("b5", &ann, None, 5)).await),
        ErrorCode::RateLimited
    );
    assert_eq!(
        code(
            s.create_board_with(new_board("b5", &ann, Some("c2"), 5))
                .await
        ),
        ErrorCode::RateLimited
    );
    // A replay is not a new board: it is answered over the quota too.
    let over = s
        .create_board_with(new_board("b6", &ann, Some("c1"), 6))
        .await
        .unwrap();
    assert_eq!((over.board.id.as_str(), over.replayed), ("b1", true));
    // The refused op was not remembered; a freed place lets it through.
    s.mutate(m("b4", &ann, None, Action::DeleteBoard))
        .await
        .unwrap();
    let c2 = s
        .create_board_with(new_board("b7", &ann, Some("c2"), 7))
        .await
        .unwrap();
    assert_eq!((c2.board.id.as_str(), c2.replayed), ("b7", false));
    // Ops older than the log's age window are forgotten by pruning.
    s.mutate(m("b1", &ann, None, Action::DeleteBoard))
        .await
        .unwrap();
    s.prune(Timestamp(1 + 1000 + 3)).await.unwrap();
    let fresh = s
        .create_board_with(new_board("b8", &ann, Some("c1"), 9_000))
        .await
        .unwrap();
    assert_eq!((fresh.board.id.as_str(), fresh.replayed), ("b8", false));
}

/// Board rename and delete take an op like note mutations: a retry answers
/// the first outcome and applies nothing; a retried delete answers
/// `BoardDeleted` although the board is gone, for its actor only.
pub async fn board_rename_and_delete_ops(s: &dyn Store, sink: &CaptureSink) {
    let (ann, bob) = (user(s, "ann").await, user(s, "bob").await);
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    let rename = |title: &str| Action::RenameBoard {
        title: title.into(),
    };
    let r1 = s
        .mutate(m("b1", &ann, Some("r1"), rename("A")))
        .await
        .unwrap();
    let r2 = s
        .mutate(m("b1", &ann, Some("r1"), rename("B")))
        .await
        .unwrap();
    assert!(r2.replayed);
    assert_eq!((r2.outcome, r2.seq), (r1.outcome, r1.seq));
    assert_eq!(
        s.board_for("b1", &ann.id).await.unwrap().unwrap().title,
        "A"
    );
    assert_eq!(sink.seqs().len(), 1, "one event for two renames");
    let d1 = s
        .mutate(m("b1", &ann, Some("d1"), Action::DeleteBoard))
        .await
        .unwrap();
    let d2 = s
        .mutate(m("b1", &ann, Some("d1"), Action::DeleteBoard))
        .await
        .unwrap();
    assert!(d2.replayed && !d1.replayed);
    assert_eq!((d2.outcome, d2.seq), (Outcome::BoardDeleted, d1.seq));
    assert_eq!(sink.seqs().len(), 2, "one board.deleted for two deletes");
    for (who, op) in [(&ann, Some("d2")), (&ann, None), (&bob, Some("d1"))] {
        assert_eq!(
            code(s.mutate(m("b1", who, op, Action::DeleteBoard)).await),
            ErrorCode::NotFound
        );
    }
}

/// History: the board at every seq, rebuilt from its events, equals the
/// snapshot taken right after that seq's mutation (creates, moves, text
/// edits, plain replacements, deletes, restores, renames, joins), for the
/// owner and a viewer, before and after pruning moved the resume window
/// past most of the log; positions beyond the board are refused.
pub async fn history_rebuilds_every_seq(s: &dyn Store) {
    use crate::core::Color;
    use yrs::Text;
    let (ann, bob, cy) = (
        user(s, "ann").await,
        user(s, "bob").await,
        user(s, "cy_").await,
    );
    s.create_board("b1", &ann, "Plan", Timestamp(1))
        .await
        .unwrap();
    let mut snaps = vec![s.snapshot("b1", &ann.id).await.unwrap().unwrap()];
    macro_rules! apply {
        ($who:expr, $action:expr) => {{
            let a = s.mutate(m("b1", $who, None, $action)).await.unwrap();
            let snap = s.snapshot("b1", &ann.id).await.unwrap().unwrap();
            assert_eq!(a.seq, snap.seq);
            assert_eq!(snap.seq as usize, snaps.len(), "one snapshot per seq");
            snaps.push(snap);
            a.outcome
        }};
    }
    let n1 = note_id(&apply!(&ann, create(1.0)));
    let n2 = note_id(&apply!(&ann, create(2.0)));
    apply!(
        &bob,
        Action::Join {
            role: Role::Viewer,
            invite: None
        }
    );
    apply!(
        &ann,
        Action::UpdateNote {
            id: n1.clone(),
            update: NoteUpdate {
                x: Some(40.5),
                color: Some(Color::Pink),
                ..Default::default()
            },
        }
    );
    let state0 = TextDoc::seeded("").state();
    let u1 = yjs_edit(11, &state0, |t, txn| t.insert(txn, 0, "hello"));
    let u2 = yjs_edit(22, &state0, |t, txn| t.insert(txn, 0, "world"));
    for u in [u1, u2] {
        apply!(
            &ann,
            Action::EditNote {
                id: n2.clone(),
                update: u
            }
        );
    }
    apply!(&ann, text(&n1, "plain"));
    apply!(
        &ann,
        Action::RenameBoard {
            title: "Renamed".into()
        }
    );
    apply!(&ann, Action::DeleteNote { id: n1.clone() });
    apply!(&ann, Action::RestoreNote { id: n1.clone() });
    apply!(&ann, Action::DeleteNote { id: n2.clone() });
    apply!(
        &ann,
        Action::RenameBoard {
            title: "Again".into()
        }
    );
    apply!(&ann, create(3.0));
    let last = (snaps.len() - 1) as u64;
    assert!(snaps[6].notes.iter().any(|n| n.text.contains("hello")));
    check_history(s, &snaps, [&ann, &bob], "before pruning").await;
    assert_eq!(snaps[0].board.title, "Plan");
    assert_eq!(snaps[last as usize].board.title, "Again");
    // Not a member: nothing; beyond the board: bad_request naming seq.
    assert_eq!(s.history("b1", &cy.id, 0).await.unwrap(), None);
    assert_eq!(s.history_events("b1", &cy.id, 0, 10).await.unwrap(), None);
    assert_eq!(s.history("nope", &ann.id, 0).await.unwrap(), None);
    let beyond = s.history("b1", &ann.id, last + 1).await.unwrap_err();
    let StoreError::Rejected(e) = beyond else {
        panic!("rejection expected: {beyond:?}")
    };
    assert_eq!(e.code, ErrorCode::BadRequest);
    assert_eq!(e.details.unwrap()["field"], "seq");
    let events_seqs = |page: crate::store::HistoryEvents| {
        let seqs: Vec<u64> = page
            .events
            .iter()
            .map(|b| serde_json::from_slice::<crate::core::Event>(b).unwrap().seq)
            .collect();
        (seqs, page.seq)
    };
    let all = s.history_events("b1", &bob.id, 0, 1000).await.unwrap();
    assert_eq!(
        events_seqs(all.unwrap()),
        ((1..=last).collect::<Vec<_>>(), last)
    );
    let page = s.history_events("b1", &ann.id, 4, 3).await.unwrap();
    assert_eq!(events_seqs(page.unwrap()), (vec![5, 6, 7], last));
    let page = s.history_events("b1", &ann.id, last, 3).await.unwrap();
    assert_eq!(events_seqs(page.unwrap()), (vec![], last));
    let StoreError::Rejected(e) = s
        .history_events("b1", &ann.id, last + 1, 3)
        .await
        .unwrap_err()
    else {
        panic!("rejection expected")
    };
    assert_eq!(
        (e.code, e.details.unwrap()["field"].clone()),
        (ErrorCode::BadRequest, serde_json::json!("after"))
    );
    // Pruning moves the resume window but keeps the events for history.
    let later = Timestamp(i64::MAX / 4);
    assert_eq!(s.prune(later).await.unwrap(), last - 2);
    assert_eq!(
        s.events_after("b1", 0, 100).await.unwrap(),
        EventsAfter::TooOld { seq: last }
    );
    check_history(s, &snaps, [&ann, &bob], "after pruning").await;
    let all = s.history_events("b1", &ann.id, 0, 1000).await.unwrap();
    assert_eq!(events_seqs(all.unwrap()).0.len() as u64, last);
    // A later mutation still replays on top of the kept log.
    apply!(&ann, create(4.0));
    check_history(s, &snaps, [&ann, &bob], "after another mutation").await;
}

/// `history` at every seq equals `snaps[seq]` for the owner `ann` (who took
/// the snapshots), and for the viewer `bob` but for his role.
async fn check_history(
    s: &dyn Store,
    snaps: &[crate::store::Snapshot],
    [ann, bob]: [&User; 2],
    label: &str,
) {
    for (at, want) in snaps.iter().enumerate() {
        let got = s.history("b1", &ann.id, at as u64).await.unwrap();
        assert_eq!(got.as_ref(), Some(want), "{label}: seq {at}");
        let as_viewer = s.history("b1", &bob.id, at as u64).await.unwrap().unwrap();
        assert_eq!(as_viewer.board.role, Role::Viewer, "{label}: seq {at}");
        let mut as_owner = as_viewer.clone();
        as_owner.board.role = Role::Owner;
        assert_eq!(&as_owner, want, "{label}: seq {at}");
    }
}

/// 150 random mutations (create, move, recolour, text, Yjs edit, delete,
/// restore, rename) on one board, the board's snapshot taken after each: the
/// model. `history` at every seq, asked in a scrambled order (so checkpoints
/// are written out of order, then read), and asked again (from the stored
/// checkpoints), equals the model. `every` is the checkpoint spacing (0: off).
pub async fn history_of_random_mutations_matches_every_snapshot(s: &dyn Store, every: u64) {
    use crate::core::Color;
    use yrs::Text;
    let ann = user(s, "ann").await;
    s.create_board("b1", &ann, "Random", Timestamp(1))
        .await
        .unwrap();
    let mut snaps = vec![s.snapshot("b1", &ann.id).await.unwrap().unwrap()];
    // A fixed-seed generator: the run is the same every time.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ every;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut live: Vec<String> = Vec::new();
    let mut deleted: Vec<String> = Vec::new();
    let colors = [Color::Yellow, Color::Pink, Color::Blue, Color::Green];
    while snaps.len() <= 150 {
        let pick = next(8);
        let action = match pick {
            _ if live.is_empty() => create(next(1000) as f64),
            0 => create(next(1000) as f64),
            1 => Action::UpdateNote {
                id: live[next(live.len() as u64) as usize].clone(),
                update: NoteUpdate {
                    x: Some(next(500) as f64 + 0.5),
                    y: Some(next(500) as f64),
                    ..Default::default()
                },
            },
            2 => Action::UpdateNote {
                id: live[next(live.len() as u64) as usize].clone(),
                update: NoteUpdate {
                    color: Some(colors[next(4) as usize]),
                    w: Some(100.0 + next(200) as f64),
                    ..Default::default()
                },
            },
            3 => text(
                &live[next(live.len() as u64) as usize],
                &format!("text {}", next(1_000_000)),
            ),
            4 => {
                let id = live[next(live.len() as u64) as usize].clone();
                let rec = s.note("b1", &id).await.unwrap().unwrap();
                let state = TextDoc::from_stored(rec.text_state.as_deref(), &rec.note.text)
                    .unwrap()
                    .state();
                let n = next(100);
                let update = yjs_edit(1000 + n, &state, |t, txn| {
                    t.insert(txn, 0, &format!("edit {n} "));
                });
                Action::EditNote { id, update }
            }
            5 => {
                let id = live.swap_remove(next(live.len() as u64) as usize);
                deleted.push(id.clone());
                Action::DeleteNote { id }
            }
            6 if !deleted.is_empty() => {
                let id = deleted.swap_remove(next(deleted.len() as u64) as usize);
                live.push(id.clone());
                Action::RestoreNote { id }
            }
            _ => Action::RenameBoard {
                title: format!("Title {}", next(1000)),
            },
        };
        let a = s.mutate(m("b1", &ann, None, action)).await.unwrap();
        if let Outcome::NoteCreated { note, .. } = &a.outcome {
            if !live.contains(&note.id) {
                live.push(note.id.clone());
            }
        }
        let snap = s.snapshot("b1", &ann.id).await.unwrap().unwrap();
        assert_eq!(snap.seq as usize, snaps.len(), "one snapshot per seq");
        snaps.push(snap);
    }
    let mut order: Vec<usize> = (0..snaps.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, next(i as u64 + 1) as usize);
    }
    for pass in ["cold", "from checkpoints"] {
        for &at in &order {
            let got = s.history("b1", &ann.id, at as u64).await.unwrap();
            assert_eq!(
                got.as_ref(),
                Some(&snaps[at]),
                "every {every}, {pass}: seq {at}"
            );
        }
    }
}
