/**
 * What the HTTP fallback's board feeds (SSE stream, long poll) share: how
 * they report to the socket that owns them, and the HTTP they need.
 *
 * A feed turns one board's HTTP stream into the messages the WebSocket would
 * have sent (`subscribed`, `event`, `presence`, `unsubscribed`), so the board
 * client above cannot tell the transports apart.
 */
import type { BoardMessage, Id } from "../protocol";

/** Where a feed reports. */
export interface FeedSink {
  /** A board message, as the WebSocket would have sent it. */
  message(msg: BoardMessage): void;
  /** The feed has delivered its first message (it is not held by a proxy). */
  healthy(): void;
  /** The feed stopped and will not deliver again (the owner reconnects). */
  failed(reason: string): void;
  /** The credential is gone (401): no point retrying. */
  unauthorized(): void;
}

/** The part of the browser's EventSource a feed uses (tests pass a fake). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (ev: { data: string }) => void): void;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}

/** The HTTP a feed or the fallback socket needs. */
export interface HttpDeps {
  fetch(url: string, init?: RequestInit): Promise<Response>;
  openEventSource(url: string): EventSourceLike;
}

/** One board's open feed. */
export interface BoardFeed {
  close(): void;
}

/** Opens a feed for `board`, resuming after `since` (undefined: start with a snapshot). */
export type FeedOpener = (board: Id, since: number | undefined, http: HttpDeps, sink: FeedSink) => BoardFeed;

/** `/api/boards/{b}` for a board id. */
export const boardPath = (board: Id) => `/api/boards/${encodeURIComponent(board)}`;
