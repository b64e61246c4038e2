/**
 * One WebSocket per tab, speaking `corkboard.v1`: the façade the board
 * client and the hooks use. It owns no policy of its own; it wires the parts,
 * each in its own module:
 *
 * - `socket.ts`: one dialed socket as typed messages;
 * - `reconnect.ts`: when to dial (backoff with full jitter, `online`,
 *   visibility, 4001) and the status it yields;
 * - `heartbeat.ts`: app-level ping/pong, because browsers hide WebSocket pings;
 * - `rpc.ts`: RPCs in flight, by id, with timeouts;
 * - `outbox.ts`: mutations with `op` ids, kept until answered and replayed
 *   after a reconnect;
 * - `subscriptions.ts`: board subscriptions, re-sent with `since` after every
 *   `welcome`.
 *
 * Data flow: a server message goes socket → here → heartbeat (anything heard),
 * then by type to the reconnect machine (`welcome`), the RPC table (`result`,
 * `error` with an id) or the board's subscriber; finally to `messages`.
 *
 * No React here: the hooks in src/hooks wrap it.
 */
import type { BackoffOptions } from "./backoff";
import { Emitter } from "./emitter";
import { RpcError } from "./errors";
import { Heartbeat } from "./heartbeat";
import { Outbox, type OutboxJournal } from "./outbox";
import {
  CloseCode,
  SUBPROTOCOL,
  type ClientMessage,
  type Id,
  type RpcMethod,
  type RpcParams,
  type RpcResult,
  type ServerMessage,
  type SignalName,
  type User,
} from "./protocol";
import { Reconnector, type ConnectionStatus, type EnvTarget } from "./reconnect";
import { RpcTable } from "./rpc";
import { browserSocket, SocketAdapter, type SocketClose, type SocketFactory } from "./socket";
import { BoardSubscriptions, type BoardSubscriber } from "./subscriptions";

export type { BoardSubscriber } from "./subscriptions";
export type { ConnectionStatus } from "./reconnect";

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
  /** Keeps the outbox's mutations across reloads (persist/); in memory only without. */
  journal?: OutboxJournal;
}

export interface ConnectionState {
  conn: ConnectionStatus;
  /** Mutations in the outbox not yet answered by the server. */
  pending: number;
}

const browserEnv = (): EnvTarget | null => (typeof window !== "undefined" ? window : null);
const browserOnline = () => (typeof navigator === "undefined" ? true : navigator.onLine !== false);
const browserVisible = () => (typeof document === "undefined" ? true : document.visibilityState === "visible");

export class Connection {
  readonly state = new Emitter<ConnectionState>();
  /** Every server message, after the connection's own handling. */
  readonly messages = new Emitter<ServerMessage>();

  private readonly url: string | (() => string);
  private readonly createSocket: SocketFactory;
  private readonly rpcTimeoutMs: number;
  private readonly defaultHeartbeatMs: number;
  private readonly reconnect: Reconnector;
  private readonly heartbeat: Heartbeat;
  private readonly rpcs: RpcTable;
  private readonly outbox: Outbox;
  private readonly boards: BoardSubscriptions;
  private socket: SocketAdapter | null = null;
  private snapshot: ConnectionState;
  private started = false;
  private me: User | null = null;

  constructor(options: ConnectionOptions) {
    this.url = options.url;
    this.createSocket = options.createSocket ?? browserSocket;
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 10_000;
    this.defaultHeartbeatMs = options.defaultHeartbeatMs ?? 15_000;
    this.reconnect = new Reconnector({
      dial: () => this.dial(),
      dialTimedOut: () => this.abandon({ code: CloseCode.HeartbeatTimeout, reason: "no welcome" }),
      changed: () => this.emitState(),
      backoff: options.backoff,
      random: options.random,
      dialTimeoutMs: options.connectTimeoutMs,
      env: options.env === undefined ? browserEnv() : options.env,
      isOnline: options.isOnline ?? browserOnline,
      isVisible: options.isVisible ?? browserVisible,
    });
    this.heartbeat = new Heartbeat({
      ping: () => this.send({ type: "ping", t: Date.now() }),
      dead: () => this.abandon({ code: CloseCode.HeartbeatTimeout, reason: "missed pongs" }),
    });
    this.rpcs = new RpcTable((msg) => this.send(msg));
    const wire = { ready: () => this.isLive(), send: (msg: ClientMessage) => this.send(msg) };
    this.outbox = new Outbox({
      ready: wire.ready,
      call: (method, params, settle) => this.rpcs.call(method, params, this.rpcTimeoutMs, settle),
      // No answer: assume the socket is dead; the reconnect replays the entry.
      unanswered: () => this.abandon({ code: CloseCode.HeartbeatTimeout, reason: "rpc timeout" }),
      changed: () => this.emitState(),
    }, options.journal);
    this.boards = new BoardSubscriptions(wire);
    this.snapshot = { conn: this.reconnect.status, pending: 0 };
  }

  // ------------------------------------------------------------ lifecycle

  /** Opens the socket (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.reconnect.start();
  }

  /** Closes for good: stops retries and fails what is in flight (the outbox too). */
  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.heartbeat.stop();
    this.closeSocket(CloseCode.Normal, "client closed");
    const err = new RpcError({ code: "unavailable", message: "connection closed" });
    this.outbox.rejectAll(err);
    this.rpcs.failAll(err);
    this.reconnect.stop();
  }

  /** The same object until something changes (safe for useSyncExternalStore). */
  getState(): ConnectionState {
    const s = this.snapshot;
    if (s.conn !== this.reconnect.status || s.pending !== this.outbox.size) {
      this.snapshot = { conn: this.reconnect.status, pending: this.outbox.size };
    }
    return this.snapshot;
  }

  get user(): User | null {
    return this.me;
  }

  /** Skips the backoff wait and dials now (a "Retry now" button). */
  retryNow(): void {
    this.reconnect.retryNow();
  }

  // ------------------------------------------------------------ boards

  /** Subscribes a board; the subscription is re-sent after every reconnect. Returns unsubscribe. */
  subscribeBoard(board: Id, sub: BoardSubscriber): () => void {
    return this.boards.add(board, sub);
  }

  /** Restarts a board's subscription from the subscriber's current `since` (after a gap). */
  resubscribe(board: Id): void {
    this.boards.restart(board);
  }

  /** Ephemeral; dropped when not connected. */
  signal(board: Id, name: SignalName, data: unknown): void {
    if (this.isLive() && this.boards.has(board)) this.send({ type: "signal", board, name, data });
  }

  // ------------------------------------------------------------ RPC

  /** A plain RPC: fails at once when not connected, or after the timeout. */
  rpc<M extends RpcMethod>(method: M, params: RpcParams<M>, timeoutMs = this.rpcTimeoutMs): Promise<RpcResult<M>> {
    const notConnected = () => new RpcError({ code: "unavailable", message: "not connected" });
    if (!this.isLive()) return Promise.reject(notConnected());
    return new Promise((resolve, reject) => {
      const sent = this.rpcs.call(method, params, timeoutMs, (outcome) => {
        switch (outcome.kind) {
          case "result":
            resolve(outcome.result as RpcResult<M>);
            break;
          case "error":
          case "lost":
            reject(outcome.error);
            break;
          case "timeout":
            reject(new RpcError({ code: "unavailable", message: `${method} timed out` }));
            break;
          default: {
            const unhandled: never = outcome;
            void unhandled;
          }
        }
      });
      if (!sent) reject(notConnected());
    });
  }

  /**
   * Queues a mutation in the outbox. It is sent when connected (after earlier
   * entries with the same key are answered), re-sent after reconnects, and
   * settles with the server's answer. `build` runs once, just before the first send.
   */
  mutate<M extends RpcMethod>(method: M, op: string, key: string, build: () => RpcParams<M>): Promise<RpcResult<M>> {
    return this.outbox.push(method, op, key, build) as Promise<RpcResult<M>>;
  }

  /** Withdraws a queued mutation that has never been sent (see `Outbox.cancel`). */
  cancelMutation(op: string): boolean {
    return this.outbox.cancel(op, new RpcError({ code: "bad_request", message: "withdrawn before it was sent" }));
  }

  /** Ops still in the outbox, oldest first. */
  pendingOps(): string[] {
    return this.outbox.pendingOps();
  }

  /** Mutations a page unload would lose (not journaled yet). */
  get unsavedMutations(): number {
    return this.outbox.unsaved;
  }

  // ------------------------------------------------------------ internals

  /** Called by the reconnect machine: a new socket in place of the old one. */
  private dial(): boolean {
    this.closeSocket(CloseCode.Normal, "reconnecting");
    const url = typeof this.url === "function" ? this.url() : this.url;
    let socket: SocketAdapter;
    try {
      socket = new SocketAdapter(this.createSocket(url, [SUBPROTOCOL]));
    } catch {
      return false;
    }
    this.socket = socket;
    socket.onMessage((msg) => this.onMessage(msg));
    socket.onClose((close) => this.lost(close));
    return true;
  }

  private onMessage(msg: ServerMessage): void {
    this.heartbeat.heard();
    switch (msg.type) {
      case "welcome":
        this.me = msg.user;
        this.reconnect.connected({ user: msg.user, session: msg.session, server: msg.server });
        this.heartbeat.start(msg.heartbeat_ms > 0 ? msg.heartbeat_ms : this.defaultHeartbeatMs);
        this.boards.resendAll();
        this.outbox.replay();
        break;
      case "pong":
        this.heartbeat.pong();
        break;
      case "result":
        this.rpcs.answer(msg);
        break;
      case "error":
        if (!this.rpcs.answer(msg) && msg.board) this.boards.route({ ...msg, board: msg.board });
        break;
      case "subscribed":
      case "unsubscribed":
      case "event":
      case "presence":
      case "signal":
        this.boards.route(msg);
        break;
      default: {
        const unhandled: never = msg;
        void unhandled;
      }
    }
    this.messages.emit(msg);
  }

  /** Drops a socket this side has given up on (no welcome, missed pongs, an unanswered mutation). */
  private abandon(close: SocketClose): void {
    this.closeSocket(close.code, close.reason);
    this.lost(close);
  }

  /** The socket is gone: what was in flight waits for the next connection. */
  private lost(close: SocketClose): void {
    this.socket = null;
    this.heartbeat.stop();
    this.rpcs.failAll(new RpcError({ code: "unavailable", message: "connection lost" }));
    this.boards.disconnected();
    this.reconnect.lost(close);
    // With a journal: what waits is written down now (the connection may not come back before a reload).
    this.outbox.flush();
  }

  private isLive(): boolean {
    return this.reconnect.status.status === "live" && this.socket?.status === "open";
  }

  private send(msg: ClientMessage): boolean {
    return this.socket?.send(msg) ?? false;
  }

  private closeSocket(code: number, reason: string): void {
    this.socket?.close(code, reason);
    this.socket = null;
  }

  private emitState(): void {
    this.state.emit(this.getState());
  }
}
