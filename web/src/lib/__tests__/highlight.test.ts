import { describe, expect, it } from "vitest";
import { highlightParts } from "../highlight";

describe("highlightParts", () => {
  it("cuts a snippet into plain and matched parts by code points", () => {
    expect(highlightParts("Cross the zebra crossing", [[10, 15]])).toEqual([
      { text: "Cross the ", match: false },
      { text: "zebra", match: true },
      { text: " crossing", match: false },
    ]);
    // An emoji is one character (two UTF-16 units): offsets after it still land right.
    expect(highlightParts("🦓 zebra", [[2, 7]])).toEqual([
      { text: "🦓 ", match: false },
      { text: "zebra", match: true },
    ]);
  });

  it("keeps markup as text and survives bad ranges", () => {
    const parts = highlightParts("<b>x</b> y", [[9, 10], [3, 4], [9, 99], [-5, 0], [4, 2]]);
    expect(parts.map((p) => p.text).join("")).toBe("<b>x</b> y");
    expect(parts.filter((p) => p.match).map((p) => p.text)).toEqual(["x", "y"]);
    expect(highlightParts("", [[0, 3]])).toEqual([]);
  });
});
