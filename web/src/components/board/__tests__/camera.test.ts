// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { centerOn, fitCamera, followCamera, HOME, lerpCamera, loadCamera, MAX_Z, MIN_Z, saveCamera, viewBoxOf, wheelZoomFactor, zoomAt } from "../camera";

describe("camera", () => {
  it("one mouse-wheel notch zooms by about a fifth, not from 100 % to the maximum", () => {
    expect(HOME.z * wheelZoomFactor(-100)).toBeCloseTo(1.221, 3);
    expect(HOME.z * wheelZoomFactor(100)).toBeCloseTo(0.819, 3);
    // a line-mode notch (Firefox) counts as 3 lines of 16 px
    expect(wheelZoomFactor(-3, 1)).toBeCloseTo(Math.exp(48 / 500), 6);
    // a trackpad pinch: many small steps add up to the same as one big one
    let z = 1;
    for (let i = 0; i < 10; i++) z *= wheelZoomFactor(-10);
    expect(z).toBeCloseTo(wheelZoomFactor(-100), 9);
  });

  it("zooms around the cursor: the board point under it stays put; clamped to 10 %…400 %", () => {
    const c = { x: 40, y: 40, z: 1 };
    const next = zoomAt(c, 1.5, 300, 200);
    const boardPoint = (cam: typeof c) => ({ x: (300 - cam.x) / cam.z, y: (200 - cam.y) / cam.z });
    expect(boardPoint(next).x).toBeCloseTo(boardPoint(c).x, 9);
    expect(boardPoint(next).y).toBeCloseTo(boardPoint(c).y, 9);
    expect(zoomAt(c, 100, 0, 0).z).toBe(MAX_Z);
    expect(zoomAt(c, 0.001, 0, 0).z).toBe(MIN_Z);
  });

  it("fit to screen puts every note inside the view, centred, at most 100 %", () => {
    const notes = [
      { x: -500, y: 100, w: 200, h: 150 },
      { x: 2500, y: 1800, w: 200, h: 150 },
    ];
    const c = fitCamera(notes, 1000, 600, 20);
    for (const n of notes) {
      expect(n.x * c.z + c.x).toBeGreaterThanOrEqual(19.99);
      expect((n.x + n.w) * c.z + c.x).toBeLessThanOrEqual(980.01);
      expect(n.y * c.z + c.y).toBeGreaterThanOrEqual(19.99);
      expect((n.y + n.h) * c.z + c.y).toBeLessThanOrEqual(580.01);
    }
    expect(fitCamera([{ x: 0, y: 0, w: 100, h: 100 }], 1000, 600).z).toBe(1);
    expect(fitCamera([], 1000, 600)).toEqual(HOME);
  });

  it("keeps the view per board in localStorage; bad or missing data gives the home view", () => {
    localStorage.clear();
    expect(loadCamera("b1")).toEqual(HOME);
    saveCamera("b1", { x: 12.4, y: -30.6, z: 0.6667 });
    expect(loadCamera("b1")).toEqual({ x: 12, y: -31, z: 0.667 });
    expect(loadCamera("b2")).toEqual(HOME);
    localStorage.setItem("corkboard.view.b3", "{not json");
    expect(loadCamera("b3")).toEqual(HOME);
    localStorage.setItem("corkboard.view.b4", JSON.stringify({ x: 1, y: 2, z: 99 }));
    expect(loadCamera("b4").z).toBe(MAX_Z);
  });

  it("centres a note (opened with ?note=) at the current zoom, or 100 % when too small to read", () => {
    const note = { x: 3000, y: 2000, w: 200, h: 140 };
    const c = centerOn({ x: 0, y: 0, z: 0.8 }, note, 1280, 800);
    expect(c.z).toBe(0.8);
    // the note's centre lands on the canvas centre
    expect(c.x + (note.x + note.w / 2) * c.z).toBeCloseTo(640);
    expect(c.y + (note.y + note.h / 2) * c.z).toBeCloseTo(400);
    expect(centerOn({ x: 0, y: 0, z: 0.2 }, note, 1280, 800).z).toBe(1);
  });
});

describe("follow", () => {
  it("shows the same place at the same zoom on a view of the same size, and all of it on a smaller one", () => {
    const theirs = { x: 100, y: 50, z: 2 };
    const box = viewBoxOf({ x: -theirs.x * theirs.z, y: -theirs.y * theirs.z, z: theirs.z }, 800, 600);
    expect(box).toEqual({ x: 100, y: 50, zoom: 2, w: 800, h: 600 });
    const same = followCamera(box, 800, 600);
    expect(same.z).toBeCloseTo(2);
    expect(viewBoxOf(same, 800, 600).x).toBeCloseTo(100);
    expect(viewBoxOf(same, 800, 600).y).toBeCloseTo(50);
    // Half as wide: half the zoom, same centre (board point 300, 200).
    const small = followCamera(box, 400, 600);
    expect(small.z).toBeCloseTo(1);
    expect((200 - small.x) / small.z).toBeCloseTo(300);
    expect((300 - small.y) / small.z).toBeCloseTo(200);
  });

  it("interpolates towards the target and lands on it", () => {
    const a = { x: 0, y: 0, z: 1 };
    const b = { x: 100, y: -100, z: 4 };
    expect(lerpCamera(a, b, 0.5)).toEqual({ x: 50, y: -50, z: 2 });
    expect(lerpCamera(a, b, 1)).toBe(b);
  });
});
