import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BoardClient } from "../board";
import type { BoardEvent, ClientMessage, ErrorCode, Note, NoteDelta } from "../protocol";
import { planRestore } from "../restorePlan";
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

/** A board with n1 and n2, and a server the test drives RPC by RPC. */
function openBoard() {
  const t = setup();
  t.conn.start();
  t.last.welcome(ann);
  const client = new BoardClient(t.conn, "b1", { uuid, frame: (cb) => cb(), captureTimeoutMs: 0, loadText: () => textModule });
  client.start();
  const live = [note("n1", { x: 10, text: "new", version: 5 }), note("n2", { version: 6 })];
  t.last.receive({ type: "subscribed", board: "b1", seq: 6, snapshot: { board: { ...board, seq: 6 }, notes: live } });
  let seq = 6;
  const answered = new Set<unknown>();
  const rpcs = (method?: string) => (t.last.ofType("rpc") as Rpc[]).filter((m) => !method || m.method === method);
  /** Answers every unanswered RPC: `fail` names methods to refuse (with that code); others commit with an event. */
  const serve = (fail: Partial<Record<string, ErrorCode>> = {}) => {
    for (const req of rpcs()) {
      if (answered.has(req.id)) continue;
      answered.add(req.id);
      const code = fail[req.method];
      if (code) {
        t.last.receive({ type: "error", id: req.id, error: { code, message: `${req.method} refused: ${code}` } });
        continue;
      }
      const p = req.params as { id: string; op: string } & NoteDelta & Partial<Note>;
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
        const n = req.method === "note.create" ? note(p.id, { ...p, version: s }) : { ...note(p.id), version: s };
        t.last.receive({ type: "result", id: req.id, result: { note: n, seq: s } });
        body = { kind: "note.created", note: n };
      }
      t.last.receive({ type: "event", board: "b1", seq: s, by: ann, op: p.op, at: "2026-12-01T00:00:00Z", ...body } as BoardEvent & { type: "event" });
    }
  };
  return { t, client, live, rpcs, serve };
}

describe("restoreVersion", () => {
  it("sends the plan as ordinary mutations with op ids; a restore the server cannot do becomes a create; one Undo takes it all back", async () => {
    const b = openBoard();
    const past = [note("n1", { x: 0, text: "old" }), note("n3", { x: 7, text: "gone", color: "pink" })];
    const plan = planRestore(b.client.store.getView().notes, past);
    const done = b.client.restoreVersion(plan);
    expect(b.rpcs().map((r) => r.method).sort()).toEqual(["note.delete", "note.restore", "note.update"]);
    expect(b.rpcs("note.update")[0].params).toMatchObject({ id: "n1", x: 0, text: "old" });
    for (const r of b.rpcs()) expect((r.params as { op?: string }).op).toMatch(/^id-/);

    b.serve({ "note.restore": "not_found" });
    await flush();
    const create = b.rpcs("note.create")[0];
    expect(create.params).toMatchObject({ id: "n3", x: 7, text: "gone", color: "pink" });
    b.serve();
    await flush();
    expect(await done).toEqual({ applied: 3, failed: [] });
    const view = b.client.store.getView();
    expect([...view.byId.keys()].sort()).toEqual(["n1", "n3"]);
    expect(view.byId.get("n1")).toMatchObject({ x: 0, text: "old" });
    expect(b.client.getMeta().notices).toEqual([]);

    // One undo: the three inverse mutations together (the text is the note's own undo, not this group's).
    const before = b.rpcs().length;
    b.client.undo();
    const sent = b.rpcs().slice(before);
    expect(sent.map((r) => [r.method, (r.params as { id: string }).id]).sort()).toEqual([
      ["note.delete", "n3"],
      ["note.restore", "n2"],
      ["note.update", "n1"],
    ]);
    expect(sent.find((r) => r.method === "note.update")!.params).toMatchObject({ x: 10 });
    expect(sent.find((r) => r.method === "note.update")!.params).not.toHaveProperty("text");
    expect(b.client.getMeta().canUndo).toBe(false);
  });

  it("a note restored as it was when deleted is then set to the version's fields, in the same undo group", async () => {
    const b = openBoard();
    // The server's note.restore answers the note as deleted: the fake's defaults, not x 7 / "gone".
    const past = [...b.client.store.getView().notes, note("n3", { x: 7, text: "gone" })];
    const done = b.client.restoreVersion(planRestore(b.client.store.getView().notes, past));
    expect(b.rpcs().map((r) => r.method)).toEqual(["note.restore"]);
    b.serve();
    await flush();
    const follow = b.rpcs("note.update");
    expect(follow.map((r) => r.params)).toEqual([expect.objectContaining({ id: "n3", x: 7, text: "gone" })]);
    b.serve();
    await flush();
    expect(await done).toEqual({ applied: 1, failed: [] });
    expect(b.client.store.getView().byId.get("n3")).toMatchObject({ x: 7, text: "gone" });
    // One undo takes the restore back (the note goes again).
    const before = b.rpcs().length;
    b.client.undo();
    b.serve();
    await flush();
    b.serve();
    await flush();
    expect(b.rpcs().slice(before).map((r) => r.method)).toEqual(["note.update", "note.delete"]);
    expect(b.client.store.getView().byId.has("n3")).toBe(false);
    expect(b.client.getMeta().notices).toEqual([]);
  });

  it("reports each mutation the server refused", async () => {
    const b = openBoard();
    const done = b.client.restoreVersion(planRestore(b.client.store.getView().notes, [note("n1", { x: 0, text: "new" })]));
    b.serve({ "note.delete": "forbidden" });
    await flush();
    const outcome = await done;
    expect(outcome.applied).toBe(1);
    expect(outcome.failed.map((f) => [f.change.kind, f.error.code])).toEqual([["delete", "forbidden"]]);
    expect(b.client.store.getView().byId.has("n2")).toBe(true); // rolled back
  });
});
