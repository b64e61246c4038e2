/**
 * Undo and redo for one user on one board: one stack across every kind of
 * change, ordered by time.
 *
 * - Text steps point at a note's Y.UndoManager (which tracks only this
 *   user's own typing, so undoing text never touches anyone else's words).
 * - Create, move, resize, recolour and delete are undone by inverse
 *   mutations with new op ids (the host sends them like any change, so
 *   everyone sees an undo live); undo of a delete is `note.restore`.
 * - Undo never overwrites someone else's later change: a step remembers the
 *   seq its write committed at; if another user has written one of its
 *   fields since (per-field last writer, from the events), the step is
 *   skipped — dropped, with a message — instead of applied.
 * - A new change clears the redo stack.
 * - Steps recorded with the same `group` (the mutations of one "Restore this
 *   version") are undone and redone together, by one Undo.
 */
import type { Id, Note, NoteDelta } from "./protocol";
import { NOTE_FIELDS, type FieldWrite, type NoteField } from "./store";

export type StepKind = "text" | "create" | "update" | "delete";

export interface Step {
  kind: StepKind;
  note: Id;
  /** For "update": the fields' values before and after. */
  before?: NoteDelta;
  after?: NoteDelta;
  /** For "create"/"delete": the note as it was (for the message and the optimistic restore). */
  snapshot?: Note;
  /** The seq this step's own write committed at, once known. */
  seq?: number;
  /** The board's confirmed seq when the step was recorded (used until `seq` is known). */
  since: number;
  /** Steps with the same group (recorded one after another) are undone and redone as one. */
  group?: string;
}

export type Direction = "undo" | "redo";

export interface HistoryHost {
  /** The signed-in user's id. */
  me(): Id | undefined;
  lastWrite(note: Id, field: NoteField): FieldWrite | undefined;
  /** The board's confirmed seq now. */
  seq(): number;
  /** Undoes/redoes the newest text step of the note's undo manager; false when it has none. */
  text(note: Id, dir: Direction): boolean;
  /** Sends the mutation that undoes (or redoes) `step`; resolves with the seq it committed at. */
  apply(step: Step, dir: Direction): Promise<number>;
  /** A step was skipped: tell the user. */
  skipped(step: Step, dir: Direction, why: string): void;
  /** A step was recorded: other notes' text undo steps must not merge across it. */
  recorded?(step: Step): void;
  /** The redo stack was cleared by a new change. */
  redoCleared?(): void;
  changed?(): void;
}

/** The fields a step wrote (and whose later writers block its undo). */
export function stepFields(step: Step, dir: Direction): NoteField[] {
  switch (step.kind) {
    case "update":
      return NOTE_FIELDS.filter((f) => (dir === "undo" ? step.after : step.before)?.[f] !== undefined);
    case "create":
      // Undo deletes the note: blocked by any later change to it. Redo restores: nothing to overwrite.
      return dir === "undo" ? [...NOTE_FIELDS] : [];
    case "delete":
      // Undo restores; redo deletes again: blocked by any change since the restore.
      return dir === "undo" ? [] : [...NOTE_FIELDS];
    case "text":
      return [];
  }
}

export class History {
  private undoStack: Step[] = [];
  private redoStack: Step[] = [];

  constructor(private readonly host: HistoryHost) {}

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  /** Steps, oldest first (for tests and debugging). */
  stacks(): { undo: readonly Step[]; redo: readonly Step[] } {
    return { undo: this.undoStack, redo: this.redoStack };
  }

  /** A new change by this user. Returns the step (its `seq` is set when the write commits). */
  record(step: Omit<Step, "since"> & { since?: number }): Step {
    const s: Step = { ...step, since: step.since ?? this.host.seq() };
    this.undoStack.push(s);
    this.host.recorded?.(s);
    this.clearRedo();
    this.host.changed?.();
    return s;
  }

  /** A recorded change was refused by the server: it never happened. */
  forget(step: Step): void {
    const before = this.undoStack.length + this.redoStack.length;
    this.undoStack = this.undoStack.filter((s) => s !== step);
    this.redoStack = this.redoStack.filter((s) => s !== step);
    if (this.undoStack.length + this.redoStack.length !== before) this.host.changed?.();
  }

  /** Text steps of a note whose document was rebuilt: its undo manager starts empty. */
  forgetText(note: Id): void {
    this.undoStack = this.undoStack.filter((s) => !(s.kind === "text" && s.note === note));
    this.redoStack = this.redoStack.filter((s) => !(s.kind === "text" && s.note === note));
    this.host.changed?.();
  }

  undo(): boolean {
    return this.step("undo");
  }

  redo(): boolean {
    return this.step("redo");
  }

  /**
   * Ctrl+Z inside a note's editor: that note's newest text step first; when
   * the note has none, the board's history.
   */
  undoText(note: Id): boolean {
    return this.textFirst(note, "undo");
  }

  redoText(note: Id): boolean {
    return this.textFirst(note, "redo");
  }

  /** Whether someone else wrote one of the step's fields after the step's own write. */
  blocked(step: Step, dir: Direction): NoteField[] {
    const me = this.host.me();
    const after = step.seq ?? step.since;
    return stepFields(step, dir).filter((f) => {
      const w = this.host.lastWrite(step.note, f);
      return !!w && w.seq > after && (w.by === null || w.by !== me);
    });
  }

  private textFirst(note: Id, dir: Direction): boolean {
    const from = dir === "undo" ? this.undoStack : this.redoStack;
    const to = dir === "undo" ? this.redoStack : this.undoStack;
    for (let i = from.length - 1; i >= 0; i--) {
      const s = from[i];
      if (s.kind !== "text" || s.note !== note) continue;
      from.splice(i, 1);
      if (this.host.text(note, dir)) {
        to.push(s);
        this.host.changed?.();
        return true;
      }
    }
    // No text step of this note left on that side (or its document was rebuilt).
    if (this.host.text(note, dir)) return true;
    return this.step(dir);
  }

  private step(dir: Direction): boolean {
    const from = dir === "undo" ? this.undoStack : this.redoStack;
    const to = dir === "undo" ? this.redoStack : this.undoStack;
    for (;;) {
      const s = from.pop();
      if (!s) {
        this.host.changed?.();
        return false;
      }
      if (s.kind === "text") {
        if (this.host.text(s.note, dir)) {
          to.push(s);
          this.host.changed?.();
          return true;
        }
        continue; // nothing left in that note's manager: try the next step
      }
      const blocked = this.blocked(s, dir);
      if (blocked.length) {
        this.host.skipped(s, dir, `someone else changed its ${describe(blocked)} since`);
      } else {
        const moved: Step = { ...s, seq: undefined, since: this.host.seq() };
        to.push(moved);
        this.host.apply(s, dir).then(
          (seq) => {
            moved.seq = seq;
          },
          () => {
            // Refused (the host says so): the step is gone from both stacks.
            this.forget(moved);
          },
        );
      }
      // The rest of its group goes with it.
      if (s.group !== undefined && from.length > 0 && from[from.length - 1].group === s.group) continue;
      this.host.changed?.();
      return true;
    }
  }

  /** A change that joined an existing step (keystrokes merged into one text step) still clears redo. */
  clearRedo(): void {
    if (this.redoStack.length === 0) return;
    this.redoStack = [];
    this.host.redoCleared?.();
  }
}

function describe(fields: NoteField[]): string {
  const names = new Set(
    fields.map((f) => (f === "x" || f === "y" ? "position" : f === "w" || f === "h" ? "size" : f === "color" ? "colour" : "text")),
  );
  if (fields.length === NOTE_FIELDS.length) return "note";
  return [...names].join(" and ");
}
