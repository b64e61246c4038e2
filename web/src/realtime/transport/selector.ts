/**
 * Which transport the next dial uses: WebSocket, else the SSE board stream,
 * else long poll, and back to WebSocket once it works again.
 *
 * Exists so that a board loads where a proxy strips `Upgrade` or holds
 * streamed answers, without the connection knowing: the selector is the
 * connection's `SocketFactory`, and every transport looks like a socket
 * speaking `corkboard.v1` (see http-socket.ts).
 *
 * - WebSocket that does not reach `welcome` (closed early, or silent for
 *   `welcomeTimeoutMs`) `wsFailuresBeforeFallback` times in a row → SSE.
 * - An SSE socket whose first board stream brings nothing in time (held by a
 *   proxy) or fails before delivering → long poll.
 * - An HTTP socket that cannot even reach `GET /api/me` means the server is
 *   down, not that WebSocket is blocked: the next dial tries WebSocket again
 *   (one more failure falls back again).
 * - While a fallback is live, a WebSocket is dialed in the background with
 *   backoff (`probeBackoff`); when one reaches `welcome`, it is closed and the
 *   fallback socket is ended, so the connection redials at once over
 *   WebSocket and resubscribes from the seq each board has applied.
 */
import { backoffDelay, type BackoffOptions } from "../backoff";
import { Emitter } from "../emitter";
import type { SocketFactory, SocketLike } from "../socket";
import type { HttpDeps } from "./feed";
import { HttpSocket, type HttpTransportKind } from "./http-socket";
import { openLongPollFeed } from "./longpoll-feed";
import { openSseFeed } from "./sse-feed";

/** The transport a socket uses. */
export type TransportKind = "websocket" | HttpTransportKind;

export interface TransportSelectorOptions {
  createWebSocket: SocketFactory;
  http: HttpDeps;
  wsFailuresBeforeFallback?: number;
  /** A WebSocket without `welcome` this long counts as failed (ms). */
  welcomeTimeoutMs?: number;
  /** Waits between background WebSocket attempts while on a fallback. */
  probeBackoff?: BackoffOptions;
  random?: () => number;
}

/** Background WebSocket attempts: first within 2 s, then doubling to at most a minute. */
export const PROBE_BACKOFF: BackoffOptions = { baseMs: 2000, capMs: 60_000 };

export class TransportSelector {
  /** The transport of the socket in use, when it changes. */
  readonly changes = new Emitter<TransportKind>();
  private mode: TransportKind = "websocket";
  private current: TransportKind = "websocket";
  private wsFailures = 0;
  private fallback: HttpSocket | null = null;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  private probeSocket: SocketLike | null = null;
  private probeAttempt = 0;
  private lastDial: { url: string; protocols: string[] } | null = null;

  constructor(private readonly opts: TransportSelectorOptions) {}

  /** The transport of the socket made last. */
  get kind(): TransportKind {
    return this.current;
  }

  /** The connection's socket factory. */
  readonly create: SocketFactory = (url, protocols) => {
    this.lastDial = { url, protocols };
    this.stopProbe();
    const socket = this.mode === "websocket" ? this.webSocket(url, protocols) : this.httpSocket(this.mode);
    this.setCurrent(this.mode);
    return socket;
  };

  /** Stops background attempts (the connection stopped). */
  dispose(): void {
    this.stopProbe();
    this.fallback = null;
  }

  private webSocket(url: string, protocols: string[]): SocketLike {
    this.fallback = null;
    return new WatchedSocket(this.opts.createWebSocket(url, protocols), this.opts.welcomeTimeoutMs ?? 5000, (ok) => {
      if (ok) {
        this.wsFailures = 0;
        return;
      }
      this.wsFailures += 1;
      if (this.mode === "websocket" && this.wsFailures >= (this.opts.wsFailuresBeforeFallback ?? 2)) this.mode = "sse";
    });
  }

  private httpSocket(kind: HttpTransportKind): SocketLike {
    const socket: HttpSocket = new HttpSocket({
      kind,
      http: this.opts.http,
      openFeed: kind === "sse" ? openSseFeed : openLongPollFeed,
      feedHealthy: () => {
        if (this.fallback === socket && !this.probeTimer && !this.probeSocket) this.scheduleProbe();
      },
      closed: () => {
        if (this.fallback !== socket) return;
        this.fallback = null;
        this.stopProbe();
      },
      ended: ({ welcomed, feedsHealthy }) => {
        if (this.fallback === socket) {
          this.fallback = null;
          this.stopProbe();
        }
        if (this.mode !== kind) return;
        if (!welcomed) {
          // The server itself is unreachable: WebSocket gets another chance first.
          this.mode = "websocket";
          this.wsFailures = Math.max(0, (this.opts.wsFailuresBeforeFallback ?? 2) - 1);
        } else if (kind === "sse" && !feedsHealthy) {
          this.mode = "longpoll";
        }
      },
    });
    this.fallback = socket;
    return socket;
  }

  private scheduleProbe(): void {
    const delay = backoffDelay(this.probeAttempt, this.opts.probeBackoff ?? PROBE_BACKOFF, this.opts.random ?? Math.random);
    this.probeAttempt += 1;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.probe();
    }, delay);
  }

  /** One background WebSocket: on `welcome`, switch; otherwise try again later. */
  private probe(): void {
    const dial = this.lastDial;
    if (!dial || !this.fallback) return;
    let raw: SocketLike;
    try {
      raw = this.opts.createWebSocket(dial.url, dial.protocols);
    } catch {
      this.scheduleProbe();
      return;
    }
    const watched: SocketLike = new WatchedSocket(raw, this.opts.welcomeTimeoutMs ?? 5000, (ok) => {
      if (this.probeSocket !== watched) return;
      this.probeSocket = null;
      watched.close(1000, "probe done");
      const fallback = this.fallback;
      if (!fallback) return;
      if (!ok) {
        this.scheduleProbe();
        return;
      }
      this.mode = "websocket";
      this.wsFailures = 0;
      this.probeAttempt = 0;
      this.fallback = null;
      fallback.end(1000, "WebSocket works again");
    });
    this.probeSocket = watched;
  }

  private stopProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    const probe = this.probeSocket;
    this.probeSocket = null;
    probe?.close(1000, "probe cancelled");
  }

  private setCurrent(kind: TransportKind): void {
    if (this.current === kind) return;
    this.current = kind;
    this.changes.emit(kind);
  }
}

/**
 * A WebSocket that reports once whether it reached the server's `welcome`:
 * true at the welcome; false when it closes (either side) before one, or
 * stays silent for `timeoutMs` (then it closes itself as code 4000).
 */
class WatchedSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  private reported = false;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly raw: SocketLike,
    timeoutMs: number,
    private readonly report: (welcomed: boolean) => void,
  ) {
    raw.onmessage = (ev) => {
      if (!this.reported && typeof ev.data === "string" && ev.data.includes('"welcome"') && isWelcome(ev.data)) this.settle(true);
      this.onmessage?.(ev);
    };
    raw.onclose = (ev) => {
      this.settle(false);
      this.onclose?.(ev);
    };
    raw.onerror = (ev) => this.onerror?.(ev);
    raw.onopen = (ev) => this.onopen?.(ev);
    this.timer = setTimeout(() => {
      if (this.reported) return;
      this.settle(false);
      raw.onmessage = raw.onclose = raw.onerror = raw.onopen = null;
      try {
        raw.close(4000, "no welcome");
      } catch {
        /* already closed */
      }
      this.onclose?.({ code: 4000, reason: "no welcome", wasClean: false });
    }, timeoutMs);
  }

  get readyState(): number {
    return this.raw.readyState;
  }

  send(data: string): void {
    this.raw.send(data);
  }

  close(code?: number, reason?: string): void {
    this.settle(false);
    this.raw.onmessage = this.raw.onclose = this.raw.onerror = this.raw.onopen = null;
    this.raw.close(code, reason);
  }

  private settle(welcomed: boolean): void {
    if (this.reported) return;
    this.reported = true;
    clearTimeout(this.timer);
    this.report(welcomed);
  }
}

function isWelcome(data: string): boolean {
  try {
    return (JSON.parse(data) as { type?: unknown }).type === "welcome";
  } catch {
    return false;
  }
}
