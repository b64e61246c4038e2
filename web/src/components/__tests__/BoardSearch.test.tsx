// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { SearchResult } from "@/lib/api";
import { ann } from "@/realtime/__tests__/fakes";
import { BoardSearch, SEARCH_DEBOUNCE_MS } from "../BoardSearch";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

const asked: string[] = [];
let answer: SearchResult[] = [];
vi.mock("@/lib/api", () => ({
  api: {
    search: async (q: string, _limit: number, signal?: AbortSignal) => {
      asked.push(q);
      if (signal?.aborted) throw new Error("aborted");
      return { results: answer };
    },
  },
}));

let root: Root;
let container: HTMLElement;

beforeEach(() => {
  vi.useFakeTimers();
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  asked.length = 0;
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
  vi.useRealTimers();
});

const board = {
  id: "b1",
  title: "Streets",
  owner: ann,
  role: "owner" as const,
  seq: 3,
  created_at: "2026-12-01T00:00:00Z",
  updated_at: "2026-12-01T00:00:00Z",
};

function type(input: HTMLInputElement, value: string) {
  const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")?.set;
  set?.call(input, value);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

describe("the boards search", () => {
  it("asks once typing rests, shows the snippet as text with the match marked, links to the note", async () => {
    answer = [{ board, note: { id: "n1", color: "blue" }, snippet: "<img src=x onerror=alert(1)> zebra", highlights: [[29, 34]] }];
    act(() => root.render(<BoardSearch />));
    const input = container.querySelector("input")!;
    act(() => type(input, "z"));
    act(() => type(input, "ze"));
    act(() => type(input, "zebr"));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS);
    });
    expect(asked).toEqual(["zebr"]);
    const link = container.querySelector<HTMLAnchorElement>("a[data-result]")!;
    expect(link.getAttribute("href")).toBe("/boards/b1/?note=n1");
    expect(link.querySelector("img")).toBeNull();
    expect(link.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(link.querySelector("mark")?.textContent).toBe("zebra");
  });

  it("Ctrl+K focuses the box; Escape clears it", async () => {
    answer = [];
    act(() => root.render(<BoardSearch />));
    const input = container.querySelector("input")!;
    act(() => {
      document.dispatchEvent(new KeyboardEvent("keydown", { key: "k", ctrlKey: true, bubbles: true }));
    });
    expect(document.activeElement).toBe(input);
    act(() => type(input, "nothing"));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(SEARCH_DEBOUNCE_MS);
    });
    expect(container.textContent).toContain("Nothing found for “nothing”.");
    act(() => {
      input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    });
    expect(input.value).toBe("");
    expect(container.querySelector('[aria-label="Search results"]')).toBeNull();
  });
});
