/**
 * The caller's notifications: the list from `GET /api/notifications`, then
 * live over `GET /api/notifications/stream` (EventSource through
 * reconnecting-eventsource, see web/README.md). `unread` events drive the count.
 */
import { Emitter } from "./emitter";
import type { Notification, NotificationList, UnreadEvent } from "./protocol";

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
}

export interface NotificationsOptions {
  /** e.g. `/api/notifications/stream` (absolute or relative). */
  streamUrl: string;
  openStream(url: string): EventSourceLike;
  fetchList(): Promise<NotificationList>;
  markRead(upTo: string): Promise<void>;
  /** How many items to keep. */
  limit?: number;
}

/** Compares notification ids (decimal strings of any length). */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class NotificationsClient {
  readonly changes = new Emitter<NotificationsState>();
  private state: NotificationsState = { items: [], unread: 0, connected: false, loaded: false };
  private es: EventSourceLike | null = null;
  private stopped = false;
  private hadError = false;

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
    if (this.stopped || this.es) return;
    const es = this.opts.openStream(this.resumeUrl());
    this.es = es;
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
      try {
        this.add([JSON.parse(String(ev.data)) as Notification]);
      } catch {
        /* ignore a malformed frame */
      }
    });
    es.addEventListener("unread", (ev) => {
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
    this.set({ connected: false });
  }

  /** Marks everything up to the newest item read. */
  async markAllRead(): Promise<void> {
    const newest = this.state.items[0];
    if (!newest) return;
    this.set({ unread: 0, items: this.state.items.map((n) => ({ ...n, read: true })) });
    await this.opts.markRead(newest.id);
  }

  private async reload(): Promise<void> {
    const list = await this.opts.fetchList();
    this.set({ unread: list.unread, loaded: true });
    this.add(list.notifications, true);
  }

  private add(items: Notification[], authoritative = false): void {
    const byId = new Map(this.state.items.map((n) => [n.id, n]));
    for (const n of items) {
      const old = byId.get(n.id);
      // A live item may be newer than the list; the list is authoritative for `read`.
      byId.set(n.id, old && !authoritative ? { ...n, read: old.read && n.read } : n);
    }
    const sorted = [...byId.values()].sort((a, b) => compareIds(b.id, a.id)).slice(0, this.opts.limit ?? 100);
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
