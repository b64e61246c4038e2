// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import type { Connection } from "@/realtime/connection";
import { ann, board, bob, note, setup } from "@/realtime/__tests__/fakes";
import type { ClientMessage } from "@/realtime/protocol";
import { fromBase64, toBase64 } from "@/realtime/text";
import { Board } from "../Board";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

const current: { conn: Connection | null } = { conn: null };
vi.mock("@/hooks/realtime", async (importOriginal) => {
  const real = await importOriginal<typeof import("@/hooks/realtime")>();
  return { ...real, useBoard: (id: string | null) => real.useBoard(id, current.conn ?? undefined) };
});

type Rpc = Extract<ClientMessage, { type: "rpc" }>;

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

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the note editor", () => {
  it("types through the shared document, keeps the caret on a remote edit, shows the other's caret, and undoes with Ctrl+Z", async () => {
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
        snapshot: { board: { ...board, seq: 3 }, notes: [note("n1", { text: "hello world", version: 3 })] },
      }),
    );
    const server = new Y.Doc();
    server.clientID = 0;
    server.getText("text").insert(0, "hello world");

    const card = container.querySelector('[data-note-id="n1"]')!;
    act(() => card.dispatchEvent(new MouseEvent("dblclick", { bubbles: true })));
    const ta = container.querySelector<HTMLTextAreaElement>('textarea[aria-label="Note text"]')!;
    expect(ta.readOnly).toBe(true); // until the text module (loaded on demand) and the document are there
    const textState = () => (t.last.ofType("rpc") as Rpc[]).find((m) => m.method === "note.text_state");
    await act(async () => {
      for (let i = 0; i < 200 && !textState(); i++) await wait(10);
    });
    const req = textState()!;
    expect(req.params).toEqual({ board: "b1", id: "n1" });
    await act(async () => {
      t.last.receive({ type: "result", id: req.id, result: { state: toBase64(Y.encodeStateAsUpdate(server)), version: 3 } });
      await wait(0);
    });
    expect(ta.readOnly).toBe(false);
    expect(ta.value).toBe("hello world");

    // type "!" at the end
    await act(async () => {
      ta.value = "hello world!";
      ta.setSelectionRange(12, 12);
      ta.dispatchEvent(new Event("input", { bubbles: true }));
      await wait(80); // the next frame sends
    });
    const edits = (t.last.ofType("rpc") as Rpc[]).filter((m) => m.method === "note.edit");
    expect(edits).toHaveLength(1);
    const upd = fromBase64((edits[0].params as { update: string }).update);
    Y.applyUpdate(server, upd);
    expect(server.getText("text").toString()).toBe("hello world!");

    // bob inserts at the front; the caret (after "!") stays after "!"
    ta.setSelectionRange(6, 6); // before "world"
    const bobDoc = new Y.Doc();
    bobDoc.clientID = 99;
    Y.applyUpdate(bobDoc, Y.encodeStateAsUpdate(server));
    const sv = Y.encodeStateVector(bobDoc);
    bobDoc.getText("text").insert(0, "Oh, ");
    const bobUpdate = Y.encodeStateAsUpdate(bobDoc, sv);
    await act(async () => {
      t.last.receive({
        type: "event",
        board: "b1",
        seq: 4,
        kind: "note.updated",
        by: bob,
        at: "t",
        id: "n1",
        version: 4,
        delta: { text: "Oh, hello world!" },
        text_update: toBase64(bobUpdate),
      });
      // and his caret, right after "Oh, "
      const rel = Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(bobDoc.getText("text"), 4));
      t.last.receive({ type: "signal", board: "b1", from: bob, name: "selection", data: { note: "n1", anchor: toBase64(rel), head: toBase64(rel), index: [4, 4] } });
      await wait(0);
    });
    expect(ta.value).toBe("Oh, hello world!");
    expect([ta.selectionStart, ta.selectionEnd]).toEqual([10, 10]); // still before "world"
    const caret = container.querySelector('[data-note-id="n1"] [data-caret="bob"]');
    expect(caret).not.toBeNull();
    expect(caret?.textContent).toBe("bob");

    // Ctrl+Z in the editor undoes this user's "!" only
    await act(async () => {
      ta.dispatchEvent(new KeyboardEvent("keydown", { key: "z", ctrlKey: true, bubbles: true }));
      await wait(0);
    });
    expect(ta.value).toBe("Oh, hello world");
    t.conn.stop();
  });
});
