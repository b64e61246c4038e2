import { describe, expect, it } from "vitest";
import { raisedToSendBack } from "../stacking";

/** A 100×100 note at (x, y) with this version. */
const n = (id: string, x: number, y: number, version: number) => ({ id, x, y, w: 100, h: 100, version });

/** Stacking order after writing `raised` again, oldest first (as the server would give them versions). */
function stackAfter(notes: ReturnType<typeof n>[], raised: string[]): string[] {
  let v = Math.max(...notes.map((m) => m.version));
  const version = new Map(notes.map((m) => [m.id, m.version]));
  for (const id of raised) version.set(id, ++v);
  return [...notes].sort((a, b) => version.get(a.id)! - version.get(b.id)!).map((m) => m.id);
}

describe("raisedToSendBack", () => {
  it("raises the notes that overlap the sent one, oldest first, and nothing else", () => {
    const notes = [n("a", 0, 0, 1), n("sent", 50, 50, 9), n("b", 80, 80, 3), n("far", 1000, 0, 2)];
    const raised = raisedToSendBack(notes, new Set(["sent"]));
    expect(raised).toEqual(["a", "b"]);
    expect(stackAfter(notes, raised).indexOf("sent")).toBeLessThan(stackAfter(notes, raised).indexOf("a"));
  });

  it("also raises a note that was above a raised one it overlaps, so their order holds", () => {
    // c overlaps b only and is above it; raising b alone would put b over c
    const notes = [n("sent", 0, 0, 5), n("b", 60, 0, 2), n("c", 140, 0, 3), n("d", 220, 0, 1)];
    const raised = raisedToSendBack(notes, new Set(["sent"]));
    expect(raised).toEqual(["b", "c"]); // d is below c: it stays
    const after = stackAfter(notes, raised);
    expect(after.indexOf("b")).toBeLessThan(after.indexOf("c"));
    expect(after.indexOf("sent")).toBeLessThan(after.indexOf("b"));
  });

  it("a selection goes back together; notes already below it are raised too (they overlap it)", () => {
    const notes = [n("s1", 0, 0, 7), n("s2", 50, 0, 8), n("under", 20, 20, 1)];
    expect(raisedToSendBack(notes, new Set(["s1", "s2"]))).toEqual(["under"]);
  });

  it("nothing overlaps: nothing is written", () => {
    expect(raisedToSendBack([n("s", 0, 0, 1), n("o", 500, 0, 2)], new Set(["s"]))).toEqual([]);
  });
});
