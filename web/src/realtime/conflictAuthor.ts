/**
 * Who to name in an edit-conflict dialog: the newest known writer of the
 * conflicting fields, from the board's events (`by` of each event). Null when
 * the client has not seen that write (learnt from a snapshot) or it was this
 * user's own (another tab), so the dialog says "Someone else".
 */
import type { Id } from "./protocol";
import type { FieldWrite, NoteField } from "./store";

export function conflictAuthor(
  fields: readonly NoteField[],
  lastWrite: (field: NoteField) => FieldWrite | undefined,
  me: Id | undefined,
): string | null {
  let newest: FieldWrite | undefined;
  for (const f of fields) {
    const w = lastWrite(f);
    if (w && (!newest || w.seq > newest.seq)) newest = w;
  }
  if (!newest || newest.by === null || newest.by === me) return null;
  return newest.name ?? null;
}
