import type { Id } from "./protocol";

type Stacked = { id: Id; version: number; x: number; y: number; w: number; h: number };

const overlaps = (a: Stacked, b: Stacked) => a.x < b.x + b.w && a.x + a.w > b.x && a.y < b.y + b.h && a.y + a.h > b.y;

/**
 * "Send to back" without a z field: the notes to bring to front, in the order
 * to write them, so that `sent` ends below everything it overlaps while every
 * other pair that overlaps keeps its order. That is each note overlapping
 * `sent`, then (until nothing changes) each note above one of those that it
 * overlaps; written oldest first, they keep their order among themselves.
 * Notes that overlap none of these stay as they are (nothing on screen moves).
 */
export function raisedToSendBack<T extends Stacked>(notes: readonly T[], sent: ReadonlySet<Id>): Id[] {
  const low = notes.filter((n) => sent.has(n.id));
  const rest = notes.filter((n) => !sent.has(n.id));
  const raised = new Set<Id>();
  const todo: T[] = [];
  const raise = (n: T) => {
    if (!raised.has(n.id)) {
      raised.add(n.id);
      todo.push(n);
    }
  };
  for (const n of rest) if (low.some((s) => overlaps(s, n))) raise(n);
  for (let r = todo.pop(); r; r = todo.pop()) {
    for (const n of rest) if (n.version > r.version && overlaps(n, r)) raise(n);
  }
  return rest.filter((n) => raised.has(n.id)).sort((a, b) => a.version - b.version || (a.id < b.id ? -1 : 1)).map((n) => n.id);
}
