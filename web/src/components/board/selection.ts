/**
 * The board's editing rules as plain data and pure functions: the selection
 * (click, Shift/Ctrl/⌘-click, marquee), the stacking order of notes, grid
 * snapping and nudging, and per-user editing preferences kept in localStorage.
 */
import { NOTE_COLORS, type Id, type NoteColor } from "@/realtime/protocol";

/** The notes selected on this board (never shared: others see only their own). */
export type Selection = ReadonlySet<Id>;

export const NONE: Selection = new Set();

/**
 * The selection after a click on note `id`: with `additive` (Shift, Ctrl or ⌘)
 * the note is toggled; a plain click on a selected note keeps the selection
 * (so the group can be dragged), on any other note selects only it.
 */
export function clickSelect(sel: Selection, id: Id, additive: boolean): Selection {
  if (additive) {
    const next = new Set(sel);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  }
  return sel.has(id) ? sel : new Set([id]);
}

/** A rectangle in board coordinates, from any two corners. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function rectFrom(ax: number, ay: number, bx: number, by: number): Rect {
  return { x: Math.min(ax, bx), y: Math.min(ay, by), w: Math.abs(bx - ax), h: Math.abs(by - ay) };
}

/** The notes a marquee touches (any overlap, as in FigJam and Miro). */
export function inMarquee(notes: readonly { id: Id; x: number; y: number; w: number; h: number }[], r: Rect): Id[] {
  return notes.filter((n) => n.x < r.x + r.w && n.x + n.w > r.x && n.y < r.y + r.h && n.y + n.h > r.y).map((n) => n.id);
}

/** The z-index of notes with a change of this user's not yet confirmed: above every confirmed one. */
export const Z_PENDING = 2_000_000_000;

/**
 * Stacking order: notes have no z field, so every client derives it from
 * `version` (the seq of the note's last change; each change has its own seq,
 * so no two confirmed notes tie; higher on top). A note with a change of this
 * user's not yet confirmed goes on top: its confirmed version will be the newest.
 */
export const zIndexOf = (n: { id: Id; version: number }, pending: ReadonlySet<Id>) => (pending.has(n.id) ? Z_PENDING : n.version + 1);

/** The top-most of `notes` (for tests and "what is under the pointer"). */
export function topmost<T extends { id: Id; version: number }>(notes: readonly T[], pending: ReadonlySet<Id> = NONE): T | null {
  let best: T | null = null;
  for (const n of notes) {
    if (!best) best = n;
    else {
      const d = zIndexOf(n, pending) - zIndexOf(best, pending);
      if (d > 0 || (d === 0 && n.id > best.id)) best = n;
    }
  }
  return best;
}

/**
 * Where focus goes after deleting `removed`: the first note after the last
 * removed one in `order` that stays, else the nearest before it; null: none left.
 */
export function neighbourAfterDelete(order: readonly Id[], removed: ReadonlySet<Id>): Id | null {
  let last = -1;
  order.forEach((id, i) => {
    if (removed.has(id)) last = i;
  });
  for (let i = last + 1; i < order.length; i++) if (!removed.has(order[i])) return order[i];
  for (let i = last - 1; i >= 0; i--) if (!removed.has(order[i])) return order[i];
  return null;
}

// ------------------------------------------------------------ grid

/** The snap grid's size in board px. */
export const GRID = 20;
/** Arrow keys move the selection by this (Shift: `NUDGE_FAR`). */
export const NUDGE = 10;
export const NUDGE_FAR = 50;

/** `v` on the nearest grid line. */
export const snap = (v: number, grid = GRID) => Math.round(v / grid) * grid;

/**
 * A drag of `d` px of a note at `v`, snapped so that the note lands on the grid
 * (the other notes of the selection move by the same amount: their layout stays).
 */
export const snapDelta = (v: number, d: number, grid = GRID) => snap(v + d, grid) - v;

/**
 * One arrow-key nudge of the note at `v` by `step` in direction `dir` (±1).
 * Without a grid: `v + dir·step`. With one: to the grid line `step` away
 * (rounded to whole lines, at least one), so a note off the grid lands on it.
 */
export function nudge(v: number, dir: 1 | -1, step: number, grid: number | null): number {
  if (!grid) return v + dir * step;
  const lines = Math.max(1, Math.round(step / grid));
  return dir > 0 ? (Math.floor(v / grid) + lines) * grid : (Math.ceil(v / grid) - lines) * grid;
}

// ------------------------------------------------------------ per-user preferences

/** Editing preferences this browser keeps per user: snap to grid and the colour of new notes. */
export interface EditPrefs {
  snap: boolean;
  color: NoteColor;
}

export const DEFAULT_PREFS: EditPrefs = { snap: false, color: "yellow" };

const prefsKey = (userId: string) => `corkboard.edit.${userId}`;

export function loadPrefs(userId: string, storage: Storage | undefined = globalThis.localStorage): EditPrefs {
  try {
    const raw = JSON.parse(storage?.getItem(prefsKey(userId)) ?? "null") as Partial<EditPrefs> | null;
    return {
      snap: typeof raw?.snap === "boolean" ? raw.snap : DEFAULT_PREFS.snap,
      color: (NOTE_COLORS as readonly string[]).includes(raw?.color as string) ? (raw?.color as NoteColor) : DEFAULT_PREFS.color,
    };
  } catch {
    return DEFAULT_PREFS;
  }
}

/** A full or blocked storage only means the preference is not kept. */
export function savePrefs(userId: string, prefs: EditPrefs, storage: Storage | undefined = globalThis.localStorage): void {
  try {
    storage?.setItem(prefsKey(userId), JSON.stringify(prefs));
  } catch {
    // not kept
  }
}
