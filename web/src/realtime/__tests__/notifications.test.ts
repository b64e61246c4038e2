import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  compareIds,
  NOTIFICATIONS_FIRST_EVENT_MS,
  NOTIFICATIONS_STREAM_RETRY_MS,
  NotificationsClient,
  type EventSourceLike,
} from "../notifications";
import type { Notification, NotificationList } from "../protocol";
import { bob, flush } from "./fakes";

class FakeES implements EventSourceLike {
  listeners = new Map<string, ((ev: MessageEvent) => void)[]>();
  closed = false;
  constructor(public url: string) {}
  addEventListener(type: string, l: (ev: MessageEvent) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), l]);
  }
  close() {
    this.closed = true;
  }
  emit(type: string, data?: unknown) {
    for (const l of this.listeners.get(type) ?? []) l({ data: JSON.stringify(data) } as MessageEvent);
  }
}

const n = (id: string, over: Partial<Notification> = {}): Notification => ({
  id,
  kind: "mention",
  board: "b1",
  by: bob,
  at: "t",
  text: `@ann ${id}`,
  read: false,
  ...over,
});

describe("notifications", () => {
  it("orders ids numerically", () => {
    expect(["9", "10", "2"].sort(compareIds)).toEqual(["2", "9", "10"]);
  });

  it("loads the list, resumes the stream after the newest, dedupes and follows unread", async () => {
    const streams: FakeES[] = [];
    let lists = 0;
    const c = new NotificationsClient({
      streamUrl: "/api/notifications/stream",
      openStream: (url) => {
        const es = new FakeES(url);
        streams.push(es);
        return es;
      },
      fetchList: async () => {
        lists++;
        return { notifications: [n("10"), n("9", { read: true })], unread: 1 };
      },
      markRead: async () => undefined,
    });
    await c.start();
    expect(streams[0].url).toBe("/api/notifications/stream?since=10");
    expect(c.getState()).toMatchObject({ unread: 1, loaded: true });

    const es = streams[0];
    es.emit("open");
    es.emit("notification", n("11", { kind: "invited", text: "tok" }));
    es.emit("notification", n("11", { kind: "invited", text: "tok" }));
    es.emit("unread", { count: 2 });
    expect(c.getState().items.map((x) => x.id)).toEqual(["11", "10", "9"]);
    expect(c.getState().unread).toBe(2);
    // Whatever reconnects the stream resumes after the newest item.
    expect(es.url).toBe("/api/notifications/stream?since=11");

    // After an error the list is fetched again on reopen.
    es.emit("error");
    expect(c.getState().connected).toBe(false);
    es.emit("open");
    await flush();
    expect(lists).toBe(2);

    await c.markAllRead();
    expect(c.getState().unread).toBe(0);
    c.stop();
    expect(es.closed).toBe(true);
  });
});

describe("notifications when the stream is held on the way", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup() {
    const streams: FakeES[] = [];
    const asked: (string | undefined)[] = [];
    let answer: NotificationList = { notifications: [n("4")], unread: 1 };
    let down = false;
    const c = new NotificationsClient({
      streamUrl: "/api/notifications/stream",
      openStream: (url) => {
        const es = new FakeES(url);
        streams.push(es);
        return es;
      },
      fetchList: async (after) => {
        asked.push(after);
        if (down) throw new Error("offline");
        return answer;
      },
      markRead: async () => undefined,
    });
    return {
      c,
      streams,
      asked,
      answer: (list: NotificationList) => void (answer = list),
      down: (v: boolean) => void (down = v),
    };
  }

  it("a stream that brings its first event in time is kept; no polling", async () => {
    const { c, streams, asked } = setup();
    await c.start();
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_FIRST_EVENT_MS - 1);
    streams[0].emit("open");
    streams[0].emit("unread", { count: 1 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(streams[0].closed).toBe(false);
    expect(c.getState().polling).toBe(false);
    expect(asked).toEqual([undefined]);
    c.stop();
  });

  it("a silent stream is closed and the list is polled every 5 s after the newest id", async () => {
    const { c, streams, asked, answer } = setup();
    await c.start();
    streams[0].emit("open"); // headers came through, the body is held
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_FIRST_EVENT_MS);
    expect(streams[0].closed).toBe(true);
    expect(c.getState().polling).toBe(true);
    expect(asked).toEqual([undefined, "4"]);

    await vi.advanceTimersByTimeAsync(4999);
    expect(asked).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(asked).toHaveLength(3);

    // A mention arrives: it shows with the new count, and the next poll asks after it.
    answer({ notifications: [n("5")], unread: 2 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(c.getState().unread).toBe(2);
    expect(c.getState().items.map((x) => x.id)).toEqual(["5", "4"]);
    answer({ notifications: [], unread: 2 });
    await vi.advanceTimersByTimeAsync(5000);
    expect(asked.at(-1)).toBe("5");
    expect(streams).toHaveLength(1);

    c.stop();
    const polls = asked.length;
    await vi.advanceTimersByTimeAsync(120_000);
    expect(asked).toHaveLength(polls);
    expect(c.getState().polling).toBe(false);
  });

  it("while polling, the stream is tried again every 5 minutes; once it delivers, polling stops", async () => {
    const { c, streams, asked } = setup();
    await c.start();
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_FIRST_EVENT_MS);
    expect(c.getState().polling).toBe(true);

    // Still held: the new stream is closed again and polling goes on.
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_STREAM_RETRY_MS);
    expect(streams).toHaveLength(2);
    expect(streams[1].url).toBe("/api/notifications/stream?since=4");
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_FIRST_EVENT_MS);
    expect(streams[1].closed).toBe(true);
    expect(c.getState().polling).toBe(true);

    // The network changed: the next try delivers, and no more polls are made.
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_STREAM_RETRY_MS);
    expect(streams).toHaveLength(3);
    streams[2].emit("unread", { count: 3 });
    expect(c.getState()).toMatchObject({ polling: false, unread: 3 });
    const polls = asked.length;
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_STREAM_RETRY_MS * 2);
    expect(asked).toHaveLength(polls);
    expect(streams).toHaveLength(3);
    expect(streams[2].closed).toBe(false);
    c.stop();
  });

  it("failed polls back off up to a minute and recover", async () => {
    const { c, asked, down } = setup();
    await c.start();
    down(true);
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_FIRST_EVENT_MS);
    const first = asked.length;
    await vi.advanceTimersByTimeAsync(10_000 + 20_000 + 40_000 + 60_000 + 60_000);
    expect(asked.length - first).toBe(5);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(asked.length - first).toBe(5);
    down(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(asked.length - first).toBe(6);
    expect(c.getState().unread).toBe(1);
    c.stop();
  });

  it("boards events reach boardsChanged; while polling, every poll does", async () => {
    vi.useFakeTimers();
    const streams: FakeES[] = [];
    const c = new NotificationsClient({
      streamUrl: "/s",
      openStream: (url) => {
        const es = new FakeES(url);
        streams.push(es);
        return es;
      },
      fetchList: async () => ({ notifications: [], unread: 0 }),
      markRead: async () => undefined,
    });
    const seen: unknown[] = [];
    c.boardsChanged.on((b) => seen.push(b));
    await c.start();
    streams[0].emit("boards", { reason: "renamed", board: "b1" });
    streams[0].emit("boards", { nope: 1 });
    expect(seen).toEqual([{ reason: "renamed", board: "b1" }]);
    // A held stream: the list is polled, and each poll tells the boards list to refetch.
    const c2 = new NotificationsClient({
      streamUrl: "/s",
      openStream: (url) => new FakeES(url),
      fetchList: async () => ({ notifications: [], unread: 0 }),
      markRead: async () => undefined,
    });
    const polled: unknown[] = [];
    c2.boardsChanged.on((b) => polled.push(b));
    await c2.start();
    await vi.advanceTimersByTimeAsync(NOTIFICATIONS_FIRST_EVENT_MS + 5000);
    expect(polled).toEqual([
      { reason: "poll", board: null },
      { reason: "poll", board: null },
    ]);
    c.stop();
    c2.stop();
    vi.useRealTimers();
  });

  it("marks one read at once (undone if the server refuses) and loads older pages", async () => {
    const page = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => n(String(from - i)));
    const marked: string[] = [];
    let refuse = false;
    const befores: string[] = [];
    const c = new NotificationsClient({
      streamUrl: "/s",
      openStream: (url) => new FakeES(url),
      fetchList: async () => ({ notifications: page(105, 100), unread: 105 }),
      markRead: async () => undefined,
      markOneRead: async (id) => {
        if (refuse) throw new Error("no");
        marked.push(id);
      },
      fetchOlder: async (before) => {
        befores.push(before);
        return { notifications: page(Number(before) - 1, Number(before) - 1), unread: 104 };
      },
    });
    await c.start();
    expect(c.getState()).toMatchObject({ hasOlder: true, unread: 105 });
    await c.markOneRead("100");
    expect(marked).toEqual(["100"]);
    expect(c.getState().unread).toBe(104);
    expect(c.getState().items.find((x) => x.id === "100")?.read).toBe(true);
    await c.markOneRead("100");
    expect(marked).toEqual(["100"]);
    refuse = true;
    await expect(c.markOneRead("99")).rejects.toThrow();
    expect(c.getState().items.find((x) => x.id === "99")?.read).toBe(false);
    expect(c.getState().unread).toBe(104);

    await c.loadOlder();
    expect(befores).toEqual(["6"]);
    expect(c.getState().items.map((x) => x.id).slice(-6)).toEqual(["6", "5", "4", "3", "2", "1"]);
    expect(c.getState().items).toHaveLength(105);
    expect(c.getState()).toMatchObject({ hasOlder: false, loadingOlder: false });
    c.stop();
  });
});
