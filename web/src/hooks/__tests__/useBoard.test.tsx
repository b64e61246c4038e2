// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { useBoard } from "@/hooks/realtime";
import type { Connection } from "@/realtime/connection";
import { ann, board, bob, note, setup } from "@/realtime/__tests__/fakes";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

type BoardHook = ReturnType<typeof useBoard>;

/** Renders `useBoard` and keeps what it returned last. */
function Probe({ conn, label, seen }: { conn: Connection; label: string; seen: BoardHook[] }) {
  const hook = useBoard("b1", conn);
  seen.push(hook);
  return <p>{`${label} ${hook.view?.board?.role ?? "-"}`}</p>;
}

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
});

/** A live connection with the board's snapshot delivered (ann is an editor). */
async function mounted() {
  const t = setup();
  t.conn.start();
  t.last.welcome(ann);
  const subscribeBoard = vi.spyOn(t.conn, "subscribeBoard");
  const seen: BoardHook[] = [];
  // Async act: the client is published in a microtask after the effect.
  const render = (label: string) =>
    act(async () => {
      root.render(<Probe conn={t.conn} label={label} seen={seen} />);
    });
  await render("first");
  act(() =>
    t.last.receive({
      type: "subscribed",
      board: "b1",
      seq: 3,
      snapshot: { board: { ...board, role: "editor", seq: 3 }, notes: [note("n1")] },
    }),
  );
  const client = seen.at(-1)!.client!;
  expect(client).not.toBeNull();
  return { t, seen, render, subscribeBoard, client, latest: () => seen.at(-1)! };
}

describe("useBoard", () => {
  it("does not resubscribe when the component re-renders", async () => {
    const { t, seen, render, subscribeBoard, client, latest } = await mounted();
    expect(latest().view?.ready).toBe(true);
    const storeOn = vi.spyOn(client.store.changes, "on");
    const metaOn = vi.spyOn(client.meta, "on");
    const renders = seen.length;

    for (let i = 0; i < 5; i++) await render(`again ${i}`);
    // Store changes re-render too.
    act(() =>
      t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 4, by: bob, at: "t", id: "n1", version: 4, delta: { x: 5 } }),
    );

    expect(seen.length).toBeGreaterThanOrEqual(renders + 6);
    expect(latest().view?.byId.get("n1")?.x).toBe(5);
    expect(storeOn).not.toHaveBeenCalled();
    expect(metaOn).not.toHaveBeenCalled();
    expect(client.store.changes.size).toBe(1);
    expect(client.meta.size).toBe(1);
    expect(subscribeBoard).toHaveBeenCalledTimes(1);
    expect(t.last.ofType("subscribe")).toHaveLength(1);
    expect(new Set(seen.map((h) => h.client).filter(Boolean)).size).toBe(1);
  });

  it("unsubscribes the board and its listeners on unmount", async () => {
    const { t, client } = await mounted();
    act(() => root.unmount());
    expect(client.store.changes.size).toBe(0);
    expect(client.meta.size).toBe(0);
    expect(t.last.ofType("unsubscribe")).toEqual([{ type: "unsubscribe", board: "b1" }]);
    root = createRoot(container); // for afterEach
  });

  it("a live demotion shows at once: the view's role follows member.updated", async () => {
    const { t, latest } = await mounted();
    expect(latest().view?.board?.role).toBe("editor");
    expect(container.textContent).toContain("editor");
    act(() =>
      t.last.receive({ type: "event", kind: "member.updated", board: "b1", seq: 4, by: bob, at: "t", user: ann, role: "viewer" }),
    );
    expect(latest().view?.board?.role).toBe("viewer");
    expect(container.textContent).toContain("viewer");
  });
});
