/**
 * "Restore this version": the difference between the live board and a past
 * version of it, as the list of ordinary mutations that turn one into the
 * other. Pure (no I/O), so the diff is tested on its own; the board client
 * sends the list through the outbox.
 */
import type { Id, Note, NoteDelta } from "./protocol";

/** The fields a restore writes back (every field of a note a user can change). */
export const RESTORED_FIELDS = ["x", "y", "w", "h", "color", "text"] as const;

/** One mutation of a restore. */
export type RestoreChange =
  /** Deleted since the version: `note.restore` (same id), `note.create` with this content if that fails. */
  | { kind: "restore"; note: Note }
  /** Changed since: `note.update` with the version's values of the changed fields. */
  | { kind: "update"; id: Id; delta: NoteDelta }
  /** Created since: `note.delete`. `note` is the live note (for undo and the message). */
  | { kind: "delete"; id: Id; note: Note };

/**
 * The mutations that make `live` look like `past`: restores first (in the
 * version's id order), then updates, then deletes, each list in a stable order.
 */
export function planRestore(live: readonly Note[], past: readonly Note[]): RestoreChange[] {
  const liveById = new Map(live.map((n) => [n.id, n]));
  const pastIds = new Set(past.map((n) => n.id));
  const restores: RestoreChange[] = [];
  const updates: RestoreChange[] = [];
  for (const old of past) {
    const now = liveById.get(old.id);
    if (!now) {
      restores.push({ kind: "restore", note: old });
      continue;
    }
    const delta = restoredDelta(now, old);
    if (delta) updates.push({ kind: "update", id: old.id, delta });
  }
  const deletes: RestoreChange[] = live
    .filter((n) => !pastIds.has(n.id))
    .map((n) => ({ kind: "delete", id: n.id, note: n }));
  return [...restores, ...updates, ...deletes];
}

/** "3 notes back, 2 changed, 1 removed" — what a restore will do, for the confirmation. */
export function summarizePlan(plan: readonly RestoreChange[]): string {
  const count = (k: RestoreChange["kind"]) => plan.filter((c) => c.kind === k).length;
  const parts: string[] = [];
  const r = count("restore");
  const u = count("update");
  const d = count("delete");
  if (r) parts.push(`${r} note${r === 1 ? "" : "s"} brought back`);
  if (u) parts.push(`${u} changed`);
  if (d) parts.push(`${d} removed`);
  return parts.join(", ");
}

/**
 * The fields of `now` that differ from `want` (a note restored by the
 * server as it was when deleted, against the version being restored), or
 * `null` when they match.
 */
export function restoredDelta(now: Note, want: Note): NoteDelta | null {
  const delta: NoteDelta = {};
  let changed = false;
  for (const f of RESTORED_FIELDS) {
    if (now[f] !== want[f]) {
      (delta as Record<string, unknown>)[f] = want[f];
      changed = true;
    }
  }
  return changed ? delta : null;
}
