import { describe, expect, it } from "vitest";
import {
  clickSelect,
  DEFAULT_PREFS,
  inMarquee,
  loadPrefs,
  neighbourAfterDelete,
  NONE,
  nudge,
  rectFrom,
  savePrefs,
  snap,
  snapDelta,
  topmost,
  Z_PENDING,
  zIndexOf,
} from "../selection";

const box = (id: string, x: number, y: number, w = 200, h = 140) => ({ id, x, y, w, h });

describe("selection model", () => {
  it("a plain click selects only that note, unless it is already selected (the group can be dragged)", () => {
    const ab = new Set(["a", "b"]);
    expect([...clickSelect(NONE, "a", false)]).toEqual(["a"]);
    expect(clickSelect(ab, "a", false)).toBe(ab);
    expect([...clickSelect(ab, "c", false)]).toEqual(["c"]);
  });

  it("Shift/Ctrl/⌘-click toggles", () => {
    expect([...clickSelect(new Set(["a"]), "b", true)].sort()).toEqual(["a", "b"]);
    expect([...clickSelect(new Set(["a", "b"]), "a", true)]).toEqual(["b"]);
  });

  it("a marquee drawn in any direction takes every note it overlaps", () => {
    const notes = [box("a", 0, 0), box("b", 300, 0), box("c", 0, 300), box("d", 1000, 1000)];
    expect(inMarquee(notes, rectFrom(350, 350, 150, -10))).toEqual(["a", "b", "c"]);
    expect(inMarquee(notes, rectFrom(210, 150, 290, 290))).toEqual([]);
    expect(rectFrom(10, 20, 0, 0)).toEqual({ x: 0, y: 0, w: 10, h: 20 });
  });

  it("after a delete, focus goes to the next note that stays, else the previous, else nowhere", () => {
    const order = ["a", "b", "c", "d"];
    expect(neighbourAfterDelete(order, new Set(["b"]))).toBe("c");
    expect(neighbourAfterDelete(order, new Set(["b", "d"]))).toBe("c");
    expect(neighbourAfterDelete(order, new Set(["c", "d"]))).toBe("b");
    expect(neighbourAfterDelete(order, new Set(order))).toBeNull();
  });
});

describe("z-order", () => {
  it("stacks by version (the seq of the last change), so every client agrees; a pending change goes on top", () => {
    const notes = [
      { id: "a", version: 9 },
      { id: "b", version: 3 },
      { id: "c", version: 12 },
    ];
    expect(topmost(notes)?.id).toBe("c");
    expect(zIndexOf(notes[0], NONE)).toBeGreaterThan(zIndexOf(notes[1], NONE));
    expect(topmost(notes, new Set(["b"]))?.id).toBe("b");
    expect(zIndexOf(notes[1], new Set(["b"]))).toBe(Z_PENDING);
    // ties (two pending notes) by id, the same everywhere
    expect(topmost(notes, new Set(["a", "b"]))?.id).toBe("b");
  });
});

describe("grid", () => {
  it("snaps to the nearest 20 px line, and a drop's delta lands the grabbed note on it", () => {
    expect(snap(29)).toBe(20);
    expect(snap(31)).toBe(40);
    expect(snap(-29)).toBe(-20);
    expect(13 + snapDelta(13, 50)).toBe(60);
    expect(snapDelta(40, 3)).toBe(0);
  });

  it("nudges by the step without a grid, and to the grid line in that direction with one", () => {
    expect(nudge(13, 1, 10, null)).toBe(23);
    expect(nudge(13, -1, 50, null)).toBe(-37);
    expect(nudge(40, 1, 10, 20)).toBe(60);
    expect(nudge(45, 1, 10, 20)).toBe(60);
    expect(nudge(45, -1, 10, 20)).toBe(40);
    expect(nudge(40, -1, 10, 20)).toBe(20);
    expect(nudge(40, 1, 50, 20)).toBe(100); // 50 px ≈ 3 lines (rounded)
  });
});

describe("per-user preferences", () => {
  class Mem {
    m = new Map<string, string>();
    getItem(k: string) {
      return this.m.get(k) ?? null;
    }
    setItem(k: string, v: string) {
      this.m.set(k, v);
    }
  }
  it("snap and the new-note colour are kept per user; bad data falls back to the defaults", () => {
    const s = new Mem() as unknown as Storage;
    expect(loadPrefs("u1", s)).toEqual(DEFAULT_PREFS);
    savePrefs("u1", { snap: true, color: "blue" }, s);
    expect(loadPrefs("u1", s)).toEqual({ snap: true, color: "blue" });
    expect(loadPrefs("u2", s)).toEqual(DEFAULT_PREFS);
    s.setItem("corkboard.edit.u3", '{"snap":"yes","color":"magenta"}');
    expect(loadPrefs("u3", s)).toEqual(DEFAULT_PREFS);
    s.setItem("corkboard.edit.u4", "{not json");
    expect(loadPrefs("u4", s)).toEqual(DEFAULT_PREFS);
  });
});
