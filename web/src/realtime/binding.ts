/**
 * Binds a note's Y.Text to a textarea (anything with `value` and a
 * selection), without a framework:
 *
 * - the user's input becomes the smallest replacement in the Y.Text, as one
 *   local transaction (which the undo manager tracks and the note's document
 *   sends in the next frame);
 * - a change from elsewhere (someone else's edit, or this user's undo/redo)
 *   is written into the textarea with the caret and selection mapped through
 *   the change (the Yjs delta), so the caret stays on the same characters;
 *   after an undo/redo the caret goes to where the change happened;
 * - a rebuilt document (after a refused edit) replaces the value.
 */
import type { NoteText, TextChange } from "./text";
import { changeEnd, diffText, mapIndex } from "./textdiff";

export interface TextareaLike {
  value: string;
  selectionStart: number | null;
  selectionEnd: number | null;
  selectionDirection?: "forward" | "backward" | "none" | null;
  scrollTop?: number;
  setSelectionRange(start: number, end: number, direction?: "forward" | "backward" | "none"): void;
}

export class TextareaBinding {
  /** The text the textarea showed after the last sync: always the Y.Text's content. */
  private last: string;
  private readonly off: () => void;

  constructor(
    private readonly nt: NoteText,
    private readonly el: TextareaLike,
    /** Called after the value was replaced from elsewhere (e.g. to re-send the caret). */
    private readonly onRemote?: () => void,
  ) {
    this.last = nt.text;
    if (el.value !== this.last) el.value = this.last;
    this.off = nt.on({ change: (c) => this.changed(c), reset: () => this.reset() });
  }

  /** The textarea's `input` event: its new value goes into the document. */
  input(): void {
    const v = this.el.value;
    const d = diffText(this.last, v);
    if (!d) return;
    this.last = v;
    this.nt.localEdit((t) => {
      if (d.remove) t.delete(d.index, d.remove);
      if (d.insert) t.insert(d.index, d.insert);
    });
  }

  destroy(): void {
    this.off();
  }

  private changed(c: TextChange): void {
    const text = this.nt.text;
    if (text === this.el.value) {
      this.last = text;
      return;
    }
    let a = this.el.selectionStart ?? 0;
    let b = this.el.selectionEnd ?? a;
    if (c.local) {
      const end = changeEnd(c.delta);
      if (end !== null) a = b = end;
    } else {
      a = mapIndex(a, c.delta);
      b = mapIndex(b, c.delta);
    }
    this.write(text, a, b);
    this.onRemote?.();
  }

  private reset(): void {
    const text = this.nt.text;
    const a = Math.min(this.el.selectionStart ?? text.length, text.length);
    const b = Math.min(this.el.selectionEnd ?? a, text.length);
    this.write(text, a, b);
    this.onRemote?.();
  }

  private write(text: string, a: number, b: number): void {
    const dir = this.el.selectionDirection ?? undefined;
    const top = this.el.scrollTop;
    this.el.value = text;
    this.last = text;
    this.el.setSelectionRange(Math.min(a, text.length), Math.min(b, text.length), dir === null ? undefined : dir);
    if (top !== undefined) this.el.scrollTop = top;
  }
}
