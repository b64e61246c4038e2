/**
 * Reads a board's events for the history panel, only where they are shown:
 * the newest page on open, the page below a run when the list is scrolled to
 * its end, the page around a seq the slider rests on, and live events as they
 * arrive at the head. What is loaded lives in an `EventWindow` (bounded; the
 * events farthest from what is shown are dropped). No React here, so the
 * request pattern is unit-tested with a fake fetch.
 */
import type { ApiError } from "@/lib/api";
import type { BoardEvent } from "@/realtime/protocol";
import { EVENTS_PAGE, EventWindow, newestPage, pageAround, pageBelow, type PageRequest } from "./historyWindow";

/** `GET /history/events?after=&limit=`: the events and the board's current seq. */
export type FetchEvents = (after: number, limit: number, signal: AbortSignal) => Promise<{ events: BoardEvent[]; seq: number }>;

const isAbort = (e: unknown) => e instanceof DOMException && e.name === "AbortError";

export class HistoryLoader {
  readonly window: EventWindow;
  /** The board's newest seq, as last heard (server answers, live events). */
  head = 0;
  /** The lowest seq still kept by the server (boards pruned before history was kept: `410 gone` below it). */
  floor = 0;
  /** Requests in flight. */
  pending = 0;
  error: string | null = null;
  /** What is shown (the chosen seq; null = live): trimming keeps the events nearest to it. */
  private focus: number | null = null;
  /** Whether the newest run reaches the head, so live events are appended to it (at first: the newest page is read). */
  private following = true;
  private followAgain = false;
  private followBusy = false;
  private closed = new AbortController();

  constructor(
    private readonly fetchEvents: FetchEvents,
    private readonly changed: () => void,
    max?: number,
  ) {
    this.window = new EventWindow(max);
  }

  /**
   * The board's seq is `liveSeq`: the first call reads the newest page; later
   * ones (live events) append to the newest run while it reaches the head.
   */
  async follow(liveSeq: number): Promise<void> {
    this.head = Math.max(this.head, liveSeq);
    if (!this.following) return this.changed();
    if (this.followBusy) {
      this.followAgain = true;
      return;
    }
    this.followBusy = true;
    try {
      do {
        this.followAgain = false;
        // Keep reading while the server says there is more (bounded: each round is at most one page behind).
        for (let round = 0; round < 3 && (this.window.top < this.head || this.window.size === 0); round++) {
          const top = this.window.top;
          const req = this.head - top > EVENTS_PAGE || top === 0 ? newestPage(this.head) : { after: top, limit: EVENTS_PAGE };
          const got = await this.load(req);
          if (!got || got.length === 0) break;
        }
      } while (this.followAgain);
    } finally {
      this.followBusy = false;
    }
  }

  /** The page below the run that starts at `from` ("Load older"). */
  async older(from: number): Promise<void> {
    const req = pageBelow(from, this.floor);
    if (req) await this.load(req, req.after + 1);
  }

  /** The page above the run that ends at `to` ("Load newer", once the head was dropped). */
  async newer(to: number): Promise<void> {
    if (to >= this.head) return;
    const req: PageRequest = { after: to, limit: EVENTS_PAGE };
    await this.load(req, to + EVENTS_PAGE);
    if (this.window.top >= this.head) this.following = true;
  }

  /** Event `seq` is about to be shown (the slider rests there): its page, unless loaded. */
  async ensure(seq: number, signal?: AbortSignal): Promise<void> {
    if (seq <= this.floor || this.window.at(seq)) return;
    await this.load(pageAround(seq, this.head, this.floor), seq, signal);
  }

  /** What is shown: the chosen seq, null for live. */
  setFocus(seq: number | null): void {
    this.focus = seq;
  }

  /** Stops every request (the panel closed). */
  close(): void {
    this.closed.abort();
  }

  /** Allows requests again after `close` (React mounts effects twice in development). */
  start(): void {
    if (this.closed.signal.aborted) this.closed = new AbortController();
  }

  /**
   * One page: merged into the window, which is then trimmed around `focus`
   * (default: what is shown). Resolves with the events (null on failure).
   */
  private async load(req: PageRequest, focus = this.focus ?? this.head, signal?: AbortSignal): Promise<BoardEvent[] | null> {
    const abort = signal ? AbortSignal.any([signal, this.closed.signal]) : this.closed.signal;
    this.pending++;
    this.changed();
    try {
      const page = await this.fetchEvents(req.after, req.limit, abort);
      if (abort.aborted) return null;
      this.head = Math.max(this.head, page.seq);
      this.window.add(req.after, page.events);
      const top = this.window.top;
      this.window.trim(focus);
      // The newest events were dropped: live events are no longer appended (the list offers "Load newer").
      if (this.window.top < top) this.following = false;
      this.error = null;
      return page.events;
    } catch (e) {
      if (isAbort(e) || abort.aborted) return null;
      const err = e as ApiError;
      const from = err.details?.from;
      if (err.code === "gone" && typeof from === "number" && from > this.floor) {
        // The server no longer has these events: never ask below `from` again, and read from there.
        this.floor = from;
        if (req.after < from) return this.load({ after: from, limit: req.limit }, Math.max(focus, from + 1), signal);
        return null;
      }
      this.error = `Couldn't load the history: ${err.message}`;
      return null;
    } finally {
      this.pending--;
      this.changed();
    }
  }
}
