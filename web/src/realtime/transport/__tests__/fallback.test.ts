import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Connection } from "../../connection";
import type { BoardMessage } from "../../protocol";
import { ann, board, FakeEnv, FakeSocket, note } from "../../__tests__/fakes";
import type { EventSourceLike, HttpDeps } from "../feed";
import { restCallFor } from "../rest";
import { TransportSelector } from "../selector";
import { FetchEventSource } from "../sse-reader";

/** One request the test answers as the server. */
interface PendingRequest {
  url: string;
  method: string;
  body: Record<string, unknown> | undefined;
  answer(status: number, body?: unknown): void;
  fail(): void;
}

/** An EventSource double: the test plays the stream. */
class FakeEventSource implements EventSourceLike {
  onerror: EventSourceLike["onerror"] = null;
  closed = false;
  private readonly listeners = new Map<string, ((ev: { data: string }) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, l: (ev: { data: string }) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), l]);
  }
  close(): void {
    this.closed = true;
  }
  emit(type: string, data: unknown): void {
    for (const l of this.listeners.get(type) ?? []) l({ data: JSON.stringify(data) });
  }
}

/** fetch and EventSource doubles; requests wait until the test answers them. */
function fakeHttp() {
  const requests: PendingRequest[] = [];
  const streams: FakeEventSource[] = [];
  const http: HttpDeps = {
    fetch: (url, init) =>
      new Promise<Response>((resolve, reject) => {
        const request: PendingRequest = {
          url,
          method: init?.method ?? "GET",
          body: typeof init?.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : undefined,
          answer: (status, body) =>
            resolve(new Response(body === undefined ? null : JSON.stringify(body), { status })),
          fail: () => reject(new TypeError("Failed to fetch")),
        };
        requests.push(request);
        init?.signal?.addEventListener("abort", () => {
          const i = requests.indexOf(request);
          if (i >= 0) requests.splice(i, 1);
          reject(new Error("aborted"));
        });
      }),
    openEventSource: (url) => {
      const es = new FakeEventSource(url);
      streams.push(es);
      return es;
    },
  };
  /** The oldest unanswered request whose URL starts with `prefix` (and is not answered yet). */
  const take = (prefix: string, method = "GET"): PendingRequest => {
    const i = requests.findIndex((r) => r.url.startsWith(prefix) && r.method === method);
    if (i < 0) throw new Error(`no ${method} ${prefix} among ${requests.map((r) => `${r.method} ${r.url}`).join(", ")}`);
    return requests.splice(i, 1)[0];
  };
  return { http, requests, streams, take };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function setup() {
  const sockets: FakeSocket[] = [];
  const web = fakeHttp();
  const selector = new TransportSelector({
    createWebSocket: (url, protocols) => {
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    http: web.http,
    random: () => 0.5,
  });
  const conn = new Connection({
    url: "ws://test/ws",
    createSocket: selector.create,
    random: () => 0.5,
    env: new FakeEnv(),
    isOnline: () => true,
    isVisible: () => true,
  });
  const got: BoardMessage[] = [];
  let seq: number | undefined;
  const subscribe = () =>
    conn.subscribeBoard("b1", {
      since: () => seq,
      onMessage: (m) => {
        got.push(m);
        if (m.type === "subscribed") seq = m.seq;
        if (m.type === "event" && (seq === undefined || m.seq === seq + 1)) seq = m.seq;
      },
    });
  return { conn, selector, sockets, web, got, subscribe, seqOf: () => seq };
}

/** Two WebSocket dials that never reach `welcome`, then the HTTP socket is welcomed. */
async function fallBack(t: ReturnType<typeof setup>) {
  t.conn.start();
  t.sockets[0].drop(1006);
  await vi.advanceTimersByTimeAsync(1000);
  expect(t.sockets).toHaveLength(2);
  t.sockets[1].drop(1006);
  await vi.advanceTimersByTimeAsync(2000);
  expect(t.sockets).toHaveLength(2);
  t.web.take("/api/me").answer(200, { user: ann });
  await settle();
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe("transport fallback", () => {
  it("falls back to SSE after two WebSocket dials without welcome: the board loads and mutations go over REST with their op", async () => {
    const t = setup();
    t.subscribe();
    await fallBack(t);
    expect(t.selector.kind).toBe("sse");
    expect(t.conn.getState().conn.status).toBe("live");
    expect(t.conn.user).toEqual(ann);

    const [stream] = t.web.streams;
    expect(stream.url).toBe("/api/boards/b1/stream");
    stream.emit("snapshot", { board, notes: [note("n1")], seq: 4 });
    stream.emit("presence", { type: "presence", board: "b1", members: [] });
    stream.emit("note.updated", { board: "b1", seq: 5, by: ann, at: "", kind: "note.updated", id: "n1", version: 5, delta: { x: 9 } });
    await settle();
    expect(t.got.map((m) => m.type)).toEqual(["subscribed", "presence", "event"]);
    expect(t.got[0]).toMatchObject({ seq: 4, snapshot: { notes: [{ id: "n1" }] } });
    expect(t.seqOf()).toBe(5);

    const done = t.conn.mutate("note.update", "op-1", "n1", () => ({ board: "b1", id: "n1", op: "op-1", x: 1 }));
    await settle();
    const patch = t.web.take("/api/boards/b1/notes/n1", "PATCH");
    expect(patch.body).toEqual({ op: "op-1", x: 1 });
    patch.answer(200, { note: note("n1", { x: 1 }), seq: 6 });
    await expect(done).resolves.toMatchObject({ seq: 6 });
    expect(t.conn.getState().pending).toBe(0);
    t.conn.stop();
  });

  it("a mutation whose request fails is sent again after the reconnect, with the same op, and the stream resumes from the applied seq", async () => {
    const t = setup();
    t.subscribe();
    await fallBack(t);
    t.web.streams[0].emit("snapshot", { board, notes: [note("n1")], seq: 4 });
    await settle();

    const done = t.conn.mutate("note.delete", "op-del", "n1", () => ({ board: "b1", id: "n1", op: "op-del" }));
    await settle();
    t.web.take("/api/boards/b1/notes/n1", "DELETE").fail();
    await settle();
    expect(t.web.streams[0].closed).toBe(true);
    expect(t.conn.getState().conn.status).toBe("reconnecting");

    await vi.advanceTimersByTimeAsync(1000);
    t.web.take("/api/me").answer(200, { user: ann });
    await settle();
    expect(t.selector.kind).toBe("sse");
    expect(t.web.streams[1].url).toBe("/api/boards/b1/stream?since=4");
    const again = t.web.take("/api/boards/b1/notes/n1", "DELETE");
    expect(again.body).toEqual({ op: "op-del" });
    again.answer(200, { seq: 5 });
    await expect(done).resolves.toEqual({ seq: 5 });
    expect(t.web.requests).toHaveLength(0);
    t.conn.stop();
  });

  it("an SSE stream that goes silent (half-open) is dropped after 2.5 keep-alive intervals and resumed from the applied seq, still on SSE", async () => {
    const t = setup();
    // The real fetch-based reader over streams the test writes to.
    const bodies: { url: string; write(text: string): void }[] = [];
    t.web.http.openEventSource = (url) =>
      new FetchEventSource(url, (_u, init) => {
        let controller!: ReadableStreamDefaultController<Uint8Array>;
        const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
        init?.signal?.addEventListener("abort", () => controller.error(new Error("aborted")));
        bodies.push({ url, write: (text) => controller.enqueue(new TextEncoder().encode(text)) });
        return Promise.resolve(new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } }));
      });
    t.subscribe();
    await fallBack(t);
    await settle();
    const snapshot = { board, notes: [note("n1")], seq: 4 };
    bodies[0].write(`retry: 2000\n\nevent: snapshot\nid: 4\ndata: ${JSON.stringify(snapshot)}\n\n`);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.seqOf()).toBe(4);
    // Keep-alives every 15 s keep it open; then the proxy stops forwarding without closing.
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(15_000);
      bodies[0].write(": keep-alive\n\n");
    }
    await vi.advanceTimersByTimeAsync(37_499);
    expect(bodies).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    await vi.advanceTimersByTimeAsync(1000);
    t.web.take("/api/me").answer(200, { user: ann });
    await settle();
    expect(t.selector.kind).toBe("sse");
    expect(bodies).toHaveLength(2);
    expect(bodies[1].url).toBe("/api/boards/b1/stream?since=4");
    bodies[1].write(
      `event: note.deleted\nid: 5\ndata: ${JSON.stringify({ board: "b1", seq: 5, by: ann, at: "", kind: "note.deleted", id: "n1" })}\n\n`,
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(t.seqOf()).toBe(5);
    expect(t.conn.getState().conn.status).toBe("live");
    t.conn.stop();
  });

  it("goes to long poll when the SSE stream brings nothing (held by a proxy), resuming after the applied seq", async () => {
    const t = setup();
    t.subscribe();
    await fallBack(t);
    t.web.streams[0].emit("snapshot", { board, notes: [], seq: 7 });
    await settle();
    // The stream breaks; the new one stays silent: something holds it.
    t.web.streams[0].onerror?.({});
    await vi.advanceTimersByTimeAsync(1000);
    t.web.take("/api/me").answer(200, { user: ann });
    await settle();
    expect(t.web.streams[1].url).toBe("/api/boards/b1/stream?since=7");
    await vi.advanceTimersByTimeAsync(4000);
    expect(t.web.streams[1].closed).toBe(true);

    await vi.advanceTimersByTimeAsync(1000);
    t.web.take("/api/me").answer(200, { user: ann });
    await settle();
    expect(t.selector.kind).toBe("longpoll");
    const first = t.web.take("/api/boards/b1/events");
    expect(first.url).toBe("/api/boards/b1/events?after=7&wait=0");
    first.answer(200, { events: [{ board: "b1", seq: 8, by: ann, at: "", kind: "note.deleted", id: "n1" }], seq: 8 });
    await settle();
    t.web.take("/api/boards/b1/presence").answer(200, { members: [] });
    await settle();
    expect(t.got.slice(1).map((m) => m.type)).toEqual(["subscribed", "event", "presence"]);
    expect(t.seqOf()).toBe(8);
    const next = t.web.take("/api/boards/b1/events");
    expect(next.url).toBe("/api/boards/b1/events?after=8&wait=25");
    // 410: the position is gone; the board is loaded again.
    next.answer(410, { error: { code: "gone", message: "gone", details: { seq: 100 } } });
    await settle();
    t.web.take("/api/boards/b1", "GET").answer(200, { board, notes: [note("n2")], seq: 100 });
    await settle();
    expect(t.got.at(-1)).toMatchObject({ type: "subscribed", seq: 100, snapshot: { notes: [{ id: "n2" }] } });
    expect(t.web.take("/api/boards/b1/events").url).toBe("/api/boards/b1/events?after=100&wait=25");
    t.conn.stop();
  });

  it("keeps trying WebSocket in the background and switches back, subscribing from the applied seq", async () => {
    const t = setup();
    t.subscribe();
    await fallBack(t);
    const kinds: string[] = [];
    t.selector.changes.on((k) => kinds.push(k));
    t.web.streams[0].emit("snapshot", { board, notes: [], seq: 3 });
    await settle();

    // The first probe (within 2 s) fails; the second (within 4 s more) reaches welcome.
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.sockets).toHaveLength(3);
    t.sockets[2].drop(1006);
    await vi.advanceTimersByTimeAsync(2000);
    expect(t.sockets).toHaveLength(4);
    t.sockets[3].welcome(ann);
    expect(t.sockets[3].closedWith).toMatchObject({ code: 1000 });
    expect(t.web.streams[0].closed).toBe(true);

    await vi.advanceTimersByTimeAsync(500);
    expect(t.sockets).toHaveLength(5);
    expect(t.selector.kind).toBe("websocket");
    t.sockets[4].welcome(ann);
    expect(t.sockets[4].ofType("subscribe")).toEqual([expect.objectContaining({ board: "b1", since: 3 })]);
    expect(kinds).toEqual(["websocket"]);
    t.conn.stop();
  });

  it("a poll left unanswered past its wait is given up and the board resumes on a new socket", async () => {
    const t = setup();
    t.subscribe();
    await fallBack(t);
    // A stream that fails before its first block counts as held: long poll.
    t.web.streams[0].onerror?.({});
    await vi.advanceTimersByTimeAsync(1000);
    t.web.take("/api/me").answer(200, { user: ann });
    await settle();
    expect(t.selector.kind).toBe("longpoll");
    t.web.take("/api/boards/b1", "GET").answer(200, { board, notes: [], seq: 2 });
    await settle();
    t.web.take("/api/boards/b1/presence").answer(200, { members: [] });
    await settle();
    expect(t.web.requests.map((r) => r.url)).toEqual(["/api/boards/b1/events?after=2&wait=25"]);
    await vi.advanceTimersByTimeAsync(34_900);
    expect(t.conn.getState().conn.status).toBe("live");
    await vi.advanceTimersByTimeAsync(100);
    expect(t.conn.getState().conn.status).toBe("reconnecting");
    expect(t.web.requests.map((r) => r.url)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    t.web.take("/api/me").answer(200, { user: ann });
    await settle();
    expect(t.selector.kind).toBe("longpoll");
    expect(t.web.take("/api/boards/b1/events").url).toBe("/api/boards/b1/events?after=2&wait=0");
    t.conn.stop();
  });

  it("stops trying WebSocket in the background once the connection closes the fallback", async () => {
    const t = setup();
    t.subscribe();
    await fallBack(t);
    t.web.streams[0].emit("presence", { type: "presence", board: "b1", members: [] });
    await settle();
    t.conn.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(t.sockets).toHaveLength(2);
  });

  it("does not fall back when the server itself is down: WebSocket goes first again", async () => {
    const t = setup();
    t.conn.start();
    t.sockets[0].drop(1006);
    await vi.advanceTimersByTimeAsync(1000);
    t.sockets[1].drop(1006);
    await vi.advanceTimersByTimeAsync(2000);
    t.web.take("/api/me").fail();
    await settle();
    await vi.advanceTimersByTimeAsync(4000);
    expect(t.sockets).toHaveLength(3);
    expect(t.selector.kind).toBe("websocket");
    t.sockets[2].welcome(ann);
    expect(t.conn.getState().conn.status).toBe("live");
    t.conn.stop();
  });

  it("a WebSocket silent for 5 s counts as failed", async () => {
    const t = setup();
    t.conn.start();
    t.sockets[0].open();
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.sockets[0].closedWith).toMatchObject({ code: 4000 });
    expect(t.conn.getState().conn.status).toBe("reconnecting");
    t.conn.stop();
  });
});

describe("REST twins", () => {
  it("maps RPCs to their routes, without the ids the path carries", () => {
    expect(restCallFor("note.create", { board: "b 1", id: "n1", op: "o", x: 1, y: 2 })).toMatchObject({
      method: "POST",
      path: "/api/boards/b%201/notes",
      body: { id: "n1", op: "o", x: 1, y: 2 },
    });
    expect(restCallFor("note.edit", { board: "b", id: "n", op: "o", update: "AA==" })).toMatchObject({
      method: "POST",
      path: "/api/boards/b/notes/n/edit",
      body: { op: "o", update: "AA==" },
    });
    const rename = restCallFor("board.rename", { board: "b", title: "T", op: "o" });
    expect(rename).toMatchObject({ method: "PATCH", path: "/api/boards/b", body: { title: "T", op: "o" } });
    expect(rename?.result({ id: "b", title: "T" })).toEqual({ board: { id: "b", title: "T" } });
    expect(restCallFor("board.list", {})).toBeNull();
  });
});
