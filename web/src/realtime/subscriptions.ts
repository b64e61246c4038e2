/**
 * The boards this tab follows on its connection.
 *
 * Exists because a subscription outlives any one socket: each board's
 * subscriber says where to resume (`since`), the subscription is sent again
 * after every `welcome`, and the server's board messages are routed to it.
 */
import type { BoardMessage, ClientMessage, Id } from "./protocol";

/** A board subscription's owner: says where to resume and receives the board's messages. */
export interface BoardSubscriber {
  /** The last seq the subscriber has applied, or undefined for "send a snapshot". */
  since(): number | undefined;
  onMessage(msg: BoardMessage): void;
  /** The socket went away; subscriptions will be re-sent after the next `welcome`. */
  onDisconnect?(): void;
}

/** How subscriptions reach the server (the connection). */
export interface SubscriptionTransport {
  /** True when messages may be sent (connected, after `welcome`). */
  ready(): boolean;
  send(msg: ClientMessage): boolean;
}

export class BoardSubscriptions {
  private readonly boards = new Map<Id, BoardSubscriber>();
  private nextId = 1;

  constructor(private readonly transport: SubscriptionTransport) {}

  /** Subscribes a board now if connected, and after every reconnect. Returns the unsubscribe. */
  add(board: Id, sub: BoardSubscriber): () => void {
    this.boards.set(board, sub);
    if (this.transport.ready()) this.sendSubscribe(board, sub);
    return () => {
      if (this.boards.get(board) !== sub) return;
      this.boards.delete(board);
      if (this.transport.ready()) this.transport.send({ type: "unsubscribe", board });
    };
  }

  has(board: Id): boolean {
    return this.boards.has(board);
  }

  /** Restarts a board's subscription from the subscriber's current `since` (after a gap). */
  restart(board: Id): void {
    const sub = this.boards.get(board);
    if (sub && this.transport.ready()) this.sendSubscribe(board, sub);
  }

  /** After `welcome`: every subscription again, each from its subscriber's `since`. */
  resendAll(): void {
    for (const [board, sub] of this.boards) this.sendSubscribe(board, sub);
  }

  /** Hands a board message to its subscriber; an `unsubscribed` with a reason (revoked, deleted) ends the subscription. */
  route(msg: BoardMessage): void {
    this.boards.get(msg.board)?.onMessage(msg);
    if (msg.type === "unsubscribed" && msg.reason) this.boards.delete(msg.board);
  }

  /** The socket went away. */
  disconnected(): void {
    for (const sub of this.boards.values()) sub.onDisconnect?.();
  }

  private sendSubscribe(board: Id, sub: BoardSubscriber): void {
    const since = sub.since();
    const msg: ClientMessage = { type: "subscribe", board, id: `s${this.nextId++}` };
    if (since !== undefined) msg.since = since;
    this.transport.send(msg);
  }
}
