/**
 * An EventSource read with fetch, so that the server's keep-alive comments
 * are seen and a half-open stream is noticed.
 *
 * Exists because the browser's EventSource hides comments: a stream a proxy
 * stopped forwarding without closing looks exactly like a quiet board, for
 * ever. The server sends `: keep-alive` when idle (`--sse-keepalive-ms`,
 * 15 s by default, docs/protocol.md "Server-Sent Events"); this reader learns
 * the interval from the gap between two comments with nothing in between
 * (assuming 15 s until it has seen one) and, when nothing at all arrives for
 * `SILENCE_FACTOR` intervals, aborts the request and reports an error, as a
 * dropped EventSource would. It never reconnects by itself: its owner does,
 * resuming from what it has applied (the board feed), or
 * reconnecting-eventsource does, given this class as its `eventSourceClass`
 * (the notifications stream): for that it has EventSource's `readyState`,
 * `onopen` and `open` / `error` events, and each event carries its `type`.
 */
import type { EventSourceLike } from "./feed";

/** The server's default keep-alive interval, assumed until two comments show the real one (ms). */
export const ASSUMED_KEEPALIVE_MS = 15_000;
/** Silence, in keep-alive intervals, after which the stream counts as dead. */
export const SILENCE_FACTOR = 2.5;
/** Comments closer than this are not taken as the interval (a proxy may release a batch at once) (ms). */
export const MIN_KEEPALIVE_MS = 500;

/** One dispatched block, as EventSource would hand it to a listener. */
export interface SseBlock {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Splits an SSE byte stream (already decoded) into blocks and comments, per
 * the HTML spec's parsing rules: lines end with CRLF, LF or CR; a block ends
 * at a blank line; a block without `data` is not dispatched.
 */
export class SseParser {
  private buffer = "";
  private pendingCr = false;
  private event = "";
  private data: string[] = [];
  private id: string | undefined;

  constructor(
    private readonly onBlock: (block: SseBlock) => void,
    private readonly onComment: (text: string) => void,
  ) {}

  /** Feeds the next piece of text. */
  push(text: string): void {
    let chunk = text;
    // A CR that ended the previous piece already ended its line: a leading LF here belongs to it.
    if (this.pendingCr && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end < 0) return;
      const line = this.buffer.slice(0, end);
      let next = end + 1;
      if (this.buffer[end] === "\r") {
        if (next === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[next] === "\n") next += 1;
      }
      this.buffer = this.buffer.slice(next);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.startsWith(":")) {
      this.onComment(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) this.id = value;
    // `retry` is for a reconnecting EventSource; the owner reconnects here.
  }

  private dispatch(): void {
    const event = this.event || "message";
    const data = this.data;
    this.event = "";
    this.data = [];
    if (data.length === 0) return;
    this.onBlock({ event, data: data.join("\n"), id: this.id });
  }
}

/** What a listener gets: the block's event name as `type`, and its data. */
export interface SseEvent {
  type: string;
  data: string;
}

/** EventSource's `readyState` values. */
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;

/** A fetch-based EventSource that reports a silent stream as an error. */
export class FetchEventSource implements EventSourceLike {
  onerror: ((ev: unknown) => void) | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  /** As EventSource's: connecting, open, closed (then it never opens again). */
  readyState: number = CONNECTING;
  private readonly listeners = new Map<string, ((ev: SseEvent) => void)[]>();
  private readonly abort = new AbortController();
  private closed = false;
  private silence: ReturnType<typeof setTimeout> | null = null;
  private lastComment: number | null = null;
  private keepAliveMs: number | null = null;

  constructor(
    readonly url: string,
    private readonly fetchFn: (url: string, init?: RequestInit) => Promise<Response>,
  ) {
    this.armSilence();
    void this.read();
  }

  addEventListener(type: string, listener: (ev: SseEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  /** Stops reading; no error is reported after this. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.readyState = CLOSED;
    if (this.silence) clearTimeout(this.silence);
    this.silence = null;
    this.abort.abort();
  }

  /** How long the stream may stay silent now (ms). */
  get silenceLimitMs(): number {
    return SILENCE_FACTOR * (this.keepAliveMs ?? ASSUMED_KEEPALIVE_MS);
  }

  private async read(): Promise<void> {
    const parser = new SseParser(
      (block) => {
        this.lastComment = null;
        this.emit({ type: block.event, data: block.data });
      },
      () => this.comment(),
    );
    try {
      const res = await this.fetchFn(this.url, {
        cache: "no-store",
        headers: { accept: "text/event-stream" },
        credentials: "same-origin",
        signal: this.abort.signal,
      });
      if (!res.ok || !res.body) return this.fail(`HTTP ${res.status}`);
      if (this.closed) return;
      this.readyState = OPEN;
      const opened = { type: "open", data: "" };
      this.onopen?.(opened);
      this.emit(opened);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (this.closed) return;
        if (done) return this.fail("stream ended");
        this.armSilence();
        parser.push(decoder.decode(value, { stream: true }));
      }
    } catch {
      this.fail("stream failed");
    }
  }

  /** A comment right after another one (nothing in between) shows the keep-alive interval. */
  private comment(): void {
    const now = Date.now();
    if (this.lastComment !== null) {
      const gap = now - this.lastComment;
      if (gap >= MIN_KEEPALIVE_MS) this.keepAliveMs = Math.min(this.keepAliveMs ?? gap, gap);
    }
    this.lastComment = now;
    this.armSilence();
  }

  private armSilence(): void {
    if (this.closed) return;
    if (this.silence) clearTimeout(this.silence);
    this.silence = setTimeout(() => this.fail("stream silent"), this.silenceLimitMs);
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.close();
    const failed = { type: "error", data: "", reason };
    this.onerror?.(failed);
    this.emit(failed);
  }

  private emit(ev: SseEvent): void {
    for (const l of this.listeners.get(ev.type) ?? []) l(ev);
  }
}
