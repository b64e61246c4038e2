/**
 * The WebSocket's stand-in when WebSocket cannot get through: a `SocketLike`
 * that speaks `corkboard.v1` to the connection but uses plain HTTP.
 *
 * Exists so that the connection, its outbox and the board client stay as they
 * are: `subscribe` opens a board feed (SSE stream or long poll), `rpc` becomes
 * the method's REST twin (same params, same `op`, so the outbox's replay is
 * idempotent across transports), `ping` is answered at once, and `signal`s
 * (cursors, typing, carets) are dropped: they exist only on WebSocket.
 * It "welcomes" after `GET /api/me` answers. Any failure of a feed or of a
 * request ends the whole socket (close 1006) and the connection reconnects as
 * after any lost socket, resuming each board from the seq it has applied.
 */
import { CloseCode, type ClientMessage, type ErrorObject, type Id, type ServerMessage, type User } from "../protocol";
import type { SocketLike } from "../socket";
import type { BoardFeed, FeedOpener, FeedSink, HttpDeps } from "./feed";
import { restCallFor } from "./rest";

/** The fallback transports. */
export type HttpTransportKind = "sse" | "longpoll";

export interface HttpSocketOptions {
  kind: HttpTransportKind;
  http: HttpDeps;
  openFeed: FeedOpener;
  /** Heartbeat the connection is told to use (ms); pings never leave the tab. */
  heartbeatMs?: number;
  /** A board feed delivered its first message. */
  feedHealthy?(): void;
  /** The connection closed the socket (it is done with it). */
  closed?(): void;
  /** The socket ended by itself: `welcomed` says whether it ever got as far as `welcome`; `feedsHealthy` whether a feed delivered. */
  ended?(info: { welcomed: boolean; feedsHealthy: boolean; reason: string }): void;
}

const OPEN = 1;
const CLOSED = 3;

export class HttpSocket implements SocketLike {
  readyState = OPEN;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  private readonly feeds = new Map<Id, BoardFeed>();
  private readonly abort = new AbortController();
  private welcomed = false;
  private feedsHealthy = false;

  constructor(private readonly opts: HttpSocketOptions) {
    void this.welcome();
  }

  /** Which fallback this socket is. */
  get kind(): HttpTransportKind {
    return this.opts.kind;
  }

  send(data: string): void {
    if (this.readyState !== OPEN) throw new Error("socket closed");
    const msg = JSON.parse(data) as ClientMessage;
    switch (msg.type) {
      case "ping":
        this.deliver({ type: "pong", t: msg.t });
        break;
      case "subscribe":
        this.subscribe(msg.board, msg.since);
        break;
      case "unsubscribe":
        this.feeds.get(msg.board)?.close();
        this.feeds.delete(msg.board);
        break;
      case "rpc":
        void this.rpc(msg.id, msg.method, msg.params);
        break;
      case "signal":
        // Cursors, typing and carets exist only on WebSocket.
        break;
      default: {
        const unhandled: never = msg;
        void unhandled;
      }
    }
  }

  /** Closed by the connection: stops every feed and request; no `onclose` (as the adapter has detached). */
  close(): void {
    if (this.readyState === CLOSED) return;
    this.shutdown();
    this.opts.closed?.();
  }

  /** Ends the socket from this side as a lost connection (the connection reconnects), e.g. to go back to WebSocket. */
  end(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.shutdown();
    this.opts.ended?.({ welcomed: this.welcomed, feedsHealthy: this.feedsHealthy, reason });
    this.onclose?.({ code, reason, wasClean: false });
  }

  private shutdown(): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.abort.abort();
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
  }

  private async welcome(): Promise<void> {
    let user: User;
    try {
      const res = await this.opts.http.fetch("/api/me", { credentials: "same-origin", signal: this.abort.signal, cache: "no-store" });
      if (res.status === 401) return this.end(CloseCode.SessionExpired, "credential_revoked");
      if (!res.ok) return this.end(1006, `HTTP ${res.status}`);
      user = ((await res.json()) as { user: User }).user;
    } catch {
      return this.end(1006, "server unreachable");
    }
    if (this.readyState !== OPEN) return;
    this.welcomed = true;
    this.deliver({ type: "welcome", user, session: this.opts.kind, heartbeat_ms: this.opts.heartbeatMs ?? 15_000, server: "" });
  }

  private subscribe(board: Id, since: number | undefined): void {
    this.feeds.get(board)?.close();
    const sink: FeedSink = {
      message: (msg) => this.deliver(msg),
      healthy: () => {
        this.feedsHealthy = true;
        this.opts.feedHealthy?.();
      },
      failed: (reason) => this.end(1006, reason),
      unauthorized: () => this.end(CloseCode.SessionExpired, "credential_revoked"),
    };
    this.feeds.set(board, this.opts.openFeed(board, since, this.opts.http, sink));
  }

  private async rpc(id: unknown, method: string, params: unknown): Promise<void> {
    const call = restCallFor(method, (params ?? {}) as Record<string, unknown>);
    if (!call) {
      this.deliver({ type: "error", id, error: { code: "unknown_method", message: `${method} is not available over HTTP` } });
      return;
    }
    let res: Response;
    try {
      res = await this.opts.http.fetch(call.path, {
        method: call.method,
        credentials: "same-origin",
        signal: this.abort.signal,
        headers: call.body ? { "content-type": "application/json" } : undefined,
        body: call.body ? JSON.stringify(call.body) : undefined,
      });
    } catch {
      // Unanswered: the connection fails the call as lost and the outbox sends it again after the next welcome.
      this.end(1006, "request failed");
      return;
    }
    const text = await res.text().catch(() => "");
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (res.ok) {
      this.deliver({ type: "result", id, result: call.result(json) });
      return;
    }
    if (res.status === 401) {
      this.end(CloseCode.SessionExpired, "credential_revoked");
      return;
    }
    const error = (json as { error?: ErrorObject } | null)?.error ?? {
      code: res.status >= 500 ? "unavailable" : "bad_request",
      message: `HTTP ${res.status}`,
    };
    this.deliver({ type: "error", id, error });
  }

  /** Hands a message to the connection on a later task, as a real socket would. */
  private deliver(msg: ServerMessage): void {
    queueMicrotask(() => {
      if (this.readyState === OPEN) this.onmessage?.({ data: JSON.stringify(msg) });
    });
  }
}
