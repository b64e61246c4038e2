/**
 * The part of a board's event log the history panel holds in memory: a few
 * runs of consecutive events (the newest page, pages the user scrolled or
 * jumped to), never more than `max` events in all. A long board (100,000
 * events) is read a page at a time around what is shown, not from seq 1.
 */
import type { BoardEvent } from "@/realtime/protocol";

/** Events per page of `/history/events` (the server allows 1–1000). */
export const EVENTS_PAGE = 500;
/** The most events kept in memory; the ones farthest from what is shown are dropped. */
export const WINDOW_MAX = 2000;

/** A run of consecutive events, seq `from`…`to`, none missing, oldest first. */
export interface Segment {
  from: number;
  to: number;
  events: BoardEvent[];
}

/** `/history/events?after=…&limit=…` for one page. */
export interface PageRequest {
  after: number;
  limit: number;
}

/** The newest page of a board whose seq is `head`. */
export function newestPage(head: number, page = EVENTS_PAGE): PageRequest {
  return { after: Math.max(0, head - page), limit: page };
}

/** The page just below event `seq` (events `after+1 … seq-1`), never below `floor`; null when there is none. */
export function pageBelow(seq: number, floor = 0, page = EVENTS_PAGE): PageRequest | null {
  const after = Math.max(floor, seq - 1 - page);
  const limit = seq - 1 - after;
  return limit > 0 ? { after, limit } : null;
}

/** A page with event `seq` in its middle (or as near as the head allows). */
export function pageAround(seq: number, head: number, floor = 0, page = EVENTS_PAGE): PageRequest {
  const after = Math.max(floor, Math.min(seq - Math.ceil(page / 2), head - page));
  return { after, limit: page };
}

/** The loaded events, a few consecutive runs, bounded in size. */
export class EventWindow {
  private segs: Segment[] = [];

  constructor(readonly max = WINDOW_MAX) {}

  /** The runs, oldest first. */
  get segments(): readonly Segment[] {
    return this.segs;
  }

  /** Events held. */
  get size(): number {
    return this.segs.reduce((n, s) => n + s.events.length, 0);
  }

  /** The newest loaded seq (0 when empty). */
  get top(): number {
    return this.segs.length ? this.segs[this.segs.length - 1].to : 0;
  }

  /** The run holding event `seq`. */
  segmentOf(seq: number): Segment | undefined {
    return this.segs.find((s) => s.from <= seq && seq <= s.to);
  }

  /** Event `seq`, when loaded. */
  at(seq: number): BoardEvent | undefined {
    const s = this.segmentOf(seq);
    return s?.events[seq - s.from];
  }

  /**
   * Adds a page read with `after` (its events consecutive, oldest first),
   * joining the runs it touches or overlaps.
   */
  add(after: number, events: readonly BoardEvent[]): void {
    if (events.length === 0) return;
    let from = after + 1;
    let to = events[events.length - 1].seq;
    const bySeq = new Map<number, BoardEvent>(events.map((e) => [e.seq, e]));
    const keep: Segment[] = [];
    for (const s of this.segs) {
      if (s.to < from - 1 || s.from > to + 1) {
        keep.push(s);
        continue;
      }
      for (const e of s.events) if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
      from = Math.min(from, s.from);
      to = Math.max(to, s.to);
    }
    const joined = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    keep.push({ from: joined[0].seq, to: joined[joined.length - 1].seq, events: joined });
    this.segs = keep.sort((a, b) => a.from - b.from);
  }

  /** Drops the events farthest from `focus` (by seq) until at most `max` remain. */
  trim(focus: number): void {
    let excess = this.size - this.max;
    if (excess <= 0) return;
    // The farthest event is always at one of the two ends: cut there, one event at a time.
    const all = this.segs.flatMap((s) => s.events);
    let lo = 0;
    let hi = all.length - 1;
    while (excess > 0) {
      if (Math.abs(focus - all[lo].seq) >= Math.abs(all[hi].seq - focus)) {
        lo++;
      } else {
        hi--;
      }
      excess--;
    }
    const lowest = all[lo].seq;
    const highest = all[hi].seq;
    this.segs = this.segs
      .filter((s) => s.to >= lowest && s.from <= highest)
      .map((s) => {
        const events = s.events.filter((e) => e.seq >= lowest && e.seq <= highest);
        return { from: events[0].seq, to: events[events.length - 1].seq, events };
      });
  }

  /** Every loaded event, oldest first. */
  events(): BoardEvent[] {
    return this.segs.flatMap((s) => s.events);
  }
}
