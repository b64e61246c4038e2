import { describe, expect, it } from "vitest";
import type { Note } from "@/realtime/protocol";
import { BOARD_FORMAT, exportBoard, exportFileName, parseBoardFile } from "../boardFile";

const note: Note = {
  id: "n1",
  board: "b1",
  text: "Groceries",
  x: 10,
  y: -20.5,
  w: 200,
  h: 140,
  color: "blue",
  version: 3,
  created_by: { id: "u1", username: "ann" },
  updated_at: "2026-12-01T00:00:00Z",
};
const valid = () => ({ format: BOARD_FORMAT, title: "Home", exported_at: "2026-12-01T00:00:00Z", seq: 3, notes: [{ x: 1, y: 2, w: 3, h: 4, color: "pink", text: "" }] });
const errorOf = (doc: unknown) => {
  const r = parseBoardFile(typeof doc === "string" ? doc : JSON.stringify(doc));
  return r.ok ? null : r.error;
};

describe("board export", () => {
  it("round-trips through parse", () => {
    const file = exportBoard({ title: "Home", seq: 7 }, [note], new Date("2026-12-01T01:02:03Z"));
    expect(file).toEqual({
      format: BOARD_FORMAT,
      title: "Home",
      exported_at: "2026-12-01T01:02:03.000Z",
      seq: 7,
      notes: [{ id: "n1", x: 10, y: -20.5, w: 200, h: 140, color: "blue", text: "Groceries" }],
    });
    expect(parseBoardFile(JSON.stringify(file))).toEqual({ ok: true, file });
  });

  it("names the download after the title", () => {
    expect(exportFileName("Groceries & Chores!")).toBe("groceries-chores.corkboard.json");
    expect(exportFileName("日本")).toBe("board.corkboard.json");
    expect(exportFileName("Groceries", 120)).toBe("groceries-v120.corkboard.json");
  });
});

describe("parseBoardFile", () => {
  it("accepts a valid file, notes without ids included", () => {
    expect(errorOf(valid())).toBeNull();
  });

  it("refuses what is not an export", () => {
    expect(errorOf("{nope")).toBe("This file is not JSON.");
    expect(errorOf([])).toMatch(/not a Corkboard export/);
    expect(errorOf({ ...valid(), format: "trello" })).toMatch(/format should be "corkboard.board.v1"/);
    expect(errorOf({ ...valid(), title: " " })).toBe("The board has no title.");
    expect(errorOf({ ...valid(), notes: undefined })).toBe("The file has no list of notes.");
  });

  it("enforces the server's limits before creating anything", () => {
    const many = Array.from({ length: 5001 }, () => valid().notes[0]);
    expect(errorOf({ ...valid(), notes: many })).toBe("The board has 5001 notes; a board holds at most 5000.");
    expect(errorOf({ ...valid(), notes: [{ ...valid().notes[0], text: "x".repeat(10_001) }] })).toBe(
      "Note 1: the text is longer than 10,000 characters.",
    );
    expect(errorOf({ ...valid(), notes: [{ ...valid().notes[0], text: "😀".repeat(10_000) }] })).toBeNull();
    expect(errorOf({ ...valid(), title: "t".repeat(201) })).toMatch(/longer than 200/);
  });

  it("names the first bad note", () => {
    const ok = valid().notes[0];
    expect(errorOf({ ...valid(), notes: [ok, { ...ok, w: 0 }] })).toBe("Note 2: w and h must be positive numbers.");
    expect(errorOf({ ...valid(), notes: [{ ...ok, x: "1" }] })).toBe("Note 1: x and y must be numbers.");
    expect(errorOf({ ...valid(), notes: [{ ...ok, color: "orange" }] })).toMatch(/^Note 1: color must be one of yellow/);
    expect(errorOf({ ...valid(), notes: [{ ...ok, id: "a b" }] })).toMatch(/^Note 1: id must be/);
    expect(errorOf({ ...valid(), notes: [{ ...ok, id: "a" }, { ...ok, id: "a" }] })).toBe('Note 2: the id "a" is used twice.');
    expect(errorOf({ ...valid(), notes: [null] })).toBe("Note 1: not an object.");
  });
});
