// @vitest-environment happy-dom
import { act, useEffect } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BoardEvent } from "@/realtime/protocol";
import { HistoryPanel } from "../HistoryPanel";
import { useBoardHistory, VERSION_DEBOUNCE_MS, type BoardHistory } from "../useBoardHistory";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

const HEAD = 100_000;
const eventRequests: { after: number; limit: number }[] = [];
const versionRequests: number[] = [];
const ev = (seq: number): BoardEvent => ({
  board: "b1",
  at: "2026-12-01T00:00:00Z",
  seq,
  by: { id: "u1", username: "ann" },
  kind: "note.updated",
  id: "n1",
  version: seq,
  delta: { x: seq },
});

vi.mock("@/lib/api", async (importOriginal) => {
  const real = await importOriginal<typeof import("@/lib/api")>();
  return {
    ...real,
    api: {
      historyEvents: async (_id: string, after: number, limit: number) => {
        eventRequests.push({ after, limit });
        const events: BoardEvent[] = [];
        for (let s = after + 1; s <= Math.min(HEAD, after + limit); s++) events.push(ev(s));
        return { events, seq: HEAD };
      },
      history: async (_id: string, seq: number) => {
        versionRequests.push(seq);
        return { board: { title: "Long" }, notes: [{ id: "n1", text: "Tally" }], seq };
      },
    },
  };
});

let root: Root;
let container: HTMLElement;
/** The hook's latest result, for the test to act on. */
const latest: { history?: BoardHistory } = {};

function Harness() {
  const history = useBoardHistory("b1", HEAD, true);
  useEffect(() => {
    latest.history = history;
  });
  return <HistoryPanel history={history} canRestore={false} restoring={false} onRestore={() => undefined} onClose={() => undefined} />;
}

beforeEach(() => {
  vi.useFakeTimers();
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  eventRequests.length = 0;
  versionRequests.length = 0;
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
  vi.useRealTimers();
});

const settle = () => act(async () => void (await vi.advanceTimersByTimeAsync(VERSION_DEBOUNCE_MS + 10)));
const rows = () => container.querySelectorAll("[data-seq]").length;

describe("HistoryPanel on a board of 100,000 events", () => {
  it("opens with one request for events (the newest 500), and a jump to #500 makes one more", { timeout: 20_000 }, async () => {
    act(() => root.render(<Harness />));
    await settle();
    expect(eventRequests).toEqual([{ after: HEAD - 500, limit: 500 }]);
    expect(rows()).toBe(500);
    // Named without a replay from the start: "a note".
    expect(container.querySelector(`[data-seq="${HEAD}"]`)?.textContent).toContain("ann moved a note");
    expect(container.textContent).toContain("Load older (99,500 changes)");

    act(() => latest.history!.choose(500));
    await settle();
    expect(eventRequests).toHaveLength(2);
    expect(versionRequests).toEqual([500]);
    expect(latest.history!.itemAt(500)?.event.seq).toBe(500);
    expect(rows()).toBe(1000);
    // With the version shown, notes are named by its texts where certain.
    expect(container.querySelector('[data-seq="501"]')?.textContent).toContain("ann moved 'Tally'");
    expect(container.querySelector('[data-testid="history-gap"]')?.textContent).toContain("98,750 changes not loaded");
  });

  it("Load older pages back, never holding more than 2,000 events", { timeout: 30_000 }, async () => {
    act(() => root.render(<Harness />));
    await settle();
    for (let i = 0; i < 4; i++) {
      const button = [...container.querySelectorAll("button")].find((b) => b.textContent?.startsWith("Load older ("));
      act(() => button!.click());
      await settle();
    }
    expect(eventRequests).toHaveLength(5);
    expect(rows()).toBe(2000);
    // The newest were dropped: a row says so, with a way to read them again.
    expect(container.querySelector('[data-testid="history-gap"]')?.textContent).toContain("500 changes not loaded");
  });
});
