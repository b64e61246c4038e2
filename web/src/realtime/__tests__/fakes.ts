import { Connection } from "../connection";
import type { EnvTarget } from "../reconnect";
import type { SocketLike } from "../socket";
import type { ClientMessage, Note, ServerMessage, User } from "../protocol";

export const ann: User = { id: "u1", username: "ann" };
export const bob: User = { id: "u2", username: "bob" };

/** A WebSocket double: the test plays the server. */
export class FakeSocket implements SocketLike {
  readyState = 0;
  sent: ClientMessage[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(JSON.parse(data) as ClientMessage);
  }

  close(code?: number, reason?: string): void {
    this.readyState = 3;
    this.closedWith = { code, reason };
  }

  // ---- server side

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(msg: ServerMessage | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  welcome(user: User = ann, heartbeatMs = 15_000): void {
    this.open();
    this.receive({ type: "welcome", session: "s1", user, heartbeat_ms: heartbeatMs, server: "corkboard/test" });
  }

  /** The server (or the network) closes the connection. */
  drop(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  ofType<T extends ClientMessage["type"]>(type: T): Extract<ClientMessage, { type: T }>[] {
    return this.sent.filter((m) => m.type === type) as Extract<ClientMessage, { type: T }>[];
  }
}

export class FakeEnv implements EnvTarget {
  private listeners = new Map<string, Set<() => void>>();
  addEventListener(type: string, l: () => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(l);
  }
  removeEventListener(type: string, l: () => void): void {
    this.listeners.get(type)?.delete(l);
  }
  fire(type: string): void {
    for (const l of this.listeners.get(type) ?? []) l();
  }
}

export function setup(opts: { random?: () => number; online?: () => boolean; rpcTimeoutMs?: number } = {}) {
  const sockets: FakeSocket[] = [];
  const env = new FakeEnv();
  const conn = new Connection({
    url: "ws://test/ws",
    createSocket: (url, protocols) => {
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    random: opts.random ?? (() => 0.5),
    env,
    isOnline: opts.online ?? (() => true),
    isVisible: () => true,
    rpcTimeoutMs: opts.rpcTimeoutMs,
  });
  return {
    conn,
    env,
    sockets,
    get last(): FakeSocket {
      return sockets[sockets.length - 1];
    },
  };
}

export function note(id: string, over: Partial<Note> = {}): Note {
  return {
    id,
    board: "b1",
    text: "",
    x: 0,
    y: 0,
    w: 200,
    h: 140,
    color: "yellow",
    version: 1,
    created_by: ann,
    updated_at: "2026-11-23T00:00:00Z",
    ...over,
  };
}

export const board = {
  id: "b1",
  title: "Plans",
  owner: ann,
  role: "owner" as const,
  seq: 0,
  created_at: "2026-11-23T00:00:00Z",
  updated_at: "2026-11-23T00:00:00Z",
};

/** Lets queued promise callbacks run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
