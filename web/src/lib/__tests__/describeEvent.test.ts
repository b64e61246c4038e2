import { describe, expect, it } from "vitest";
import type { BoardEvent, Note } from "@/realtime/protocol";
import { describeEvent, describeRun, noteName } from "../describeEvent";

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

  it("without the text before, names the note by the text the event sets, else by its text now, else 'a note'", () => {
    const now = (id: string) => (id === "n1" ? "Chores" : undefined);
    expect(describeEvent(updated(2, "n1", { text: "Chores" }), none)).toBe("ann changed the text of a note to 'Chores'");
    expect(describeEvent(updated(2, "n1", { x: 5, text: "Chores" }), none, now)).toBe(
      "ann moved a note and changed its text to 'Chores'",
    );
    expect(describeEvent(updated(3, "n1", { color: "gray" }), none, now)).toBe("ann recoloured a note grey (now 'Chores')");
    expect(describeEvent(updated(3, "n2", { x: 1 }), none, now)).toBe("ann moved a note");
    expect(describeEvent({ ...base, seq: 4, by: bob, kind: "note.deleted", id: "n2" }, none, now)).toBe("bob deleted a note");
  });
});

const deleted = (seq: number, id: string): BoardEvent => ({ ...base, seq, by: ann, kind: "note.deleted", id });

describe("describeRun", () => {
  it("names a note by its text before the event, from earlier events of the run", () => {
    expect(describeRun([created(1, "n1", "Groceries"), updated(2, "n1", { text: "Chores" }), deleted(3, "n1")])).toEqual([
      "ann added 'Groceries'",
      "ann changed the text of 'Groceries'",
      "ann deleted 'Chores'",
    ]);
  });

  it("a run from the middle of the log: no name it cannot be sure of", () => {
    // n1 was created before seq 100 (not loaded): its text then is unknown.
    expect(describeRun([updated(100, "n1", { x: 1 }), updated(101, "n1", { text: "B" }), updated(102, "n1", { y: 2 })])).toEqual([
      "ann moved a note",
      "ann changed the text of a note to 'B'",
      "ann moved 'B'",
    ]);
  });

  it("uses the version viewed: forward from it, and backward while nothing touched the note's text", () => {
    const known = { seq: 101, notes: [{ id: "n1", text: "Mid" }, { id: "n2", text: "Other" }] };
    const run = [
      updated(100, "n1", { text: "Mid" }), // n1's text before #100 is not known
      updated(101, "n2", { x: 1 }), // nothing touched n2's text in #101…#101: 'Other'
      updated(102, "n1", { y: 1 }), // after the version: 'Mid'
      deleted(103, "n2"),
    ];
    expect(describeRun(run, known)).toEqual([
      "ann changed the text of a note to 'Mid'",
      "ann moved 'Other'",
      "ann moved 'Mid'",
      "ann deleted 'Other'",
    ]);
    // A version outside the run says nothing about it.
    expect(describeRun(run, { seq: 50, notes: known.notes })[1]).toBe("ann moved a note");
  });

  it("live texts only as 'now', and never over a known name", () => {
    const now = (id: string) => (id === "n1" ? "Today" : undefined);
    expect(describeRun([updated(7, "n1", { w: 9 }), created(8, "n2", "X"), updated(9, "n2", { x: 1 })], undefined, now)).toEqual([
      "ann resized a note (now 'Today')",
      "ann added 'X'",
      "ann moved 'X'",
    ]);
  });
});
