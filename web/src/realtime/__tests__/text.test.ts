import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { TextareaBinding, type TextareaLike } from "../binding";
import { BoardClient } from "../board";
import * as textModule from "../text";
import type { ClientMessage } from "../protocol";
import { diffText, fromBase64, mapIndex, toBase64 } from "../text";
import { ann, board, bob, flush, note, setup, type FakeSocket } from "./fakes";

type Rpc = Extract<ClientMessage, { type: "rpc" }>;
type EditParams = { board: string; id: string; op: string; update: string };

let counter = 0;
const uuid = () => `id-${++counter}`;

beforeEach(() => {
  counter = 0;
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

/** The server's document of a note: client id 0, as the real server seeds it. */
function serverDoc(text: string): Y.Doc {
  const d = new Y.Doc();
  d.clientID = 0;
  if (text) d.getText("text").insert(0, text);
  return d;
}

const rpcs = (s: FakeSocket, method: string) => s.ofType("rpc").filter((m) => m.method === method) as Rpc[];

/** A board with note n1 ("hello world" on the server), a client whose frames run when the test says. */
function openBoard(text = "hello world") {
  const t = setup();
  t.conn.start();
  t.last.welcome(ann);
  const frames: (() => void)[] = [];
  const client = new BoardClient(t.conn, "b1", { uuid, frame: (cb) => frames.push(cb), captureTimeoutMs: 0, loadText: () => textModule });
  client.start();
  t.last.receive({
    type: "subscribed",
    board: "b1",
    seq: 3,
    snapshot: { board: { ...board, seq: 3 }, notes: [note("n1", { text, version: 3 })] },
  });
  const server = serverDoc(text);
  const runFrames = () => frames.splice(0).forEach((f) => f());
  let seq = 3;
  /** Answers the text_state RPC in flight (the newest one) with the server's document. */
  const answerState = (s: FakeSocket = t.last) => {
    const req = rpcs(s, "note.text_state").at(-1)!;
    s.receive({ type: "result", id: req.id, result: { state: toBase64(Y.encodeStateAsUpdate(server)), version: seq } });
  };
  /** The server applies an edit and answers it, and broadcasts the event (as the real one does). */
  const applyEdit = (req: Rpc, s: FakeSocket = t.last, by = ann) => {
    const p = req.params as EditParams;
    const before = Y.encodeStateVector(server);
    Y.applyUpdate(server, fromBase64(p.update));
    const merged = Y.encodeStateAsUpdate(server, before);
    seq++;
    const n = note("n1", { text: server.getText("text").toString(), version: seq });
    s.receive({ type: "result", id: req.id, result: { note: n, seq } });
    s.receive({
      type: "event",
      board: "b1",
      seq,
      kind: "note.updated",
      by,
      op: p.op,
      at: "2026-11-30T00:00:00Z",
      id: "n1",
      version: seq,
      delta: { text: n.text },
      text_update: toBase64(merged),
    });
  };
  /** Someone else edits the server's document; the event reaches this client. */
  const remoteEdit = (fn: (t: Y.Text) => void, s: FakeSocket = t.last) => {
    const other = new Y.Doc();
    other.clientID = 700 + seq;
    Y.applyUpdate(other, Y.encodeStateAsUpdate(server));
    const sv = Y.encodeStateVector(other);
    fn(other.getText("text"));
    const update = Y.encodeStateAsUpdate(other, sv);
    Y.applyUpdate(server, update);
    seq++;
    s.receive({
      type: "event",
      board: "b1",
      seq,
      kind: "note.updated",
      by: bob,
      at: "2026-11-30T00:00:00Z",
      id: "n1",
      version: seq,
      delta: { text: server.getText("text").toString() },
      text_update: toBase64(update),
    });
  };
  return { t, client, server, runFrames, answerState, applyEdit, remoteEdit, frames, seq: () => seq };
}

async function loaded(b: ReturnType<typeof openBoard>) {
  const nt = b.client.openText("n1")!;
  b.answerState();
  await flush();
  expect(nt.status).toBe("ready");
  return nt;
}

/** A textarea double with a selection. */
class FakeTextarea implements TextareaLike {
  value = "";
  selectionStart = 0;
  selectionEnd = 0;
  selectionDirection: "forward" | "backward" | "none" = "none";
  setSelectionRange(a: number, b: number) {
    this.selectionStart = a;
    this.selectionEnd = b;
  }
  /** The user types `s` at the caret (replacing the selection). */
  type(s: string, binding: TextareaBinding) {
    this.value = this.value.slice(0, this.selectionStart) + s + this.value.slice(this.selectionEnd);
    this.selectionStart = this.selectionEnd = this.selectionStart + s.length;
    binding.input();
  }
}

describe("note text: batching", () => {
  it("flushText sends what waits for a frame at once (the page is hiding; its frame may never come)", async () => {
    const b = openBoard();
    const nt = await loaded(b);
    nt.localEdit((t) => t.insert(11, " and the last words"));
    expect(rpcs(b.t.last, "note.edit")).toHaveLength(0);
    b.client.flushText(false);
    const sent = rpcs(b.t.last, "note.edit");
    expect(sent).toHaveLength(1);
    b.applyEdit(sent[0]);
    expect(b.server.getText("text").toString()).toBe("hello world and the last words");
    b.runFrames(); // the frame that comes after all sends nothing more
    expect(rpcs(b.t.last, "note.edit")).toHaveLength(1);
  });

  it("flushText when leaving does not wait for an edit in flight: the whole document goes beside it", async () => {
    const b = openBoard();
    const nt = await loaded(b);
    nt.localEdit((t) => t.insert(11, "!"));
    b.runFrames();
    expect(rpcs(b.t.last, "note.edit")).toHaveLength(1); // in flight, unanswered
    nt.localEdit((t) => t.insert(12, " bye"));
    b.client.flushText(false); // only hidden: the queued edit waits for the answer as usual
    expect(rpcs(b.t.last, "note.edit")).toHaveLength(1);
    b.client.flushText(true);
    const sent = rpcs(b.t.last, "note.edit");
    expect(sent).toHaveLength(2);
    // the page is gone before the first answer: the second alone holds every change
    b.applyEdit(sent[1]);
    expect(b.server.getText("text").toString()).toBe("hello world! bye");
    b.applyEdit(sent[0]); // the first arriving late changes nothing
    expect(b.server.getText("text").toString()).toBe("hello world! bye");
  });

  it("local changes of one frame go as ONE note.edit; later frames wait and merge while one is in flight", async () => {
    const b = openBoard();
    const nt = await loaded(b);
    expect(nt.doc.clientID).not.toBe(0);

    nt.localEdit((t) => t.insert(11, "!"));
    nt.localEdit((t) => t.insert(0, ">> "));
    nt.localEdit((t) => t.delete(3, 5)); // ">> " + " world!"
    expect(rpcs(b.t.last, "note.edit")).toHaveLength(0); // nothing before the frame
    b.runFrames();
    const sent = rpcs(b.t.last, "note.edit");
    expect(sent).toHaveLength(1);

    // Two more frames while the first edit is unanswered: one waiting edit, holding both.
    nt.localEdit((t) => t.insert(0, "a"));
    b.runFrames();
    nt.localEdit((t) => t.insert(0, "b"));
    b.runFrames();
    expect(rpcs(b.t.last, "note.edit")).toHaveLength(1);
    expect(b.t.conn.getState().pending).toBe(2);

    b.applyEdit(sent[0]);
    expect(b.server.getText("text").toString()).toBe(">>  world!");
    await flush();
    const second = rpcs(b.t.last, "note.edit");
    expect(second).toHaveLength(2);
    b.applyEdit(second[1]);
    expect(b.server.getText("text").toString()).toBe("ba>>  world!");
    await flush();
    expect(nt.text).toBe("ba>>  world!");
    expect(b.client.store.getView().byId.get("n1")?.text).toBe("ba>>  world!");
    expect(b.client.store.getView().dirty.has("n1")).toBe(false);
    expect(rpcs(b.t.last, "note.edit")).toHaveLength(2); // the echoes sent nothing back
  });
});

describe("note text: exactly once after a reconnect", () => {
  it("an unanswered edit is replayed with the same op and update; the server applies it once; edits made offline follow", async () => {
    const b = openBoard();
    const nt = await loaded(b);
    nt.localEdit((t) => t.insert(11, " one"));
    b.runFrames();
    const first = b.t.last;
    const [e1] = rpcs(first, "note.edit");

    // The server applied it, but the answer is lost with the connection.
    Y.applyUpdate(b.server, fromBase64((e1.params as EditParams).update));
    first.drop(1006);
    nt.localEdit((t) => t.insert(nt.text.length, " two")); // typed while offline
    b.runFrames();
    vi.advanceTimersByTime(300);
    const second = b.t.last;
    expect(second).not.toBe(first);
    second.welcome(ann);
    const replay = rpcs(second, "note.edit");
    expect(replay).toHaveLength(1); // one at a time per note
    expect(replay[0].params).toEqual(e1.params); // same op, same update: idempotent

    // The server recognises the op (applied before) and answers the original result.
    second.receive({ type: "result", id: replay[0].id, result: { note: note("n1", { text: "hello world one", version: 4 }), seq: 4 } });
    await flush();
    const next = rpcs(second, "note.edit");
    expect(next).toHaveLength(2);
    expect((next[1].params as EditParams).op).not.toBe((e1.params as EditParams).op);
    const before = b.server.getText("text").toString();
    Y.applyUpdate(b.server, fromBase64((next[1].params as EditParams).update));
    expect(before).toBe("hello world one");
    expect(b.server.getText("text").toString()).toBe("hello world one two");
    // Applying the replayed update again changes nothing (Yjs updates are idempotent too).
    Y.applyUpdate(b.server, fromBase64((e1.params as EditParams).update));
    expect(b.server.getText("text").toString()).toBe("hello world one two");
    const ops = [...first.ofType("rpc"), ...second.ofType("rpc")]
      .filter((m) => m.method === "note.edit")
      .map((m) => (m.params as EditParams).op);
    expect(new Set(ops).size).toBe(2);
  });
});

describe("note text: remote updates and the caret", () => {
  it("a remote insertion before the caret shifts it, after it leaves it, a deletion before it pulls it back", async () => {
    const b = openBoard("hello world");
    const nt = await loaded(b);
    const el = new FakeTextarea();
    const binding = new TextareaBinding(nt, el);
    expect(el.value).toBe("hello world");
    el.setSelectionRange(5, 5); // hello|

    b.remoteEdit((t) => t.insert(0, "big "));
    expect(el.value).toBe("big hello world");
    expect([el.selectionStart, el.selectionEnd]).toEqual([9, 9]);

    b.remoteEdit((t) => t.insert(15, "!!"));
    expect(el.value).toBe("big hello world!!");
    expect([el.selectionStart, el.selectionEnd]).toEqual([9, 9]);

    el.setSelectionRange(4, 9); // selection "hello"
    b.remoteEdit((t) => t.delete(0, 4));
    expect(el.value).toBe("hello world!!");
    expect([el.selectionStart, el.selectionEnd]).toEqual([0, 5]);

    // Both type at the same spot at once: each keeps their caret, nothing is lost.
    el.setSelectionRange(5, 5);
    el.type(",", binding);
    b.remoteEdit((t) => t.insert(5, " dear"));
    el.type(" you", binding);
    b.runFrames();
    b.applyEdit(rpcs(b.t.last, "note.edit")[0]);
    await flush();
    expect(nt.text).toBe(b.server.getText("text").toString());
    expect(nt.text).toContain(", you");
    expect(nt.text).toContain(" dear");
    expect(el.value).toBe(nt.text);
    binding.destroy();
  });

  it("mapIndex and diffText", () => {
    expect(mapIndex(3, [{ retain: 3 }, { insert: "xy" }])).toBe(3);
    expect(mapIndex(3, [{ retain: 2 }, { insert: "xy" }])).toBe(5);
    expect(mapIndex(3, [{ retain: 1 }, { delete: 5 }])).toBe(1);
    expect(diffText("abc", "abXc")).toEqual({ index: 2, remove: 0, insert: "X" });
    expect(diffText("a😀b", "a😁b")).toEqual({ index: 1, remove: 2, insert: "😁" });
    expect(diffText("same", "same")).toBeNull();
  });
});

describe("note text: refused edits", () => {
  it("too_large: the document is rebuilt from the server's and the user's text is shown, not dropped", async () => {
    const b = openBoard("short");
    const nt = await loaded(b);
    const oldClient = nt.doc.clientID;
    nt.localEdit((t) => t.insert(5, " and a very long tail"));
    b.runFrames();
    const [req] = rpcs(b.t.last, "note.edit");
    b.t.last.receive({ type: "error", id: req.id, error: { code: "too_large", message: "note text over 10000 chars" } });
    await flush();
    b.answerState();
    await flush();
    expect(nt.text).toBe("short");
    expect(nt.doc.clientID).not.toBe(oldClient);
    const lost = b.client.getMeta().notices.find((n) => n.kind === "lost");
    expect(lost).toMatchObject({ kind: "lost", reason: "too_large", text: "short and a very long tail" });
    // "Restore" writes it back as a new edit.
    b.client.restoreLostText(lost!.id);
    expect(nt.text).toBe("short and a very long tail");
    b.runFrames();
    expect(rpcs(b.t.last, "note.edit")).toHaveLength(2);
  });

  it("resync: the server's state is merged and everything it lacks is sent again, nothing lost", async () => {
    const b = openBoard("abc");
    const nt = await loaded(b);
    nt.localEdit((t) => t.insert(3, "1"));
    b.runFrames();
    const [r1] = rpcs(b.t.last, "note.edit");
    // The server lost this one (say, a failover): later edits depend on it.
    b.t.last.receive({ type: "result", id: r1.id, result: { note: note("n1"), seq: 4 } });
    await flush();
    nt.localEdit((t) => t.insert(4, "2"));
    b.runFrames();
    const [, r2] = rpcs(b.t.last, "note.edit");
    b.t.last.receive({
      type: "error",
      id: r2.id,
      error: { code: "bad_request", message: "update depends on missing changes", details: { reason: "resync" } },
    });
    await flush();
    b.answerState();
    await flush();
    const [, , r3] = rpcs(b.t.last, "note.edit");
    expect(r3).toBeDefined();
    Y.applyUpdate(b.server, fromBase64((r3.params as EditParams).update));
    expect(b.server.getText("text").toString()).toBe("abc12");
    expect(b.client.getMeta().notices).toEqual([]);
  });
});

describe("note text: the document checked against the server's text", () => {
  it("an event whose merged text the document does not read as is followed by a fetch; a document that still disagrees is replaced by the server's", async () => {
    const b = openBoard("hello world");
    const nt = await loaded(b);
    // A remote edit the document agrees with: no fetch.
    b.remoteEdit((t) => t.insert(0, "> "));
    await flush();
    expect(nt.text).toBe("> hello world");
    expect(rpcs(b.t.last, "note.text_state")).toHaveLength(1);
    // The server says its text is something the document cannot reach by merging
    // (its items read in another order): the client fetches the state, merges, and rebuilds.
    const other = serverDoc("diverged");
    b.t.last.receive({
      type: "event",
      board: "b1",
      seq: 10,
      kind: "note.updated",
      by: bob,
      at: "2026-11-30T00:00:00Z",
      id: "n1",
      version: 10,
      delta: { text: "diverged" },
      text_update: toBase64(Y.encodeStateAsUpdate(new Y.Doc())),
    });
    await flush();
    const req = rpcs(b.t.last, "note.text_state");
    expect(req).toHaveLength(2);
    b.t.last.receive({ type: "result", id: req[1].id, result: { state: toBase64(Y.encodeStateAsUpdate(other)), version: 10 } });
    await flush();
    expect(nt.text).toBe("diverged");
  });

  it("is not checked while an edit of this tab is unconfirmed (the texts differ legitimately)", async () => {
    const b = openBoard("hello world");
    const nt = await loaded(b);
    nt.localEdit((t) => t.insert(0, "mine "));
    b.runFrames();
    await flush();
    b.remoteEdit((t) => t.insert(t.length, "!"));
    await flush();
    expect(rpcs(b.t.last, "note.text_state")).toHaveLength(1);
    expect(nt.text).toBe("mine hello world!");
  });
});

describe("note text: a note deleted and restored", () => {
  it("is loaded again from the server on next use (its document may have been re-seeded)", async () => {
    const b = openBoard("abc");
    await loaded(b);
    const ev = (seq: number, body: Record<string, unknown>) =>
      b.t.last.receive({ type: "event", board: "b1", seq, by: bob, at: "t", ...body } as never);
    ev(4, { kind: "note.deleted", id: "n1" });
    expect(b.client.texts!.get("n1")).toBeDefined(); // kept while deleted
    ev(5, { kind: "note.created", note: note("n1", { text: "abc", version: 5 }) });
    expect(b.client.texts!.get("n1")).toBeUndefined();
    b.client.openText("n1");
    expect(rpcs(b.t.last, "note.text_state")).toHaveLength(2);
  });
});

describe("remote carets", () => {
  it("the selection signal carries relative positions that follow later edits, and expires", async () => {
    const b = openBoard("hello world");
    await loaded(b);
    b.client.sendSelection("n1", 6, 11); // "world"
    const [sig] = b.t.last.ofType("signal");
    expect(sig).toMatchObject({ name: "selection", data: { note: "n1", index: [6, 11] } });
    // bob receives it: feed it back as if from him
    b.t.last.receive({ type: "signal", board: "b1", from: bob, name: "selection", data: sig.data });
    const sel = b.client.getMeta().selections[0];
    expect(b.client.resolveSelection(sel, 11)).toEqual([6, 11]);
    b.remoteEdit((t) => t.insert(0, ">> "));
    expect(b.client.resolveSelection(sel, 14)).toEqual([9, 14]);
    vi.advanceTimersByTime(7000);
    expect(b.client.getMeta().selections).toEqual([]);
  });
});
