/**
 * What a journaled mutation looks like on the board while it waits: the
 * optimistic store's pending mutation rebuilt from the RPC's params, so a
 * reload shows the edits as they were (marked pending) before the server
 * answers.
 */
import type { Id, Note, NoteColor, NoteDelta, RpcMethod, User } from "../protocol";
import { NOTE_FIELDS, type PendingMutation } from "../store";

/** The board and pending view of one mutation. */
export interface Described {
  board: Id;
  view: PendingMutation | null;
  /** The note's text after this edit, when the edit writes text. */
  text?: string;
}

type Params = Record<string, unknown>;

const str = (v: unknown) => (typeof v === "string" ? v : "");
const num = (v: unknown) => (typeof v === "number" ? v : 0);

/**
 * Describes a mutation from its params. `textOf` gives a note's current text
 * (a `note.edit` carries a Yjs update, not text: the text it leads to is read
 * from the board as it is when the edit is journaled).
 */
export function describeMutation(
  method: RpcMethod,
  op: string,
  raw: unknown,
  me: User,
  textOf: (board: Id, note: Id) => string | undefined,
): Described {
  const p = (raw ?? {}) as Params;
  const board = str(p.board);
  const id = str(p.id);
  switch (method) {
    case "note.create": {
      const note: Note = {
        id,
        board,
        text: str(p.text),
        x: num(p.x),
        y: num(p.y),
        w: num(p.w),
        h: num(p.h),
        color: (str(p.color) || "yellow") as NoteColor,
        version: 0,
        created_by: me,
        updated_at: new Date().toISOString(),
      };
      return { board, view: { op, kind: "create", note }, text: note.text || undefined };
    }
    case "note.update": {
      const delta: NoteDelta = {};
      for (const f of NOTE_FIELDS) if (p[f] !== undefined) (delta as Params)[f] = p[f];
      return { board, view: { op, kind: "update", id, delta }, text: delta.text };
    }
    case "note.edit": {
      const text = textOf(board, id);
      return { board, view: text === undefined ? null : { op, kind: "update", id, delta: { text } }, text };
    }
    case "note.delete":
      return { board, view: { op, kind: "delete", id } };
    case "board.rename":
      return { board, view: { op, kind: "rename", title: str(p.title) } };
    default:
      return { board, view: null };
  }
}
