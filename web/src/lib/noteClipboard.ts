/**
 * Copy and paste of notes between boards (and browsers' tabs). The system
 * clipboard gets two forms of one copy: `text/plain` listing the notes' texts
 * (useful anywhere else) and `text/html` carrying the notes as JSON in a
 * `data-corkboard` attribute, which a paste recognises. When the clipboard
 * cannot be used (permission denied, no async clipboard), the copy is kept in
 * localStorage instead, so paste on another board of this browser still works.
 */
import { NOTE_COLORS, type NoteColor } from "@/realtime/protocol";

/** The format tag of the JSON payload. */
export const CLIP_FORMAT = "corkboard.notes.v1";
/** The largest note text the server takes (characters). */
export const MAX_TEXT = 10_000;
/** At most this many notes per paste. */
export const MAX_PASTE = 200;

/** One copied note: everything but its identity, board and history. */
export interface ClipNote {
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
  color: NoteColor;
}

export interface ClipPayload {
  format: typeof CLIP_FORMAT;
  notes: ClipNote[];
}

export function toPayload(notes: readonly ClipNote[]): ClipPayload {
  return { format: CLIP_FORMAT, notes: notes.map(({ text, x, y, w, h, color }) => ({ text, x, y, w, h, color })) };
}

/** The plain-text form: the notes' texts, one paragraph each. */
export function toPlainText(p: ClipPayload): string {
  return p.notes.map((n) => n.text).join("\n\n");
}

const escapeAttr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const escapeText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The HTML form: the texts as paragraphs, the payload in `data-corkboard`. */
export function toHtml(p: ClipPayload): string {
  const body = p.notes.map((n) => `<p>${escapeText(n.text)}</p>`).join("");
  return `<div data-corkboard="${escapeAttr(JSON.stringify(p))}">${body}</div>`;
}

const num = (v: unknown, min: number, max: number): number | null =>
  typeof v === "number" && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : null;

/** A payload from JSON text, checked field by field; null when it is not one of ours. */
export function parsePayload(json: string): ClipPayload | null {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return null;
  }
  const r = raw as { format?: unknown; notes?: unknown };
  if (!r || r.format !== CLIP_FORMAT || !Array.isArray(r.notes)) return null;
  const notes: ClipNote[] = [];
  for (const n of r.notes.slice(0, MAX_PASTE) as Record<string, unknown>[]) {
    const x = num(n?.x, -1e9, 1e9);
    const y = num(n?.y, -1e9, 1e9);
    const w = num(n?.w, 40, 4000);
    const h = num(n?.h, 40, 4000);
    if (x === null || y === null || w === null || h === null) continue;
    const color = (NOTE_COLORS as readonly unknown[]).includes(n.color) ? (n.color as NoteColor) : "yellow";
    notes.push({ text: typeof n.text === "string" ? n.text.slice(0, MAX_TEXT) : "", x, y, w, h, color });
  }
  return notes.length ? { format: CLIP_FORMAT, notes } : null;
}

/** The payload inside copied HTML (what `toHtml` wrote), or null. */
export function fromHtml(html: string): ClipPayload | null {
  const m = /data-corkboard="([^"]*)"/.exec(html);
  if (!m) return null;
  const json = m[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  return parsePayload(json);
}

/**
 * The notes to create for a paste with their top-left corner group at
 * (`x`, `y`): the copied layout is kept, moved as a whole.
 */
export function placeAt(p: ClipPayload, x: number, y: number): ClipNote[] {
  const minX = Math.min(...p.notes.map((n) => n.x));
  const minY = Math.min(...p.notes.map((n) => n.y));
  return p.notes.map((n) => ({ ...n, x: Math.round(x + n.x - minX), y: Math.round(y + n.y - minY) }));
}

/** Plain text from elsewhere pasted on the board: one note, cut to the limit (`cut` says by how much). */
export function noteFromText(text: string): { text: string; cut: number } {
  const chars = [...text];
  return chars.length > MAX_TEXT ? { text: chars.slice(0, MAX_TEXT).join(""), cut: chars.length - MAX_TEXT } : { text, cut: 0 };
}

const MEMORY_KEY = "corkboard.clipboard";

/** What a copy did: the system clipboard took it, or only this browser's fallback. */
export type CopyResult = "clipboard" | "memory";

/**
 * Writes the copy to the system clipboard (both forms) and, always, to the
 * local fallback (so a paste where reading the clipboard is refused still works).
 */
export async function writeNotes(p: ClipPayload): Promise<CopyResult> {
  keep(p);
  try {
    const item = new ClipboardItem({
      "text/plain": new Blob([toPlainText(p)], { type: "text/plain" }),
      "text/html": new Blob([toHtml(p)], { type: "text/html" }),
    });
    await navigator.clipboard.write([item]);
    return "clipboard";
  } catch {
    try {
      await navigator.clipboard.writeText(toPlainText(p));
    } catch {
      // no clipboard at all: the fallback has it
    }
    return "memory";
  }
}

/**
 * What a paste brings: our notes (from the clipboard's HTML, else the local
 * fallback when the clipboard cannot be read), or plain text from elsewhere.
 */
export async function readClipboard(): Promise<{ notes: ClipPayload } | { text: string } | null> {
  try {
    const items = await navigator.clipboard.read();
    let text: string | null = null;
    for (const item of items) {
      if (item.types.includes("text/html")) {
        const p = fromHtml(await (await item.getType("text/html")).text());
        if (p) return { notes: p };
      }
      if (item.types.includes("text/plain")) text = await (await item.getType("text/plain")).text();
    }
    // The system clipboard holds something else: that is what the user copied last.
    if (text !== null) return text.trim() ? { text } : null;
    return null;
  } catch {
    const p = recall();
    return p ? { notes: p } : null;
  }
}

function keep(p: ClipPayload): void {
  try {
    localStorage.setItem(MEMORY_KEY, JSON.stringify(p));
  } catch {
    // nothing kept
  }
}

function recall(): ClipPayload | null {
  try {
    const raw = localStorage.getItem(MEMORY_KEY);
    return raw ? parsePayload(raw) : null;
  } catch {
    return null;
  }
}
