/**
 * A board's updates by long poll (`GET /api/boards/{b}/events?after=S&wait=T`).
 *
 * The last resort, for networks where neither WebSocket nor a streamed answer
 * gets through (a proxy that holds a response until it ends): every answer
 * is a plain, finished JSON body. Starts from the board store's seq (or loads
 * the board, `GET /api/boards/{b}`, for a snapshot), asks again from the
 * last event received, and reloads the board on `410 gone`. Presence is not
 * pushed here, so it is fetched (`GET …/presence`) now and then; a long poll
 * does not make this user present to others.
 */
import type { Board, BoardEvent, Id, Note, Presence } from "../protocol";
import { boardPath, type BoardFeed, type FeedSink, type HttpDeps } from "./feed";

/** Seconds the server may hold one poll (it caps `wait` at 30). */
export const POLL_WAIT_S = 25;
/** A poll unanswered this long after its `wait` is presumed lost on the way (ms). */
export const POLL_GRACE_MS = 10_000;
/** How often presence is fetched (ms). */
export const PRESENCE_EVERY_MS = 15_000;

interface EventsAnswer {
  events: BoardEvent[];
  seq: number;
}

/** A non-2xx answer the feed reacts to by status. */
class HttpStatus extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** Opens the long-poll feed of one board. */
export function openLongPollFeed(board: Id, since: number | undefined, http: HttpDeps, sink: FeedSink): BoardFeed {
  const abort = new AbortController();
  let open = true;
  let presenceAt = 0;
  /** Set by `board.deleted` / `member.left`: why the board may answer 404 next. */
  let ended: "deleted" | "revoked" | null = null;

  /** A GET that gives up after `waitS` plus a grace period (a proxy may drop an answer without closing). */
  const get = async <T>(path: string, waitS = 0): Promise<T> => {
    const request = new AbortController();
    const cancel = () => request.abort();
    abort.signal.addEventListener("abort", cancel);
    const timer = setTimeout(cancel, waitS * 1000 + POLL_GRACE_MS);
    try {
      const res = await http.fetch(path, { credentials: "same-origin", signal: request.signal, cache: "no-store" });
      if (!res.ok) throw new HttpStatus(res.status);
      return (await res.json()) as T;
    } finally {
      clearTimeout(timer);
      abort.signal.removeEventListener("abort", cancel);
    }
  };
  const snapshot = async (): Promise<number> => {
    const got = await get<{ board: Board; notes: Note[]; seq: number }>(boardPath(board));
    if (open) sink.message({ type: "subscribed", board, seq: got.seq, snapshot: { board: got.board, notes: got.notes } });
    return got.seq;
  };
  const presence = async () => {
    presenceAt = Date.now();
    const got = await get<{ members: Presence[] }>(`${boardPath(board)}/presence`);
    if (open) sink.message({ type: "presence", board, members: got.members });
  };

  const run = async () => {
    let after: number;
    if (since === undefined) {
      after = await snapshot();
      await presence();
    } else {
      // The first poll does not wait: it proves the position is still in the log before `subscribed`.
      after = since;
    }
    sink.healthy();
    let announced = since === undefined;
    for (;;) {
      if (!open) return;
      let answer: EventsAnswer;
      try {
        const wait = announced ? POLL_WAIT_S : 0;
        answer = await get<EventsAnswer>(`${boardPath(board)}/events?after=${after}&wait=${wait}`, wait);
      } catch (e) {
        if (!(e instanceof HttpStatus) || e.status !== 410) throw e;
        after = await snapshot();
        announced = true;
        continue;
      }
      if (!open) return;
      if (!announced) {
        announced = true;
        sink.message({ type: "subscribed", board, seq: after, replayed: 0 });
      }
      for (const event of answer.events) {
        if (event.kind === "board.deleted") ended = "deleted";
        if (event.kind === "member.left") ended = "revoked";
        sink.message({ type: "event", ...event });
      }
      const last = answer.events.at(-1);
      if (last) after = last.seq;
      if (Date.now() - presenceAt >= PRESENCE_EVERY_MS) await presence();
    }
  };

  run().catch((e: unknown) => {
    if (!open) return;
    open = false;
    if (e instanceof HttpStatus && (e.status === 404 || e.status === 403)) {
      // As over WebSocket: `unsubscribed` after losing access, an error for a board never reachable.
      if (ended) sink.message({ type: "unsubscribed", board, reason: ended });
      else sink.message({ type: "error", id: null, board, error: { code: "not_found", message: "board not found" } });
    } else if (e instanceof HttpStatus && e.status === 401) {
      sink.unauthorized();
    } else {
      sink.failed(e instanceof Error ? e.message : "long poll failed");
    }
  });
  return {
    close: () => {
      open = false;
      abort.abort();
    },
  };
}
