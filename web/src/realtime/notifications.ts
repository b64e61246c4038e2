/**
 * The caller's notifications: the list from `GET /api/notifications`, then
 * live over `GET /api/notifications/stream` (EventSource through
 * reconnecting-eventsource, see web/README.md). `unread` events drive the count.
 *
 * The server sends `unread` as soon as the stream opens, so a stream that
 * brings no event within `firstEventMs` is held on the way (a buffering
 * proxy): it is closed and `GET /api/notifications?after=N` is polled
 * instead, every `pollBackoff.baseMs`, waiting twice as long after each poll
 * that failed (up to `pollBackoff.capMs`); `polling` in the state says so.
 * Every `streamRetryMs` the stream is tried again: when it delivers, polling
 * stops.
 *
 * The same stream carries `event: boards` `{reason, board}` (an extension:
 * the caller's boards list changed), re-emitted on `boardsChanged` for the
 * boards list to refetch; while polling, `boardsChanged` fires after every
 * poll instead (with `reason: "poll"`), so the list still follows.
 *
 * The list holds the newest `limit` items plus any older pages loaded with
 * `loadOlder` (`GET /api/notifications?before=ID`); `hasOlder` says whether
 * the last page was full.
 */
import { backoffCeiling, type BackoffOptions } from "./backoff";
import { Emitter } from "./emitter";
import type { Notification, NotificationList, UnreadEvent } from "./protocol";

/** `event: boards`: the caller's boards list changed (or, while polling, may have). */
export interface BoardsChange {
  reason: "created" | "renamed" | "deleted" | "shared" | "left" | "removed" | "poll";
  board: string | null;
}

/** The EventSource surface used here (tests pass a fake). */
export interface EventSourceLike {
  url: string;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}

export interface NotificationsState {
  items: Notification[];
  unread: number;
  connected: boolean;
  loaded: boolean;
  /** The stream did not get through: the list is polled instead. */
  polling: boolean;
  /** Older items may exist beyond the last one held ("Load older"). */
  hasOlder: boolean;
  /** An older page is being fetched. */
  loadingOlder: boolean;
}

export interface NotificationsOptions {
  /** e.g. `/api/notifications/stream` (absolute or relative). */
  streamUrl: string;
  openStream(url: string): EventSourceLike;
  /** The list, or only the notifications after id `after`. */
  fetchList(after?: string): Promise<NotificationList>;
  markRead(upTo: string): Promise<void>;
  /** Marks one item read (`POST /api/notifications/{id}/read`). */
  markOneRead?(id: string): Promise<void>;
  /** The page of items older than `before`, newest first. */
  fetchOlder?(before: string): Promise<NotificationList>;
  /** How many items to keep. */
  limit?: number;
  /** How long a new stream may bring no event before polling takes over (ms). */
  firstEventMs?: number;
  /** Waits between polls: `baseMs` after an answer, doubling after each failure, at most `capMs`. */
  pollBackoff?: BackoffOptions;
  /** While polling, how often the stream is tried again (ms). */
  streamRetryMs?: number;
}

/** A stream silent this long after opening is held on the way (ms). */
export const NOTIFICATIONS_FIRST_EVENT_MS = 5000;
/** Polls every 5 s while answered; after failures twice as long each time, up to a minute. */
export const NOTIFICATIONS_POLL_BACKOFF: BackoffOptions = { baseMs: 5000, capMs: 60_000 };
/** While polling, the stream is tried again every 5 minutes (the network may have changed). */
export const NOTIFICATIONS_STREAM_RETRY_MS = 5 * 60_000;

/** Compares notification ids (decimal strings of any length). */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Items in one page of `GET /api/notifications`. */
export const NOTIFICATIONS_PAGE = 100;

export class NotificationsClient {
  readonly changes = new Emitter<NotificationsState>();
  /** The caller's boards list changed (see the module docs). */
  readonly boardsChanged = new Emitter<BoardsChange>();
  private state: NotificationsState = {
    items: [],
    unread: 0,
    connected: false,
    loaded: false,
    polling: false,
    hasOlder: false,
    loadingOlder: false,
  };
  /** Items kept beyond `limit`: the older pages loaded on request. */
  private olderLoaded = 0;
  private es: EventSourceLike | null = null;
  private stopped = false;
  private hadError = false;
  private firstEventTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private streamRetryTimer: ReturnType<typeof setTimeout> | null = null;
  private failedPolls = 0;

  constructor(private readonly opts: NotificationsOptions) {}

  getState(): NotificationsState {
    return this.state;
  }

  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.reload();
    } catch {
      /* the stream still brings news */
    }
    if (this.stopped || this.es || this.state.polling) return;
    this.listen();
  }

  /** Opens the stream; one that brings no event in time is held on the way (see `streamHeld`). */
  private listen(): void {
    const es = this.opts.openStream(this.resumeUrl());
    this.es = es;
    this.firstEventTimer = setTimeout(() => this.streamHeld(), this.opts.firstEventMs ?? NOTIFICATIONS_FIRST_EVENT_MS);
    es.addEventListener("open", () => {
      this.set({ connected: true });
      if (this.hadError) {
        // Catch up on anything the stream could not replay (and on read marks).
        this.hadError = false;
        void this.reload().catch(() => undefined);
      }
    });
    es.addEventListener("error", () => {
      this.hadError = true;
      this.set({ connected: false });
    });
    es.addEventListener("notification", (ev) => {
      this.streamDelivered();
      try {
        this.add([JSON.parse(String(ev.data)) as Notification]);
      } catch {
        /* ignore a malformed frame */
      }
    });
    es.addEventListener("boards", (ev) => {
      this.streamDelivered();
      try {
        const change = JSON.parse(String(ev.data)) as BoardsChange;
        if (typeof change.reason === "string") this.boardsChanged.emit(change);
      } catch {
        /* ignore */
      }
    });
    es.addEventListener("unread", (ev) => {
      this.streamDelivered();
      try {
        const { count } = JSON.parse(String(ev.data)) as UnreadEvent;
        if (typeof count === "number") this.set({ unread: count });
      } catch {
        /* ignore */
      }
    });
  }

  stop(): void {
    this.stopped = true;
    this.es?.close();
    this.es = null;
    this.clearTimers();
    this.set({ connected: false, polling: false });
  }

  /** Marks everything up to the newest item read. */
  async markAllRead(): Promise<void> {
    const newest = this.state.items[0];
    if (!newest) return;
    this.set({ unread: 0, items: this.state.items.map((n) => ({ ...n, read: true })) });
    await this.opts.markRead(newest.id);
  }

  /** Marks one item read: at once here, then on the server (the `unread` event confirms the count). */
  async markOneRead(id: string): Promise<void> {
    const item = this.state.items.find((n) => n.id === id);
    if (!item || item.read || !this.opts.markOneRead) return;
    this.set({
      unread: Math.max(0, this.state.unread - 1),
      items: this.state.items.map((n) => (n.id === id ? { ...n, read: true } : n)),
    });
    try {
      await this.opts.markOneRead(id);
    } catch (e) {
      this.set({
        unread: this.state.unread + 1,
        items: this.state.items.map((n) => (n.id === id ? { ...n, read: false } : n)),
      });
      throw e;
    }
  }

  /** Loads the page older than the oldest item held. */
  async loadOlder(): Promise<void> {
    const oldest = this.state.items[this.state.items.length - 1];
    if (!oldest || !this.opts.fetchOlder || this.state.loadingOlder) return;
    this.set({ loadingOlder: true });
    try {
      const list = await this.opts.fetchOlder(oldest.id);
      this.olderLoaded += list.notifications.length;
      this.set({ unread: list.unread, hasOlder: list.notifications.length >= NOTIFICATIONS_PAGE });
      this.add(list.notifications, true);
    } finally {
      this.set({ loadingOlder: false });
    }
  }

  /** The stream flows: it is not held by a proxy, and polling (if any) stops. */
  private streamDelivered(): void {
    if (this.firstEventTimer) clearTimeout(this.firstEventTimer);
    this.firstEventTimer = null;
    if (!this.state.polling) return;
    this.clearTimers();
    this.set({ polling: false });
  }

  /** The stream brought nothing: close it, poll the list instead, and try the stream again later. */
  private streamHeld(): void {
    this.firstEventTimer = null;
    if (this.stopped) return;
    this.es?.close();
    this.es = null;
    this.set({ connected: false });
    if (!this.state.polling) {
      this.failedPolls = 0;
      this.set({ polling: true });
      void this.poll();
    }
    this.streamRetryTimer = setTimeout(() => {
      this.streamRetryTimer = null;
      if (!this.stopped) this.listen();
    }, this.opts.streamRetryMs ?? NOTIFICATIONS_STREAM_RETRY_MS);
  }

  private async poll(): Promise<void> {
    try {
      const newest = this.state.items[0];
      const list = await this.opts.fetchList(newest?.id);
      if (this.stopped) return;
      this.failedPolls = 0;
      this.set({ unread: list.unread, loaded: true });
      this.add(list.notifications, true);
      // The boards list cannot hear `boards` events while polling: it refetches with each poll.
      this.boardsChanged.emit({ reason: "poll", board: null });
    } catch {
      // Tried again later, after a longer wait.
      this.failedPolls += 1;
    }
    if (this.stopped || !this.state.polling) return;
    const delay = backoffCeiling(this.failedPolls, this.opts.pollBackoff ?? NOTIFICATIONS_POLL_BACKOFF);
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      void this.poll();
    }, delay);
  }

  private clearTimers(): void {
    if (this.firstEventTimer) clearTimeout(this.firstEventTimer);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.streamRetryTimer) clearTimeout(this.streamRetryTimer);
    this.firstEventTimer = this.pollTimer = this.streamRetryTimer = null;
  }

  private async reload(): Promise<void> {
    const list = await this.opts.fetchList();
    const hasOlder = this.olderLoaded > 0 ? this.state.hasOlder : list.notifications.length >= NOTIFICATIONS_PAGE;
    this.set({ unread: list.unread, loaded: true, hasOlder });
    this.add(list.notifications, true);
  }

  private add(items: Notification[], authoritative = false): void {
    const byId = new Map(this.state.items.map((n) => [n.id, n]));
    for (const n of items) {
      const old = byId.get(n.id);
      // A live item may be newer than the list; the list is authoritative for `read`.
      byId.set(n.id, old && !authoritative ? { ...n, read: old.read && n.read } : n);
    }
    const sorted = [...byId.values()].sort((a, b) => compareIds(b.id, a.id)).slice(0, (this.opts.limit ?? NOTIFICATIONS_PAGE) + this.olderLoaded);
    this.set({ items: sorted });
    // Resume after the newest one we hold, whatever reconnects the stream.
    if (this.es) this.es.url = this.resumeUrl();
  }

  private resumeUrl(): string {
    const newest = this.state.items[0];
    if (!newest) return this.opts.streamUrl;
    const sep = this.opts.streamUrl.includes("?") ? "&" : "?";
    return `${this.opts.streamUrl}${sep}since=${encodeURIComponent(newest.id)}`;
  }

  private set(patch: Partial<NotificationsState>): void {
    this.state = { ...this.state, ...patch };
    this.changes.emit(this.state);
  }
}
