import { describe, expect, it } from "vitest";
import type { BoardEvent } from "../protocol";
import { BoardStore } from "../store";
import { ann, board, bob, note } from "./fakes";

const at = "2026-11-23T00:00:00Z";
const created = (seq: number, id: string, over = {}, op?: string): BoardEvent => ({
  kind: "note.created",
  board: "b1",
  seq,
  by: bob,
  at,
  op,
  note: note(id, { version: seq, ...over }),
});
const updated = (seq: number, id: string, delta: object, op?: string): BoardEvent => ({
  kind: "note.updated",
  board: "b1",
  seq,
  by: bob,
  at,
  op,
  id,
  version: seq,
  delta,
});
const deleted = (seq: number, id: string, op?: string): BoardEvent => ({
  kind: "note.deleted",
  board: "b1",
  seq,
  by: bob,
  at,
  op,
  id,
});

function loaded(seq = 1) {
  const s = new BoardStore("b1");
  s.loadSnapshot({ board: { ...board, seq }, notes: [note("n1", { text: "hello", version: 1 })] }, seq);
  return s;
}

describe("rebase", () => {
  it("keeps local pending edits on top while remote edits arrive", () => {
    const s = loaded();
    s.add({ op: "op-a", kind: "update", id: "n1", delta: { text: "mine" } });
    expect(s.getView().byId.get("n1")?.text).toBe("mine");

    // Remote edits of other fields and other notes arrive first.
    s.applyEvent(updated(2, "n1", { x: 50, color: "pink" }));
    s.applyEvent(created(3, "n2"));
    let n1 = s.getView().byId.get("n1")!;
    expect(n1).toMatchObject({ text: "mine", x: 50, color: "pink", version: 2 });
    expect(s.getView().notes.map((n) => n.id)).toEqual(["n1", "n2"]);
    expect(s.getView().pending).toBe(1);

    // A remote write of the same field lands in confirmed state, but the pending one still shows.
    s.applyEvent(updated(4, "n1", { text: "theirs" }));
    expect(s.confirmedNote("n1")?.text).toBe("theirs");
    expect(s.getView().byId.get("n1")?.text).toBe("mine");

    // Our own event (matching op) confirms it and drops the pending mutation.
    s.applyEvent(updated(5, "n1", { text: "mine" }, "op-a"));
    n1 = s.getView().byId.get("n1")!;
    expect(n1).toMatchObject({ text: "mine", x: 50, version: 5 });
    expect(s.getView().pending).toBe(0);
    expect(s.getView().dirty.size).toBe(0);
  });

  it("applies several pending mutations in order, on every confirmed event", () => {
    const s = loaded();
    s.add({ op: "c", kind: "create", note: note("mine", { x: 10, version: 0 }) });
    s.add({ op: "u", kind: "update", id: "mine", delta: { x: 99 } });
    s.add({ op: "d", kind: "delete", id: "n1" });
    let v = s.getView();
    expect(v.notes.map((n) => n.id)).toEqual(["mine"]);
    expect(v.byId.get("mine")?.x).toBe(99);

    s.applyEvent(updated(2, "n1", { text: "remote" }));
    v = s.getView();
    expect(v.byId.has("n1")).toBe(false); // still deleted locally
    expect(v.byId.get("mine")?.x).toBe(99);

    // The create is confirmed by its result first (event not yet seen): kept until confirmed seq reaches it.
    s.acknowledge("c", 3);
    expect(s.getView().pending).toBe(3);
    s.applyEvent(created(3, "mine", { x: 10 }));
    expect(s.getView().pending).toBe(2);
    expect(s.getView().byId.get("mine")?.x).toBe(99);
  });

  it("drops a pending op on its result when the event already arrived", () => {
    const s = loaded();
    s.add({ op: "u", kind: "update", id: "n1", delta: { x: 5 } });
    s.applyEvent(updated(2, "n1", { x: 5 })); // event without op (e.g. a long-poll gap fill)
    expect(s.getView().pending).toBe(1);
    s.acknowledge("u", 2);
    expect(s.getView().pending).toBe(0);
  });

  it("a remote delete hides a pending update of that note", () => {
    const s = loaded();
    s.add({ op: "u", kind: "update", id: "n1", delta: { text: "edit" } });
    s.applyEvent(deleted(2, "n1"));
    expect(s.getView().byId.has("n1")).toBe(false);
  });
});

describe("rollback", () => {
  it("removing a rejected mutation restores the confirmed state", () => {
    const s = loaded();
    s.add({ op: "u1", kind: "update", id: "n1", delta: { text: "bad" } });
    s.add({ op: "u2", kind: "update", id: "n1", delta: { color: "blue" } });
    s.add({ op: "c", kind: "create", note: note("n9", { version: 0 }) });
    s.applyEvent(updated(2, "n1", { x: 7 }));

    expect(s.reject("u1")?.kind).toBe("update");
    const v = s.getView();
    expect(v.byId.get("n1")).toMatchObject({ text: "hello", color: "blue", x: 7 });
    s.reject("c");
    expect(s.getView().byId.has("n9")).toBe(false);
    s.reject("u2");
    expect(s.getView().byId.get("n1")).toEqual(s.confirmedNote("n1"));
    expect(s.reject("nope")).toBeUndefined();
  });

  it("rolls back a rename", () => {
    const s = loaded();
    s.add({ op: "r", kind: "rename", title: "New" });
    expect(s.getView().board?.title).toBe("New");
    s.reject("r");
    expect(s.getView().board?.title).toBe("Plans");
  });
});

describe("delivery order", () => {
  it("ignores duplicates and stale seqs", () => {
    const s = loaded();
    expect(s.applyEvent(updated(2, "n1", { text: "a" }))).toBe("applied");
    expect(s.applyEvent(updated(2, "n1", { text: "dup" }))).toBe("duplicate");
    expect(s.applyEvent(updated(1, "n1", { text: "old" }))).toBe("duplicate");
    expect(s.getView().byId.get("n1")?.text).toBe("a");
    expect(s.confirmedSeq).toBe(2);
  });

  it("holds events past a gap and applies them in order once it fills", () => {
    const s = loaded();
    expect(s.applyEvent(updated(4, "n1", { text: "four" }))).toBe("gap");
    expect(s.applyEvent(updated(3, "n1", { text: "three", x: 3 }))).toBe("gap");
    expect(s.confirmedSeq).toBe(1);
    expect(s.getView().byId.get("n1")?.text).toBe("hello");
    expect(s.heldCount).toBe(2);

    expect(s.applyEvent(updated(2, "n1", { text: "two" }))).toBe("applied");
    expect(s.confirmedSeq).toBe(4);
    expect(s.getView().byId.get("n1")).toMatchObject({ text: "four", x: 3, version: 4 });
    expect(s.heldCount).toBe(0);
    // The replay after a resubscribe delivers 2..4 again: all duplicates.
    expect(s.applyEvent(updated(3, "n1", { text: "three" }))).toBe("duplicate");
  });

  it("a snapshot replaces confirmed state, keeps newer held events and pending ops", () => {
    const s = loaded();
    s.add({ op: "p", kind: "update", id: "n1", delta: { color: "green" } });
    s.applyEvent(updated(6, "n1", { text: "six" }));
    s.loadSnapshot({ board: { ...board, seq: 5 }, notes: [note("n1", { text: "five", version: 5 })] }, 5);
    expect(s.confirmedSeq).toBe(6);
    expect(s.getView().byId.get("n1")).toMatchObject({ text: "six", color: "green" });
    expect(s.getView().board?.seq).toBe(6);
  });

  it("notifies listeners with a new view object per change", () => {
    const s = loaded();
    const seen: number[] = [];
    s.changes.on((v) => seen.push(v.seq));
    s.applyEvent(created(2, "x"));
    s.applyEvent(created(2, "x"));
    s.applyEvent({ kind: "board.updated", board: "b1", seq: 3, by: ann, at, title: "Renamed" });
    expect(seen).toEqual([2, 3]);
    expect(s.getView().board?.title).toBe("Renamed");
  });
});

describe("membership events", () => {
  const member = (seq: number, kind: "member.joined" | "member.updated" | "member.left", user: typeof ann, role: "viewer" | "editor" | "owner"): BoardEvent => ({
    kind,
    board: "b1",
    seq,
    by: ann,
    at,
    user,
    role,
  });

  it("a live role change of the signed-in user updates the board's role at once", () => {
    const s = new BoardStore("b1", { currentUserId: () => bob.id });
    s.loadSnapshot({ board: { ...board, role: "editor", seq: 1 }, notes: [] }, 1);
    const roles: (string | undefined)[] = [];
    s.changes.on((v) => roles.push(v.board?.role));

    expect(s.applyEvent(member(2, "member.updated", bob, "viewer"))).toBe("applied");
    expect(s.getView().board?.role).toBe("viewer");
    s.applyEvent(member(3, "member.updated", bob, "editor"));
    expect(roles).toEqual(["viewer", "editor"]);
  });

  it("another member's role change, join or leave leaves the signed-in user's role alone", () => {
    const s = new BoardStore("b1", { currentUserId: () => bob.id });
    s.loadSnapshot({ board: { ...board, role: "editor", seq: 1 }, notes: [] }, 1);
    const carl = { id: "u3", username: "carl" };
    s.applyEvent(member(2, "member.joined", carl, "viewer"));
    s.applyEvent(member(3, "member.updated", carl, "editor"));
    s.applyEvent(member(4, "member.left", carl, "editor"));
    expect(s.getView().board).toMatchObject({ role: "editor", seq: 4 });
    expect(s.confirmedSeq).toBe(4);
  });

  it("without a known user, member events only advance the seq", () => {
    const s = loaded();
    s.applyEvent(member(2, "member.updated", ann, "viewer"));
    expect(s.getView().board).toMatchObject({ role: "owner", seq: 2 });
  });
});
