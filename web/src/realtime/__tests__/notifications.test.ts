import { describe, expect, it } from "vitest";
import { compareIds, NotificationsClient, type EventSourceLike } from "../notifications";
import type { Notification } from "../protocol";
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
