/**
 * "Who changed what" for the history panel: one short sentence per board
 * event, e.g. "ann moved a note", "bob changed the text of 'Groceries…'".
 */
import type { BoardEvent, Id } from "@/realtime/protocol";

/** The longest note name quoted in a sentence, before "…". */
const NAME_MAX = 24;

/** A note's text as a short quoted name: first line, at most NAME_MAX characters; null for an empty note. */
export function noteName(text: string | undefined): string | null {
  const first = (text ?? "").trim().split("\n")[0].trim();
  if (!first) return null;
  const chars = [...first];
  const cut = chars.length > NAME_MAX || first !== (text ?? "").trim();
  return `'${chars.slice(0, NAME_MAX).join("").trimEnd()}${cut ? "…" : ""}'`;
}

const COLOR_WORDS: Record<string, string> = { gray: "grey" };

/**
 * One event as a sentence. `textOf` gives a note's text as it was just before
 * the event (so a deleted or edited note is named by what it said).
 */
export function describeEvent(ev: BoardEvent, textOf: (id: Id) => string | undefined): string {
  const who = ev.by.username;
  const name = (id: Id) => noteName(textOf(id)) ?? "a note";
  switch (ev.kind) {
    case "note.created": {
      const n = noteName(ev.note.text);
      return n ? `${who} added ${n}` : `${who} added a note`;
    }
    case "note.updated": {
      const d = ev.delta;
      const verbs: string[] = [];
      if (d.x !== undefined || d.y !== undefined) verbs.push("moved");
      if (d.w !== undefined || d.h !== undefined) verbs.push("resized");
      if (d.color !== undefined) verbs.push("recoloured");
      const textChanged = d.text !== undefined || !!ev.text_update;
      if (verbs.length === 0) return textChanged ? `${who} changed the text of ${name(ev.id)}` : `${who} changed ${name(ev.id)}`;
      const list = verbs.length === 1 ? verbs[0] : `${verbs.slice(0, -1).join(", ")} and ${verbs[verbs.length - 1]}`;
      const colour = verbs.length === 1 && d.color !== undefined ? ` ${COLOR_WORDS[d.color] ?? d.color}` : "";
      return `${who} ${list} ${name(ev.id)}${colour}${textChanged ? " and changed its text" : ""}`;
    }
    case "note.deleted":
      return `${who} deleted ${name(ev.id)}`;
    case "board.updated":
      return `${who} renamed the board to '${ev.title}'`;
    case "board.deleted":
      return `${who} deleted the board`;
    case "member.joined":
      return ev.user.id === ev.by.id ? `${who} joined as ${ev.role}` : `${who} added ${ev.user.username} as ${ev.role}`;
    case "member.updated":
      return `${who} made ${ev.user.username} ${ev.role === "editor" ? "an editor" : `a ${ev.role}`}`;
    case "member.left":
      return ev.user.id === ev.by.id ? `${who} left the board` : `${who} removed ${ev.user.username}`;
  }
}

/**
 * Note texts as events go by, so that a later event can name its note by
 * what it said then. Feed it every event in seq order from the first.
 */
export class NoteNames {
  private readonly texts = new Map<Id, string>();

  textOf = (id: Id): string | undefined => this.texts.get(id);

  /** Describes `ev` with the names before it, then records what it changed. */
  describe(ev: BoardEvent): string {
    const s = describeEvent(ev, this.textOf);
    if (ev.kind === "note.created") this.texts.set(ev.note.id, ev.note.text);
    else if (ev.kind === "note.updated" && ev.delta.text !== undefined) this.texts.set(ev.id, ev.delta.text);
    return s;
  }
}
