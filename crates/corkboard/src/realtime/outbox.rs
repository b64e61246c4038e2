//! A connection's bounded outbound queue, counted in bytes.
//!
//! Producers never block: the hub pushes shared frames (`Utf8Bytes`, a
//! reference-counted buffer, never copied per subscriber) and, when the queue
//! would pass its byte limit, the outbox closes itself with
//! [`CloseReason::OutboxFull`] (WebSocket 1013) so a slow reader is cut off
//! instead of growing memory or slowing the others. The connection's own
//! task may instead wait for room ([`Outbox::push_wait`]) when it produces a
//! burst it controls (a replay). Signals are droppable, and cursors are
//! coalesced to the newest per sender.

use std::collections::{HashMap, VecDeque};

use axum::extract::ws::Utf8Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::close::CloseReason;

/// Identifies a cursor stream: (board, sending connection). The board name is
/// shared, so queuing a cursor for many subscribers allocates nothing per subscriber.
pub type CursorKey = (std::sync::Arc<str>, u64);

enum Item {
    Frame(Utf8Bytes),
    Cursor(CursorKey),
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Item>,
    bytes: usize,
    cursors: HashMap<CursorKey, Utf8Bytes>,
    closed: Option<CloseReason>,
}

/// The bounded outbound queue of one connection.
pub struct Outbox {
    inner: Mutex<Inner>,
    readable: Notify,
    writable: Notify,
    limit: usize,
}

/// What the writer takes from the outbox.
pub enum Drained {
    /// Frames to send, in order.
    Frames,
    /// Send what was drained, then close with this reason.
    Close(CloseReason),
}

impl Outbox {
    /// An outbox holding at most `limit` bytes of queued frames.
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            readable: Notify::new(),
            writable: Notify::new(),
            limit,
        }
    }

    /// Queues a frame that must not be lost. Past the limit the outbox
    /// closes with [`CloseReason::OutboxFull`]; returns false then.
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        let mut g = self.inner.lock();
        if g.closed.is_some() {
            return false;
        }
        if g.bytes + frame.len() > self.limit && g.bytes > 0 {
            g.closed = Some(CloseReason::OutboxFull);
            drop(g);
            metrics::counter!("corkboard_outbox_overflows_total").increment(1);
            self.readable.notify_one();
            return false;
        }
        g.bytes += frame.len();
        g.queue.push_back(Item::Frame(frame));
        drop(g);
        self.readable.notify_one();
        true
    }

    /// Queues an ephemeral frame (a signal) only while the queue is under half
    /// full; otherwise drops it. Returns whether it was queued.
    pub fn push_droppable(&self, frame: Utf8Bytes) -> bool {
        let mut g = self.inner.lock();
        if g.closed.is_some() || g.bytes + frame.len() > self.limit / 2 {
            metrics::counter!("corkboard_signals_dropped_total").increment(1);
            return false;
        }
        g.bytes += frame.len();
        g.queue.push_back(Item::Frame(frame));
        drop(g);
        self.readable.notify_one();
        true
    }

    /// Queues a cursor: if one from the same sender is still queued, it is
    /// replaced in place (only the newest position matters).
    pub fn push_cursor(&self, key: CursorKey, frame: Utf8Bytes) -> bool {
        let mut g = self.inner.lock();
        if g.closed.is_some() {
            return false;
        }
        let new_len = frame.len();
        if let Some(old) = g.cursors.get_mut(&key) {
            let old_len = old.len();
            *old = frame;
            g.bytes = g.bytes + new_len - old_len;
            metrics::counter!("corkboard_cursors_coalesced_total").increment(1);
            return true;
        }
        if g.bytes + new_len > self.limit / 2 {
            metrics::counter!("corkboard_signals_dropped_total").increment(1);
            return false;
        }
        g.bytes += new_len;
        g.cursors.insert(key.clone(), frame);
        g.queue.push_back(Item::Cursor(key));
        drop(g);
        self.readable.notify_one();
        true
    }

    /// Queues a frame, waiting for room first. A frame larger than the whole
    /// limit is accepted once the queue is empty. Returns false if closed.
    pub async fn push_wait(&self, frame: Utf8Bytes) -> bool {
        loop {
            let wait = self.writable.notified();
            {
                let mut g = self.inner.lock();
                if g.closed.is_some() {
                    return false;
                }
                if g.bytes == 0 || g.bytes + frame.len() <= self.limit {
                    g.bytes += frame.len();
                    g.queue.push_back(Item::Frame(frame));
                    drop(g);
                    self.readable.notify_one();
                    return true;
                }
            }
            wait.await;
        }
    }

    /// Asks the connection to close (after the frames already queued).
    pub fn close(&self, reason: CloseReason) {
        let mut g = self.inner.lock();
        if g.closed.is_none() {
            g.closed = Some(reason);
        }
        drop(g);
        self.readable.notify_one();
        self.writable.notify_waiters();
    }

    /// Whether the outbox has been closed.
    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed.is_some()
    }

    /// Bytes currently queued.
    pub fn queued_bytes(&self) -> usize {
        self.inner.lock().bytes
    }

    /// Waits until there is something to send (or a close), then moves every
    /// queued frame into `out`. An overload close (1013) drops what was
    /// queued: the client resumes from its last seq anyway.
    pub async fn drain(&self, out: &mut Vec<Utf8Bytes>) -> Drained {
        loop {
            let wait = self.readable.notified();
            {
                let mut g = self.inner.lock();
                if let Some(reason) = g.closed {
                    if !reason.is_overload() {
                        Self::take_all(&mut g, out);
                    } else {
                        g.queue.clear();
                        g.cursors.clear();
                        g.bytes = 0;
                    }
                    drop(g);
                    self.writable.notify_waiters();
                    return Drained::Close(reason);
                }
                if !g.queue.is_empty() {
                    Self::take_all(&mut g, out);
                    drop(g);
                    self.writable.notify_waiters();
                    return Drained::Frames;
                }
            }
            wait.await;
        }
    }

    fn take_all(g: &mut Inner, out: &mut Vec<Utf8Bytes>) {
        while let Some(item) = g.queue.pop_front() {
            match item {
                Item::Frame(f) => out.push(f),
                Item::Cursor(k) => {
                    if let Some(f) = g.cursors.remove(&k) {
                        out.push(f);
                    }
                }
            }
        }
        g.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Utf8Bytes {
        Utf8Bytes::from(s)
    }

    async fn drained(o: &Outbox) -> (Vec<String>, Option<CloseReason>) {
        let mut out = Vec::new();
        let r = o.drain(&mut out).await;
        (
            out.iter().map(|b| b.as_str().to_owned()).collect(),
            match r {
                Drained::Frames => None,
                Drained::Close(c) => Some(c),
            },
        )
    }

    #[tokio::test]
    async fn frames_come_out_in_order() {
        let o = Outbox::new(100);
        assert!(o.push(f("a")) && o.push(f("b")));
        assert_eq!(drained(&o).await, (vec!["a".into(), "b".into()], None));
        assert_eq!(o.queued_bytes(), 0);
    }

    #[tokio::test]
    async fn overflow_closes_with_1013_and_refuses_more() {
        let o = Outbox::new(10);
        assert!(o.push(f("0123456789")));
        assert!(!o.push(f("x")));
        assert!(!o.push(f("y")));
        let (frames, close) = drained(&o).await;
        assert!(frames.is_empty());
        assert_eq!(close, Some(CloseReason::OutboxFull));
        assert_eq!(close.unwrap().ws_code(), 1013);
    }

    #[tokio::test]
    async fn cursors_coalesce_to_the_newest_per_sender() {
        let o = Outbox::new(1000);
        let k1: CursorKey = ("b".into(), 1);
        let k2: CursorKey = ("b".into(), 2);
        o.push_cursor(k1.clone(), f("c1-old"));
        o.push(f("event"));
        o.push_cursor(k2, f("c2"));
        o.push_cursor(k1, f("c1-new"));
        let (frames, _) = drained(&o).await;
        assert_eq!(frames, vec!["c1-new", "event", "c2"]);
    }

    #[tokio::test]
    async fn signals_are_dropped_past_half_full() {
        let o = Outbox::new(10);
        assert!(o.push_droppable(f("12345")));
        assert!(!o.push_droppable(f("1")));
        assert!(o.push(f("2")), "durable frames still fit");
    }

    #[tokio::test]
    async fn push_wait_waits_for_room() {
        let o = std::sync::Arc::new(Outbox::new(4));
        assert!(o.push(f("1234")));
        let o2 = o.clone();
        let t = tokio::spawn(async move { o2.push_wait(f("5678")).await });
        tokio::task::yield_now().await;
        assert!(!t.is_finished());
        let (frames, _) = drained(&o).await;
        assert_eq!(frames, vec!["1234"]);
        assert!(t.await.unwrap());
        // A frame bigger than the limit goes through once the queue is empty.
        let (frames, _) = drained(&o).await;
        assert_eq!(frames, vec!["5678"]);
        assert!(o.push_wait(f("0123456789")).await);
    }

    #[tokio::test]
    async fn close_keeps_queued_frames_except_on_overflow() {
        let o = Outbox::new(100);
        o.push(f("last words"));
        o.close(CloseReason::Shutdown);
        let (frames, close) = drained(&o).await;
        assert_eq!(frames, vec!["last words"]);
        assert_eq!(close.unwrap().ws_code(), 1001);
    }
}
