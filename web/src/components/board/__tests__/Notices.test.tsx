// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BoardClient, Notice } from "@/realtime/board";
import { Notices } from "../Notices";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

let root: Root;
let container: HTMLElement;

beforeEach(() => {
  vi.useFakeTimers();
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
  vi.useRealTimers();
});

describe("Notices", () => {
  it("an error fades after 6 s even while the board re-renders (cursors moving)", () => {
    const dismiss = vi.fn();
    const client = { dismiss } as unknown as BoardClient;
    const error: Notice = { id: "e1", kind: "error", message: "Couldn't save the note: forbidden." };
    for (let i = 0; i < 7; i++) {
      // Each meta change hands a new notices array with the same notices.
      act(() => root.render(<Notices client={client} notices={[error]} onTakeTheirs={() => undefined} />));
      act(() => vi.advanceTimersByTime(1000));
    }
    expect(dismiss).toHaveBeenCalledWith("e1");
    expect(container.textContent).toContain("Your change was undone.");
  });
});
