import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { BoardClient } from "../board";
import * as textModule from "../text";
import { History, type HistoryHost, type Step } from "../history";
import type { BoardEvent, ClientMessage, NoteDelta, User } from "../protocol";
import type { FieldWrite, NoteField } from "../store";
import { toBase64 } from "../text";
import { ann, board, bob, flush, note, setup, type FakeSocket } from "./fakes";

type Rpc = Extract<ClientMessage, { type: "rpc" }>;

let counter = 0;
const uuid = () => `id-${++counter}`;

beforeEach(() => {
  counter = 0;
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe("History: the skip rule", () => {
  function host(writes: Record<string, FieldWrite>, me = "u1") {
    const applied: [Step, string][] = [];
    const skipped: string[] = [];
    let seq = 10;
    const h: HistoryHost = {
      me: () => me,
      lastWrite: (_n, f: NoteField) => writes[f],
      seq: () => seq,
      text: () => false,
      apply: (s, dir) => {
        applied.push([s, dir]);
        return Promise.resolve(++seq);
      },
      skipped: (_s, _d, why) => skipped.push(why),
    };
    return { h, applied, skipped };
  }

  it("skips a step whose field someone else wrote after it, applies one whose fields are untouched", async () => {
    const writes: Record<string, FieldWrite> = {};
    const { h, applied, skipped } = host(writes);
    const hist = new History(h);
    const move = hist.record({ kind: "update", note: "n1", before: { x: 0, y: 0 }, after: { x: 50, y: 60 } });
    move.seq = 5;
    const recolour = hist.record({ kind: "update", note: "n1", before: { color: "yellow" }, after: { color: "pink" } });
    recolour.seq = 6;
    writes.x = { by: "u2", seq: 7 }; // bob moved it afterwards
    writes.color = { by: "u1", seq: 6 }; // the last colour write is ours

    expect(hist.undo()).toBe(true); // recolour: untouched since → applied
    expect(applied.map(([s, d]) => [s.kind, s.before, d])).toEqual([["update", { color: "yellow" }, "undo"]]);
    expect(hist.undo()).toBe(true); // move: bob moved it since → skipped
    expect(applied).toHaveLength(1);
    expect(skipped).toEqual(["someone else changed its position since"]);
    expect(hist.canUndo).toBe(false);
    await flush();
    // redo re-applies the recolour; a new change clears redo
    expect(hist.canRedo).toBe(true);
    hist.record({ kind: "update", note: "n1", before: { w: 1 }, after: { w: 2 } });
    expect(hist.canRedo).toBe(false);
  });

  it("a write by an unknown user (learnt from a snapshot) also blocks; our own later writes do not", () => {
    const writes: Record<string, FieldWrite> = { x: { by: "u1", seq: 9 } };
    const { h, applied, skipped } = host(writes);
    const hist = new History(h);
    const s = hist.record({ kind: "update", note: "n1", before: { x: 0 }, after: { x: 1 } });
    s.seq = 5;
    hist.undo();
    expect(applied).toHaveLength(1);
    const t = hist.record({ kind: "update", note: "n1", before: { x: 1 }, after: { x: 2 } });
    t.seq = 11;
    writes.x = { by: null, seq: 12 };
    hist.undo();
    expect(skipped).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- over the connection

const rpcs = (s: FakeSocket, method?: string) => (s.ofType("rpc") as Rpc[]).filter((m) => !method || m.method === method);

function openBoard() {
  const t = setup();
  t.conn.start();
  t.last.welcome(ann);
  const frames: (() => void)[] = [];
  const client = new BoardClient(t.conn, "b1", { uuid, frame: (cb) => frames.push(cb), captureTimeoutMs: 0, loadText: () => textModule });
  client.start();
  const n1 = note("n1", { text: "", x: 10, y: 20, color: "yellow", version: 3 });
  t.last.receive({ type: "subscribed", board: "b1", seq: 3, snapshot: { board: { ...board, seq: 3 }, notes: [n1] } });
  let seq = 3;
  const ev = (by: User, body: Record<string, unknown>, op?: string) => {
    seq++;
    t.last.receive({ type: "event", board: "b1", seq, by, op, at: "2026-11-30T00:00:00Z", ...body } as BoardEvent & { type: "event" });
    return seq;
  };
  /** The server commits the newest RPC of `method` (answer + event). */
  const commit = (method: string) => {
    const req = rpcs(t.last, method).at(-1)!;
    const p = req.params as { id: string; op: string } & NoteDelta;
    const s = seq + 1;
    const current = client.store.confirmedNote(p.id) ?? n1;
    if (method === "note.update") {
      const delta: NoteDelta = {};
      for (const f of ["x", "y", "w", "h", "color", "text"] as const) if (p[f] !== undefined) (delta as Record<string, unknown>)[f] = p[f];
      t.last.receive({ type: "result", id: req.id, result: { note: { ...current, ...delta, version: s }, seq: s } });
      ev(ann, { kind: "note.updated", id: p.id, version: s, delta }, p.op);
    } else if (method === "note.delete") {
      t.last.receive({ type: "result", id: req.id, result: { seq: s } });
      ev(ann, { kind: "note.deleted", id: p.id }, p.op);
    } else if (method === "note.restore") {
      t.last.receive({ type: "result", id: req.id, result: { note: { ...n1, version: s }, seq: s } });
      ev(ann, { kind: "note.created", note: { ...n1, version: s } }, p.op);
    }
    return req;
  };
  return { t, client, ev, commit, frames, runFrames: () => frames.splice(0).forEach((f) => f()) };
}

describe("undo and redo on a board", () => {
  it("one stack across kinds, newest first: recolour, then move; inverse mutations with new op ids", async () => {
    const b = openBoard();
    b.client.updateNote("n1", { x: 100, y: 200 });
    const move = b.commit("note.update");
    await flush();
    b.client.updateNote("n1", { color: "pink" });
    b.commit("note.update");
    await flush();
    expect(b.client.getMeta().canUndo).toBe(true);

    b.client.undo();
    const u1 = rpcs(b.t.last, "note.update").at(-1)!;
    expect(u1.params).toMatchObject({ id: "n1", color: "yellow" });
    expect(u1.params).not.toHaveProperty("x");
    b.commit("note.update");
    await flush();
    b.client.undo();
    const u2 = rpcs(b.t.last, "note.update").at(-1)!;
    expect(u2.params).toMatchObject({ id: "n1", x: 10, y: 20 });
    expect((u2.params as { op: string }).op).not.toBe((move.params as { op: string }).op);
    b.commit("note.update");
    await flush();
    expect(b.client.store.getView().byId.get("n1")).toMatchObject({ x: 10, y: 20, color: "yellow" });
    expect(b.client.getMeta().canUndo).toBe(false);

    // redo, newest undone first: the move again
    b.client.redo();
    expect(rpcs(b.t.last, "note.update").at(-1)!.params).toMatchObject({ x: 100, y: 200 });
  });

  it("skips (with a notice, sending nothing) when another user moved the note since; a change to another field does not block", async () => {
    const b = openBoard();
    b.client.updateNote("n1", { x: 100, y: 200 });
    b.commit("note.update");
    await flush();
    b.ev(bob, { kind: "note.updated", id: "n1", version: 99, delta: { color: "blue" } });
    b.client.undo();
    expect(rpcs(b.t.last, "note.update").at(-1)!.params).toMatchObject({ x: 10, y: 20 });
    b.commit("note.update");
    await flush();

    b.client.updateNote("n1", { x: 300, y: 300 });
    b.commit("note.update");
    await flush();
    b.ev(bob, { kind: "note.updated", id: "n1", version: 99, delta: { x: 5 } });
    const sent = rpcs(b.t.last).length;
    b.client.undo();
    expect(rpcs(b.t.last)).toHaveLength(sent);
    expect(b.client.getMeta().notices).toMatchObject([{ kind: "info", message: "Undo skipped: someone else changed its position since." }]);
    expect(b.client.store.getView().byId.get("n1")?.x).toBe(5);
  });

  it("undo of a delete sends note.restore and the note is back; redo deletes it again", async () => {
    const b = openBoard();
    b.client.deleteNote("n1");
    b.commit("note.delete");
    await flush();
    expect(b.client.store.getView().byId.has("n1")).toBe(false);
    b.client.undo();
    const r = rpcs(b.t.last, "note.restore").at(-1)!;
    expect(r.params).toMatchObject({ board: "b1", id: "n1" });
    expect(b.client.store.getView().byId.has("n1")).toBe(true); // optimistic
    b.commit("note.restore");
    await flush();
    expect(b.client.store.confirmedNote("n1")).toBeDefined();
    b.client.redo();
    expect(rpcs(b.t.last, "note.delete")).toHaveLength(2);
  });

  it("text undo reverts only this user's typing, and takes its place in the board's stack", async () => {
    const b = openBoard();
    const nt = b.client.openText("n1")!;
    const srv = new Y.Doc();
    srv.clientID = 0;
    const req = rpcs(b.t.last, "note.text_state")[0];
    b.t.last.receive({ type: "result", id: req.id, result: { state: toBase64(Y.encodeStateAsUpdate(srv)), version: 3 } });
    await flush();
    b.client.updateNote("n1", { color: "green" });
    b.commit("note.update");
    await flush();
    nt.localEdit((t) => t.insert(0, "mine"));
    // bob types after it
    const other = new Y.Doc();
    other.clientID = 42;
    Y.applyUpdate(other, Y.encodeStateAsUpdate(nt.doc));
    const sv = Y.encodeStateVector(other);
    other.getText("text").insert(4, " his");
    b.ev(bob, { kind: "note.updated", id: "n1", version: 9, delta: { text: "mine his" }, text_update: toBase64(Y.encodeStateAsUpdate(other, sv)) });
    expect(nt.text).toBe("mine his");

    b.client.undo(); // the text step is the newest
    expect(nt.text).toBe(" his");
    b.runFrames();
    const edit = rpcs(b.t.last, "note.edit")[0];
    b.t.last.receive({ type: "result", id: edit.id, result: { note: note("n1", { text: " his" }), seq: 10 } });
    await flush();
    b.client.undo(); // then the recolour (sent after the note's edit is answered: one at a time per note)
    await flush();
    expect(rpcs(b.t.last, "note.update").at(-1)!.params).toMatchObject({ color: "yellow" });
    b.commit("note.update");
    await flush();
    b.client.redo(); // newest undone first: the recolour
    await flush();
    expect(rpcs(b.t.last, "note.update").at(-1)!.params).toMatchObject({ color: "green" });
    b.client.redo();
    expect(nt.text).toBe("mine his");
  });
});
