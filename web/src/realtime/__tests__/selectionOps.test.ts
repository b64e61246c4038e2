import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BoardClient } from "../board";
import type { BoardEvent, ClientMessage, ErrorCode, Note, NoteDelta } from "../protocol";
import * as textModule from "../text";
import { ann, board, flush, note, setup } from "./fakes";

type Rpc = Extract<ClientMessage, { type: "rpc" }>;

let counter = 0;
const uuid = () => `id-${++counter}`;

beforeEach(() => {
  counter = 0;
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

/** A board with n1, n2 and n3, and a server the test answers RPC by RPC. */
function openBoard() {
  const t = setup();
  t.conn.start();
  t.last.welcome(ann);
  const client = new BoardClient(t.conn, "b1", { uuid, frame: (cb) => cb(), captureTimeoutMs: 0, loadText: () => textModule });
  client.start();
  const notes = [note("n1", { x: 0, y: 0, version: 4 }), note("n2", { x: 300, y: 0, version: 5 }), note("n3", { x: 600, y: 0, version: 6 })];
  t.last.receive({ type: "subscribed", board: "b1", seq: 6, snapshot: { board: { ...board, seq: 6 }, notes } });
  let seq = 6;
  const answered = new Set<unknown>();
  const rpcs = (method?: string) => (t.last.ofType("rpc") as Rpc[]).filter((m) => !answered.has(m.id) && (!method || m.method === method));
  /** Answers every unanswered RPC: `fail` refuses the ones for those note ids. */
  const serve = (fail: Record<string, ErrorCode> = {}) => {
    for (const req of rpcs()) {
      answered.add(req.id);
      const p = req.params as { id: string; op: string } & NoteDelta & Partial<Note>;
      if (fail[p.id]) {
        t.last.receive({ type: "error", id: req.id, error: { code: fail[p.id], message: `refused: ${fail[p.id]}` } });
        continue;
      }
      const s = ++seq;
      const base = client.store.confirmedNote(p.id) ?? note(p.id);
      let body: Record<string, unknown>;
      if (req.method === "note.update") {
        const delta: NoteDelta = {};
        for (const f of ["x", "y", "w", "h", "color", "text"] as const) if (p[f] !== undefined) (delta as Record<string, unknown>)[f] = p[f];
        t.last.receive({ type: "result", id: req.id, result: { note: { ...base, ...delta, version: s }, seq: s } });
        body = { kind: "note.updated", id: p.id, version: s, delta };
      } else if (req.method === "note.delete") {
        t.last.receive({ type: "result", id: req.id, result: { seq: s } });
        body = { kind: "note.deleted", id: p.id };
      } else {
        const n = req.method === "note.create" ? note(p.id, { ...p, version: s }) : { ...base, version: s };
        t.last.receive({ type: "result", id: req.id, result: { note: n, seq: s } });
        body = { kind: "note.created", note: n };
      }
      t.last.receive({ type: "event", board: "b1", seq: s, by: ann, op: p.op, at: "2026-12-01T00:00:00Z", ...body } as BoardEvent & { type: "event" });
    }
  };
  const xs = () => client.store.getView().notes.map((n) => `${n.id}:${n.x},${n.y}`);
  return { t, client, rpcs, serve, xs };
}

describe("a selection's changes are one undo step", () => {
  it("a group move: one op each through the outbox, optimistic; one Undo moves them all back, one Redo again", async () => {
    const b = openBoard();
    b.client.updateNotes([
      { id: "n1", delta: { x: 20, y: 40 } },
      { id: "n2", delta: { x: 320, y: 40 } },
    ]);
    expect(b.xs()).toEqual(["n1:20,40", "n2:320,40", "n3:600,0"]); // before any answer
    const sent = b.rpcs("note.update");
    expect(sent.map((r) => (r.params as { id: string }).id)).toEqual(["n1", "n2"]);
    expect(new Set(sent.map((r) => (r.params as { op: string }).op)).size).toBe(2);
    b.serve();
    await flush();
    expect(b.client.history.stacks().undo).toHaveLength(2);

    b.client.undo();
    expect(b.xs()).toEqual(["n1:0,0", "n2:300,0", "n3:600,0"]);
    expect(b.rpcs("note.update")).toHaveLength(2);
    b.serve();
    await flush();
    expect(b.client.getMeta().canUndo).toBe(false);

    b.client.redo();
    b.serve();
    await flush();
    expect(b.xs()).toEqual(["n1:20,40", "n2:320,40", "n3:600,0"]);
  });

  it("a selection's changes make one new view, not one per note (each view copies every note)", () => {
    const b = openBoard();
    let views = 0;
    const off = b.client.store.changes.on(() => views++);
    b.client.updateNotes(["n1", "n2", "n3"].map((id) => ({ id, delta: { y: 99 } })));
    expect(views).toBe(1);
    b.client.deleteNotes(["n1", "n2"]);
    expect(views).toBe(2);
    b.client.createNotes([{ x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y: 3 }]);
    expect(views).toBe(3);
    off();
  });

  it("a refused member of a group is rolled back alone and leaves the group", async () => {
    const b = openBoard();
    b.client.updateNotes([
      { id: "n1", delta: { color: "pink" } },
      { id: "n2", delta: { color: "pink" } },
    ]);
    b.serve({ n2: "forbidden" });
    await flush();
    const colors = b.client.store.getView().notes.map((n) => n.color);
    expect(colors).toEqual(["pink", "yellow", "yellow"]);
    expect(b.client.history.stacks().undo).toHaveLength(1);
    b.client.undo();
    b.serve();
    await flush();
    expect(b.client.store.getView().notes.map((n) => n.color)).toEqual(["yellow", "yellow", "yellow"]);
  });

  it("a group delete: one Undo restores every note", async () => {
    const b = openBoard();
    b.client.deleteNotes(["n1", "n3"]);
    expect(b.xs()).toEqual(["n2:300,0"]);
    b.serve();
    await flush();
    b.client.undo();
    expect(b.rpcs("note.restore").map((r) => (r.params as { id: string }).id).sort()).toEqual(["n1", "n3"]);
    b.serve();
    await flush();
    expect(b.client.store.getView().notes.map((n) => n.id).sort()).toEqual(["n1", "n2", "n3"]);
    expect(b.client.getMeta().canUndo).toBe(false);
  });

  it("duplicates (createNotes) are one step: one Undo deletes them all", async () => {
    const b = openBoard();
    const ids = b.client.createNotes([
      { x: 20, y: 20, text: "a" },
      { x: 320, y: 20, text: "b", color: "blue" },
    ]);
    expect(ids).toHaveLength(2);
    b.serve();
    await flush();
    expect(b.client.store.getView().notes).toHaveLength(5);
    b.client.undo();
    expect(b.rpcs("note.delete").map((r) => (r.params as { id: string }).id)).toEqual([...ids].reverse());
    b.serve();
    await flush();
    expect(b.client.store.getView().notes).toHaveLength(3);
  });

  it("bring to front writes the note's own x again (a new version, on top) and is not an undo step", async () => {
    const b = openBoard();
    b.client.bringToFront(["n1"]);
    expect(b.rpcs("note.update")[0].params).toMatchObject({ id: "n1", x: 0 });
    expect(b.rpcs("note.update")[0].params).not.toHaveProperty("y");
    b.serve();
    await flush();
    const n1 = b.client.store.getView().byId.get("n1");
    expect(n1?.version).toBe(7);
    expect(b.client.getMeta().canUndo).toBe(false);
  });

  it("send to back writes the overlapping notes again, oldest first, and not the sent one", async () => {
    const b = openBoard();
    b.client.updateNotes([
      { id: "n2", delta: { x: 100, y: 50 } },
      { id: "n3", delta: { x: 150, y: 20 } },
    ]);
    b.serve();
    await flush();
    // n1 (version 4) at 0,0 is now overlapped by n2 and n3, both above it
    b.client.sendToBack(["n2"]);
    expect(b.rpcs("note.update").map((r) => (r.params as { id: string }).id)).toEqual(["n1", "n3"]);
    b.serve();
    await flush();
    const v = (id: string) => b.client.store.getView().byId.get(id)!.version;
    expect(v("n2")).toBeLessThan(v("n1"));
    expect(v("n1")).toBeLessThan(v("n3"));
    expect(b.client.getMeta().canUndo).toBe(true); // the move only
  });
});
