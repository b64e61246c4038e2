/**
 * One dialed WebSocket, as typed messages.
 *
 * Exists so that nothing else touches the browser's WebSocket: it turns text
 * frames into `ServerMessage`s (dropping what is not JSON with a `type`),
 * `ClientMessage`s into text frames, and reports the close once. Each adapter
 * lives for one dial; a reconnect makes a new one, so a late callback of an
 * old socket can never reach the connection.
 */
import type { ClientMessage, ServerMessage } from "./protocol";

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

export const browserSocket: SocketFactory = (url, protocols) => new WebSocket(url, protocols) as unknown as SocketLike;

export type SocketStatus = "connecting" | "open" | "closed";

export interface SocketClose {
  code: number;
  reason: string;
}

const CONNECTING = 0;
const OPEN = 1;

export class SocketAdapter {
  private readonly messageListeners = new Set<(msg: ServerMessage) => void>();
  private readonly closeListeners = new Set<(close: SocketClose) => void>();
  private closed = false;

  /** Takes over a freshly created socket's callbacks. */
  constructor(private readonly raw: SocketLike) {
    raw.onmessage = (ev) => this.receive(ev.data);
    raw.onclose = (ev) => this.remoteClose({ code: ev.code, reason: ev.reason });
    // An error is always followed by a close; `open` means nothing until the server's `welcome`.
    raw.onerror = null;
    raw.onopen = null;
  }

  get status(): SocketStatus {
    if (this.closed) return "closed";
    if (this.raw.readyState === OPEN) return "open";
    return this.raw.readyState === CONNECTING ? "connecting" : "closed";
  }

  /** Sends one message; false when the socket is not open or the send throws. */
  send(msg: ClientMessage): boolean {
    if (this.status !== "open") return false;
    try {
      this.raw.send(JSON.stringify(msg));
      return true;
    } catch {
      return false;
    }
  }

  /** Every well-formed server message. Returns the unsubscribe. */
  onMessage(listener: (msg: ServerMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => {
      this.messageListeners.delete(listener);
    };
  }

  /** Called once when the server or the network closes the socket (not after `close`). Returns the unsubscribe. */
  onClose(listener: (close: SocketClose) => void): () => void {
    this.closeListeners.add(listener);
    return () => {
      this.closeListeners.delete(listener);
    };
  }

  /** Closes from this side: the listeners are detached first, so none of them hears it. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.detach();
    try {
      this.raw.close(code, reason);
    } catch {
      /* already closed */
    }
  }

  private receive(data: unknown): void {
    if (this.closed || typeof data !== "string") return;
    let msg: ServerMessage;
    try {
      msg = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
    for (const l of [...this.messageListeners]) l(msg);
  }

  private remoteClose(close: SocketClose): void {
    if (this.closed) return;
    const listeners = [...this.closeListeners];
    this.detach();
    for (const l of listeners) l(close);
  }

  private detach(): void {
    this.closed = true;
    this.raw.onopen = this.raw.onmessage = this.raw.onclose = this.raw.onerror = null;
    this.messageListeners.clear();
    this.closeListeners.clear();
  }
}
