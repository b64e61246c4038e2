//! Puts each board's events back in seq order, once each, before the hub sees them.
//!
//! Over Redis, events of one board can arrive twice (this node's own commit
//! and its echo, a backfill overlapping a live message), out of order (two
//! nodes committing seq 5 and 6 publish concurrently) or not at all (pub/sub
//! drops what is sent while a subscriber reconnects). The sequencer drops
//! repeats, holds an event that comes early for a short wait, and names the
//! boards whose gap outlived the wait so the caller can backfill them from
//! the log. It is pure: time is passed in, and it does no I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::store::CommittedEvent;

struct BoardOrder {
    /// The seq the hub needs next.
    next: u64,
    /// Events that came early, by seq.
    held: BTreeMap<u64, Arc<CommittedEvent>>,
    /// When the oldest unfilled gap was seen.
    gap_since: Option<Instant>,
    /// Last time an event for this board came in.
    touched: Instant,
    /// Whether `next` is known. A board first seen with no subscriber
    /// position is not: its first events may arrive out of order (two nodes
    /// publish seq 1 and 2 concurrently), so they are held for the wait and
    /// released from the lowest seq seen, instead of the first to arrive.
    anchored: bool,
}

/// Per-board ordering state for the events a node receives.
pub struct Sequencer {
    boards: HashMap<String, BoardOrder>,
    wait: Duration,
}

impl Sequencer {
    /// A sequencer that waits `wait` for a missing event before asking for a backfill.
    pub fn new(wait: Duration) -> Self {
        Self {
            boards: HashMap::new(),
            wait,
        }
    }

    /// Takes one event; returns the events that can now go to the hub, in order.
    ///
    /// For a board it has not seen, `position` gives the last seq this node's
    /// subscribers already have (if any), so the first event cannot skip one.
    pub fn push(
        &mut self,
        ev: Arc<CommittedEvent>,
        now: Instant,
        position: impl FnOnce() -> Option<u64>,
    ) -> Vec<Arc<CommittedEvent>> {
        let seq = ev.event.seq;
        let order = self
            .boards
            .entry(ev.event.board.clone())
            .or_insert_with(|| {
                let start = position();
                BoardOrder {
                    next: start.map_or(seq, |p| p + 1),
                    held: BTreeMap::new(),
                    gap_since: None,
                    touched: now,
                    anchored: start.is_some(),
                }
            });
        order.touched = now;
        if !order.anchored {
            order.next = order.next.min(seq);
            order.held.entry(seq).or_insert(ev);
            order.gap_since.get_or_insert(now);
            return Vec::new();
        }
        if seq < order.next {
            metrics::counter!("corkboard_bus_duplicates_total").increment(1);
            return Vec::new();
        }
        if seq > order.next {
            order.held.entry(seq).or_insert(ev);
            order.gap_since.get_or_insert(now);
            return Vec::new();
        }
        let mut out = vec![ev];
        order.next += 1;
        Self::drain(order, &mut out);
        out
    }

    fn drain(order: &mut BoardOrder, out: &mut Vec<Arc<CommittedEvent>>) {
        while let Some(entry) = order.held.first_entry() {
            if *entry.key() < order.next {
                entry.remove();
            } else if *entry.key() == order.next {
                out.push(entry.remove());
                order.next += 1;
            } else {
                break;
            }
        }
        order.gap_since = if order.held.is_empty() {
            None
        } else {
            order.gap_since
        };
    }

    /// Releases, in seq order from the lowest seen, the first events of
    /// boards first seen without a position once they have waited the wait.
    pub fn release_unanchored(&mut self, now: Instant) -> Vec<Arc<CommittedEvent>> {
        let mut out = Vec::new();
        for order in self.boards.values_mut() {
            let due = order
                .gap_since
                .is_some_and(|t| now.saturating_duration_since(t) >= self.wait);
            if !order.anchored && due {
                order.anchored = true;
                Self::drain(order, &mut out);
            }
        }
        out
    }

    /// Boards whose gap has waited at least the wait, with the last seq
    /// delivered (backfill the log after it). Boards not anchored yet are
    /// left to [`Sequencer::release_unanchored`].
    pub fn overdue(&self, now: Instant) -> Vec<(String, u64)> {
        self.boards
            .iter()
            .filter(|(_, o)| {
                o.anchored
                    && o.gap_since
                        .is_some_and(|t| now.saturating_duration_since(t) >= self.wait)
            })
            .map(|(b, o)| (b.clone(), o.next.saturating_sub(1)))
            .collect()
    }

    /// When the next gap becomes overdue, if one is open.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.boards
            .values()
            .filter_map(|o| o.gap_since)
            .min()
            .map(|t| t + self.wait)
    }

    /// Gives up on a board's gap (the log no longer has it): releases what
    /// was held, in order. The hub cuts off subscribers that needed the
    /// missing events, and they resume from a snapshot.
    pub fn skip(&mut self, board: &str) -> Vec<Arc<CommittedEvent>> {
        let Some(order) = self.boards.get_mut(board) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some((&first, _)) = order.held.first_key_value() {
            order.next = first;
            Self::drain(order, &mut out);
        }
        out
    }

    /// The last seq delivered for a board, if it has been seen.
    pub fn position(&self, board: &str) -> Option<u64> {
        self.boards
            .get(board)
            .filter(|o| o.anchored)
            .map(|o| o.next.saturating_sub(1))
    }

    /// Forgets boards with no open gap and no event for `idle`.
    pub fn forget_idle(&mut self, now: Instant, idle: Duration) {
        self.boards
            .retain(|_, o| !o.held.is_empty() || now.saturating_duration_since(o.touched) < idle);
    }

    /// Boards being tracked (for tests and metrics).
    pub fn len(&self) -> usize {
        self.boards.len()
    }

    /// Whether no board is tracked.
    pub fn is_empty(&self) -> bool {
        self.boards.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Event, EventBody, Timestamp, User};
    use bytes::Bytes;

    fn ev(board: &str, seq: u64) -> Arc<CommittedEvent> {
        Arc::new(CommittedEvent {
            event: Event {
                board: board.into(),
                seq,
                by: User {
                    id: "u".into(),
                    username: "u".into(),
                },
                op: None,
                at: Timestamp(0),
                body: EventBody::NoteDeleted { id: "n".into() },
            },
            json: Bytes::new(),
            notifications: vec![],
            remote: true,
            trace: Default::default(),
        })
    }

    fn seqs(v: &[Arc<CommittedEvent>]) -> Vec<u64> {
        v.iter().map(|e| e.event.seq).collect()
    }

    #[test]
    fn in_order_passes_and_repeats_drop() {
        let mut s = Sequencer::new(Duration::from_millis(20));
        let t = Instant::now();
        assert_eq!(seqs(&s.push(ev("b", 1), t, || Some(0))), vec![1]);
        assert_eq!(seqs(&s.push(ev("b", 2), t, || None)), vec![2]);
        assert!(s.push(ev("b", 2), t, || None).is_empty());
        assert!(s.push(ev("b", 1), t, || None).is_empty());
        assert_eq!(s.position("b"), Some(2));
    }

    #[test]
    fn early_events_wait_for_the_missing_one() {
        let mut s = Sequencer::new(Duration::from_millis(20));
        let t = Instant::now();
        s.push(ev("b", 4), t, || Some(3));
        assert!(s.push(ev("b", 6), t, || None).is_empty());
        assert!(s.push(ev("b", 7), t, || None).is_empty());
        assert!(s.overdue(t).is_empty());
        assert_eq!(s.next_deadline(), Some(t + Duration::from_millis(20)));
        assert_eq!(
            s.overdue(t + Duration::from_millis(20)),
            vec![("b".to_owned(), 4)]
        );
        assert_eq!(seqs(&s.push(ev("b", 5), t, || None)), vec![5, 6, 7]);
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn a_backfill_fills_the_gap_and_repeats_drop() {
        let mut s = Sequencer::new(Duration::from_millis(20));
        let t = Instant::now();
        s.push(ev("b", 1), t, || Some(0));
        s.push(ev("b", 4), t, || None);
        // The backfill reads 2..=4 from the log; 4 is also held.
        let mut out = Vec::new();
        for q in 2..=4 {
            out.extend(s.push(ev("b", q), t, || None));
        }
        assert_eq!(seqs(&out), vec![2, 3, 4]);
        assert!(s.push(ev("b", 4), t, || None).is_empty());
    }

    #[test]
    fn the_first_event_starts_from_the_subscribers_position() {
        let mut s = Sequencer::new(Duration::from_millis(20));
        let t = Instant::now();
        // Subscribers here have seq 9: an arriving 11 must wait for 10.
        assert!(s.push(ev("b", 11), t, || Some(9)).is_empty());
        assert_eq!(seqs(&s.push(ev("b", 10), t, || None)), vec![10, 11]);
        // No subscriber position: the first events wait out the reorder
        // wait, then go from the lowest seen.
        assert!(s.push(ev("c", 7), t, || None).is_empty());
        assert_eq!(
            seqs(&s.release_unanchored(t + Duration::from_millis(20))),
            vec![7]
        );
    }

    /// Seed-free regression of the Redis bus contract failing on a loaded
    /// machine: two nodes published a new board's seq 1 and 2 concurrently,
    /// 2 arrived first, and 1 was dropped as a repeat.
    #[test]
    fn a_new_board_without_position_waits_for_its_lowest_seq() {
        let mut s = Sequencer::new(Duration::from_millis(20));
        let t = Instant::now();
        assert!(s.push(ev("b", 2), t, || None).is_empty());
        assert!(s.push(ev("b", 1), t, || None).is_empty());
        assert!(s.push(ev("b", 3), t, || None).is_empty());
        assert_eq!(s.position("b"), None, "not anchored yet");
        assert!(s.overdue(t + Duration::from_millis(30)).is_empty());
        assert!(s
            .release_unanchored(t + Duration::from_millis(5))
            .is_empty());
        assert_eq!(s.next_deadline(), Some(t + Duration::from_millis(20)));
        let out = s.release_unanchored(t + Duration::from_millis(20));
        assert_eq!(seqs(&out), vec![1, 2, 3]);
        assert_eq!(s.position("b"), Some(3));
        // Anchored now: the next event passes at once, a repeat drops.
        assert_eq!(s.push(ev("b", 4), t, || None).len(), 1);
        assert!(s.push(ev("b", 2), t, || None).is_empty());
    }

    #[test]
    fn skip_releases_what_was_held() {
        let mut s = Sequencer::new(Duration::from_millis(20));
        let t = Instant::now();
        s.push(ev("b", 1), t, || Some(0));
        s.push(ev("b", 5), t, || None);
        s.push(ev("b", 6), t, || None);
        assert_eq!(seqs(&s.skip("b")), vec![5, 6]);
        assert_eq!(s.position("b"), Some(6));
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn idle_boards_are_forgotten_unless_a_gap_is_open() {
        let mut s = Sequencer::new(Duration::from_millis(20));
        let t = Instant::now();
        s.push(ev("a", 1), t, || Some(0));
        s.push(ev("b", 1), t, || Some(0));
        s.push(ev("b", 3), t, || None);
        s.forget_idle(t + Duration::from_secs(120), Duration::from_secs(60));
        assert_eq!(s.len(), 1);
        assert_eq!(s.position("b"), Some(1));
    }
}
