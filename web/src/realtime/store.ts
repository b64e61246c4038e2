/**
 * The optimistic board store: confirmed state (built only from server events,
 * applied strictly in seq order) plus pending local mutations re-applied on
 * top of it after every change (a rebase, as in tldraw's TLSyncClient).
 *
 * - an event with seq ≤ the confirmed seq is a duplicate: ignored;
 * - an event beyond seq + 1 is held back and reported as a gap (the caller
 *   resubscribes with `since`); held events are applied once the gap fills;
 * - a pending mutation is dropped when its own event (same `op`) is applied,
 *   or when its result arrives and the confirmed seq has reached the result's seq;
 * - a rejected mutation is removed, which rolls its effect back.
 *
 * Every event kind of the contract is handled in `applyConfirmed`; the switch
 * ends in a `never` check, so a kind added to `BoardEvent` fails the typecheck
 * until it is handled here.
 */
import { Emitter } from "./emitter";
import type { Board, BoardEvent, Id, Note, NoteDelta, Snapshot, User } from "./protocol";

export interface BoardStoreOptions {
  /**
   * The signed-in user's id, once known. The board's `role` is this user's
   * role, so a `member.updated` naming them changes what they may do.
   */
  currentUserId?: () => Id | undefined;
}

export type PendingMutation =
  | { op: string; kind: "create"; note: Note }
  | { op: string; kind: "restore"; note: Note }
  | { op: string; kind: "update"; id: Id; delta: NoteDelta }
  | { op: string; kind: "delete"; id: Id }
  | { op: string; kind: "rename"; title: string };

type Pending = PendingMutation & { ackSeq?: number };

export type ApplyOutcome = "applied" | "duplicate" | "gap";

/** The fields of a note a change can write. */
export const NOTE_FIELDS = ["text", "x", "y", "w", "h", "color"] as const;
export type NoteField = (typeof NOTE_FIELDS)[number];

/** Who last wrote a field, and at which seq. `by` is null when unknown (learnt from a snapshot). */
export interface FieldWrite {
  by: Id | null;
  seq: number;
  /** The writer's username, to name them (e.g. in an edit conflict); absent when `by` is null. */
  name?: string;
}

export interface BoardView {
  board: Board | null;
  /** In stacking order (oldest first). */
  notes: Note[];
  byId: ReadonlyMap<Id, Note>;
  /** The confirmed seq. */
  seq: number;
  /** Ids of notes with unconfirmed local changes. */
  dirty: ReadonlySet<Id>;
  pending: number;
  /** True once a snapshot (or a replay on top of one) has been applied. */
  ready: boolean;
  /** The board was deleted (a `board.deleted` event). */
  deleted: boolean;
}

/** Upper bound of events held back while a gap is being filled. */
const MAX_HELD = 5_000;

export class BoardStore {
  readonly changes = new Emitter<BoardView>();

  private board: Board | null = null;
  private notes = new Map<Id, Note>();
  private seq = 0;
  private ready = false;
  private deleted = false;
  private pending: Pending[] = [];
  private held = new Map<number, BoardEvent>();
  /** Per note and field, the last confirmed write (for undo's "someone changed it since" rule). */
  private writes = new Map<Id, Partial<Record<NoteField, FieldWrite>>>();
  /** Per note, who wrote it last (the `by` of its newest `note.created`/`note.updated` seen); absent = unknown. */
  private editors = new Map<Id, User>();
  /** Text of notes with a loaded collaborative document: it includes edits not confirmed yet. */
  private localText = new Map<Id, { text: string; dirty: boolean }>();
  private view: BoardView;
  private readonly currentUserId: () => Id | undefined;

  constructor(
    readonly boardId: Id,
    opts: BoardStoreOptions = {},
  ) {
    this.currentUserId = opts.currentUserId ?? (() => undefined);
    this.view = this.computeView();
  }

  // ------------------------------------------------------------ reading

  getView(): BoardView {
    return this.view;
  }

  /** The confirmed seq (the resume position). */
  get confirmedSeq(): number {
    return this.seq;
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** The confirmed (server) version of a note, without local changes. */
  confirmedNote(id: Id): Note | undefined {
    return this.notes.get(id);
  }

  /** The confirmed state without local changes, for the offline cache; null before the first snapshot. */
  confirmedState(): { board: Board; notes: Note[]; seq: number } | null {
    if (!this.ready || !this.board) return null;
    return { board: this.board, notes: [...this.notes.values()], seq: this.seq };
  }

  pendingMutations(): readonly PendingMutation[] {
    return this.pending;
  }

  /** The last confirmed write of `field` of note `id`, if seen. */
  lastWrite(id: Id, field: NoteField): FieldWrite | undefined {
    return this.writes.get(id)?.[field];
  }

  /**
   * Who changed note `id` last, from the newest `note.created`/`note.updated`
   * event this client has seen; null when unknown (only a snapshot seen since,
   * or the note changed while the client was away).
   */
  lastEditor(id: Id): User | null {
    return this.editors.get(id) ?? null;
  }

  /**
   * The text a note's collaborative document holds (`null`: none any more).
   * It is shown in place of the confirmed text; `dirty` marks unsent or
   * unconfirmed edits.
   */
  setLocalText(id: Id, state: { text: string; dirty: boolean } | null): void {
    const cur = this.localText.get(id);
    if (state === null) {
      if (!cur) return;
      this.localText.delete(id);
    } else {
      if (cur && cur.text === state.text && cur.dirty === state.dirty) return;
      this.localText.set(id, state);
    }
    this.refresh();
  }

  // ------------------------------------------------------------ confirmed state

  /** Replaces the confirmed state (a `subscribed` snapshot or `board.get`). Pending mutations stay on top. */
  loadSnapshot(snapshot: Snapshot, seq: number): void {
    this.board = snapshot.board;
    const before = this.notes;
    this.notes = new Map(snapshot.notes.map((n) => [n.id, n]));
    // Fields changed while we were away: by someone unknown, at the note's version.
    for (const n of this.notes.values()) {
      const old = before.get(n.id);
      if (old && old.version === n.version) continue;
      this.editors.delete(n.id);
      const w = { ...this.writes.get(n.id) };
      for (const f of NOTE_FIELDS) if (!old || old[f] !== n[f]) w[f] = { by: null, seq: n.version };
      this.writes.set(n.id, w);
    }
    this.seq = seq;
    this.ready = true;
    this.deleted = false;
    for (const s of [...this.held.keys()]) if (s <= seq) this.held.delete(s);
    this.dropAcknowledged();
    this.drainHeld();
    this.refresh();
  }

  /** Marks the state as complete after a replay (`subscribed` without snapshot). */
  markReady(): void {
    if (!this.ready) {
      this.ready = true;
      this.refresh();
    }
  }

  /** Applies one event in seq order. */
  applyEvent(ev: BoardEvent): ApplyOutcome {
    if (ev.seq <= this.seq) return "duplicate";
    if (ev.seq > this.seq + 1) {
      if (this.held.size < MAX_HELD) this.held.set(ev.seq, ev);
      return "gap";
    }
    this.applyConfirmed(ev);
    this.drainHeld();
    this.refresh();
    return "applied";
  }

  /** Events received beyond a gap and waiting for it to fill. */
  get heldCount(): number {
    return this.held.size;
  }

  private drainHeld(): void {
    for (;;) {
      const next = this.held.get(this.seq + 1);
      if (!next) break;
      this.held.delete(next.seq);
      this.applyConfirmed(next);
    }
    for (const s of [...this.held.keys()]) if (s <= this.seq) this.held.delete(s);
  }

  private applyConfirmed(ev: BoardEvent): void {
    this.seq = ev.seq;
    switch (ev.kind) {
      case "note.created": {
        this.notes.set(ev.note.id, ev.note);
        const w: Partial<Record<NoteField, FieldWrite>> = {};
        for (const f of NOTE_FIELDS) w[f] = { by: ev.by.id, seq: ev.seq, name: ev.by.username };
        this.writes.set(ev.note.id, w);
        this.editors.set(ev.note.id, ev.by);
        break;
      }
      case "note.updated": {
        const n = this.notes.get(ev.id);
        if (n) this.notes.set(ev.id, { ...n, ...ev.delta, version: ev.version, updated_at: ev.at });
        const w = { ...this.writes.get(ev.id) };
        for (const f of NOTE_FIELDS) if (ev.delta[f] !== undefined) w[f] = { by: ev.by.id, seq: ev.seq, name: ev.by.username };
        this.writes.set(ev.id, w);
        this.editors.set(ev.id, ev.by);
        break;
      }
      case "note.deleted":
        this.notes.delete(ev.id);
        break;
      case "board.updated":
        if (this.board) this.board = { ...this.board, title: ev.title, seq: ev.seq, updated_at: ev.at };
        break;
      case "board.deleted":
        this.deleted = true;
        break;
      case "member.joined":
      case "member.updated":
        // The board carries the signed-in user's own role; other members' roles are not shown here.
        if (this.board && ev.user.id === this.currentUserId()) this.board = { ...this.board, role: ev.role };
        break;
      case "member.left":
        // Nothing in the board's state: when it is the signed-in user, BoardClient shows "revoked".
        break;
      default: {
        // Compile-time proof that every kind is handled; a newer server's unknown kind is skipped.
        const unhandled: never = ev;
        void unhandled;
      }
    }
    if (this.board) this.board = { ...this.board, seq: ev.seq };
    if (ev.op) this.pending = this.pending.filter((p) => p.op !== ev.op);
    this.dropAcknowledged();
  }

  private dropAcknowledged(): void {
    this.pending = this.pending.filter((p) => p.ackSeq === undefined || p.ackSeq > this.seq);
  }

  // ------------------------------------------------------------ pending mutations

  add(m: PendingMutation): void {
    this.pending.push({ ...m });
    this.refresh();
  }

  /** The server answered `op` with success at `seq`. */
  acknowledge(op: string, seq: number): void {
    const p = this.pending.find((x) => x.op === op);
    if (!p) return;
    p.ackSeq = seq;
    const before = this.pending.length;
    this.dropAcknowledged();
    if (this.pending.length !== before) this.refresh();
  }

  /** The server rejected `op`: remove it (its effect is rolled back). Returns what was removed. */
  reject(op: string): PendingMutation | undefined {
    const i = this.pending.findIndex((x) => x.op === op);
    if (i < 0) return undefined;
    const [removed] = this.pending.splice(i, 1);
    this.refresh();
    return removed;
  }

  // ------------------------------------------------------------ view

  private refresh(): void {
    if (this.batching > 0) {
      this.stale = true;
      return;
    }
    this.view = this.computeView();
    this.changes.emit(this.view);
  }

  private batching = 0;
  private stale = false;

  /**
   * Runs `fn` (many `add`s: a selection of 50 notes moved at once) with one
   * new view at the end instead of one per change: each view copies every note.
   * Inside it `getView()` is the view from before.
   */
  batch<T>(fn: () => T): T {
    this.batching++;
    try {
      return fn();
    } finally {
      if (--this.batching === 0 && this.stale) {
        this.stale = false;
        this.refresh();
      }
    }
  }

  /** confirmed ⊕ pending, in order. */
  private computeView(): BoardView {
    const notes = new Map(this.notes);
    let board = this.board;
    const dirty = new Set<Id>();
    for (const p of this.pending) {
      switch (p.kind) {
        case "create":
        case "restore":
          if (!notes.has(p.note.id)) notes.set(p.note.id, p.note);
          dirty.add(p.note.id);
          break;
        case "update": {
          const n = notes.get(p.id);
          if (n) {
            notes.set(p.id, { ...n, ...p.delta });
            dirty.add(p.id);
          }
          break;
        }
        case "delete":
          notes.delete(p.id);
          break;
        case "rename":
          if (board) board = { ...board, title: p.title };
          break;
      }
    }
    for (const [id, t] of this.localText) {
      const n = notes.get(id);
      if (!n) continue;
      if (n.text !== t.text) notes.set(id, { ...n, text: t.text });
      if (t.dirty) dirty.add(id);
    }
    return {
      board,
      notes: [...notes.values()],
      byId: notes,
      seq: this.seq,
      dirty,
      pending: this.pending.length,
      ready: this.ready,
      deleted: this.deleted,
    };
  }
}
