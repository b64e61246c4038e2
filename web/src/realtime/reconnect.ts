/**
 * When to dial: the connection's status as a small state machine.
 *
 *   idle → connecting → live → (lost) → reconnecting → connecting → …
 *                                     ↘ offline (browser offline; waits for `online`)
 *                                     ↘ unauthorized (close 4001; no retry)
 *   any → closed (stop)
 *
 * Exists to keep the retry policy in one place, apart from the socket: waits
 * are exponential backoff with full jitter (base 500 ms, cap 30 s; 5 s while
 * the tab is visible, so a server back from a restart is found within 5 s
 * without a click), reset by each `welcome`; the browser's `online` event or
 * a tab becoming visible dial at once and start the backoff over, "Retry now"
 * dials at once; a dial that gets no `welcome` in time counts as lost.
 */
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff";
import { CloseCode, type User } from "./protocol";
import type { SocketClose } from "./socket";

/** What `welcome` says about the live session. */
export interface LiveSession {
  user: User;
  session: string;
  server: string;
}

export type ConnectionStatus =
  | { status: "idle" }
  | { status: "connecting"; attempt: number }
  | ({ status: "live" } & LiveSession)
  | { status: "reconnecting"; attempt: number; retryAt: number; lastClose?: SocketClose }
  | { status: "offline" }
  /** 4001: the session or token is gone; no automatic retry. */
  | { status: "unauthorized" }
  | { status: "closed" };

/** Where `online` / `offline` / `visibilitychange` come from (window in a browser). */
export interface EnvTarget {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

export interface ReconnectOptions {
  /** Opens a new socket (closing any previous one); false when it could not even be created. */
  dial(): boolean;
  /** No `welcome` within `dialTimeoutMs` of a dial: the caller drops the socket and reports it `lost`. */
  dialTimedOut(): void;
  /** The status changed. */
  changed(status: ConnectionStatus): void;
  backoff?: BackoffOptions;
  random?: () => number;
  dialTimeoutMs?: number;
  /**
   * Backoff ceiling while the tab is visible (ms, default 5 s): someone is looking at "Offline",
   * and a server back from a restart is noticed within it. Hidden tabs use `backoff.capMs`.
   */
  visibleCapMs?: number;
  /** Source of online/offline/visibility events; `null` for none. */
  env: EnvTarget | null;
  isOnline(): boolean;
  isVisible(): boolean;
}

/** Default `visibleCapMs`. */
export const VISIBLE_CAP_MS = 5000;

export class Reconnector {
  private current: ConnectionStatus = { status: "idle" };
  private started = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private dialTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: ReconnectOptions) {}

  get status(): ConnectionStatus {
    return this.current;
  }

  /** Starts listening to the environment and dials (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const env = this.opts.env;
    env?.addEventListener("online", this.onOnline);
    env?.addEventListener("offline", this.onOffline);
    env?.addEventListener("visibilitychange", this.onVisibilityChange);
    this.dialNow();
  }

  /** No more dialing: status `closed`. */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    const env = this.opts.env;
    env?.removeEventListener("online", this.onOnline);
    env?.removeEventListener("offline", this.onOffline);
    env?.removeEventListener("visibilitychange", this.onVisibilityChange);
    this.clearRetry();
    this.clearDialTimer();
    this.set({ status: "closed" });
  }

  /** The server said `welcome`: live, and the backoff starts over. */
  connected(session: LiveSession): void {
    this.clearDialTimer();
    this.attempt = 0;
    this.set({ status: "live", ...session });
  }

  /** The socket is gone: wait and dial again, or stop trying (4001). */
  lost(close: SocketClose): void {
    this.clearDialTimer();
    if (!this.started) return;
    if (close.code === CloseCode.SessionExpired) {
      this.set({ status: "unauthorized" });
      return;
    }
    this.scheduleRetry(close);
  }

  /** Skips the backoff wait and dials now (a "Retry now" button). */
  retryNow(): void {
    if (this.started && this.isWaiting()) this.dialNow();
  }

  private dialNow(): void {
    this.clearRetry();
    if (!this.started) return;
    if (!this.opts.isOnline()) {
      this.set({ status: "offline" });
      return;
    }
    this.set({ status: "connecting", attempt: this.attempt });
    if (!this.opts.dial()) {
      this.scheduleRetry({ code: 1006, reason: "could not open WebSocket" });
      return;
    }
    this.clearDialTimer();
    this.dialTimer = setTimeout(() => {
      this.dialTimer = null;
      if (this.current.status === "connecting") this.opts.dialTimedOut();
    }, this.opts.dialTimeoutMs ?? 10_000);
  }

  private scheduleRetry(lastClose: SocketClose): void {
    this.clearRetry();
    if (!this.opts.isOnline()) {
      this.set({ status: "offline" });
      return;
    }
    const backoff = this.opts.backoff ?? DEFAULT_BACKOFF;
    const capMs = this.opts.isVisible() ? Math.min(backoff.capMs, this.opts.visibleCapMs ?? VISIBLE_CAP_MS) : backoff.capMs;
    const delay = backoffDelay(this.attempt, { ...backoff, capMs }, this.opts.random ?? Math.random);
    const attempt = this.attempt;
    this.attempt += 1;
    this.set({ status: "reconnecting", attempt, retryAt: Date.now() + delay, lastClose });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.dialNow();
    }, delay);
  }

  /** The network or the user is back: dial now, and start the backoff over if that fails too. */
  private readonly onOnline = () => {
    if (!this.isWaiting()) return;
    this.attempt = 0;
    this.dialNow();
  };

  private readonly onOffline = () => {
    // A live socket may survive a short blip; the heartbeat decides.
    if (this.current.status === "reconnecting") {
      this.clearRetry();
      this.set({ status: "offline" });
    }
  };

  private readonly onVisibilityChange = () => {
    if (this.opts.isVisible()) this.onOnline();
  };

  private isWaiting(): boolean {
    return this.current.status === "reconnecting" || this.current.status === "offline";
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private clearDialTimer(): void {
    if (this.dialTimer) clearTimeout(this.dialTimer);
    this.dialTimer = null;
  }

  private set(status: ConnectionStatus): void {
    this.current = status;
    this.opts.changed(status);
  }
}
