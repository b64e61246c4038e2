/**
 * The board export format, `corkboard.board.v1`: what "Export" downloads and
 * "Import" reads. Reading checks the format and the server's limits before
 * anything is created, so a bad file is refused with a message saying where.
 */
import { NOTE_COLORS, type Note, type NoteColor } from "@/realtime/protocol";

export const BOARD_FORMAT = "corkboard.board.v1";
/** The server's defaults (`--max-notes-per-board`, `--max-note-text`, board title length). */
export const MAX_IMPORT_NOTES = 5000;
export const MAX_NOTE_TEXT = 10_000;
export const MAX_TITLE = 200;

/** One note of an exported board. */
export interface BoardFileNote {
  id?: string;
  x: number;
  y: number;
  w: number;
  h: number;
  color: NoteColor;
  text: string;
}

/** An exported board. */
export interface BoardFile {
  format: typeof BOARD_FORMAT;
  title: string;
  exported_at: string;
  seq: number;
  notes: BoardFileNote[];
}

/** The board as a `corkboard.board.v1` document. */
export function exportBoard(board: { title: string; seq: number }, notes: readonly Note[], now = new Date()): BoardFile {
  return {
    format: BOARD_FORMAT,
    title: board.title,
    exported_at: now.toISOString(),
    seq: board.seq,
    notes: notes.map((n) => ({ id: n.id, x: n.x, y: n.y, w: n.w, h: n.h, color: n.color, text: n.text })),
  };
}

/**
 * A file name for the download: the title's safe characters, e.g.
 * `groceries.corkboard.json`, or `groceries-v120.corkboard.json` for a past version.
 */
export function exportFileName(title: string, seq?: number): string {
  const base = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
  return `${base || "board"}${seq === undefined ? "" : `-v${seq}`}.corkboard.json`;
}

export type ParseResult = { ok: true; file: BoardFile } | { ok: false; error: string };

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Reads and checks an export; the error names the first problem (and the note, counted from 1). */
export function parseBoardFile(text: string): ParseResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, error: "This file is not JSON." };
  }
  if (!isObject(doc)) return { ok: false, error: "This file is not a Corkboard export (not a JSON object)." };
  if (doc.format !== BOARD_FORMAT)
    return { ok: false, error: `This file is not a Corkboard export (format should be "${BOARD_FORMAT}").` };
  const title = typeof doc.title === "string" ? doc.title.trim() : "";
  if (!title) return { ok: false, error: "The board has no title." };
  if ([...title].length > MAX_TITLE) return { ok: false, error: `The title is longer than ${MAX_TITLE} characters.` };
  if (!Array.isArray(doc.notes)) return { ok: false, error: "The file has no list of notes." };
  if (doc.notes.length > MAX_IMPORT_NOTES)
    return { ok: false, error: `The board has ${doc.notes.length} notes; a board holds at most ${MAX_IMPORT_NOTES}.` };
  const notes: BoardFileNote[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < doc.notes.length; i++) {
    const r = parseNote(doc.notes[i]);
    if (typeof r === "string") return { ok: false, error: `Note ${i + 1}: ${r}.` };
    if (r.id !== undefined) {
      if (ids.has(r.id)) return { ok: false, error: `Note ${i + 1}: the id "${r.id}" is used twice.` };
      ids.add(r.id);
    }
    notes.push(r);
  }
  return {
    ok: true,
    file: {
      format: BOARD_FORMAT,
      title,
      exported_at: typeof doc.exported_at === "string" ? doc.exported_at : "",
      seq: finite(doc.seq) ? doc.seq : 0,
      notes,
    },
  };
}

function parseNote(v: unknown): BoardFileNote | string {
  if (!isObject(v)) return "not an object";
  const { id, x, y, w, h, color, text } = v;
  if (id !== undefined && (typeof id !== "string" || !ID.test(id))) return "id must be 1–64 letters, digits, _ or -";
  if (!finite(x) || !finite(y)) return "x and y must be numbers";
  if (!finite(w) || !finite(h) || w <= 0 || h <= 0) return "w and h must be positive numbers";
  if (typeof color !== "string" || !(NOTE_COLORS as readonly string[]).includes(color))
    return `color must be one of ${NOTE_COLORS.join(", ")}`;
  if (typeof text !== "string") return "text must be a string";
  if ([...text].length > MAX_NOTE_TEXT) return `the text is longer than ${MAX_NOTE_TEXT.toLocaleString("en")} characters`;
  return { ...(id === undefined ? {} : { id }), x, y, w, h, color: color as NoteColor, text };
}
