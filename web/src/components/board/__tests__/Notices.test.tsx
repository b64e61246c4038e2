// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BoardClient, Notice } from "@/realtime/board";
import { Notices } from "../Notices";
import { note as noteOf } from "@/realtime/__tests__/fakes";

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

  it("text the server did not keep stays on screen with its words, Copy and Restore, and does not fade", () => {
    const dismiss = vi.fn();
    const restoreLostText = vi.fn();
    const client = { dismiss, restoreLostText } as unknown as BoardClient;
    const lost: Notice = {
      id: "l1",
      kind: "lost",
      note: "n1",
      text: "my long paragraph",
      reason: "too_large",
      message: "Your text is longer than a note may hold, so it was not saved.",
    };
    act(() => root.render(<Notices client={client} notices={[lost]} onTakeTheirs={() => undefined} />));
    act(() => vi.advanceTimersByTime(20_000));
    expect(dismiss).not.toHaveBeenCalled();
    expect(container.querySelector('[data-testid="lost-text"]')?.textContent).toBe("my long paragraph");
    const restore = [...container.querySelectorAll("button")].find((b) => b.textContent === "Restore")!;
    expect([...container.querySelectorAll("button")].map((b) => b.textContent)).toContain("Copy");
    act(() => restore.click());
    expect(restoreLostText).toHaveBeenCalledWith("l1");
  });

  it("a skipped undo is a plain notice (not 'Your change was undone') and fades", () => {
    const dismiss = vi.fn();
    const client = { dismiss } as unknown as BoardClient;
    const info: Notice = { id: "i1", kind: "info", message: "Undo skipped: someone else changed its colour since." };
    act(() => root.render(<Notices client={client} notices={[info]} onTakeTheirs={() => undefined} />));
    expect(container.textContent).toContain("Undo skipped: someone else changed its colour since.");
    expect(container.textContent).not.toContain("Your change was undone.");
    act(() => vi.advanceTimersByTime(6000));
    expect(dismiss).toHaveBeenCalledWith("i1");
  });

  it("an edit conflict is a modal: takes focus, keeps it inside, names who, Escape takes theirs and focus returns", () => {
    const resolveConflict = vi.fn();
    const client = { dismiss: vi.fn(), resolveConflict } as unknown as BoardClient;
    const onTakeTheirs = vi.fn();
    const note = document.createElement("textarea");
    document.body.append(note);
    note.focus();
    const conflict: Notice = {
      id: "c1",
      kind: "conflict",
      message: "bob changed this note while you were editing it.",
      note: "n1",
      by: "bob",
      mine: { text: "mine" },
      theirs: { ...noteOf("n1"), text: "theirs" },
    };
    act(() => root.render(<Notices client={client} notices={[conflict]} onTakeTheirs={onTakeTheirs} />));
    const dialog = container.querySelector('[role="dialog"]')!;
    expect(dialog.textContent).toContain("bob changed this note");
    expect(document.activeElement?.textContent).toBe("Keep mine");
    const buttons = [...dialog.querySelectorAll("button")];
    const key = (k: string, shiftKey = false) =>
      act(() => {
        document.activeElement!.dispatchEvent(new KeyboardEvent("keydown", { key: k, shiftKey, bubbles: true }));
      });
    key("Tab");
    expect(document.activeElement).toBe(buttons[0]);
    key("Tab", true);
    expect(document.activeElement).toBe(buttons[buttons.length - 1]);
    const behind = vi.fn();
    window.addEventListener("keydown", behind);
    key("Escape");
    window.removeEventListener("keydown", behind);
    expect(behind).not.toHaveBeenCalled();
    expect(onTakeTheirs).toHaveBeenCalledWith("n1");
    expect(resolveConflict).toHaveBeenCalledWith("c1", "theirs");
    act(() => root.render(<Notices client={client} notices={[]} onTakeTheirs={onTakeTheirs} />));
    expect(document.activeElement).toBe(note);
    note.remove();
  });
});
