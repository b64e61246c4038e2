/**
 * A board's updates over the SSE board stream (`GET /api/boards/{b}/stream`).
 *
 * Exists for networks that block WebSocket but pass a streamed HTTP answer.
 * The stream resumes from `?since=` (the board store's seq); its `snapshot`,
 * event and `presence` blocks become `subscribed`, `event` and `presence`
 * messages. The browser's own reconnect is not used: any error or
 * `event: shutdown` ends the feed and the owner reconnects, subscribing again
 * from the seq the store has applied (so nothing is missed or repeated). The
 * server sends `presence` right after subscribing, so a stream that brings
 * nothing within `firstEventMs` is being held by something on the way (a
 * buffering proxy): the feed fails and reports that it never delivered.
 * A stream that goes silent later (no event and no keep-alive comment for
 * 2.5 keep-alive intervals: a half-open connection) errors in the reader
 * (sse-reader.ts), which ends the feed the same way.
 */
import type { BoardEvent, EventKind, Id, ServerMessageOf, Snapshot } from "../protocol";
import { boardPath, type BoardFeed, type FeedSink, type HttpDeps } from "./feed";

/** Every event kind, as the stream names its blocks (the compiler checks the list is complete). */
const EVENT_KINDS = [
  "note.created",
  "note.updated",
  "note.deleted",
  "board.updated",
  "board.deleted",
  "member.joined",
  "member.updated",
  "member.left",
] as const satisfies readonly EventKind[];
type Assert<T extends true> = T;
/** Fails the typecheck when the server adds an event kind this list lacks. */
export type SseKindsComplete = Assert<[Exclude<EventKind, (typeof EVENT_KINDS)[number]>] extends [never] ? true : false>;

/** How long a new stream may stay silent before it counts as held by a proxy (ms). */
export const SSE_FIRST_EVENT_MS = 4000;

/** The `event: snapshot` data. */
type SnapshotData = Snapshot & { seq: number };

/** Opens the SSE feed of one board. */
export function openSseFeed(
  board: Id,
  since: number | undefined,
  http: HttpDeps,
  sink: FeedSink,
  firstEventMs = SSE_FIRST_EVENT_MS,
): BoardFeed {
  const url = `${boardPath(board)}/stream${since === undefined ? "" : `?since=${since}`}`;
  const es = http.openEventSource(url);
  let open = true;
  let subscribed = false;

  const end = (reason: string) => {
    if (!open) return;
    close();
    sink.failed(reason);
  };
  const silence = setTimeout(() => end("no first event on the SSE stream"), firstEventMs);
  const close = () => {
    open = false;
    clearTimeout(silence);
    es.onerror = null;
    es.close();
  };
  /** The first block proves the stream flows; `subscribed` precedes any event. */
  const first = (snapshot?: SnapshotData) => {
    if (subscribed) return;
    subscribed = true;
    clearTimeout(silence);
    sink.healthy();
    if (snapshot) {
      sink.message({ type: "subscribed", board, seq: snapshot.seq, snapshot: { board: snapshot.board, notes: snapshot.notes } });
    } else {
      sink.message({ type: "subscribed", board, seq: since ?? 0, replayed: 0 });
    }
  };
  const parse = <T>(data: string): T | null => {
    try {
      return JSON.parse(data) as T;
    } catch {
      return null;
    }
  };

  es.addEventListener("snapshot", (ev) => {
    const snap = open ? parse<SnapshotData>(ev.data) : null;
    if (!snap) return;
    if (subscribed) sink.message({ type: "subscribed", board, seq: snap.seq, snapshot: { board: snap.board, notes: snap.notes } });
    else first(snap);
  });
  for (const kind of EVENT_KINDS) {
    es.addEventListener(kind, (ev) => {
      const event = open ? parse<BoardEvent>(ev.data) : null;
      if (!event) return;
      first();
      sink.message({ type: "event", ...event });
    });
  }
  es.addEventListener("presence", (ev) => {
    const presence = open ? parse<ServerMessageOf<"presence">>(ev.data) : null;
    if (!presence) return;
    first();
    sink.message({ ...presence, type: "presence", board });
  });
  es.addEventListener("shutdown", () => end("server shutting down"));
  es.onerror = (ev) => end(`SSE stream: ${(ev as { reason?: string } | null)?.reason ?? "ended"}`);
  return { close };
}
