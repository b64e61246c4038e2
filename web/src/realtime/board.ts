/**
 * One open board: ties the tab's Connection to a BoardStore, and keeps the
 * ephemeral state (presence, cursors, typing) and the user-facing notices
 * (rollbacks and conflicts).
 */
import type { Connection } from "./connection";
import { Emitter } from "./emitter";
import type { RpcError } from "./errors";
import { History, type Direction, type Step } from "./history";
import {
  textUpdateOf,
  type BoardEvent,
  type BoardMessage,
  type CursorSignal,
  type DragSignal,
  type Id,
  MAX_DRAG_SIGNAL,
  MAX_SELECTED_SIGNAL,
  type Note,
  type NoteColor,
  type NoteDelta,
  type Presence,
  type Role,
  type SelectionSignal,
  type TypingSignal,
  type User,
  type ViewportSignal,
} from "./protocol";
import { restoredDelta, type RestoreChange } from "./restorePlan";
import { conflictAuthor } from "./conflictAuthor";
import { raisedToSendBack } from "./stacking";
import { BoardStore, NOTE_FIELDS, type PendingMutation } from "./store";
import type { LostReason, NoteText, NoteTexts } from "./text";
import { throttle } from "./throttle";

export type BoardStatus = "loading" | "ready" | "not_found" | "revoked" | "deleted";

export type Notice =
  | { id: string; kind: "error"; message: string }
  /** Not a failure: e.g. an undo step skipped because someone else changed the note since. */
  | { id: string; kind: "info"; message: string }
  /** Text the server did not keep (refused, too long, or the note is gone): shown so it is not lost. */
  | { id: string; kind: "lost"; message: string; note: Id; text: string; reason: LostReason }
  | {
      id: string;
      kind: "conflict";
      message: string;
      note: Id;
      /** Who wrote the note last, when the client has seen it (null: "someone else"). */
      by: string | null;
      /** The fields the user tried to write. */
      mine: NoteDelta;
      /** The note as the server has it now. */
      theirs: Note;
    };

/** What "Restore this version" did: the mutations the server applied, and the ones it refused. */
export interface RestoreOutcome {
  applied: number;
  failed: { change: RestoreChange; error: RpcError }[];
}

export interface Cursor {
  user: User;
  x: number;
  y: number;
  at: number;
}

export interface Typing {
  user: User;
  note: Id;
  at: number;
}

/** Someone else's caret or selection in a note's text. */
export interface RemoteSelection {
  user: User;
  note: Id;
  /** Yjs relative positions (base64), when sent. */
  anchor?: string;
  head?: string;
  /** Plain indexes, the fallback. */
  index: [number, number];
  at: number;
}

/** Someone else's drag in progress: where their notes are now, before the move is committed. */
export interface RemoteDrag {
  user: User;
  notes: { id: Id; x: number; y: number }[];
  at: number;
  /** The drag ended (`notes: []` received): kept briefly until the committed move arrives. */
  ended: boolean;
}

/** What another user looks at (`viewport` signal), and the notes they have selected. */
export interface RemoteViewport extends ViewportSignal {
  user: User;
  selected: Id[];
  at: number;
}

/** A `member.*` event of this board (the members panel follows them live). */
export type MemberEvent = Extract<BoardEvent, { kind: "member.joined" | "member.updated" | "member.left" }>;

/** Someone else changed this user's role on the board: said on screen, with who did it. */
export interface RoleChange {
  by: User;
  role: Role;
}

export interface BoardMeta {
  status: BoardStatus;
  /**
   * With status "revoked": who took this user off the board, when the
   * board saw it (`member.left`'s `by`; this user when they left in another
   * tab); null when only `unsubscribed` said so.
   */
  removedBy: User | null;
  /** The last change of this user's role made by someone else, until dismissed. */
  roleChange: RoleChange | null;
  presence: Presence[];
  cursors: Cursor[];
  typing: Typing[];
  notices: Notice[];
  selections: RemoteSelection[];
  drags: RemoteDrag[];
  viewports: RemoteViewport[];
  /** Counts member events seen (joined, role changed, left): a cached member list older than this is stale. */
  membersVersion: number;
  canUndo: boolean;
  canRedo: boolean;
}

export interface BoardClientOptions {
  uuid?: () => string;
  /** Max cursor signals per second. */
  cursorRate?: number;
  /** Remote cursors / typing marks disappear after this long without news (ms). */
  signalTtlMs?: number;
  /** Remote carets disappear after this long without news (ms); editors re-send theirs more often. */
  selectionTtlMs?: number;
  /** Max selection signals per second. */
  selectionRate?: number;
  /** Max drag signals per second (latest position only). */
  dragRate?: number;
  /** A remote drag without news for this long is dropped (ms). */
  dragTtlMs?: number;
  /** After a drag's end signal, its positions stay this long unless the committed move arrives first (ms). */
  dragLingerMs?: number;
  /** Max viewport signals per second. */
  viewportRate?: number;
  /** Schedules a note's text edits for the next frame (tests pass their own). */
  frame?: (cb: () => void) => void;
  /** Keystrokes closer than this are one text undo step (ms). */
  captureTimeoutMs?: number;
  /**
   * Loads the collaborative text module (Yjs). By default a dynamic import, so
   * Yjs is not part of the board page's first load: it arrives right after.
   * Tests pass the module itself (no promise: ready at once).
   */
  loadText?: () => TextModule | Promise<TextModule>;
}

type TextModule = typeof import("./text");

/** How often an open editor repeats its caret so that others' copies do not expire (ms). */
export const SELECTION_REFRESH_MS = 2000;

export const DEFAULT_NOTE_SIZE = { w: 200, h: 140 };

/** What `createNote` needs: a position, the rest has defaults. */
export interface NoteInput {
  x: number;
  y: number;
  text?: string;
  color?: NoteColor;
  w?: number;
  h?: number;
}

const defaultUuid = () => crypto.randomUUID();

export class BoardClient {
  readonly store: BoardStore;
  readonly meta = new Emitter<BoardMeta>();
  /** Every `member.*` event, once each, in seq order. */
  readonly memberEvents = new Emitter<MemberEvent>();
  /** The notes' collaborative text documents (null until the module is loaded). */
  texts: NoteTexts | null = null;
  private textModule: TextModule | null = null;
  private readonly textLoaded: Promise<void>;
  /** Notes this tab created empty before the text module arrived. */
  private readonly emptyNotes = new Set<Id>();
  private readonly textOptions: { frame?: (cb: () => void) => void; captureTimeoutMs?: number };
  /** This user's undo/redo on this board. */
  readonly history: History;

  private status: BoardStatus = "loading";
  private presence = new Map<Id, Presence>();
  private cursors = new Map<Id, Cursor>();
  private typing = new Map<Id, Typing>();
  private selections = new Map<Id, RemoteSelection>();
  private drags = new Map<Id, RemoteDrag>();
  private viewports = new Map<Id, RemoteViewport>();
  /** This user's view and selected notes, re-sent when someone joins (so a follower has it at once). */
  private myViewport: ViewportSignal | null = null;
  private mySelected: Id[] = [];
  private membersVersion = 0;
  /**
   * The server has answered `subscribed` on this connection: before that a
   * signal would be refused as `not_found` (and read as "board not found").
   */
  private live = false;
  /** This user is dragging notes (their cursor is not sent meanwhile). */
  private dragActive = false;
  private notices: Notice[] = [];
  private removedBy: User | null = null;
  private roleChange: RoleChange | null = null;
  private metaSnapshot: BoardMeta;
  private unsubscribe: (() => void) | null = null;
  private resyncing = false;
  private stopped = false;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  /** Per note: the version right after this client's last confirmed text write. */
  private ownTextVersion = new Map<Id, number>();
  private readonly uuid: () => string;
  private readonly ttl: number;
  private readonly selectionTtl: number;
  readonly sendCursor: ((x: number, y: number) => void) & { cancel(): void };
  private readonly sendSelectionNow: ((data: SelectionSignal) => void) & { cancel(): void };
  private readonly sendDragNow: ((data: DragSignal) => void) & { cancel(): void };
  private readonly sendViewportNow: (() => void) & { cancel(): void };
  private readonly dragTtl: number;
  private readonly dragLinger: number;

  constructor(
    private readonly conn: Connection,
    readonly boardId: Id,
    opts: BoardClientOptions = {},
  ) {
    this.store = new BoardStore(boardId, { currentUserId: () => this.conn.user?.id });
    this.uuid = opts.uuid ?? defaultUuid;
    this.ttl = opts.signalTtlMs ?? 10_000;
    this.sendCursor = throttle((x: number, y: number) => {
      // While dragging, the drag signal shows where the pointer is: cursor + drag would be ~50/s, the server's limit.
      if (this.dragActive || !this.live) return;
      this.conn.signal(this.boardId, "cursor", { x: Math.round(x), y: Math.round(y) } satisfies CursorSignal);
    }, 1000 / (opts.cursorRate ?? 20));
    this.selectionTtl = opts.selectionTtlMs ?? 5_000;
    this.sendSelectionNow = throttle((data: SelectionSignal) => {
      if (this.live) this.conn.signal(this.boardId, "selection", data);
    }, 1000 / (opts.selectionRate ?? 15));
    this.sendDragNow = throttle((data: DragSignal) => {
      this.conn.signal(this.boardId, "drag", data);
    }, 1000 / (opts.dragRate ?? 30));
    this.dragTtl = opts.dragTtlMs ?? 2_000;
    this.dragLinger = opts.dragLingerMs ?? 1_000;
    this.sendViewportNow = throttle(() => this.signalViewport(), 1000 / (opts.viewportRate ?? 10));
    this.textOptions = { frame: opts.frame, captureTimeoutMs: opts.captureTimeoutMs };
    const loading = (opts.loadText ?? (() => import("./text")))();
    this.history = new History({
      me: () => this.conn.user?.id,
      lastWrite: (id, f) => this.store.lastWrite(id, f),
      seq: () => this.store.confirmedSeq,
      text: (id, dir) => this.textStep(id, dir),
      apply: (step, dir) => this.applyStep(step, dir),
      skipped: (step, dir, why) => this.info(`${dir === "undo" ? "Undo" : "Redo"} skipped: ${why}.`),
      recorded: (step) => this.texts?.stopCapturing(step.kind === "text" ? step.note : undefined),
      redoCleared: () => this.texts?.clearRedo(),
      changed: () => this.emitMeta(),
    });
    this.metaSnapshot = this.computeMeta();
    if (loading instanceof Promise) {
      this.textLoaded = loading.then(
        (m) => this.textReady(m),
        () => undefined, // offline at first load: the editor says it cannot load
      );
    } else {
      this.textReady(loading);
      this.textLoaded = Promise.resolve();
    }
  }

  private textReady(m: TextModule): void {
    if (this.texts || this.stopped) return;
    this.textModule = m;
    this.texts = new m.NoteTexts({
      uuid: this.uuid,
      frame: this.textOptions.frame,
      captureTimeoutMs: this.textOptions.captureTimeoutMs,
      transport: {
        textState: (id) => this.conn.rpc("note.text_state", { board: this.boardId, id }),
        // The outbox's own promise, not a derived one: a rejection must be seen before the outbox sends the next edit.
        edit: (id, op, build, lane = id) => this.conn.mutate("note.edit", op, lane, () => ({ board: this.boardId, id, op, update: build() })),
        cancel: (op) => this.conn.cancelMutation(op),
      },
      onText: (id, state) => this.store.setLocalText(id, state),
      onLost: (id, lost) => this.lostText(id, lost.text, lost.reason, lost.message),
      onUndoable: (id, merged) => {
        if (merged) this.history.clearRedo();
        else this.history.record({ kind: "text", note: id });
      },
    });
    for (const id of this.emptyNotes) if (this.store.getView().byId.get(id)?.text === "") this.texts.createEmpty(id);
    this.emptyNotes.clear();
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.conn.subscribeBoard(this.boardId, {
      since: () => (this.store.isReady ? this.store.confirmedSeq : undefined),
      onMessage: (m) => this.onMessage(m),
      onDisconnect: () => {
        this.resyncing = false;
        this.live = false;
        this.presence.clear();
        this.cursors.clear();
        this.typing.clear();
        this.selections.clear();
        this.drags.clear();
        this.viewports.clear();
        this.emitMeta();
      },
    });
    this.sweepTimer = setInterval(() => this.sweep(), 250);
  }

  /** Sends typed text at once rather than at the next frame (the page is being hidden, or `leaving`). */
  flushText(leaving: boolean): void {
    this.texts?.flushAll(leaving);
  }

  stop(): void {
    this.stopped = true;
    this.sendCursor.cancel();
    this.sendSelectionNow.cancel();
    this.sendDragNow.cancel();
    this.sendViewportNow.cancel();
    this.texts?.stop();
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  getMeta(): BoardMeta {
    return this.metaSnapshot;
  }

  // ------------------------------------------------------------ mutations

  /** Creates a note (optimistically, with a client id). Returns the id. */
  createNote(input: NoteInput, group?: string): Id {
    const id = this.uuid();
    const me = this.conn.user ?? { id: "", username: "" };
    const note: Note = {
      id,
      board: this.boardId,
      text: input.text ?? "",
      x: input.x,
      y: input.y,
      w: input.w ?? DEFAULT_NOTE_SIZE.w,
      h: input.h ?? DEFAULT_NOTE_SIZE.h,
      color: input.color ?? "yellow",
      version: 0,
      created_by: me,
      updated_at: new Date().toISOString(),
    };
    // An empty note's document is empty on the server too: typing can start before the create is answered.
    if (!note.text) {
      if (this.texts) this.texts.createEmpty(id);
      else this.emptyNotes.add(id);
    }
    const step = this.history.record({ kind: "create", note: id, snapshot: note, group });
    this.sendCreate(note).then(
      (seq) => {
        step.seq = seq;
      },
      () => this.history.forget(step),
    );
    return id;
  }

  /** `note.create` of `note` (optimistic); resolves with the seq, rejects (after the notice) when refused. */
  private sendCreate(note: Note): Promise<number> {
    const op = this.uuid();
    this.store.add({ op, kind: "create", note });
    const params = {
      board: this.boardId,
      id: note.id,
      op,
      text: note.text,
      x: note.x,
      y: note.y,
      w: note.w,
      h: note.h,
      color: note.color,
    };
    return this.conn.mutate("note.create", op, note.id, () => params).then(
      (r) => {
        // The create wrote the text: an edit begun before it was confirmed is based on it.
        this.ownTextVersion.set(note.id, r.note.version);
        this.store.acknowledge(op, r.seq);
        return r.seq;
      },
      (e: RpcError) => {
        this.rejected(op, e, "create the note");
        throw e;
      },
    );
  }

  /**
   * Changes fields of a note, last-writer-wins per field (an undoable step
   * unless `record: false`). With `baseVersion` (plain text replacement), the
   * server refuses the write if another user changed one of these fields
   * after that version, and a conflict notice appears.
   */
  updateNote(id: Id, delta: NoteDelta, opts: { baseVersion?: number; record?: boolean } = {}): Promise<void> {
    return this.sendUpdate(id, delta, opts).then(
      () => undefined,
      () => undefined,
    );
  }

  /** `updateNote` that resolves with the seq and rejects (after the notice) when refused. */
  private sendUpdate(
    id: Id,
    delta: NoteDelta,
    opts: { baseVersion?: number; record?: boolean; group?: string } = {},
  ): Promise<number> {
    const op = this.uuid();
    const current = this.store.getView().byId.get(id);
    let step: Step | null = null;
    // Text has its own undo (the note's Y.UndoManager); a restore's step undoes the other fields it wrote.
    const fields = (Object.keys(delta) as (keyof NoteDelta)[]).filter((k) => k !== "text");
    if (opts.record !== false && current && (delta.text === undefined || opts.group !== undefined) && fields.length) {
      const before: NoteDelta = {};
      const after: NoteDelta = {};
      for (const k of fields) {
        (before as Record<string, unknown>)[k] = current[k];
        (after as Record<string, unknown>)[k] = delta[k];
      }
      step = this.history.record({ kind: "update", note: id, before, after, group: opts.group });
    }
    this.store.add({ op, kind: "update", id, delta });
    const base = opts.baseVersion;
    const build = () => {
      const params: Record<string, unknown> = { board: this.boardId, id, op, ...delta };
      if (base !== undefined) {
        // After our own earlier write of the text, that write is the base.
        params.base_version = Math.max(base, "text" in delta ? (this.ownTextVersion.get(id) ?? 0) : 0);
      }
      return params as { board: Id; id: Id };
    };
    return this.conn.mutate("note.update", op, id, build).then(
      (r) => {
        if ("text" in delta) this.ownTextVersion.set(id, r.note.version);
        if (step) step.seq = r.seq;
        this.store.acknowledge(op, r.seq);
        return r.seq;
      },
      (e: RpcError) => {
        if (step) this.history.forget(step);
        this.rejected(op, e, "save the note", { id, delta });
        throw e;
      },
    );
  }

  deleteNote(id: Id, group?: string): void {
    const snapshot = this.store.getView().byId.get(id);
    const step = snapshot ? this.history.record({ kind: "delete", note: id, snapshot, group }) : null;
    this.sendDelete(id).then(
      (seq) => {
        if (step) step.seq = seq;
      },
      () => {
        if (step) this.history.forget(step);
      },
    );
  }

  private sendDelete(id: Id): Promise<number> {
    const op = this.uuid();
    this.store.add({ op, kind: "delete", id });
    return this.conn.mutate("note.delete", op, id, () => ({ board: this.boardId, id, op })).then(
      (r) => {
        this.store.acknowledge(op, r.seq);
        return r.seq;
      },
      (e: RpcError) => {
        this.rejected(op, e, "delete the note");
        throw e;
      },
    );
  }

  // ------------------------------------------------------------ selections (one undo step each)

  /**
   * Changes of several notes as one change for undo: each note gets its own
   * `note.update` through the outbox (optimistic, rolled back one by one when
   * refused), recorded as one undo group, so one Undo takes them all back.
   */
  updateNotes(changes: readonly { id: Id; delta: NoteDelta }[]): void {
    const group = changes.length > 1 ? this.uuid() : undefined;
    this.store.batch(() => {
      for (const c of changes) void this.sendUpdate(c.id, c.delta, { group }).catch(() => undefined);
    });
  }

  /** Deletes several notes as one undo step (one Undo restores them all). */
  deleteNotes(ids: readonly Id[]): void {
    const group = ids.length > 1 ? this.uuid() : undefined;
    this.store.batch(() => {
      for (const id of ids) this.deleteNote(id, group);
    });
  }

  /** Creates several notes (duplicate, paste) as one undo step. Returns their ids, in order. */
  createNotes(inputs: readonly NoteInput[]): Id[] {
    const group = inputs.length > 1 ? this.uuid() : undefined;
    return this.store.batch(() => inputs.map((n) => this.createNote(n, group)));
  }

  /**
   * "Bring to front": notes stack by `version` (the seq of their last change),
   * so writing a note's own `x` again puts it on top for everyone. Not an undo
   * step (undoing it would change nothing visible but the stacking).
   */
  bringToFront(ids: readonly Id[]): void {
    const byId = this.store.getView().byId;
    for (const id of ids) {
      const n = byId.get(id);
      if (n) void this.updateNote(id, { x: n.x }, { record: false });
    }
  }

  /**
   * "Send to back": with stacking by `version`, a note cannot go down, so the
   * notes above it come up instead: `raisedToSendBack` picks those that
   * overlap it (and those that must stay above them) and they are written
   * again, oldest first, keeping their order. Nothing else changes; not an undo step.
   */
  sendToBack(ids: readonly Id[]): void {
    this.bringToFront(raisedToSendBack(this.store.getView().notes, new Set(ids)));
  }

  /** `note.restore`: brings a deleted note back (undo of a delete, redo of a create). */
  private sendRestore(id: Id, snapshot: Note | undefined): Promise<number> {
    const op = this.uuid();
    if (snapshot) this.store.add({ op, kind: "restore", note: snapshot });
    return this.conn.mutate("note.restore", op, id, () => ({ board: this.boardId, id, op })).then(
      (r) => {
        this.store.acknowledge(op, r.seq);
        return r.seq;
      },
      (e: RpcError) => {
        this.rejected(op, e, "restore the note");
        throw e;
      },
    );
  }

  // ------------------------------------------------------------ restore a version

  /**
   * "Restore this version": sends `plan` (from `planRestore`) as ordinary
   * mutations by this user, each with its own op id through the outbox, and
   * records them as one undo group (one Undo takes the whole restore back).
   * Resolves when every mutation is answered; never rejects.
   */
  async restoreVersion(plan: readonly RestoreChange[]): Promise<RestoreOutcome> {
    const group = this.uuid();
    const outcome: RestoreOutcome = { applied: 0, failed: [] };
    await Promise.all(
      plan.map((c) =>
        this.sendRestoreChange(c, group).then(
          () => {
            outcome.applied++;
          },
          (error: RpcError) => {
            outcome.failed.push({ change: c, error });
          },
        ),
      ),
    );
    return outcome;
  }

  private sendRestoreChange(c: RestoreChange, group: string): Promise<number> {
    switch (c.kind) {
      case "update":
        return this.sendUpdate(c.id, c.delta, { group });
      case "delete": {
        const step = this.history.record({ kind: "delete", note: c.id, snapshot: c.note, group });
        return this.sendDelete(c.id).then(
          (seq) => (step.seq = seq),
          (e: RpcError) => {
            this.history.forget(step);
            throw e;
          },
        );
      }
      case "restore": {
        const step = this.history.record({ kind: "create", note: c.note.id, snapshot: c.note, group });
        return this.restoreOrRecreate(c.note).then(
          ({ id, seq, note }) => {
            step.note = id;
            step.seq = seq;
            // `note.restore` brings the note back as it was when deleted, which
            // may differ from the version (moved or edited after it): set those fields.
            const delta = restoredDelta(note, c.note);
            return delta ? this.sendUpdate(id, delta, { group }) : seq;
          },
          (e: RpcError) => {
            this.history.forget(step);
            throw e;
          },
        );
      }
    }
  }

  /**
   * `note.restore` under the note's id; when the server no longer keeps it
   * (`not_found`) or the id is taken (`conflict`), `note.create` with its old
   * content (a new id when taken). Resolves with the id the note has now.
   */
  private restoreOrRecreate(note: Note): Promise<{ id: Id; seq: number; note: Note }> {
    const op = this.uuid();
    this.store.add({ op, kind: "restore", note });
    return this.conn.mutate("note.restore", op, note.id, () => ({ board: this.boardId, id: note.id, op })).then(
      (r) => {
        this.store.acknowledge(op, r.seq);
        return { id: note.id, seq: r.seq, note: r.note };
      },
      (e: RpcError) => {
        if (e.code !== "not_found" && e.code !== "conflict") {
          this.rejected(op, e, "restore the note");
          throw e;
        }
        this.store.reject(op);
        const id = e.code === "conflict" ? this.uuid() : note.id;
        const created = { ...note, id, board: this.boardId, version: 0 };
        return this.sendCreate(created).then((seq) => ({ id, seq, note: created }));
      },
    );
  }

  // ------------------------------------------------------------ undo / redo

  /** Undoes this user's newest change on the board (text, create, move, resize, recolour or delete). */
  undo(): void {
    this.history.undo();
  }

  redo(): void {
    this.history.redo();
  }

  /** Ctrl+Z in a note's editor: that note's text first. */
  undoText(note: Id): void {
    this.history.undoText(note);
  }

  redoText(note: Id): void {
    this.history.redoText(note);
  }

  private textStep(id: Id, dir: Direction): boolean {
    const nt = this.texts?.get(id);
    if (!nt || nt.status !== "ready" || !this.store.getView().byId.has(id)) return false;
    const um = nt.undo;
    if (dir === "undo" ? !um.canUndo() : !um.canRedo()) return false;
    if (dir === "undo") um.undo();
    else um.redo();
    return true;
  }

  private applyStep(step: Step, dir: Direction): Promise<number> {
    const undo = dir === "undo";
    switch (step.kind) {
      case "update":
        return this.sendUpdate(step.note, (undo ? step.before : step.after) ?? {}, { record: false });
      case "create":
        return undo ? this.sendDelete(step.note) : this.sendRestore(step.note, step.snapshot);
      case "delete":
        return undo ? this.sendRestore(step.note, step.snapshot) : this.sendDelete(step.note);
      case "text":
        return Promise.reject(new Error("text steps are undone by the note's undo manager"));
    }
  }

  // ------------------------------------------------------------ collaborative text

  /** The note's text document (loaded on first use, kept while the board is open); null before the text module is loaded. */
  openText(id: Id): NoteText | null {
    return this.texts?.open(id) ?? null;
  }

  /** `openText` once the text module is loaded (null if it could not be). */
  async openTextWhenReady(id: Id): Promise<NoteText | null> {
    await this.textLoaded;
    return this.stopped ? null : this.openText(id);
  }

  /** Writes text from a lost-text notice back into its note (as this user's edit). */
  restoreLostText(noticeId: string): void {
    const n = this.notices.find((x) => x.id === noticeId);
    if (!n || n.kind !== "lost") return;
    this.dismiss(noticeId);
    const nt = this.texts?.get(n.note);
    const gone = n.reason === "gone" || !this.store.getView().byId.has(n.note);
    if (!gone && nt && nt.status === "ready") this.texts?.restoreLost(n.note, n.text);
    else if (!gone) void this.updateNote(n.note, { text: n.text }, { record: false });
    // The note was deleted meanwhile: bring it back, then write the text into it.
    else
      this.sendRestore(n.note, undefined).then(
        () => void this.updateNote(n.note, { text: n.text }, { record: false }),
        () => undefined, // the refusal is shown by sendRestore
      );
  }

  /**
   * A mutation made in an earlier page load (journaled while offline) that the
   * server refused: shown with what it carried, never dropped silently.
   */
  showRefused(m: { view: PendingMutation | null; text?: string }, error: { code: string; message: string }): void {
    const v = m.view;
    const note = v && (v.kind === "create" || v.kind === "restore" ? v.note.id : v.kind === "rename" ? undefined : v.id);
    const message = error.message;
    if (note && m.text !== undefined) {
      this.lostText(note, m.text, error.code === "not_found" || !this.store.getView().byId.has(note) ? "gone" : "rejected", message);
      return;
    }
    this.notices.push({ id: this.uuid(), kind: "error", message: `Couldn't save a change made offline: ${message}` });
    this.emitMeta();
  }

  private lostText(note: Id, text: string, reason: LostReason, message: string): void {
    this.history.forgetText(note);
    const why =
      reason === "too_large"
        ? "Your text is longer than a note may hold, so it was not saved."
        : reason === "gone"
          ? "The note is gone, so your text was not saved."
          : `Your text could not be saved (${message}).`;
    this.notices = this.notices.filter((x) => !(x.kind === "lost" && x.note === note));
    this.notices.push({ id: this.uuid(), kind: "lost", message: why, note, text, reason });
    this.emitMeta();
  }

  private info(message: string): void {
    this.notices.push({ id: this.uuid(), kind: "info", message });
    this.emitMeta();
  }

  /**
   * Shows this user's caret or selection in `note` to the others (throttled):
   * as Yjs relative positions, which stay on the same characters while people
   * type, plus plain indexes. `note: null` = stopped editing (sent at once).
   */
  sendSelection(note: Id | null, anchor = 0, head = anchor): void {
    if (note === null) {
      this.sendSelectionNow.cancel();
      if (this.live) this.conn.signal(this.boardId, "selection", { note: null } satisfies SelectionSignal);
      return;
    }
    const data: SelectionSignal = { note, index: [anchor, head] };
    const nt = this.texts?.get(note);
    const m = this.textModule;
    if (nt && m && nt.status === "ready") {
      data.anchor = m.relativeAt(nt, anchor);
      data.head = anchor === head ? data.anchor : m.relativeAt(nt, head);
    }
    this.sendSelectionNow(data);
  }

  /** A remote selection as `[anchor, head]` indexes into the note's current text. */
  resolveSelection(sel: RemoteSelection, textLength: number): [number, number] {
    const nt = this.texts?.get(sel.note);
    const m = this.textModule;
    const clamp = (i: number) => Math.max(0, Math.min(textLength, i));
    if (nt && m && nt.status === "ready" && sel.anchor && sel.head) {
      const a = m.resolveRelative(nt, sel.anchor);
      const h = m.resolveRelative(nt, sel.head);
      if (a !== null && h !== null) return [clamp(a), clamp(h)];
    }
    return [clamp(sel.index[0]), clamp(sel.index[1])];
  }

  rename(title: string): void {
    const op = this.uuid();
    this.store.add({ op, kind: "rename", title });
    this.conn.mutate("board.rename", op, "board", () => ({ board: this.boardId, title, op })).then(
      (r) => this.store.acknowledge(op, r.board.seq),
      (e: RpcError) => this.rejected(op, e, "rename the board"),
    );
  }

  /** A conflict notice answered: "mine" writes the user's fields again without a base, "theirs" keeps the server's. */
  resolveConflict(noticeId: string, choice: "mine" | "theirs"): void {
    const n = this.notices.find((x) => x.id === noticeId);
    this.dismiss(noticeId);
    if (!n || n.kind !== "conflict") return;
    if (choice === "mine") void this.updateNote(n.note, n.mine);
  }

  dismiss(noticeId: string): void {
    this.notices = this.notices.filter((n) => n.id !== noticeId);
    this.emitMeta();
  }

  // ------------------------------------------------------------ signals

  sendTyping(note: Id | null): void {
    if (!this.live) return;
    this.conn.signal(this.boardId, "typing", { note } satisfies TypingSignal);
  }

  /**
   * Where the notes this user drags are now (board coordinates), coalesced to
   * ~30 signals a second, the newest positions only; `[]` = the drag ended
   * (dropped or cancelled), sent at once.
   */
  sendDrag(notes: { id: Id; x: number; y: number }[]): void {
    this.dragActive = notes.length > 0;
    if (notes.length === 0) {
      this.sendDragNow.cancel();
      if (this.live) this.conn.signal(this.boardId, "drag", { notes: [] } satisfies DragSignal);
      return;
    }
    if (!this.live) return;
    const data: DragSignal = {
      notes: notes.slice(0, MAX_DRAG_SIGNAL).map((n) => ({ id: n.id, x: Math.round(n.x), y: Math.round(n.y) })),
    };
    this.sendDragNow(data);
  }

  /** This user's view (≤ ~10 signals a second); re-sent when someone joins. */
  sendViewport(v: ViewportSignal): void {
    const r = (n: number) => Math.round(n * 100) / 100;
    const next = { x: r(v.x), y: r(v.y), zoom: Math.round(v.zoom * 1000) / 1000, w: Math.round(v.w), h: Math.round(v.h) };
    const m = this.myViewport;
    if (m && m.x === next.x && m.y === next.y && m.zoom === next.zoom && m.w === next.w && m.h === next.h) return;
    this.myViewport = next;
    this.sendViewportNow();
  }

  /**
   * The notes this user has selected, shown to others as outlines in this
   * user's colour (carried by the `viewport` signal: `selected`, at most
   * `MAX_SELECTED_SIGNAL` ids).
   */
  setSelected(ids: Iterable<Id>): void {
    const next = [...ids].slice(0, MAX_SELECTED_SIGNAL);
    if (next.length === this.mySelected.length && next.every((id, i) => id === this.mySelected[i])) return;
    this.mySelected = next;
    this.sendViewportNow();
  }

  private signalViewport(): void {
    if (!this.myViewport || !this.live) return;
    this.conn.signal(this.boardId, "viewport", { ...this.myViewport, selected: this.mySelected });
  }

  // ------------------------------------------------------------ internals

  private rejected(op: string, e: RpcError, what: string, update?: { id: Id; delta: NoteDelta }): void {
    this.store.reject(op);
    if (e.code === "conflict" && update && e.details?.note) {
      const theirs = e.details.note;
      // One conflict per note: the newest attempt replaces an older one.
      this.notices = this.notices.filter((n) => !(n.kind === "conflict" && n.note === update.id));
      const fields = e.details.fields ?? NOTE_FIELDS.filter((f) => update.delta[f] !== undefined);
      const by = conflictAuthor(fields, (f) => this.store.lastWrite(update.id, f), this.conn.user?.id);
      this.notices.push({
        id: this.uuid(),
        kind: "conflict",
        message: `${by ?? "Someone else"} changed this note while you were editing it.`,
        note: update.id,
        by,
        mine: update.delta,
        theirs,
      });
    } else {
      this.notices.push({ id: this.uuid(), kind: "error", message: `Couldn't ${what}: ${e.message}` });
    }
    this.emitMeta();
  }

  private onMessage(m: BoardMessage): void {
    switch (m.type) {
      case "subscribed":
        this.resyncing = false;
        this.live = true;
        if (m.snapshot) {
          this.store.loadSnapshot(m.snapshot, m.seq);
          // Events may have been skipped: merge every open text document with the server's.
          this.texts?.refreshAll();
        } else {
          this.store.markReady();
          this.texts?.reconnected();
        }
        this.setStatus("ready");
        // Others following this user see where they are at once.
        this.signalViewport();
        break;
      case "event": {
        const outcome = this.store.applyEvent(m);
        // Yjs updates commute: applied on arrival, even ahead of a gap (a duplicate changes nothing).
        if (m.kind === "note.updated" && (m.delta.text !== undefined || textUpdateOf(m))) {
          this.texts?.remote(m.id, textUpdateOf(m), m.delta.text);
        } else if (m.kind === "note.deleted" && outcome === "applied") {
          this.texts?.deleted(m.id);
        } else if (m.kind === "note.created" && outcome === "applied" && this.texts?.created(m.note.id)) {
          this.history.forgetText(m.note.id);
        }
        if (outcome === "gap" && !this.resyncing) {
          this.resyncing = true;
          this.conn.resubscribe(this.boardId);
        }
        if (m.kind === "note.updated" && (m.delta.x !== undefined || m.delta.y !== undefined) && outcome !== "duplicate") {
          this.committedMove(m.by.id, m.id);
        }
        if (m.kind === "note.deleted") for (const d of this.drags.values()) this.committedMove(d.user.id, m.id);
        if (m.kind === "board.deleted") this.setStatus("deleted");
        if (outcome !== "duplicate" && (m.kind === "member.joined" || m.kind === "member.updated" || m.kind === "member.left")) {
          this.membersVersion++;
          this.onMemberEvent(m);
          this.emitMeta();
        }
        break;
      }
      case "unsubscribed":
        if (m.reason === "deleted") this.setStatus("deleted");
        else if (m.reason === "revoked") this.setStatus("revoked");
        break;
      case "presence":
        this.onPresence(m);
        break;
      case "signal":
        this.onSignal(m.from, m.name, m.data);
        break;
      case "error":
        if (m.error.code === "not_found" || m.error.code === "forbidden") this.setStatus("not_found");
        else this.notices.push({ id: this.uuid(), kind: "error", message: m.error.message });
        this.emitMeta();
        break;
      default: {
        const unhandled: never = m;
        void unhandled;
      }
    }
  }

  private onMemberEvent(m: MemberEvent): void {
    this.memberEvents.emit(m);
    const me = this.conn.user?.id;
    if (!me || m.user.id !== me) return;
    if (m.kind === "member.left") {
      // The server ends the subscription right after (`unsubscribed`, "revoked"); the event says who first.
      if (this.status !== "deleted" && this.status !== "revoked") this.removedBy = m.by;
      this.setStatus("revoked");
    } else if (m.kind === "member.updated" && m.by.id !== me) {
      this.roleChange = { by: m.by, role: m.role };
      this.emitMeta();
    }
  }

  /** Hides the role-change notice. */
  dismissRoleChange(): void {
    this.roleChange = null;
    this.emitMeta();
  }

  private onPresence(m: Extract<BoardMessage, { type: "presence" }>): void {
    if (m.members) {
      this.presence = new Map(m.members.map((p) => [p.user.id, p]));
    }
    const me = this.conn.user?.id;
    for (const p of m.joined ?? []) this.presence.set(p.user.id, p);
    // Someone new (or a new tab of someone): they get this user's view and selection at once.
    if ((m.joined ?? []).some((p) => p.user.id !== me)) this.signalViewport();
    for (const p of m.left ?? []) {
      // `left` carries the remaining connection count; gone when it reaches 0.
      if (p.connections > 0) this.presence.set(p.user.id, p);
      else {
        this.presence.delete(p.user.id);
        this.cursors.delete(p.user.id);
        this.typing.delete(p.user.id);
        this.selections.delete(p.user.id);
        this.drags.delete(p.user.id);
        this.viewports.delete(p.user.id);
      }
    }
    this.emitMeta();
  }

  private onSignal(from: User, name: string, data: unknown): void {
    const me = this.conn.user;
    if (me && from.id === me.id) return;
    const d = (data ?? {}) as Record<string, unknown>;
    if (name === "cursor" && typeof d.x === "number" && typeof d.y === "number") {
      this.cursors.set(from.id, { user: from, x: d.x, y: d.y, at: Date.now() });
    } else if (name === "typing") {
      if (typeof d.note === "string") this.typing.set(from.id, { user: from, note: d.note, at: Date.now() });
      else this.typing.delete(from.id);
    } else if (name === "selection") {
      const sel = parseSelection(from, d);
      if (sel) this.selections.set(from.id, sel);
      else this.selections.delete(from.id);
    } else if (name === "drag") {
      const notes = parseDrag(d);
      if (notes === null) return;
      const prev = this.drags.get(from.id);
      if (notes.length > 0) this.drags.set(from.id, { user: from, notes, at: Date.now(), ended: false });
      // Ended: the notes stay where they were dropped until the committed move arrives (or a moment passes).
      else if (prev) this.drags.set(from.id, { ...prev, at: Date.now(), ended: true });
      else return;
    } else if (name === "viewport") {
      const v = parseViewport(from, d);
      if (!v) return;
      this.viewports.set(from.id, v);
    } else {
      return;
    }
    this.emitMeta();
  }

  private sweep(): void {
    const now = Date.now();
    let changed = false;
    for (const [k, c] of this.cursors) {
      if (now - c.at > this.ttl) {
        this.cursors.delete(k);
        changed = true;
      }
    }
    for (const [k, t] of this.typing) {
      if (now - t.at > Math.min(this.ttl, 6_000)) {
        this.typing.delete(k);
        changed = true;
      }
    }
    for (const [k, sel] of this.selections) {
      if (now - sel.at > this.selectionTtl) {
        this.selections.delete(k);
        changed = true;
      }
    }
    for (const [k, d] of this.drags) {
      if (now - d.at > (d.ended ? this.dragLinger : this.dragTtl)) {
        this.drags.delete(k);
        changed = true;
      }
    }
    if (changed) this.emitMeta();
  }

  /** The committed move of `note` by `by` arrived: their live position of it is no longer needed. */
  private committedMove(by: Id, note: Id): void {
    const d = this.drags.get(by);
    if (!d || !d.notes.some((n) => n.id === note)) return;
    const notes = d.notes.filter((n) => n.id !== note);
    if (notes.length === 0) this.drags.delete(by);
    else this.drags.set(by, { ...d, notes });
    this.emitMeta();
  }

  private setStatus(s: BoardStatus): void {
    if (this.status === s) return;
    // Terminal states stay.
    if (this.status === "deleted" || this.status === "revoked") return;
    this.status = s;
    this.emitMeta();
  }

  private computeMeta(): BoardMeta {
    return {
      status: this.status,
      removedBy: this.removedBy,
      roleChange: this.roleChange,
      presence: [...this.presence.values()],
      cursors: [...this.cursors.values()],
      typing: [...this.typing.values()],
      notices: [...this.notices],
      selections: [...this.selections.values()],
      drags: [...this.drags.values()],
      viewports: [...this.viewports.values()],
      membersVersion: this.membersVersion,
      canUndo: this.history?.canUndo ?? false,
      canRedo: this.history?.canRedo ?? false,
    };
  }

  private emitMeta(): void {
    this.metaSnapshot = this.computeMeta();
    this.meta.emit(this.metaSnapshot);
  }
}

/** A `selection` signal's data, checked; null = the sender stopped editing (or sent nothing usable). */
export function parseSelection(from: User, d: Record<string, unknown>): RemoteSelection | null {
  if (typeof d.note !== "string") return null;
  const idx = Array.isArray(d.index) ? d.index : [];
  const a = Number(idx[0]);
  const h = Number(idx[1] ?? idx[0]);
  const sel: RemoteSelection = {
    user: from,
    note: d.note,
    index: [Number.isFinite(a) ? a : 0, Number.isFinite(h) ? h : Number.isFinite(a) ? a : 0],
    at: Date.now(),
  };
  // Resolved against the note's document when drawn (a bad one falls back to `index`).
  if (typeof d.anchor === "string" && typeof d.head === "string" && d.anchor.length <= 256 && d.head.length <= 256) {
    sel.anchor = d.anchor;
    sel.head = d.head;
  }
  return sel;
}

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** A `drag` signal's notes, checked (bad entries dropped); null = not a drag signal at all. */
export function parseDrag(d: Record<string, unknown>): { id: Id; x: number; y: number }[] | null {
  if (!Array.isArray(d.notes)) return null;
  const out: { id: Id; x: number; y: number }[] = [];
  for (const n of d.notes.slice(0, MAX_DRAG_SIGNAL * 2) as unknown[]) {
    const e = (n ?? {}) as Record<string, unknown>;
    if (typeof e.id === "string" && finite(e.x) && finite(e.y)) out.push({ id: e.id, x: e.x, y: e.y });
  }
  return out;
}

/** A `viewport` signal's data, checked; null when unusable. */
export function parseViewport(from: User, d: Record<string, unknown>): RemoteViewport | null {
  if (!finite(d.x) || !finite(d.y) || !finite(d.zoom) || !finite(d.w) || !finite(d.h) || d.zoom <= 0 || d.w <= 0 || d.h <= 0) return null;
  const selected = Array.isArray(d.selected)
    ? (d.selected as unknown[]).filter((id): id is string => typeof id === "string").slice(0, MAX_SELECTED_SIGNAL * 2)
    : [];
  return { user: from, x: d.x, y: d.y, zoom: d.zoom, w: d.w, h: d.h, selected, at: Date.now() };
}
