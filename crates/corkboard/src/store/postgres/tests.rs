//! The store contract suite on PostgreSQL, and what only a shared database
//! adds: several nodes (stores) writing to one board.

use super::testing::{available, TestDatabase};
use super::*;
use crate::core::{Action, NoteCreate, SystemClock};
use crate::store::contract::{self, CaptureSink};

async fn open(db: &TestDatabase, sink: Arc<dyn EventSink>, limits: Limits) -> PgStore {
    PgStore::open(&db.url, 8, sink, limits, Arc::new(SystemClock))
        .await
        .expect("open the PostgreSQL store")
}

fn create(board: &str, actor: &User, op: String) -> Mutation {
    Mutation {
        board: board.into(),
        actor: actor.clone(),
        op: Some(op),
        action: Action::CreateNote(NoteCreate {
            x: 1.0,
            y: 2.0,
            ..Default::default()
        }),
    }
}

/// The PostgreSQL store passes the whole store contract suite, each check on a new database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_store_contract() {
    if !available("postgres_passes_the_store_contract").await {
        return;
    }
    let made = Arc::new(parking_lot::Mutex::new(Vec::new()));
    contract::run_all(|sink, limits| {
        let made = made.clone();
        async move {
            let db = TestDatabase::create().await;
            let s = Arc::new(open(&db, sink, limits).await);
            made.lock().push((db, s.clone()));
            s as Arc<dyn Store>
        }
    })
    .await;
    let made = std::mem::take(&mut *made.lock());
    for (db, s) in made {
        s.close().await;
        drop(db);
    }
}

/// Two nodes (two stores on one database) writing to one board at once:
/// seqs 1..=N with no gap and no duplicate, the log agrees, and each node
/// fans out its own events in increasing seq order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_writing_one_board_leave_no_gap() {
    if !available("two_nodes_writing_one_board_leave_no_gap").await {
        return;
    }
    let db = TestDatabase::create().await;
    let sinks = [
        Arc::new(CaptureSink::default()),
        Arc::new(CaptureSink::default()),
    ];
    let nodes = [
        Arc::new(open(&db, sinks[0].clone(), Limits::default()).await),
        Arc::new(open(&db, sinks[1].clone(), Limits::default()).await),
    ];
    let ann = nodes[0]
        .create_user("u1", "ann", "h", Timestamp(1))
        .await
        .unwrap();
    nodes[1]
        .create_board("b1", &ann, "T", Timestamp(1))
        .await
        .unwrap();
    let stores: Vec<Arc<dyn Store>> = nodes.iter().map(|n| n.clone() as Arc<dyn Store>).collect();
    let all = contract::write_concurrently(&stores, "b1", &ann, 8, 20).await;
    assert_eq!(all, (1..=160).collect::<Vec<u64>>());
    // A retry on the other node answers with the original seq.
    let again = nodes[0]
        .mutate(create("b1", &ann, "w1-3".into()))
        .await
        .unwrap();
    assert!(again.replayed);
    for sink in &sinks {
        let seqs: Vec<u64> = sink.seqs().into_iter().map(|(_, s)| s).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a node fans out in commit order"
        );
    }
    let fanned = sinks[0].seqs().len() + sinks[1].seqs().len();
    assert_eq!(fanned, 160);
    let EventsAfter::Events { events, seq } = nodes[1].events_after("b1", 0, 1000).await.unwrap()
    else {
        panic!("events expected")
    };
    assert_eq!(seq, 160);
    let logged: Vec<u64> = events
        .iter()
        .map(|e| {
            serde_json::from_slice::<serde_json::Value>(e).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(logged, (1..=160).collect::<Vec<u64>>());
    let snap = nodes[0].snapshot("b1", "u1").await.unwrap().unwrap();
    assert_eq!((snap.seq, snap.notes.len()), (160, 160));
    for n in nodes {
        n.close().await;
    }
}

/// Notification ids increase per user, without duplicates, whichever node adds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_ids_are_per_user_and_unique_across_nodes() {
    if !available("notification_ids_are_per_user_and_unique_across_nodes").await {
        return;
    }
    let db = TestDatabase::create().await;
    let a = Arc::new(open(&db, Arc::new(crate::store::NullSink), Limits::default()).await);
    let b = Arc::new(open(&db, Arc::new(crate::store::NullSink), Limits::default()).await);
    let ann = a.create_user("u1", "ann", "h", Timestamp(1)).await.unwrap();
    let bob = a.create_user("u2", "bob", "h", Timestamp(1)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let (to, by) = if i % 4 < 2 {
            (ann.clone(), bob.clone())
        } else {
            (bob.clone(), ann.clone())
        };
        tasks.push(tokio::spawn(async move {
            s.add_notification(NewNotification {
                user_id: to.id.clone(),
                kind: "board.activity",
                board: None,
                note: None,
                by,
                at: Timestamp(i),
                text: format!("n{i}"),
            })
            .await
            .unwrap()
            .id
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for u in [&ann, &bob] {
        let ids: Vec<u64> = a
            .notifications(&u.id, 0, 100, true)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(ids, (1..=20).collect::<Vec<u64>>());
        assert_eq!(b.unread_count(&u.id).await.unwrap(), 20);
    }
    assert_eq!(a.mark_read(&ann.id, 15).await.unwrap(), 5);
    a.close().await;
    b.close().await;
}

/// Data survives a reopen (migrations run again as a no-op); a closed store is unavailable.
#[tokio::test]
async fn reopen_keeps_everything() {
    if !available("reopen_keeps_everything").await {
        return;
    }
    let db = TestDatabase::create().await;
    let s = open(&db, Arc::new(crate::store::NullSink), Limits::default()).await;
    let u = s.create_user("u1", "ann", "h", Timestamp(1)).await.unwrap();
    s.create_board("b1", &u, "T", Timestamp(1)).await.unwrap();
    s.ping().await.unwrap();
    s.close().await;
    assert!(matches!(s.ping().await, Err(StoreError::Unavailable)));
    assert!(matches!(
        s.create_board("b2", &u, "T", Timestamp(1)).await,
        Err(StoreError::Unavailable)
    ));
    let s = open(&db, Arc::new(crate::store::NullSink), Limits::default()).await;
    assert_eq!(s.list_boards("u1").await.unwrap().len(), 1);
    s.close().await;
}
