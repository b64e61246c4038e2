// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Connection } from "@/realtime/connection";
import { ann, board, bob, note, setup } from "@/realtime/__tests__/fakes";
import { Board } from "../Board";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

// The board opens on the test's connection instead of the tab's.
const current: { conn: Connection | null } = { conn: null };
vi.mock("@/hooks/realtime", async (importOriginal) => {
  const real = await importOriginal<typeof import("@/hooks/realtime")>();
  return { ...real, useBoard: (id: string | null) => real.useBoard(id, current.conn ?? undefined) };
});

let root: Root;
let container: HTMLElement;

beforeEach(() => {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
  current.conn = null;
});

const buttons = () => [...container.querySelectorAll("button")].map((b) => b.textContent?.trim() ?? "");

describe("Board", () => {
  it("an editor demoted to viewer loses the editing controls at once, without a reload", async () => {
    const t = setup();
    t.conn.start();
    t.last.welcome(ann);
    current.conn = t.conn;
    await act(async () => root.render(<Board boardId="b1" user={ann} />));
    act(() =>
      t.last.receive({
        type: "subscribed",
        board: "b1",
        seq: 3,
        snapshot: { board: { ...board, owner: bob, role: "editor", seq: 3 }, notes: [note("n1", { text: "hello" })] },
      }),
    );
    expect(buttons()).toContain("Add note");
    expect(container.textContent).not.toContain("View only");

    // Start editing the note.
    const card = container.querySelector('[data-note-id="n1"]')!;
    act(() => card.dispatchEvent(new MouseEvent("dblclick", { bubbles: true })));
    expect(container.querySelector('textarea[aria-label="Note text"]')).not.toBeNull();

    act(() =>
      t.last.receive({ type: "event", kind: "member.updated", board: "b1", seq: 4, by: bob, at: "t", user: ann, role: "viewer" }),
    );
    expect(buttons()).not.toContain("Add note");
    expect(container.textContent).toContain("View only");
    expect(container.querySelector("textarea")).toBeNull();
    expect(container.querySelector('[aria-label="Delete note"]')).toBeNull();
    t.conn.stop();
  });
});
