import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import ReconnectingEventSource from "reconnecting-eventsource";
import { ASSUMED_KEEPALIVE_MS, FetchEventSource, SILENCE_FACTOR, SseParser, type SseBlock } from "../sse-reader";

describe("SseParser", () => {
  const parse = (...pieces: string[]) => {
    const blocks: SseBlock[] = [];
    const comments: string[] = [];
    const p = new SseParser(
      (b) => blocks.push(b),
      (c) => comments.push(c),
    );
    for (const piece of pieces) p.push(piece);
    return { blocks, comments };
  };

  it("splits blocks, names them, joins data lines and keeps comments apart", () => {
    const { blocks, comments } = parse("retry: 2000\n\n: keep-alive\n\nevent: note.created\nid: 7\ndata: {\"a\":\ndata: 1}\n\ndata: plain\n\n");
    expect(comments).toEqual(["keep-alive"]);
    expect(blocks).toEqual([
      { event: "note.created", data: '{"a":\n1}', id: "7" },
      { event: "message", data: "plain", id: "7" },
    ]);
  });

  it("handles CRLF and CR line ends split across pieces", () => {
    const { blocks } = parse("event: presence\r", "\ndata: x\r", "\r", "event: unread\rdata: y\r\r");
    expect(blocks.map((b) => [b.event, b.data])).toEqual([
      ["presence", "x"],
      ["unread", "y"],
    ]);
  });

  it("does not dispatch a block without data, nor an unfinished one", () => {
    const { blocks } = parse("event: shutdown\n\nevent: note.deleted\ndata: 1");
    expect(blocks).toEqual([]);
  });
});

/** A fetch double whose one answer is a stream the test writes to. */
function streamingFetch(status = 200) {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  const calls: { url: string; init?: RequestInit }[] = [];
  const fetchFn = vi.fn((url: string, init?: RequestInit) => {
    calls.push({ url, init });
    init?.signal?.addEventListener("abort", () => {
      try {
        controller.error(new Error("aborted"));
      } catch {
        /* already closed */
      }
    });
    return Promise.resolve(new Response(status === 200 ? body : "nope", { status }));
  });
  const encoder = new TextEncoder();
  return {
    fetchFn,
    calls,
    write: (text: string) => controller.enqueue(encoder.encode(text)),
    end: () => controller.close(),
  };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await vi.advanceTimersByTimeAsync(0);
}

describe("FetchEventSource", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("asks for an event stream and hands blocks to their listeners", async () => {
    const net = streamingFetch();
    const es = new FetchEventSource("/api/boards/b1/stream?since=3", net.fetchFn);
    const got: string[] = [];
    es.addEventListener("open", (ev) => got.push(ev.type));
    es.addEventListener("note.created", (ev) => got.push(ev.data));
    expect(es.readyState).toBe(0);
    net.write("event: note.created\ndata: {\"seq\":4}\n\n");
    await flush();
    expect(es.readyState).toBe(1);
    expect(got).toEqual(["open", '{"seq":4}']);
    expect(net.calls[0].url).toBe("/api/boards/b1/stream?since=3");
    expect(net.calls[0].init?.headers).toEqual({ accept: "text/event-stream" });
    es.close();
  });

  it("reports a stream silent for 2.5 keep-alive intervals as an error and aborts it", async () => {
    const net = streamingFetch();
    const es = new FetchEventSource("/s", net.fetchFn);
    const errors: unknown[] = [];
    es.onerror = (ev) => errors.push(ev);
    net.write("retry: 2000\n\n");
    await flush();
    await vi.advanceTimersByTimeAsync(SILENCE_FACTOR * ASSUMED_KEEPALIVE_MS - 1);
    expect(errors).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(errors).toEqual([{ type: "error", data: "", reason: "stream silent" }]);
    expect(es.readyState).toBe(2);
    expect(net.calls[0].init?.signal?.aborted).toBe(true);
  });

  it("keep-alive comments keep a quiet stream alive", async () => {
    const net = streamingFetch();
    const es = new FetchEventSource("/s", net.fetchFn);
    const errors: unknown[] = [];
    es.onerror = (ev) => errors.push(ev);
    for (let i = 0; i < 6; i++) {
      await vi.advanceTimersByTimeAsync(ASSUMED_KEEPALIVE_MS);
      net.write(": keep-alive\n\n");
      await flush();
    }
    expect(errors).toHaveLength(0);
    es.close();
  });

  it("learns a shorter keep-alive interval from two comments in a row", async () => {
    const net = streamingFetch();
    const es = new FetchEventSource("/s", net.fetchFn);
    const errors: unknown[] = [];
    es.onerror = (ev) => errors.push(ev);
    net.write(": keep-alive\n\n");
    await flush();
    await vi.advanceTimersByTimeAsync(1000);
    net.write(": keep-alive\n\n");
    await flush();
    expect(es.silenceLimitMs).toBe(SILENCE_FACTOR * 1000);
    await vi.advanceTimersByTimeAsync(2600);
    expect(errors).toHaveLength(1);
  });

  it("an event between two comments does not count as an interval", async () => {
    const net = streamingFetch();
    const es = new FetchEventSource("/s", net.fetchFn);
    net.write(": keep-alive\n\n");
    await flush();
    await vi.advanceTimersByTimeAsync(1000);
    net.write("event: presence\ndata: {}\n\n: keep-alive\n\n");
    await flush();
    expect(es.silenceLimitMs).toBe(SILENCE_FACTOR * ASSUMED_KEEPALIVE_MS);
    es.close();
  });

  it("reports the end of the stream and a failed answer, but nothing after close", async () => {
    const ended = streamingFetch();
    const a = new FetchEventSource("/s", ended.fetchFn);
    const errors: unknown[] = [];
    a.onerror = (ev) => errors.push(ev);
    ended.end();
    await flush();
    expect(errors).toEqual([{ type: "error", data: "", reason: "stream ended" }]);

    const refused = streamingFetch(401);
    const b = new FetchEventSource("/s", refused.fetchFn);
    b.onerror = (ev) => errors.push(ev);
    await flush();
    expect(errors[1]).toMatchObject({ type: "error", reason: "HTTP 401" });

    const closed = streamingFetch();
    const c = new FetchEventSource("/s", closed.fetchFn);
    c.onerror = (ev) => errors.push(ev);
    c.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(errors).toHaveLength(2);
  });
});

describe("FetchEventSource under reconnecting-eventsource (the notifications stream)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("opens, delivers, and after a silent stream is dropped opens a new one on the current URL", async () => {
    const nets: ReturnType<typeof streamingFetch>[] = [];
    class Source extends FetchEventSource {
      constructor(url: string) {
        const net = streamingFetch();
        nets.push(net);
        super(url, net.fetchFn);
      }
    }
    const es = new ReconnectingEventSource("/api/notifications/stream", {
      max_retry_time: 1000,
      eventSourceClass: Source as unknown as typeof EventSource,
    });
    const seen: string[] = [];
    for (const type of ["open", "error", "unread"]) es.addEventListener(type, (ev) => seen.push(type === "unread" ? (ev as MessageEvent).data : type));
    nets[0].write("event: unread\ndata: {\"count\":1}\n\n");
    await flush();
    expect(seen).toEqual(["open", '{"count":1}']);

    es.url = "/api/notifications/stream?since=9";
    await vi.advanceTimersByTimeAsync(SILENCE_FACTOR * ASSUMED_KEEPALIVE_MS);
    expect(seen.at(-1)).toBe("error");
    await vi.advanceTimersByTimeAsync(1000);
    expect(nets).toHaveLength(2);
    expect(nets[1].calls[0].url).toBe("/api/notifications/stream?since=9");
    nets[1].write(": keep-alive\n\n");
    await flush();
    expect(seen.at(-1)).toBe("open");
    es.close();
  });
});
