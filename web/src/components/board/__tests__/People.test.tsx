// @vitest-environment happy-dom
// The board's people marks, rendered: a remote drag draws the note where the
// other has it (never over this user's own edit), who is editing, others'
// selections, and the byline on focus.
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Connection } from "@/realtime/connection";
import { ann, board, bob, note, setup } from "@/realtime/__tests__/fakes";
import { Board } from "../Board";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

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

async function open() {
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
      snapshot: {
        board: { ...board, seq: 3 },
        notes: [note("n1", { text: "one", x: 10, y: 20, created_by: ann }), note("n2", { text: "two", x: 300, y: 20 })],
      },
    }),
  );
  const signal = (name: string, data: unknown) => act(() => t.last.receive({ type: "signal", board: "b1", from: bob, name, data }));
  const card = (id: string) => container.querySelector<HTMLElement>(`[data-note-id="${id}"]`)!;
  return { t, signal, card };
}

describe("people on the board", () => {
  it("a remote drag moves the note live with the dragger's name, and the committed move lands it", async () => {
    const { t, signal, card } = await open();
    signal("drag", { notes: [{ id: "n1", x: 150, y: 90 }] });
    expect(card("n1").style.left).toBe("150px");
    expect(card("n1").dataset.draggedBy).toBe("bob");
    expect(card("n1").textContent).toContain("bob is moving this");
    signal("drag", { notes: [] });
    expect(card("n1").style.left).toBe("150px"); // dropped: stays until the event
    act(() => t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 4, by: bob, at: "2026-12-01T00:00:00Z", id: "n1", version: 4, delta: { x: 160, y: 90 } }));
    expect(card("n1").style.left).toBe("160px");
    expect(card("n1").dataset.draggedBy).toBeUndefined();
  });

  it("a remote drag is not drawn over this user's own edit of the note", async () => {
    const { signal, card } = await open();
    act(() => card("n1").dispatchEvent(new MouseEvent("dblclick", { bubbles: true })));
    expect(container.querySelector('textarea[aria-label="Note text"]')).not.toBeNull();
    signal("drag", { notes: [{ id: "n1", x: 500, y: 500 }] });
    expect(card("n1").style.left).toBe("10px");
    expect(card("n1").dataset.draggedBy).toBeUndefined();
  });

  it("shows who is editing and who has a note selected", async () => {
    const { signal, card } = await open();
    signal("typing", { note: "n2" });
    expect(card("n2").dataset.editedBy).toBe("bob");
    expect(card("n2").textContent).toContain("bob is editing");
    signal("typing", { note: null });
    expect(card("n2").dataset.editedBy).toBeUndefined();
    signal("viewport", { x: 0, y: 0, zoom: 1, w: 800, h: 600, selected: ["n1"] });
    expect(card("n1").dataset.selectedBy).toBe("bob");
    expect(card("n1").style.outlineStyle).toBe("dashed");
    signal("viewport", { x: 0, y: 0, zoom: 1, w: 800, h: 600, selected: [] });
    expect(card("n1").dataset.selectedBy).toBeUndefined();
  });

  it("focus shows the author and the last editor seen", async () => {
    const { t, card } = await open();
    act(() => t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 4, by: bob, at: new Date().toISOString(), id: "n1", version: 4, delta: { color: "pink" } }));
    act(() => card("n1").focus());
    const tip = card("n1").querySelector('[role="tooltip"]')!;
    expect(tip.textContent).toBe("Created by ann · edited by bob, just now");
    // described by the byline and by the note's keys (the board's hidden "note-keys" text)
    expect(card("n1").getAttribute("aria-describedby")?.split(" ")).toContain(tip.id);
    act(() => card("n1").blur());
    expect(card("n1").querySelector('[role="tooltip"]')).toBeNull();
  });
});
