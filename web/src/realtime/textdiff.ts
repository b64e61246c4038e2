/**
 * Plain text arithmetic for collaborative editing, without Yjs (so the editor
 * component can use it without pulling Yjs into the page's first load): the
 * smallest replacement between two strings, and caret mapping through a Yjs
 * text delta.
 */

/** What a remote (or undo) change did to the text, for caret mapping: Yjs delta. */
export type TextDelta = { insert?: string | object; retain?: number; delete?: number }[];

export interface TextDiff {
  index: number;
  remove: number;
  insert: string;
}

/** The smallest single replacement turning `a` into `b` (UTF-16 indexes, never splitting a surrogate pair). Null when equal. */
export function diffText(a: string, b: string): TextDiff | null {
  if (a === b) return null;
  let start = 0;
  const max = Math.min(a.length, b.length);
  while (start < max && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  if (start > 0 && isHigh(a.charCodeAt(start - 1))) start--;
  let ea = a.length;
  let eb = b.length;
  while (ea > start && eb > start && a.charCodeAt(ea - 1) === b.charCodeAt(eb - 1)) {
    ea--;
    eb--;
  }
  if (ea < a.length && isLow(a.charCodeAt(ea))) {
    ea++;
    eb++;
  }
  return { index: start, remove: ea - start, insert: b.slice(start, eb) };
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * Where index `i` of the old text is after `delta` (a Yjs text delta): text
 * inserted before it shifts it right, text deleted before it shifts it left,
 * an insertion exactly at `i` stays after it (so two people typing at the
 * same spot keep their own words together).
 */
export function mapIndex(i: number, delta: TextDelta): number {
  let pos = 0;
  let out = i;
  for (const op of delta) {
    if (op.retain !== undefined) {
      pos += op.retain;
    } else if (op.insert !== undefined) {
      const n = typeof op.insert === "string" ? op.insert.length : 1;
      if (pos < out) out += n;
      pos += n;
    } else if (op.delete !== undefined) {
      if (pos < out) out -= Math.min(op.delete, out - pos);
    }
    if (pos > out) break;
  }
  return out;
}

/** Where the caret goes after the user's own undo/redo: the end of the last change of `delta`. */
export function changeEnd(delta: TextDelta): number | null {
  let pos = 0;
  let end: number | null = null;
  for (const op of delta) {
    if (op.retain !== undefined) pos += op.retain;
    else if (op.insert !== undefined) {
      pos += typeof op.insert === "string" ? op.insert.length : 1;
      end = pos;
    } else if (op.delete !== undefined) end = pos;
  }
  return end;
}

