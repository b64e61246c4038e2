/**
 * One WebSocket per tab, speaking `corkboard.v1`.
 *
 * - reconnect with exponential backoff and full jitter (base 500 ms, cap 30 s),
 *   at once on the browser's `online` event or when the tab becomes visible;
 * - app-level heartbeat: `{"type":"ping"}` every `heartbeat_ms` from `welcome`,
 *   the connection is declared dead after 2 missed pongs;
 * - board subscriptions, re-sent after every reconnect with `since` (the
 *   subscriber says which seq it has);
 * - RPC with ids and timeouts;
 * - an outbox of mutations carrying `op` ids: each stays until the server
 *   answers it and is sent again after a reconnect (the server's idempotency
 *   makes the retry harmless). Mutations on the same key (a note) are sent one
 *   at a time, in order, because the server runs RPCs concurrently.
 *
 * No React here: the hooks in src/hooks wrap it.
 */
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff";
import { Emitter } from "./emitter";
import { isTransient, RpcError } from "./errors";
import {
  CloseCode,
  SUBPROTOCOL,
  type BoardMessage,
  type ClientMessage,
  type Id,
  type RpcMethod,
  type RpcParams,
  type RpcResult,
  type ServerMessage,
  type SignalName,
  type User,
} from "./protocol";

/** The part of the browser WebSocket this module uses (tests pass a fake). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

/** Where `online` / `offline` / `visibilitychange` come from (window in a browser). */
export interface EnvTarget {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

export interface ConnectionOptions {
  url: string | (() => string);
  createSocket?: SocketFactory;
  backoff?: BackoffOptions;
  random?: () => number;
  /** RPC timeout (ms). */
  rpcTimeoutMs?: number;
  /** How long to wait for `welcome` after dialing (ms). */
  connectTimeoutMs?: number;
  /** Heartbeat interval until `welcome` says otherwise (ms). */
  defaultHeartbeatMs?: number;
  /** Source of online/offline events; `null` for none. Defaults to `window` in a browser. */
  env?: EnvTarget | null;
  /** `navigator.onLine` by default. */
  isOnline?: () => boolean;
  /** `document.visibilityState === "visible"` by default. */
  isVisible?: () => boolean;
}

export type ConnectionStatus =
  | { status: "idle" }
  | { status: "connecting"; attempt: number }
  | { status: "live"; user: User; session: string; server: string }
  | { status: "reconnecting"; attempt: number; retryAt: number; lastClose?: { code: number; reason: string } }
  | { status: "offline" }
  /** 4001: the session or token is gone; no automatic retry. */
  | { status: "unauthorized" }
  | { status: "closed" };

export interface ConnectionState {
  conn: ConnectionStatus;
  /** Mutations in the outbox not yet answered by the server. */
  pending: number;
}

/** A board subscription's owner: says where to resume and receives the board's messages. */
export interface BoardSubscriber {
  /** The last seq the subscriber has applied, or undefined for "send a snapshot". */
  since(): number | undefined;
  onMessage(msg: BoardMessage): void;
  /** The socket went away; subscriptions will be re-sent after the next `welcome`. */
  onDisconnect?(): void;
}

interface RpcCall {
  resolve(result: unknown): void;
  reject(err: RpcError): void;
  timer: ReturnType<typeof setTimeout>;
  /** Set when the call carries an outbox entry. */
  entry?: OutboxEntry;
}

interface OutboxEntry {
  op: string;
  /** Entries with the same key are sent one at a time, in order. */
  key: string;
  method: RpcMethod;
  /** Builds the params on first send (so they can depend on earlier answers). */
  build: () => unknown;
  params?: unknown;
  inflight: boolean;
  /** Not before this time (ms epoch), after a transient error. */
  notBefore: number;
  resolve(result: unknown): void;
  reject(err: RpcError): void;
}

const OPEN = 1;

function defaultEnv(): EnvTarget | null {
  return typeof window !== "undefined" ? window : null;
}

export class Connection {
  readonly state = new Emitter<ConnectionState>();
  /** Every server message, after the connection's own handling. */
  readonly messages = new Emitter<ServerMessage>();

  private readonly opts: Required<Omit<ConnectionOptions, "env">> & { env: EnvTarget | null };
  private socket: SocketLike | null = null;
  private current: ConnectionStatus = { status: "idle" };
  private snapshot: ConnectionState = { conn: this.current, pending: 0 };
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private missedPongs = 0;
  private awaitingPong = false;
  private nextId = 1;
  private readonly calls = new Map<string, RpcCall>();
  private readonly outbox: OutboxEntry[] = [];
  private readonly boards = new Map<Id, BoardSubscriber>();
  private outboxTimer: ReturnType<typeof setTimeout> | null = null;
  private started = false;
  private me: User | null = null;

  constructor(options: ConnectionOptions) {
    this.opts = {
      url: options.url,
      createSocket:
        options.createSocket ?? ((url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike),
      backoff: options.backoff ?? DEFAULT_BACKOFF,
      random: options.random ?? Math.random,
      rpcTimeoutMs: options.rpcTimeoutMs ?? 10_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      defaultHeartbeatMs: options.defaultHeartbeatMs ?? 15_000,
      env: options.env === undefined ? defaultEnv() : options.env,
      isOnline: options.isOnline ?? (() => (typeof navigator === "undefined" ? true : navigator.onLine !== false)),
      isVisible:
        options.isVisible ??
        (() => (typeof document === "undefined" ? true : document.visibilityState === "visible")),
    };
  }

  // ------------------------------------------------------------ lifecycle

  /** Opens the socket (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    const env = this.opts.env;
    env?.addEventListener("online", this.onOnline);
    env?.addEventListener("offline", this.onOffline);
    env?.addEventListener("visibilitychange", this.onVisible);
    this.connect();
  }

  /** Closes for good: stops retries and fails what is in flight (the outbox too). */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    const env = this.opts.env;
    env?.removeEventListener("online", this.onOnline);
    env?.removeEventListener("offline", this.onOffline);
    env?.removeEventListener("visibilitychange", this.onVisible);
    this.clearTimers();
    this.dropSocket(CloseCode.Normal, "client closed");
    const err = new RpcError({ code: "unavailable", message: "connection closed" });
    for (const e of this.outbox.splice(0)) e.reject(err);
    this.failCalls(err);
    this.setStatus({ status: "closed" });
  }

  /** The same object until something changes (safe for useSyncExternalStore). */
  getState(): ConnectionState {
    const s = this.snapshot;
    if (s.conn !== this.current || s.pending !== this.outbox.length) {
      this.snapshot = { conn: this.current, pending: this.outbox.length };
    }
    return this.snapshot;
  }

  get user(): User | null {
    return this.me;
  }

  /** Skips the backoff wait and dials now (a "Retry now" button). */
  retryNow(): void {
    if (!this.started) return;
    if (this.current.status === "reconnecting" || this.current.status === "offline") {
      this.clearRetry();
      this.connect();
    }
  }

  // ------------------------------------------------------------ boards

  /** Subscribes a board; the subscription is re-sent after every reconnect. Returns unsubscribe. */
  subscribeBoard(board: Id, sub: BoardSubscriber): () => void {
    this.boards.set(board, sub);
    if (this.isLive()) this.sendSubscribe(board, sub);
    return () => {
      if (this.boards.get(board) !== sub) return;
      this.boards.delete(board);
      if (this.isLive()) this.send({ type: "unsubscribe", board });
    };
  }

  /** Restarts a board's subscription from the subscriber's current `since` (after a gap). */
  resubscribe(board: Id): void {
    const sub = this.boards.get(board);
    if (sub && this.isLive()) this.sendSubscribe(board, sub);
  }

  /** Ephemeral; dropped when not connected. */
  signal(board: Id, name: SignalName, data: unknown): void {
    if (this.isLive() && this.boards.has(board)) this.send({ type: "signal", board, name, data });
  }

  // ------------------------------------------------------------ RPC

  /** A plain RPC: fails at once when not connected, or after the timeout. */
  rpc<M extends RpcMethod>(method: M, params: RpcParams<M>, timeoutMs = this.opts.rpcTimeoutMs): Promise<RpcResult<M>> {
    if (!this.isLive()) {
      return Promise.reject(new RpcError({ code: "unavailable", message: "not connected" }));
    }
    return new Promise((resolve, reject) => {
      const id = this.sendRpc(method, params, timeoutMs, {
        resolve: resolve as (r: unknown) => void,
        reject,
      });
      if (id === null) reject(new RpcError({ code: "unavailable", message: "not connected" }));
    });
  }

  /**
   * Queues a mutation in the outbox. It is sent when connected (after earlier
   * entries with the same key are answered), re-sent after reconnects, and
   * settles with the server's answer. `build` runs once, just before the first send.
   */
  mutate<M extends RpcMethod>(method: M, op: string, key: string, build: () => RpcParams<M>): Promise<RpcResult<M>> {
    return new Promise((resolve, reject) => {
      this.outbox.push({
        op,
        key,
        method,
        build,
        inflight: false,
        notBefore: 0,
        resolve: resolve as (r: unknown) => void,
        reject,
      });
      this.emitState();
      this.flushOutbox();
    });
  }

  /** Ops still in the outbox, oldest first. */
  pendingOps(): string[] {
    return this.outbox.map((e) => e.op);
  }

  // ------------------------------------------------------------ internals: dialing

  private connect(): void {
    this.clearRetry();
    if (!this.started) return;
    if (!this.opts.isOnline()) {
      this.setStatus({ status: "offline" });
      return;
    }
    this.dropSocket(CloseCode.Normal, "reconnecting");
    this.setStatus({ status: "connecting", attempt: this.attempt });
    const url = typeof this.opts.url === "function" ? this.opts.url() : this.opts.url;
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(url, [SUBPROTOCOL]);
    } catch {
      this.scheduleReconnect({ code: 1006, reason: "could not open WebSocket" });
      return;
    }
    this.socket = socket;
    socket.onmessage = (ev) => {
      if (this.socket === socket) this.onMessage(ev.data);
    };
    socket.onclose = (ev) => {
      if (this.socket === socket) this.onClose(ev.code, ev.reason);
    };
    socket.onerror = () => {
      /* a close follows */
    };
    socket.onopen = () => {
      /* we wait for `welcome` */
    };
    this.connectTimer = setTimeout(() => {
      if (this.socket === socket && this.current.status === "connecting") {
        this.dropSocket(CloseCode.HeartbeatTimeout, "no welcome");
        this.onClose(4000, "no welcome");
      }
    }, this.opts.connectTimeoutMs);
  }

  private onClose(code: number, reason: string): void {
    this.socket = null;
    this.stopHeartbeat();
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.failCalls(new RpcError({ code: "unavailable", message: "connection lost" }));
    for (const sub of this.boards.values()) sub.onDisconnect?.();
    if (!this.started) return;
    if (code === CloseCode.SessionExpired) {
      this.setStatus({ status: "unauthorized" });
      return;
    }
    this.scheduleReconnect({ code, reason });
  }

  private scheduleReconnect(lastClose: { code: number; reason: string }): void {
    this.clearRetry();
    if (!this.opts.isOnline()) {
      this.setStatus({ status: "offline" });
      return;
    }
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    const attempt = this.attempt;
    this.attempt += 1;
    this.setStatus({ status: "reconnecting", attempt, retryAt: Date.now() + delay, lastClose });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private readonly onOnline = () => {
    if (!this.started) return;
    if (this.current.status === "reconnecting" || this.current.status === "offline") {
      this.clearRetry();
      this.connect();
    }
  };

  private readonly onOffline = () => {
    if (!this.started) return;
    if (this.current.status === "reconnecting") {
      this.clearRetry();
      this.setStatus({ status: "offline" });
    }
    // A live socket may survive a short blip; the heartbeat decides.
  };

  private readonly onVisible = () => {
    if (this.opts.isVisible() && this.current.status === "reconnecting") {
      this.clearRetry();
      this.connect();
    }
  };

  // ------------------------------------------------------------ internals: messages

  private onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
    // Anything heard proves the connection is alive.
    this.missedPongs = 0;
    switch (msg.type) {
      case "welcome":
        this.onWelcome(msg);
        break;
      case "pong":
        this.awaitingPong = false;
        break;
      case "result":
        this.settle(msg.id, msg.result, null);
        break;
      case "error":
        if (msg.id !== null && this.calls.has(msg.id)) {
          this.settle(msg.id, undefined, new RpcError(msg.error));
        } else if (msg.board) {
          this.boards.get(msg.board)?.onMessage(msg as BoardMessage);
        }
        break;
      case "subscribed":
      case "unsubscribed":
      case "event":
      case "presence":
      case "signal":
        this.boards.get(msg.board)?.onMessage(msg);
        if (msg.type === "unsubscribed" && msg.reason) this.boards.delete(msg.board);
        break;
    }
    this.messages.emit(msg);
  }

  private onWelcome(msg: Extract<ServerMessage, { type: "welcome" }>): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.attempt = 0;
    this.me = msg.user;
    this.setStatus({ status: "live", user: msg.user, session: msg.session, server: msg.server });
    this.startHeartbeat(msg.heartbeat_ms > 0 ? msg.heartbeat_ms : this.opts.defaultHeartbeatMs);
    for (const [board, sub] of this.boards) this.sendSubscribe(board, sub);
    // Everything unanswered goes again, in order (same op ids).
    for (const e of this.outbox) e.inflight = false;
    this.flushOutbox();
  }

  private sendSubscribe(board: Id, sub: BoardSubscriber): void {
    const since = sub.since();
    const msg: ClientMessage = { type: "subscribe", board, id: `s${this.nextId++}` };
    if (since !== undefined) msg.since = since;
    this.send(msg);
  }

  // ------------------------------------------------------------ internals: heartbeat

  private startHeartbeat(ms: number): void {
    this.stopHeartbeat();
    this.missedPongs = 0;
    this.awaitingPong = false;
    this.heartbeatTimer = setInterval(() => {
      if (this.awaitingPong) {
        this.missedPongs += 1;
        if (this.missedPongs >= 2) {
          this.dropSocket(CloseCode.HeartbeatTimeout, "missed pongs");
          this.onClose(CloseCode.HeartbeatTimeout, "missed pongs");
          return;
        }
      }
      this.awaitingPong = true;
      this.send({ type: "ping", t: Date.now() });
    }, ms);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  // ------------------------------------------------------------ internals: RPC and outbox

  private sendRpc(
    method: RpcMethod,
    params: unknown,
    timeoutMs: number,
    handlers: { resolve(r: unknown): void; reject(e: RpcError): void; entry?: OutboxEntry },
  ): string | null {
    const id = `r${this.nextId++}`;
    if (!this.send({ type: "rpc", id, method, params })) return null;
    const timer = setTimeout(() => {
      const call = this.calls.get(id);
      if (!call) return;
      this.calls.delete(id);
      if (call.entry) {
        // No answer: assume the socket is dead; reconnect replays the entry.
        call.entry.inflight = false;
        this.dropSocket(CloseCode.HeartbeatTimeout, "rpc timeout");
        this.onClose(CloseCode.HeartbeatTimeout, "rpc timeout");
      } else {
        call.reject(new RpcError({ code: "unavailable", message: `${method} timed out` }));
      }
    }, timeoutMs);
    this.calls.set(id, { ...handlers, timer });
    return id;
  }

  private settle(id: string, result: unknown, err: RpcError | null): void {
    const call = this.calls.get(id);
    if (!call) return;
    this.calls.delete(id);
    clearTimeout(call.timer);
    const entry = call.entry;
    if (!entry) {
      if (err) call.reject(err);
      else call.resolve(result);
      return;
    }
    if (err && isTransient(err.code)) {
      entry.inflight = false;
      const after = Number(err.details?.retry_after);
      entry.notBefore = Date.now() + (Number.isFinite(after) && after > 0 ? after * 1000 : 1000);
      this.flushOutbox();
      return;
    }
    const i = this.outbox.indexOf(entry);
    if (i >= 0) this.outbox.splice(i, 1);
    this.emitState();
    if (err) entry.reject(err);
    else entry.resolve(result);
    // After the settle callbacks have run (a later entry's params may depend on them).
    void Promise.resolve().then(() => this.flushOutbox());
  }

  private flushOutbox(): void {
    if (this.outboxTimer) clearTimeout(this.outboxTimer);
    this.outboxTimer = null;
    if (!this.isLive()) return;
    const blocked = new Set<string>();
    const now = Date.now();
    let wakeAt = Infinity;
    for (const e of this.outbox) {
      if (blocked.has(e.key)) continue;
      blocked.add(e.key);
      if (e.inflight) continue;
      if (e.notBefore > now) {
        wakeAt = Math.min(wakeAt, e.notBefore);
        continue;
      }
      if (e.params === undefined) e.params = e.build();
      const id = this.sendRpc(e.method, e.params, this.opts.rpcTimeoutMs, {
        resolve: e.resolve,
        reject: e.reject,
        entry: e,
      });
      if (id === null) return;
      e.inflight = true;
    }
    if (wakeAt < Infinity) this.outboxTimer = setTimeout(() => this.flushOutbox(), wakeAt - now);
  }

  private failCalls(err: RpcError): void {
    for (const [id, call] of this.calls) {
      clearTimeout(call.timer);
      this.calls.delete(id);
      if (call.entry) call.entry.inflight = false;
      else call.reject(err);
    }
  }

  // ------------------------------------------------------------ internals: plumbing

  private isLive(): boolean {
    return this.current.status === "live" && this.socket !== null && this.socket.readyState === OPEN;
  }

  private send(msg: ClientMessage): boolean {
    const s = this.socket;
    if (!s || s.readyState !== OPEN) return false;
    try {
      s.send(JSON.stringify(msg));
      return true;
    } catch {
      return false;
    }
  }

  private dropSocket(code: number, reason: string): void {
    const s = this.socket;
    this.socket = null;
    if (!s) return;
    s.onopen = s.onmessage = s.onclose = s.onerror = null;
    try {
      s.close(code === CloseCode.HeartbeatTimeout ? 4000 : code, reason);
    } catch {
      /* already closed */
    }
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private clearTimers(): void {
    this.clearRetry();
    this.stopHeartbeat();
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (this.outboxTimer) clearTimeout(this.outboxTimer);
    this.outboxTimer = null;
  }

  private setStatus(s: ConnectionStatus): void {
    this.current = s;
    this.emitState();
  }

  private emitState(): void {
    this.state.emit(this.getState());
  }
}
