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
 * the event (so a deleted or edited note is named by what it said), when
 * known. When it is not, the sentence names the note by the text the event
 * itself sets ("changed the text of a note to 'Chores'"), else by `nowOf`,
 * its text on the live board, marked as such ("moved a note (now 'Chores')"),
 * else "a note": never a wrong name, at worst a less specific one.
 */
export function describeEvent(
  ev: BoardEvent,
  textOf: (id: Id) => string | undefined,
  nowOf: (id: Id) => string | undefined = () => undefined,
): string {
  const who = ev.by.username;
  const then = (id: Id) => noteName(textOf(id));
  const now = (id: Id) => {
    const n = noteName(nowOf(id));
    return n ? ` (now ${n})` : "";
  };
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
      const before = then(ev.id);
      const after = d.text !== undefined ? noteName(d.text) : null;
      // Named by what it said before; else by what this event makes it say; else by its text now.
      const name = before ?? "a note";
      const newText = !before && after ? ` to ${after}` : "";
      const tail = before || newText ? "" : now(ev.id);
      if (verbs.length === 0)
        return textChanged ? `${who} changed the text of ${name}${newText}${tail}` : `${who} changed ${name}${tail}`;
      const list = verbs.length === 1 ? verbs[0] : `${verbs.slice(0, -1).join(", ")} and ${verbs[verbs.length - 1]}`;
      const colour = verbs.length === 1 && d.color !== undefined ? ` ${COLOR_WORDS[d.color] ?? d.color}` : "";
      return `${who} ${list} ${name}${colour}${textChanged ? ` and changed its text${newText}` : ""}${tail}`;
    }
    case "note.deleted": {
      const before = then(ev.id);
      return before ? `${who} deleted ${before}` : `${who} deleted a note${now(ev.id)}`;
    }
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

/** Notes' texts at one seq, known exactly (the version being viewed). */
export interface KnownVersion {
  seq: number;
  notes: readonly { id: Id; text: string }[];
}

/** Whether `ev` sets, creates or removes a note's text; which note. */
function textTouched(ev: BoardEvent): Id | undefined {
  if (ev.kind === "note.created") return ev.note.id;
  if (ev.kind === "note.deleted") return ev.id;
  if (ev.kind === "note.updated" && ev.delta.text !== undefined) return ev.id;
  return undefined;
}

/** `texts` after `ev`. */
function apply(texts: Map<Id, string>, ev: BoardEvent): void {
  if (ev.kind === "note.created") texts.set(ev.note.id, ev.note.text);
  else if (ev.kind === "note.updated" && ev.delta.text !== undefined) texts.set(ev.id, ev.delta.text);
  else if (ev.kind === "note.deleted") texts.delete(ev.id);
}

/**
 * Sentences for a run of consecutive events (oldest first, none missing),
 * without replaying the board from its first event. A note is named by the
 * text it had just before the event when that is certain: set by an earlier
 * event of the run, or read from `known` (a version inside or just before the
 * run) with no event in between touching that note's text. Otherwise
 * `describeEvent`'s fallbacks apply (the event's own text, `nowOf`, "a note").
 */
export function describeRun(
  events: readonly BoardEvent[],
  known?: KnownVersion,
  nowOf?: (id: Id) => string | undefined,
): string[] {
  if (events.length === 0) return [];
  const from = events[0].seq;
  const to = events[events.length - 1].seq;
  const snap = known && known.seq >= from - 1 && known.seq <= to ? known : undefined;
  const snapTexts = new Map<Id, string>(snap?.notes.map((n) => [n.id, n.text]));
  // Before the version: its text holds back to the last event (≤ its seq) that touched the note's text.
  const lastTouch = new Map<Id, number>();
  if (snap)
    for (const ev of events) {
      if (ev.seq > snap.seq) break;
      const id = textTouched(ev);
      if (id !== undefined) lastTouch.set(id, ev.seq);
    }
  const replay = new Map<Id, string>(); // from the run's first event
  const fromSnap = new Map<Id, string>(snapTexts); // from the version on
  return events.map((ev) => {
    const textOf = (id: Id): string | undefined => {
      if (replay.has(id)) return replay.get(id);
      if (!snap) return undefined;
      if (ev.seq > snap.seq) return fromSnap.get(id);
      return (lastTouch.get(id) ?? 0) < ev.seq ? snapTexts.get(id) : undefined;
    };
    const sentence = describeEvent(ev, textOf, nowOf);
    apply(replay, ev);
    if (snap && ev.seq > snap.seq) apply(fromSnap, ev);
    return sentence;
  });
}
