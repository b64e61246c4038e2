//! Turns committed events into notifications and pushes them to the
//! recipients' streams: mentions (committed with their event by the store),
//! and `board.activity` for members who are not on the board, coalesced to
//! at most one per board per user per minute.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::App;
use crate::core::notification::{self, ActivityCoalescer};
use crate::core::{EventBody, User};
use crate::store::CommittedEvent;

struct BoardInfo {
    title: String,
    members: Vec<User>,
}

/// Runs until the bus closes.
pub async fn run(app: Arc<App>, mut rx: broadcast::Receiver<Arc<CommittedEvent>>) {
    let app = &*app;
    let mut boards: HashMap<String, BoardInfo> = HashMap::new();
    let mut activity = ActivityCoalescer::default();
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "notifier lagged; some activity notifications were skipped"
                );
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        // Every node receives the event, so each serves its own streams.
        for (user_id, n) in &ev.notifications {
            app.notify.publish_local(user_id, n);
            push_unread_local(app, user_id).await;
        }
        if ev.remote {
            // Activity notifications are made once, by the node that committed.
            continue;
        }
        let e = &ev.event;
        match &e.body {
            EventBody::MemberJoined { .. }
            | EventBody::MemberUpdated { .. }
            | EventBody::MemberLeft { .. }
            | EventBody::BoardDeleted {} => {
                boards.remove(&e.board);
                if matches!(e.body, EventBody::BoardDeleted {}) {
                    activity.forget_board(&e.board);
                }
                continue;
            }
            EventBody::BoardUpdated { title } => {
                if let Some(info) = boards.get_mut(&e.board) {
                    info.title = title.clone();
                }
            }
            _ => {}
        }
        if !boards.contains_key(&e.board) {
            let Ok(members) = app.store.members(&e.board).await else {
                continue;
            };
            let title = match members.first() {
                Some((u, _)) => match app.store.board_for(&e.board, &u.id).await {
                    Ok(Some(b)) => b.title,
                    _ => continue,
                },
                None => continue,
            };
            boards.insert(
                e.board.clone(),
                BoardInfo {
                    title,
                    members: members.into_iter().map(|(u, _)| u).collect(),
                },
            );
            if boards.len() > 10_000 {
                boards.clear();
                continue;
            }
        }
        let Some(info) = boards.get(&e.board) else {
            continue;
        };
        let now = app.clock.now();
        let due: Vec<User> = activity
            .due(
                &e.board,
                &e.by,
                &info.members,
                |m| app.hub.is_present(&e.board, &m.id),
                now,
            )
            .into_iter()
            .cloned()
            .collect();
        for m in due {
            let created = app
                .store
                .add_notification(notification::activity(
                    &e.board,
                    &info.title,
                    &e.by,
                    &m,
                    now,
                ))
                .await;
            match created {
                Ok(n) => {
                    app.notify.publish(&m.id, &n);
                    push_unread(app, &m.id).await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "could not store an activity notification")
                }
            }
        }
    }
}

/// Sends the user's current unread count to their streams on every node.
pub async fn push_unread(app: &App, user_id: &str) {
    // In cluster mode another node may hold the user's streams.
    if app.cluster.is_some() || app.notify.has_streams(user_id) {
        if let Some(c) = unread_count(app, user_id).await {
            app.notify.unread(user_id, c);
        }
    }
}

/// Sends the user's current unread count to their streams on this node (if any are open).
pub async fn push_unread_local(app: &App, user_id: &str) {
    if app.notify.has_streams(user_id) {
        if let Some(c) = unread_count(app, user_id).await {
            app.notify.unread_local(user_id, c);
        }
    }
}

async fn unread_count(app: &App, user_id: &str) -> Option<u64> {
    app.store
        .unread_count(user_id)
        .await
        .map_err(|e| tracing::warn!(error = %e, "could not count unread notifications"))
        .ok()
}
