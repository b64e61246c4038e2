//! Live notification streams per user, with the same exactly-once resume as
//! board streams: a stream registers (buffering), the caller replays the
//! store after `Last-Event-ID`, then [`NotifyHub::go_live`] sends what was
//! held with a newer id and switches to live.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::cluster::{ClusterLink, ClusterSync};
use super::frames;
use super::outbox::Outbox;
use super::registry::ConnId;
use crate::core::Notification;

enum Mode {
    Buffering(Vec<Notification>),
    Live { last: u64 },
}

struct Stream {
    conn: ConnId,
    outbox: Arc<Outbox>,
    mode: Mode,
}

/// `event: notification` with the notification id as the SSE id.
pub fn notification_frame(n: &Notification) -> Utf8Bytes {
    let data = serde_json::to_string(n).unwrap_or_else(|_| "{}".into());
    frames::sse_event("notification", n.id, data.as_bytes())
}

/// `event: unread` (no id) with `{count}`.
pub fn unread_frame(count: u64) -> Utf8Bytes {
    frames::sse_unnumbered("unread", &format!("{{\"count\":{count}}}"))
}

/// `event: boards` (no id) with `{reason, board}`: the user's boards list
/// changed (the "invalidation" pattern: the client refetches it).
pub fn boards_frame(reason: &str, board: &str) -> Utf8Bytes {
    let data = serde_json::json!({"reason": reason, "board": board}).to_string();
    frames::sse_unnumbered("boards", &data)
}

/// Every open notification stream on this node, by user.
#[derive(Default)]
pub struct NotifyHub {
    users: Mutex<HashMap<String, Vec<Stream>>>,
    cluster: ClusterSync,
}

impl NotifyHub {
    /// Connects to the other nodes (cluster mode; set once at start).
    pub fn set_cluster(&self, link: Arc<dyn ClusterLink>) {
        self.cluster.set(link);
    }

    /// Registers a stream in buffering mode.
    pub fn begin(&self, user_id: &str, conn: ConnId, outbox: Arc<Outbox>) {
        self.users
            .lock()
            .entry(user_id.to_owned())
            .or_default()
            .push(Stream {
                conn,
                outbox,
                mode: Mode::Buffering(Vec::new()),
            });
    }

    /// Sends held notifications newer than `last` and switches to live.
    pub fn go_live(&self, user_id: &str, conn: ConnId, last: u64) {
        let mut g = self.users.lock();
        let Some(streams) = g.get_mut(user_id) else {
            return;
        };
        let Some(st) = streams.iter_mut().find(|s| s.conn == conn) else {
            return;
        };
        let mut last = last;
        if let Mode::Buffering(held) = std::mem::replace(&mut st.mode, Mode::Live { last }) {
            for n in held {
                if n.id > last {
                    st.outbox.push(notification_frame(&n));
                    last = n.id;
                }
            }
        }
        st.mode = Mode::Live { last };
    }

    /// Removes a stream.
    pub fn remove(&self, user_id: &str, conn: ConnId) {
        let mut g = self.users.lock();
        if let Some(streams) = g.get_mut(user_id) {
            streams.retain(|s| s.conn != conn);
            if streams.is_empty() {
                g.remove(user_id);
            }
        }
    }

    /// Delivers a new notification to the user's streams on every node.
    pub fn publish(&self, user_id: &str, n: &Notification) {
        self.cluster.notification(user_id, n);
        self.publish_local(user_id, n);
    }

    /// Delivers a notification to the user's streams on this node.
    pub fn publish_local(&self, user_id: &str, n: &Notification) {
        let mut g = self.users.lock();
        let Some(streams) = g.get_mut(user_id) else {
            return;
        };
        let mut frame = None;
        for st in streams.iter_mut() {
            match &mut st.mode {
                Mode::Buffering(held) => held.push(n.clone()),
                Mode::Live { last } => {
                    if n.id > *last {
                        *last = n.id;
                        let f = frame.get_or_insert_with(|| notification_frame(n));
                        st.outbox.push(f.clone());
                    }
                }
            }
        }
    }

    /// Sends the unread count to the user's live streams on every node.
    pub fn unread(&self, user_id: &str, count: u64) {
        self.cluster.unread(user_id, count);
        self.unread_local(user_id, count);
    }

    /// Sends the unread count to the user's live streams on this node.
    pub fn unread_local(&self, user_id: &str, count: u64) {
        let g = self.users.lock();
        if let Some(streams) = g.get(user_id) {
            let f = unread_frame(count);
            for st in streams {
                if matches!(st.mode, Mode::Live { .. }) {
                    st.outbox.push(f.clone());
                }
            }
        }
    }

    /// Tells the user's live streams on every node that their boards list
    /// changed (`reason`: created, renamed, deleted, shared, left, removed).
    pub fn boards(&self, user_id: &str, reason: &str, board: &str) {
        self.cluster.boards(user_id, reason, board);
        self.boards_local(user_id, reason, board);
    }

    /// Tells the user's live streams on this node that their boards list changed.
    pub fn boards_local(&self, user_id: &str, reason: &str, board: &str) {
        let g = self.users.lock();
        if let Some(streams) = g.get(user_id) {
            let f = boards_frame(reason, board);
            for st in streams {
                if matches!(st.mode, Mode::Live { .. }) {
                    st.outbox.push(f.clone());
                }
            }
        }
    }

    /// Whether the user has a notification stream open on this node.
    pub fn has_streams(&self, user_id: &str) -> bool {
        self.users.lock().contains_key(user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Timestamp, User};
    use crate::realtime::outbox::Drained;

    fn n(id: u64) -> Notification {
        Notification {
            id,
            kind: "mention".into(),
            board: Some("b".into()),
            note: None,
            by: User {
                id: "u".into(),
                username: "ann".into(),
            },
            at: Timestamp(0),
            text: "hi".into(),
            read: false,
        }
    }

    #[tokio::test]
    async fn resume_drops_what_the_replay_covered() {
        let h = NotifyHub::default();
        let o = Arc::new(Outbox::new(1 << 20));
        h.begin("u1", 1, o.clone());
        h.publish("u1", &n(4));
        h.publish("u1", &n(5));
        h.go_live("u1", 1, 4);
        h.publish("u1", &n(5));
        h.publish("u1", &n(6));
        h.unread("u1", 2);
        let mut out = Vec::new();
        assert!(matches!(o.drain(&mut out).await, Drained::Frames));
        let text: String = out.iter().map(|f| f.as_str()).collect();
        assert_eq!(text.matches("event: notification").count(), 2, "{text}");
        assert!(text.contains("id: 5\n") && text.contains("id: 6\n"));
        assert!(text.ends_with("event: unread\ndata: {\"count\":2}\n\n"));
    }

    #[tokio::test]
    async fn boards_changes_reach_live_streams_only() {
        let h = NotifyHub::default();
        let (live, held) = (
            Arc::new(Outbox::new(1 << 20)),
            Arc::new(Outbox::new(1 << 20)),
        );
        h.begin("u1", 1, live.clone());
        h.go_live("u1", 1, 0);
        h.begin("u1", 2, held.clone());
        h.boards("u1", "renamed", "b\"1");
        h.boards("u2", "deleted", "b2");
        let mut out = Vec::new();
        assert!(matches!(live.drain(&mut out).await, Drained::Frames));
        let text: String = out.iter().map(|f| f.as_str()).collect();
        assert_eq!(
            text,
            "event: boards\ndata: {\"reason\":\"renamed\",\"board\":\"b\\\"1\"}\n\n"
        );
        let mut out = Vec::new();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(50), held.drain(&mut out)).await;
        assert!(waited.is_err(), "a buffering stream gets none");
    }
}
