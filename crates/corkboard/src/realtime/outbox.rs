//! A connection's bounded outbound queue, counted in bytes.
//!
//! Producers never block: the hub pushes shared frames (`Utf8Bytes`, a
//! reference-counted buffer, never copied per subscriber) and, when the queue
//! would pass its byte limit, the outbox closes itself with
//! [`CloseReason::OutboxFull`] (WebSocket 1013) so a slow reader is cut off
//! instead of growing memory or slowing the others. The connection's own
//! task may instead wait for room ([`Outbox::push_wait`]) when it produces a
//! burst it controls (a replay, RPC replies): such frames fill at most half
//! the outbox, so live events keep room, and the frames waiting for room are
//! themselves bounded by the limit (past it the outbox closes as full), so a
//! client that never reads pins at most about twice the limit however much
//! it asked for. Signals are droppable, and cursors are coalesced to the
//! newest per sender.
//!
//! One frame larger than the whole limit (a big board's snapshot) is
//! admitted when the queue is empty, and does not count against the limit
//! for the frames queued behind it: a board that fits the note limits can
//! always be opened.
//!
//! The outbox also records when the writer took its current batch, so a
//! watchdog outside the writer can tell a write that makes no progress
//! ([`Outbox::stalled_for`]).

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Utf8Bytes;

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
    /// Bytes of the queued frame admitted over the limit because the queue
    /// was empty; they do not count against the limit for later frames.
    oversize: usize,
    /// Bytes of frames waiting in [`Outbox::push_wait`] for room.
    waiting: usize,
    /// When the writer took the batch it is still writing (None when idle).
    batch_taken: Option<Instant>,
    /// The server is shutting down (see [`Outbox::request_shutdown`]).
    shutdown: bool,
    /// A WebSocket Ping is due (see [`Outbox::request_ping`]).
    ping: bool,
}

impl Inner {
    /// Queued bytes that count against the limit.
    fn counted(&self) -> usize {
        self.bytes - self.oversize
    }

    /// Closes as full (1013) unless closed already.
    fn overflow(&mut self) {
        if self.closed.is_none() {
            metrics::counter!("corkboard_outbox_overflows_total").increment(1);
        }
        self.set_closed(CloseReason::OutboxFull);
    }

    /// Records the first close. An overload close (1013) drops what is
    /// queued at once: the client resumes from its last seq anyway, and a
    /// writer blocked on a peer that does not read must not keep it alive.
    fn set_closed(&mut self, reason: CloseReason) {
        if self.closed.is_some() {
            return;
        }
        self.closed = Some(reason);
        if reason.is_overload() {
            self.queue.clear();
            self.cursors.clear();
            self.bytes = 0;
            self.oversize = 0;
        }
    }

    fn enqueue(&mut self, frame: Utf8Bytes, limit: usize) {
        if self.queue.is_empty() && frame.len() > limit {
            self.oversize = frame.len();
        }
        self.bytes += frame.len();
        self.queue.push_back(Item::Frame(frame));
    }
}

/// The bounded outbound queue of one connection.
pub struct Outbox {
    inner: Mutex<Inner>,
    readable: Notify,
    writable: Notify,
    /// Woken when the outbox closes or shutdown is asked, for a reader
    /// waiting on its peer.
    closing: Notify,
    limit: usize,
}

/// What ends a connection's wait on its peer (see [`Outbox::interrupted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// The outbox closed (an overflow, a revocation, a close asked for).
    Closed,
    /// The server is shutting down.
    Shutdown,
}

/// What the writer takes from the outbox.
pub enum Drained {
    /// Frames to send, in order.
    Frames,
    /// Send a WebSocket Ping first (frames still queued come with the next drain).
    Ping,
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
            closing: Notify::new(),
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
        if g.counted() + frame.len() > self.limit && g.bytes > 0 {
            g.overflow();
            drop(g);
            self.closed_now();
            return false;
        }
        g.enqueue(frame, self.limit);
        drop(g);
        self.readable.notify_one();
        true
    }

    /// Queues an ephemeral frame (a signal) only while the queue is under half
    /// full; otherwise drops it. Returns whether it was queued.
    pub fn push_droppable(&self, frame: Utf8Bytes) -> bool {
        let mut g = self.inner.lock();
        if g.closed.is_some() || g.counted() + frame.len() > self.limit / 2 {
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
        if g.counted() + new_len > self.limit / 2 {
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

    /// Queues a frame the connection's own task produced (a replayed event, a
    /// reply), waiting until the queue is at most half full with it, or
    /// empty (a frame larger than the whole limit goes then). Frames waiting
    /// count too: if a second one would take them past the limit, the
    /// outbox closes as full (1013) instead, so a client that never reads
    /// cannot pin more.
    /// Returns false if closed.
    pub async fn push_wait(&self, frame: Utf8Bytes) -> bool {
        let len = frame.len();
        let mut counted_waiting = false;
        let queued = loop {
            let wait = self.writable.notified();
            {
                let mut g = self.inner.lock();
                if g.closed.is_some() {
                    break false;
                }
                if g.bytes == 0 || g.counted() + len <= self.limit / 2 {
                    g.enqueue(frame, self.limit);
                    if counted_waiting {
                        g.waiting -= len;
                    }
                    drop(g);
                    self.readable.notify_one();
                    return true;
                }
                if !counted_waiting {
                    // One frame may always wait (it exists already); more
                    // may join it only within the limit.
                    if g.waiting > 0 && g.waiting + len > self.limit {
                        g.overflow();
                        drop(g);
                        self.closed_now();
                        return false;
                    }
                    g.waiting += len;
                    counted_waiting = true;
                }
            }
            wait.await;
        };
        if counted_waiting {
            self.inner.lock().waiting -= len;
        }
        queued
    }

    /// Asks the connection to close (after the frames already queued).
    pub fn close(&self, reason: CloseReason) {
        self.inner.lock().set_closed(reason);
        self.closed_now();
    }

    /// Wakes everyone who waits on this outbox after it closed.
    fn closed_now(&self) {
        self.readable.notify_one();
        self.writable.notify_waiters();
        self.closing.notify_waiters();
    }

    /// Whether the outbox has been closed.
    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed.is_some()
    }

    /// Why the outbox closed, once it has.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.inner.lock().closed
    }

    /// Resolves once the outbox is closed, so a task that waits on something
    /// else (the peer) learns of a close made elsewhere (an overflow).
    pub async fn closed(&self) {
        loop {
            let wait = self.closing.notified();
            if self.is_closed() {
                return;
            }
            wait.await;
        }
    }

    /// Asks the writer to send a WebSocket Ping. The connection's watchdog
    /// keeps the heartbeat's time, so the writer needs no timer of its own.
    pub fn request_ping(&self) {
        self.inner.lock().ping = true;
        self.readable.notify_one();
    }

    /// Tells the connection's task that the server is shutting down. The
    /// hub asks every connection, so that each task waits on its own outbox
    /// rather than on one token shared by all (polled on every wake-up, that
    /// shared token's lock was taken once per delivery by every connection).
    pub fn request_shutdown(&self) {
        self.inner.lock().shutdown = true;
        self.closing.notify_waiters();
    }

    /// Resolves once the outbox is closed ([`Interrupt::Closed`]) or the
    /// server is shutting down ([`Interrupt::Shutdown`]), whichever is seen first.
    pub async fn interrupted(&self) -> Interrupt {
        loop {
            let wait = self.closing.notified();
            {
                let g = self.inner.lock();
                if g.closed.is_some() {
                    return Interrupt::Closed;
                }
                if g.shutdown {
                    return Interrupt::Shutdown;
                }
            }
            wait.await;
        }
    }

    /// How long the writer has been writing the batch it took last, if it
    /// has not come back for more: a write that makes no progress (a peer
    /// that stopped reading) shows here, outside the blocked writer.
    pub fn stalled_for(&self, now: Instant) -> Option<Duration> {
        let taken = self.inner.lock().batch_taken?;
        Some(now.saturating_duration_since(taken))
    }

    /// Bytes currently queued.
    pub fn queued_bytes(&self) -> usize {
        self.inner.lock().bytes
    }

    /// Waits until there is something to send (or a close), then moves every
    /// queued frame into `out`. An overload close (1013) drops what was
    /// queued: the client resumes from its last seq anyway.
    pub async fn drain(&self, out: &mut Vec<Utf8Bytes>) -> Drained {
        // Coming back for more means the last batch was written.
        self.inner.lock().batch_taken = None;
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
                        g.oversize = 0;
                    }
                    g.batch_taken = Some(Instant::now());
                    drop(g);
                    self.writable.notify_waiters();
                    return Drained::Close(reason);
                }
                if g.ping {
                    g.ping = false;
                    g.batch_taken = Some(Instant::now());
                    return Drained::Ping;
                }
                if !g.queue.is_empty() {
                    Self::take_all(&mut g, out);
                    g.batch_taken = Some(Instant::now());
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
        g.oversize = 0;
        // An emptied outbox holds no memory: most connections are idle most
        // of the time, and a burst (a presence storm, a replay) must not
        // leave its queue allocated for the connection's idle life. The next
        // frame allocates again (one small allocation per batch, not per frame).
        if g.queue.capacity() > 0 {
            g.queue = VecDeque::new();
        }
        if g.cursors.capacity() > 0 {
            g.cursors = HashMap::new();
        }
    }
}

/// Frees a writer's batch buffer once the batch is written (it is empty
/// then), so an idle connection holds none; the next batch allocates again.
pub fn free_batch<T>(buf: &mut Vec<T>) {
    debug_assert!(buf.is_empty(), "a batch is freed once written");
    *buf = Vec::new();
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
                Drained::Frames | Drained::Ping => None,
                Drained::Close(c) => Some(c),
            },
        )
    }

    #[tokio::test]
    async fn a_drained_outbox_holds_no_queue_memory() {
        let o = Outbox::new(1 << 20);
        for i in 0..500 {
            assert!(o.push(f(&format!("joined {i}"))));
            o.push_cursor(("b".into(), i), f("c"));
        }
        let (frames, _) = drained(&o).await;
        assert_eq!(frames.len(), 1000);
        // One frame at a time (steady traffic) keeps nothing either.
        assert!(o.push(f("one")));
        assert_eq!(drained(&o).await.0, vec!["one".to_owned()]);
        let g = o.inner.lock();
        assert_eq!(g.queue.capacity(), 0, "queue kept {}", g.queue.capacity());
        assert_eq!(
            g.cursors.capacity(),
            0,
            "cursors kept {}",
            g.cursors.capacity()
        );
    }

    #[test]
    fn a_written_batch_buffer_is_freed() {
        let mut big: Vec<u8> = Vec::with_capacity(1000);
        free_batch(&mut big);
        assert_eq!(big.capacity(), 0);
        let mut small: Vec<u8> = Vec::with_capacity(4);
        free_batch(&mut small);
        assert_eq!(small.capacity(), 0);
    }

    #[tokio::test]
    async fn a_waiting_connection_learns_of_shutdown_and_of_a_close() {
        let o = std::sync::Arc::new(Outbox::new(100));
        let waiting = tokio::spawn({
            let o = o.clone();
            async move { o.interrupted().await }
        });
        tokio::task::yield_now().await;
        o.request_shutdown();
        assert_eq!(waiting.await.unwrap(), Interrupt::Shutdown);
        // Asked before the wait began: seen at once.
        assert_eq!(o.interrupted().await, Interrupt::Shutdown);
        // A close wins over a shutdown already asked.
        o.close(CloseReason::OutboxFull);
        assert_eq!(o.interrupted().await, Interrupt::Closed);
        let fresh = Outbox::new(100);
        fresh.close(CloseReason::ClientClosed);
        assert_eq!(fresh.interrupted().await, Interrupt::Closed);
    }

    #[tokio::test]
    async fn a_requested_ping_goes_before_the_queued_frames_and_once() {
        let o = Outbox::new(100);
        assert!(o.push(f("a")));
        o.request_ping();
        o.request_ping();
        let mut out = Vec::new();
        assert!(matches!(o.drain(&mut out).await, Drained::Ping));
        assert!(out.is_empty(), "frames wait for the next drain");
        assert!(
            o.stalled_for(Instant::now()).is_some(),
            "the ping's write is watched"
        );
        assert!(matches!(o.drain(&mut out).await, Drained::Frames));
        assert_eq!(out.len(), 1);
        o.close(CloseReason::ClientClosed);
        assert!(matches!(o.drain(&mut out).await, Drained::Close(_)));
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

    #[tokio::test]
    async fn one_oversized_frame_does_not_count_against_the_limit() {
        let o = Outbox::new(10);
        // A snapshot bigger than the whole outbox, queued while it is empty…
        assert!(o.push_wait(f("01234567890123456789")).await);
        // …leaves the limit to the events behind it (presence, live events).
        assert!(o.push(f("12345")));
        assert!(o.push(f("12345")));
        assert!(!o.push(f("1")), "past the limit it still closes");
        assert_eq!(o.close_reason(), Some(CloseReason::OutboxFull));
    }

    #[tokio::test]
    async fn waiting_replies_are_bounded_and_close_as_full() {
        let o = std::sync::Arc::new(Outbox::new(10));
        assert!(o.push(f("12345678")));
        let o1 = o.clone();
        let first = tokio::spawn(async move { o1.push_wait(f("abcdef")).await });
        while o.inner.lock().waiting == 0 {
            tokio::task::yield_now().await;
        }
        // A second reply would make the waiting bytes pass the limit: a
        // client that never reads cannot pin more than that.
        assert!(!o.push_wait(f("ghijkl")).await);
        assert_eq!(o.close_reason(), Some(CloseReason::OutboxFull));
        assert!(!first.await.unwrap(), "the waiter learns of the close");
        assert_eq!(o.inner.lock().waiting, 0);
        // closed() resolves for a reader waiting on its peer.
        tokio::time::timeout(Duration::from_secs(1), o.closed())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn replies_leave_half_the_outbox_to_live_events() {
        let o = std::sync::Arc::new(Outbox::new(10));
        assert!(o.push_wait(f("123")).await);
        assert!(o.push_wait(f("45")).await);
        let o1 = o.clone();
        let t = tokio::spawn(async move { o1.push_wait(f("6")).await });
        tokio::task::yield_now().await;
        assert!(!t.is_finished(), "over half full: the reply waits");
        assert!(o.push(f("live-")), "live events still fit");
        let (frames, _) = drained(&o).await;
        assert_eq!(frames, vec!["123", "45", "live-"]);
        assert!(t.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn a_batch_not_written_shows_as_stalled() {
        let o = Outbox::new(100);
        assert_eq!(o.stalled_for(Instant::now()), None);
        o.push(f("a"));
        let mut out = Vec::new();
        o.drain(&mut out).await;
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(o.stalled_for(Instant::now()), Some(Duration::from_secs(3)));
        // The writer coming back for more means the batch was written.
        o.push(f("b"));
        o.drain(&mut out).await;
        assert_eq!(o.stalled_for(Instant::now()), Some(Duration::ZERO));
        let next = o.drain(&mut out);
        tokio::pin!(next);
        assert!(futures_util::poll!(&mut next).is_pending());
        assert_eq!(o.stalled_for(Instant::now()), None, "idle is not stalled");
    }

    #[tokio::test]
    async fn one_big_reply_may_wait_behind_a_queue() {
        let o = std::sync::Arc::new(Outbox::new(10));
        assert!(o.push(f("1234")));
        let o1 = o.clone();
        // A snapshot bigger than the limit behind a non-empty queue waits…
        let big = tokio::spawn(async move { o1.push_wait(f("0123456789abcdef")).await });
        while o.inner.lock().waiting == 0 {
            tokio::task::yield_now().await;
        }
        assert!(!o.is_closed());
        // …and goes once the queue is empty.
        let (frames, _) = drained(&o).await;
        assert_eq!(frames, vec!["1234"]);
        assert!(big.await.unwrap());
        let (frames, _) = drained(&o).await;
        assert_eq!(frames, vec!["0123456789abcdef"]);
    }
}
