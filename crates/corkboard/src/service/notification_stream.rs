//! Starting a stream of one user's notifications, shared by the SSE and
//! gRPC doors: replay what the caller asked for from the store, then go
//! live on the notify hub without a gap or a duplicate (notifications that
//! arrive during the replay are held and sent after it, by id), then the
//! unread count.

use crate::realtime::notify::{notification_frame, unread_frame};
use crate::realtime::{CloseReason, ConnId, Outbox};

use super::App;

/// Notifications read from the store per page during a replay.
const PAGE: usize = 500;

/// Where a notification stream starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// With what arrives from now on (SSE without `Last-Event-ID`).
    Now,
    /// After this notification id (a resume). Beyond the newest: as [`Start::Now`].
    After(u64),
    /// With the caller's unread notifications (gRPC without `after`).
    Unread,
}

/// Replays, goes live and sends the unread count, for a stream already
/// registered with `app.notify.begin(user_id, conn, outbox)`. A replay that
/// fails closes the outbox ([`CloseReason::ReplayFailed`]).
pub async fn start(app: &App, user_id: &str, conn: ConnId, outbox: &Outbox, from: Start) {
    let newest = app
        .store
        .notifications(user_id, 0, 1, false)
        .await
        .ok()
        .and_then(|l| l.first().map(|n| n.id))
        .unwrap_or(0);
    let (mut last, replay, only_unread) = match from {
        Start::After(n) if n <= newest => (n, true, false),
        Start::Now | Start::After(_) => (newest, false, false),
        Start::Unread => (0, true, true),
    };
    if replay {
        loop {
            let page = match app.store.notifications(user_id, last, PAGE, true).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "notification replay failed");
                    outbox.close(CloseReason::ReplayFailed);
                    return;
                }
            };
            let n = page.len();
            for item in page {
                last = item.id;
                if only_unread && item.read {
                    continue;
                }
                if !outbox.push_wait(notification_frame(&item)).await {
                    return;
                }
            }
            if n < PAGE {
                break;
            }
        }
    }
    app.notify.go_live(user_id, conn, last);
    if let Ok(c) = app.store.unread_count(user_id).await {
        outbox.push(unread_frame(c));
    }
}
