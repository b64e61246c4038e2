/**
 * The board's view (pan and zoom) as plain data and pure functions: zooming
 * around a point, a smooth factor per wheel delta, "fit to screen", and the
 * per-board copy kept in localStorage so a reload shows the same place.
 */

/** Screen position of the board's origin (`x`, `y`, CSS px) and the scale `z`. */
export interface Camera {
  x: number;
  y: number;
  z: number;
}

/** Where a board opens the first time: origin a little in from the corner, 100 %. */
export const HOME: Camera = { x: 40, y: 40, z: 1 };
export const MIN_Z = 0.1;
export const MAX_Z = 4;

/** `z` kept within what stays usable (10 % … 400 %). */
export const clampZ = (z: number) => Math.min(MAX_Z, Math.max(MIN_Z, z));

/** Scales by `factor` keeping the board point under screen point (`px`, `py`) where it is. */
export function zoomAt(c: Camera, factor: number, px: number, py: number): Camera {
  const z = clampZ(c.z * factor);
  return { z, x: px - ((px - c.x) / c.z) * z, y: py - ((py - c.y) / c.z) * z };
}

const LINE_PX = 16;
const PAGE_PX = 800;

/**
 * The zoom factor of one Ctrl/⌘+wheel event: exp(−deltaY/500) with deltaY in
 * pixels, so a mouse notch (100 px) is about ×0.82 or ×1.22 and a trackpad
 * pinch's many small deltas zoom smoothly.
 */
export function wheelZoomFactor(deltaY: number, deltaMode = 0): number {
  const px = deltaMode === 1 ? deltaY * LINE_PX : deltaMode === 2 ? deltaY * PAGE_PX : deltaY;
  return Math.exp(-px / 500);
}

/** What `fitCamera` needs of a note. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * The camera that shows every note in a `width`×`height` view with `pad` px
 * around them, centred, never zoomed in beyond 100 %. No notes: `HOME`.
 */
export function fitCamera(notes: readonly Box[], width: number, height: number, pad = 32): Camera {
  if (notes.length === 0 || width <= 0 || height <= 0) return HOME;
  const minX = Math.min(...notes.map((n) => n.x));
  const minY = Math.min(...notes.map((n) => n.y));
  const maxX = Math.max(...notes.map((n) => n.x + n.w));
  const maxY = Math.max(...notes.map((n) => n.y + n.h));
  const bw = Math.max(maxX - minX, 1);
  const bh = Math.max(maxY - minY, 1);
  const z = clampZ(Math.min(1, (width - 2 * pad) / bw, (height - 2 * pad) / bh));
  return { z, x: (width - bw * z) / 2 - minX * z, y: (height - bh * z) / 2 - minY * z };
}

const key = (boardId: string) => `corkboard.view.${boardId}`;

/** The view last kept for this board in this browser, or `HOME`. */
export function loadCamera(boardId: string, storage: Storage | undefined = globalThis.localStorage): Camera {
  try {
    const raw = storage?.getItem(key(boardId));
    if (!raw) return HOME;
    const c = JSON.parse(raw) as Partial<Camera>;
    if ([c.x, c.y, c.z].every((v) => typeof v === "number" && Number.isFinite(v))) {
      return { x: c.x as number, y: c.y as number, z: clampZ(c.z as number) };
    }
  } catch {
    // unreadable (private mode, bad JSON): start at home
  }
  return HOME;
}

/** Keeps the view for the next visit; a full or blocked storage only means the view is not kept. */
export function saveCamera(boardId: string, c: Camera, storage: Storage | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(key(boardId), JSON.stringify({ x: Math.round(c.x), y: Math.round(c.y), z: Math.round(c.z * 1000) / 1000 }));
  } catch {
    // quota or disabled storage: nothing to lose but the view
  }
}

/** What `followCamera` needs of someone's `viewport` signal. */
export interface ViewBox {
  /** Board coordinates of the view's top-left corner. */
  x: number;
  y: number;
  zoom: number;
  /** The view's size in screen pixels. */
  w: number;
  h: number;
}

/**
 * The camera of a `width`×`height` view that shows what someone else sees
 * (`v`): the same centre, and their whole view in ours (same zoom when the
 * views are the same size).
 */
export function followCamera(v: ViewBox, width: number, height: number): Camera {
  const z = clampZ(v.zoom * Math.min(width / v.w, height / v.h));
  const cx = v.x + v.w / v.zoom / 2;
  const cy = v.y + v.h / v.zoom / 2;
  return { z, x: width / 2 - cx * z, y: height / 2 - cy * z };
}

/** The part of the board a camera shows in a `width`×`height` view, as a `viewport` signal carries it. */
export function viewBoxOf(c: Camera, width: number, height: number): ViewBox {
  return { x: -c.x / c.z, y: -c.y / c.z, zoom: c.z, w: width, h: height };
}

/** `a` → `b` at `t` (0…1), the zoom interpolated geometrically so the motion looks even. */
export function lerpCamera(a: Camera, b: Camera, t: number): Camera {
  if (t >= 1) return b;
  return { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t, z: a.z * Math.pow(b.z / a.z, t) };
}

/**
 * The camera that shows `note` in the middle of a `width`×`height` canvas,
 * at the current zoom, or at 100 % when the current one is too small to read it.
 */
export function centerOn(c: Camera, note: Box, width: number, height: number): Camera {
  const z = c.z < 0.5 ? 1 : c.z;
  return { z, x: width / 2 - (note.x + note.w / 2) * z, y: height / 2 - (note.y + note.h / 2) * z };
}
