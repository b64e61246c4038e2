import { describe, expect, it } from "vitest";
import type { BoardEvent, Note } from "@/realtime/protocol";
import { describeEvent, NoteNames, noteName } from "../describeEvent";

const ann = { id: "u1", username: "ann" };
const bob = { id: "u2", username: "bob" };
const base = { board: "b1", at: "2026-12-01T00:00:00Z" };
const note = (id: string, text: string): Note => ({
  id,
  board: "b1",
  text,
  x: 0,
  y: 0,
  w: 200,
  h: 140,
  color: "yellow",
  version: 1,
  created_by: ann,
  updated_at: base.at,
});
const created = (seq: number, id: string, text: string): BoardEvent => ({ ...base, seq, by: ann, kind: "note.created", note: note(id, text) });
const updated = (seq: number, id: string, delta: object, by = ann): BoardEvent => ({
  ...base,
  seq,
  by,
  kind: "note.updated",
  id,
  version: seq,
  delta,
});

describe("noteName", () => {
  it("quotes the first line, cut at 24 characters", () => {
    expect(noteName("Groceries")).toBe("'Groceries'");
    expect(noteName("Groceries\nmilk, eggs")).toBe("'Groceries…'");
    expect(noteName("A very long note title that goes on")).toBe("'A very long note title t…'");
    expect(noteName("  ")).toBeNull();
  });
});

describe("describeEvent", () => {
  const none = () => undefined;
  it("says who did what to which note", () => {
    const names = (id: string) => (id === "n1" ? "Groceries\nmilk" : undefined);
    expect(describeEvent(created(1, "n1", ""), none)).toBe("ann added a note");
    expect(describeEvent(updated(2, "n1", { x: 1, y: 2 }), none)).toBe("ann moved a note");
    expect(describeEvent(updated(3, "n1", { text: "x" }, bob), names)).toBe("bob changed the text of 'Groceries…'");
    expect(describeEvent(updated(4, "n1", { x: 1, w: 5 }), names)).toBe("ann moved and resized 'Groceries…'");
    expect(describeEvent(updated(5, "n1", { color: "blue" }), names)).toBe("ann recoloured 'Groceries…' blue");
    expect(describeEvent({ ...base, seq: 6, by: bob, kind: "note.deleted", id: "n1" }, names)).toBe("bob deleted 'Groceries…'");
    expect(describeEvent({ ...base, seq: 7, by: ann, kind: "board.updated", title: "Home" }, none)).toBe(
      "ann renamed the board to 'Home'",
    );
    expect(describeEvent({ ...base, seq: 8, by: bob, kind: "member.joined", user: bob, role: "editor" }, none)).toBe(
      "bob joined as editor",
    );
    expect(describeEvent({ ...base, seq: 9, by: ann, kind: "member.left", user: bob, role: "editor" }, none)).toBe("ann removed bob");
  });

  it("NoteNames names a note by its text before the event", () => {
    const names = new NoteNames();
    expect(names.describe(created(1, "n1", "Groceries"))).toBe("ann added 'Groceries'");
    expect(names.describe(updated(2, "n1", { text: "Chores" }))).toBe("ann changed the text of 'Groceries'");
    expect(names.describe({ ...base, seq: 3, by: ann, kind: "note.deleted", id: "n1" })).toBe("ann deleted 'Chores'");
  });
});
