import { describe, expect, it } from "vitest";
import type { BoardEvent } from "@/realtime/protocol";
import { ApiError } from "../api";
import { HistoryLoader } from "../historyLoader";
import { EVENTS_PAGE, EventWindow, WINDOW_MAX } from "../historyWindow";

const ann = { id: "u1", username: "ann" };
const ev = (seq: number): BoardEvent => ({
  board: "b1",
  at: "2026-12-01T00:00:00Z",
  seq,
  by: ann,
  kind: "note.updated",
  id: `n${seq % 7}`,
  version: seq,
  delta: { x: seq },
});

/** A fake `/history/events` over a board of `head` events (made on demand), counting requests. */
function fakeBoard(head: number, floor = 0) {
  const board = {
    head,
    requests: [] as { after: number; limit: number }[],
    fetch: async (after: number, limit: number) => {
      board.requests.push({ after, limit });
      if (after < floor) throw new ApiError({ code: "gone", message: "gone", details: { from: floor } }, 410);
      const events: BoardEvent[] = [];
      for (let s = after + 1; s <= Math.min(board.head, after + limit); s++) events.push(ev(s));
      return { events, seq: board.head };
    },
  };
  return board;
}

const seqs = (w: EventWindow) => w.segments.map((s) => [s.from, s.to]);

describe("HistoryLoader", () => {
  it("opens a 100,000-event board with one request (the newest page); a slider jump to #500 makes one more", async () => {
    const board = fakeBoard(100_000);
    const loader = new HistoryLoader(board.fetch, () => {});
    await loader.follow(100_000);
    expect(board.requests).toEqual([{ after: 100_000 - EVENTS_PAGE, limit: EVENTS_PAGE }]);
    expect(seqs(loader.window)).toEqual([[100_000 - EVENTS_PAGE + 1, 100_000]]);

    loader.setFocus(500);
    await loader.ensure(500);
    expect(board.requests).toHaveLength(2);
    expect(loader.window.at(500)?.seq).toBe(500);
    // Already loaded: no request.
    await loader.ensure(480);
    expect(board.requests).toHaveLength(2);
    expect(seqs(loader.window)).toEqual([
      [251, 750],
      [100_000 - EVENTS_PAGE + 1, 100_000],
    ]);
  });

  it("stays bounded while the user keeps loading older pages, dropping the farthest events", async () => {
    const board = fakeBoard(100_000);
    const loader = new HistoryLoader(board.fetch, () => {});
    await loader.follow(100_000);
    for (let i = 0; i < 10; i++) await loader.older(loader.window.segments[0].from);
    expect(board.requests).toHaveLength(11);
    expect(loader.window.size).toBe(WINDOW_MAX);
    // The newest were dropped (farthest from the oldest page read); what is left is consecutive.
    expect(seqs(loader.window)).toEqual([[100_000 - 11 * EVENTS_PAGE + 1, 100_000 - 11 * EVENTS_PAGE + WINDOW_MAX]]);
    // Live events no longer go in (the head is not loaded); "Load newer" reads them.
    board.head += 3;
    await loader.follow(board.head);
    expect(board.requests).toHaveLength(11);
    expect(loader.head).toBe(100_003);
  });

  it("appends live events at the head, one request per change", async () => {
    const board = fakeBoard(1200);
    const loader = new HistoryLoader(board.fetch, () => {});
    await loader.follow(1200);
    board.head = 1203;
    await loader.follow(1203);
    expect(board.requests.at(-1)).toEqual({ after: 1200, limit: EVENTS_PAGE });
    expect(seqs(loader.window)).toEqual([[701, 1203]]);
    // A jump of more than a page (after a long disconnection): the newest page, not everything in between.
    board.head = 5000;
    await loader.follow(5000);
    expect(board.requests.at(-1)).toEqual({ after: 4500, limit: EVENTS_PAGE });
    expect(seqs(loader.window)).toEqual([
      [701, 1203],
      [4501, 5000],
    ]);
  });

  it("a small board is read whole by the first request", async () => {
    const board = fakeBoard(42);
    const loader = new HistoryLoader(board.fetch, () => {});
    await loader.follow(42);
    expect(board.requests).toEqual([{ after: 0, limit: EVENTS_PAGE }]);
    expect(seqs(loader.window)).toEqual([[1, 42]]);
    await loader.older(1);
    expect(board.requests).toHaveLength(1);
  });

  it("stops at the events the server no longer keeps (410 gone, details.from)", async () => {
    const board = fakeBoard(2000, 1300);
    const loader = new HistoryLoader(board.fetch, () => {});
    await loader.follow(2000);
    await loader.older(1501);
    expect(loader.floor).toBe(1300);
    expect(seqs(loader.window)).toEqual([[1301, 2000]]);
    expect(loader.error).toBeNull();
    const n = board.requests.length;
    await loader.older(1301);
    expect(board.requests).toHaveLength(n);
  });

  it("reports a failure", async () => {
    const loader = new HistoryLoader(async () => {
      throw new ApiError({ code: "unavailable", message: "server down" }, 503);
    }, () => {});
    await loader.follow(10);
    expect(loader.error).toBe("Couldn't load the history: server down");
  });
});

describe("EventWindow", () => {
  const page = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i));
  it("joins touching and overlapping pages", () => {
    const w = new EventWindow();
    w.add(100, page(101, 200));
    w.add(300, page(301, 400));
    w.add(200, page(201, 250));
    w.add(240, page(241, 300));
    expect(seqs(w)).toEqual([[101, 400]]);
    expect(w.size).toBe(300);
    expect(w.events().map((e) => e.seq)).toEqual(page(101, 400).map((e) => e.seq));
  });

  it("trims the farthest from the focus", () => {
    const w = new EventWindow(100);
    w.add(0, page(1, 80));
    w.add(1000, page(1001, 1080));
    w.trim(1010);
    expect(w.size).toBe(100);
    expect(seqs(w)).toEqual([
      [61, 80],
      [1001, 1080],
    ]);
  });
});
