/**
 * Collaborative note text: one Yjs document per note (a `Y.Text` named
 * `text`), kept while the board is open.
 *
 * - A document is loaded once with `note.text_state` (or starts empty for a
 *   note this tab has just created with no text: the server's document is
 *   empty too). Remote updates that arrive while it loads are applied after.
 * - Local changes (typing, and text undo/redo) produce Yjs updates; they are
 *   collected and sent as ONE `note.edit` per animation frame per note, through
 *   the connection's outbox (op ids, replayed after a reconnect, one at a time
 *   per note). While an edit waits for an earlier one of the same note, later
 *   frames are merged into it (`Y.mergeUpdates`), so at most one edit per note
 *   is in flight and one waits.
 * - `text_update` of a `note.updated` event is applied with a remote origin;
 *   a document left with missing dependencies, or an event that changed the
 *   text without a `text_update`, makes the client fetch `note.text_state`
 *   again and merge it (nothing local is dropped).
 * - A rejected edit: `bad_request` with `details.reason = "resync"` (the server
 *   lacks changes this edit depends on) fetches the server's state, merges it
 *   and sends everything the server lacks, once. Any other rejection, or a
 *   second resync, rebuilds the document from the server's state with a new
 *   client id; when the user's text differs from what the server kept, the
 *   text is handed to `onLost` so it can be shown (never dropped silently).
 * - Client ids are random and never 0 (the server's own id).
 */
import { fromBase64, toBase64 } from "lib0/buffer";
import * as Y from "yjs";
import type { RpcError } from "./errors";
import type { Id, NoteResult, TextState } from "./protocol";
import { diffText, type TextDelta } from "./textdiff";

/** Origin of this user's typing (the undo manager tracks it). */
export const LOCAL_ORIGIN = { local: true } as const;
/** Origin of updates from the server. */
export const REMOTE_ORIGIN = "remote";

export interface TextTransport {
  /** `note.text_state` (a plain RPC: fails when offline). */
  textState(note: Id): Promise<TextState>;
  /**
   * Queues a `note.edit` in the outbox; `build` returns the base64 update and runs once, before the
   * first send. Edits with the same `lane` (default: the note) are sent one at a time.
   */
  edit(note: Id, op: string, build: () => string, lane?: string): Promise<NoteResult>;
  /** Withdraws a queued edit that was never sent. */
  cancel(op: string): boolean;
}

export type LostReason = "too_large" | "rejected" | "gone";

export interface NoteTextsOptions {
  transport: TextTransport;
  uuid: () => string;
  /** Schedules `cb` once, for the next frame (requestAnimationFrame, with a timer as a backstop). */
  frame?: (cb: () => void) => void;
  random?: () => number;
  /** The text (or its dirty flag) of a loaded document changed; `null` = no document any more. */
  onText?: (note: Id, state: { text: string; dirty: boolean } | null) => void;
  /** The user's text could not be kept by the server: show it. */
  onLost?: (note: Id, lost: { text: string; reason: LostReason; message: string }) => void;
  /** A new local text change was recorded by the note's undo manager (not an undo/redo); `merged` = joined its newest step. */
  onUndoable?: (note: Id, merged: boolean) => void;
  /** Undo capture window (ms): keystrokes closer than this are one undo step. */
  captureTimeoutMs?: number;
}

export type TextStatus = "loading" | "ready" | "failed";


export interface TextChange {
  delta: TextDelta;
  /** True for this user's own undo/redo and programmatic local edits (not typing). */
  local: boolean;
}

type Listener = {
  change?: (c: TextChange) => void;
  reset?: () => void;
  status?: (s: TextStatus) => void;
};

interface QueuedEdit {
  op: string;
  updates: Uint8Array[];
  built: boolean;
  generation: number;
}

const defaultFrame = (cb: () => void) => {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    cb();
  };
  // A hidden tab gets no animation frames: the timer still sends.
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(run);
  setTimeout(run, 50);
};

/** A random Yjs client id in 1..2^32-1 (0 is the server's). */
export function newClientId(random: () => number = Math.random): number {
  return 1 + Math.floor(random() * 0xfffffffe);
}

/** One note's text document. Handed to the editor; survives rebuilds (its `doc` is replaced). */
export class NoteText {
  doc!: Y.Doc;
  ytext!: Y.Text;
  undo!: Y.UndoManager;
  status: TextStatus = "loading";
  /** Bumped on every rebuild: answers to edits of an older document are ignored. */
  generation = 0;

  /** Local updates since the last frame. */
  batch: Uint8Array[] = [];
  frameScheduled = false;
  /** The edit queued in the outbox and not yet sent (later frames merge into it). */
  queued: QueuedEdit | null = null;
  /** Ops sent or queued and not answered. */
  readonly unconfirmed = new Set<string>();
  /** Remote updates received while loading. */
  early: Uint8Array[] = [];
  /** Fetching the server's state to merge or rebuild: local changes wait. */
  holding = false;
  /** The note was deleted after this document was loaded. */
  wasDeleted = false;
  /** A rebuild that could not fetch the server's state (offline): done on the next `refreshAll`. */
  pendingRebuild: RpcError | null = null;
  /** One merge-and-resend per rejection chain; a second resync rebuilds. */
  resyncTried = false;
  private listeners = new Set<Listener>();
  private textObserver: ((e: Y.YTextEvent, t: Y.Transaction) => void) | null = null;

  constructor(
    readonly id: Id,
    private readonly owner: NoteTexts,
  ) {}

  get text(): string {
    return this.ytext ? this.ytext.toString() : "";
  }

  get dirty(): boolean {
    return this.unconfirmed.size > 0 || this.batch.length > 0;
  }

  /** Runs `fn` as one local transaction (typing, a restore of lost text). */
  localEdit(fn: (t: Y.Text) => void): void {
    if (this.status !== "ready") return;
    this.doc.transact(() => fn(this.ytext), LOCAL_ORIGIN);
  }

  /** Replaces the whole text with `text` as the smallest change (common prefix and suffix kept). */
  setText(text: string): void {
    const d = diffText(this.text, text);
    if (!d) return;
    this.localEdit((t) => {
      if (d.remove) t.delete(d.index, d.remove);
      if (d.insert) t.insert(d.index, d.insert);
    });
  }

  on(l: Listener): () => void {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }

  /** @internal builds (or rebuilds) the document from the server's state. */
  install(state: Uint8Array | null, clientId: number, captureTimeout: number): void {
    const old = this.doc;
    if (old) {
      if (this.textObserver) this.ytext.unobserve(this.textObserver);
      this.undo.destroy();
      old.destroy();
      this.generation++;
    }
    const doc = new Y.Doc();
    doc.clientID = clientId;
    const ytext = doc.getText("text");
    if (state) Y.applyUpdate(doc, state, REMOTE_ORIGIN);
    this.doc = doc;
    this.ytext = ytext;
    this.undo = new Y.UndoManager(ytext, { trackedOrigins: new Set([LOCAL_ORIGIN]), captureTimeout });
    const um = this.undo;
    um.on("stack-item-added", (ev) => {
      if (ev.type === "undo" && ev.origin !== um) this.owner.undoable(this.id, false);
    });
    um.on("stack-item-updated", (ev) => {
      if (ev.type === "undo" && ev.origin !== um) this.owner.undoable(this.id, true);
    });
    this.textObserver = (e, t) => {
      if (t.origin === LOCAL_ORIGIN && !this.owner.inProgrammaticEdit) return;
      const change: TextChange = { delta: e.delta as TextDelta, local: t.origin !== REMOTE_ORIGIN };
      for (const l of [...this.listeners]) l.change?.(change);
    };
    ytext.observe(this.textObserver);
    doc.on("update", (update: Uint8Array, origin: unknown) => this.owner.docUpdated(this, update, origin));
    const wasReady = this.status === "ready";
    this.status = "ready";
    for (const u of this.early.splice(0)) Y.applyUpdate(doc, u, REMOTE_ORIGIN);
    if (old) for (const l of [...this.listeners]) l.reset?.();
    if (!wasReady) this.emitStatus();
  }

  /** @internal */
  emitStatus(): void {
    for (const l of [...this.listeners]) l.status?.(this.status);
  }

  /** @internal */
  destroy(): void {
    if (this.doc) {
      this.undo.destroy();
      this.doc.destroy();
    }
    this.listeners.clear();
  }
}

export class NoteTexts {
  private readonly docs = new Map<Id, NoteText>();
  private readonly transport: TextTransport;
  private readonly uuid: () => string;
  private readonly frame: (cb: () => void) => void;
  private readonly random: () => number;
  private readonly captureTimeout: number;
  private readonly opts: NoteTextsOptions;
  /** @internal set while `restoreLost` writes, so the editor hears about it. */
  inProgrammaticEdit = false;
  private stopped = false;

  constructor(opts: NoteTextsOptions) {
    this.opts = opts;
    this.transport = opts.transport;
    this.uuid = opts.uuid;
    this.frame = opts.frame ?? defaultFrame;
    this.random = opts.random ?? Math.random;
    this.captureTimeout = opts.captureTimeoutMs ?? 500;
  }

  /** The note's document, if one was opened. */
  get(note: Id): NoteText | undefined {
    return this.docs.get(note);
  }

  /**
   * Sends every document's collected changes now instead of at the next
   * frame (the page is being hidden and may get no frame); when `leaving`
   * (unloading), also without waiting for an edit in flight, whose answer
   * will never come.
   */
  flushAll(leaving: boolean): void {
    for (const nt of this.docs.values()) {
      this.flush(nt);
      // An edit waiting behind one in flight would go only after its answer, which an unloading
      // page never gets: send the whole document now, beside it (Yjs ignores what the server has).
      if (leaving && nt.queued && !nt.queued.built) this.sendWhole(nt);
    }
  }

  private sendWhole(nt: NoteText): void {
    const op = this.uuid();
    nt.unconfirmed.add(op);
    const done = () => {
      nt.unconfirmed.delete(op);
      this.emitText(nt);
    };
    // A refusal is reported by the queued edit, which carries the same changes.
    this.transport.edit(nt.id, op, () => toBase64(Y.encodeStateAsUpdate(nt.doc)), `${nt.id}:whole`).then(done, done);
  }

  /** Every open document. */
  all(): NoteText[] {
    return [...this.docs.values()];
  }

  /** The note's document, loading it on first use. */
  open(note: Id): NoteText {
    let nt = this.docs.get(note);
    if (!nt) {
      nt = new NoteText(note, this);
      this.docs.set(note, nt);
      void this.load(nt);
    } else if (nt.status === "failed") {
      void this.load(nt);
    }
    return nt;
  }

  /** A note this tab just created with no text: the server's document is empty, no fetch needed. */
  createEmpty(note: Id): NoteText {
    const nt = new NoteText(note, this);
    this.docs.set(note, nt);
    nt.install(null, newClientId(this.random), this.captureTimeout);
    this.emitText(nt);
    return nt;
  }

  /**
   * A `note.updated` event for `note`: applies `textUpdate` (base64) when the
   * note has a document; `text` (the event's merged text) checks it.
   */
  remote(note: Id, textUpdate: string | undefined, text: string | undefined): void {
    const nt = this.docs.get(note);
    if (!nt) return;
    if (textUpdate === undefined) {
      // The text changed without an update this client can apply: merge the server's state.
      if (text !== undefined && text !== nt.text) void this.refresh(nt);
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(textUpdate);
    } catch {
      void this.refresh(nt);
      return;
    }
    if (nt.status !== "ready") {
      nt.early.push(bytes);
      return;
    }
    try {
      Y.applyUpdate(nt.doc, bytes, REMOTE_ORIGIN);
    } catch {
      void this.refresh(nt);
      return;
    }
    if (nt.doc.store.pendingStructs || nt.doc.store.pendingDs) {
      // An update this one depends on never reached us (a snapshot skipped it): fetch the whole state.
      void this.refresh(nt);
    } else if (text !== undefined && text !== nt.text && !nt.dirty && !nt.holding) {
      // With nothing of ours outstanding, the document must read as the server's merged text.
      void this.verify(nt);
    }
    this.emitText(nt);
  }

  /** After a snapshot (events may have been skipped), or a reconnect: merge every document with the server's. */
  refreshAll(): void {
    for (const nt of [...this.docs.values()]) {
      if (nt.pendingRebuild) void this.rebuild(nt, nt.pendingRebuild);
      else if (nt.status === "ready") void this.refresh(nt);
      else if (nt.status === "failed") void this.load(nt);
    }
  }

  /** The note was deleted: its document is kept (the note may come back) but not trusted. */
  deleted(note: Id): void {
    const nt = this.docs.get(note);
    if (nt) nt.wasDeleted = true;
  }

  /**
   * A `note.created` event: a note that comes back after a delete (restore) is
   * loaded again from the server on next use, unless edits of it are pending.
   * Returns true when its document was dropped.
   */
  created(note: Id): boolean {
    const nt = this.docs.get(note);
    if (!nt || !nt.wasDeleted) return false;
    nt.wasDeleted = false;
    if (nt.dirty || nt.holding) return false;
    this.drop(nt);
    return true;
  }

  /** After a resumed subscription: what failed while offline (loads, rebuilds) is tried again. */
  reconnected(): void {
    for (const nt of [...this.docs.values()]) {
      if (nt.pendingRebuild) void this.rebuild(nt, nt.pendingRebuild);
      else if (nt.status === "failed") void this.load(nt);
    }
  }

  /** Closes every document (board closed). */
  stop(): void {
    this.stopped = true;
    for (const nt of this.docs.values()) nt.destroy();
    this.docs.clear();
  }

  /** Stops merging keystrokes into the current undo step of every note (another kind of change happened). */
  stopCapturing(except?: Id): void {
    for (const nt of this.docs.values()) if (nt.status === "ready" && nt.id !== except) nt.undo.stopCapturing();
  }

  /** Clears the redo stacks of every note (a new action elsewhere). */
  clearRedo(): void {
    for (const nt of this.docs.values()) if (nt.status === "ready") nt.undo.clear(false, true);
  }

  /** Writes `text` back into the note (the "restore" action of a lost-text notice). */
  restoreLost(note: Id, text: string): boolean {
    const nt = this.docs.get(note);
    if (!nt || nt.status !== "ready") return false;
    this.inProgrammaticEdit = true;
    try {
      nt.setText(text);
    } finally {
      this.inProgrammaticEdit = false;
    }
    return true;
  }

  // ------------------------------------------------------------ internals

  /** @internal */
  undoable(note: Id, merged: boolean): void {
    this.opts.onUndoable?.(note, merged);
  }

  /** @internal every update of a document. */
  docUpdated(nt: NoteText, update: Uint8Array, origin: unknown): void {
    if (origin === REMOTE_ORIGIN) {
      this.emitText(nt);
      return;
    }
    nt.batch.push(update);
    this.emitText(nt);
    this.schedule(nt);
  }

  private schedule(nt: NoteText): void {
    if (nt.frameScheduled || nt.holding) return;
    nt.frameScheduled = true;
    this.frame(() => {
      nt.frameScheduled = false;
      this.flush(nt);
    });
  }

  /** Sends what this frame collected: merged into the waiting edit, or as a new one. */
  flush(nt: NoteText): void {
    if (this.stopped || nt.holding || nt.batch.length === 0) return;
    const updates = nt.batch.splice(0);
    const q = nt.queued;
    if (q && !q.built && q.generation === nt.generation) {
      q.updates.push(...updates);
      return;
    }
    this.send(nt, updates);
  }

  private send(nt: NoteText, updates: Uint8Array[]): void {
    const entry: QueuedEdit = { op: this.uuid(), updates, built: false, generation: nt.generation };
    nt.queued = entry;
    nt.unconfirmed.add(entry.op);
    this.transport
      .edit(nt.id, entry.op, () => {
        entry.built = true;
        if (nt.queued === entry) nt.queued = null;
        return toBase64(entry.updates.length === 1 ? entry.updates[0] : Y.mergeUpdates(entry.updates));
      })
      .then(
        () => {
          nt.unconfirmed.delete(entry.op);
          if (entry.generation === nt.generation) nt.resyncTried = false;
          this.emitText(nt);
        },
        (e: RpcError) => {
          nt.unconfirmed.delete(entry.op);
          if (nt.queued === entry) nt.queued = null;
          if (entry.generation !== nt.generation || this.stopped) return;
          void this.rejected(nt, e);
        },
      );
  }

  private async rejected(nt: NoteText, e: RpcError): Promise<void> {
    if (nt.holding) return;
    // Later edits of this document depend on the refused one: withdraw the one still waiting.
    const waiting = nt.queued;
    if (waiting && !waiting.built && this.transport.cancel(waiting.op)) {
      nt.queued = null;
      nt.unconfirmed.delete(waiting.op);
    }
    if (e.code === "bad_request" && e.details?.reason === "resync" && !nt.resyncTried) {
      nt.resyncTried = true;
      await this.mergeAndResend(nt);
    } else {
      await this.rebuild(nt, e);
    }
  }

  /** The server lacks changes an edit depended on: merge its state, send all it lacks in one edit. */
  private async mergeAndResend(nt: NoteText): Promise<void> {
    nt.holding = true;
    try {
      const { state } = await this.transport.textState(nt.id);
      const bytes = fromBase64(state);
      Y.applyUpdate(nt.doc, bytes, REMOTE_ORIGIN);
      const missing = Y.encodeStateAsUpdate(nt.doc, Y.encodeStateVectorFromUpdate(bytes));
      nt.batch = [];
      nt.holding = false;
      if (!isEmptyUpdate(missing)) this.send(nt, [missing]);
    } catch (err) {
      nt.holding = false;
      await this.rebuild(nt, err as RpcError);
      return;
    }
    this.emitText(nt);
  }

  /** Throws the document away and starts again from the server's; the user's text is shown if it differs. */
  private async rebuild(nt: NoteText, cause: RpcError): Promise<void> {
    nt.pendingRebuild = null;
    nt.holding = true;
    nt.generation++;
    let state: TextState;
    try {
      state = await this.transport.textState(nt.id);
    } catch (err) {
      const mine = nt.text;
      nt.holding = false;
      const code = (err as RpcError).code;
      if (code === "not_found" || code === "forbidden") {
        this.drop(nt);
        if (mine) this.opts.onLost?.(nt.id, { text: mine, reason: "gone", message: (err as RpcError).message });
      } else {
        // Offline: rebuild on the next reconnect; until then typing goes on in this document, unsent.
        nt.pendingRebuild = cause;
        nt.holding = true;
      }
      return;
    }
    const mine = nt.text;
    nt.batch = [];
    nt.holding = false;
    nt.resyncTried = false;
    nt.install(fromBase64(state.state), newClientId(this.random), this.captureTimeout);
    this.emitText(nt);
    if (nt.text !== mine) {
      this.opts.onLost?.(nt.id, {
        text: mine,
        reason: cause.code === "too_large" ? "too_large" : "rejected",
        message: cause.message,
      });
    }
  }

  private drop(nt: NoteText): void {
    nt.destroy();
    this.docs.delete(nt.id);
    this.opts.onText?.(nt.id, null);
  }

  /**
   * The document disagreed with an event's merged text while nothing of this
   * tab was outstanding: merge the server's state, and if the two still read
   * differently (the same items ordered differently would be a CRDT bug, seen
   * once between two implementations), take the server's document as it is.
   * Nothing local is lost: a rebuild happens only with no local change pending.
   */
  private async verify(nt: NoteText): Promise<void> {
    if (nt.holding || nt.status !== "ready") return;
    const generation = nt.generation;
    let state: Uint8Array;
    try {
      state = fromBase64((await this.transport.textState(nt.id)).state);
    } catch {
      return; // Offline or gone: the next snapshot or reconnect merges again.
    }
    if (this.stopped || nt.status !== "ready" || nt.generation !== generation || nt.holding) return;
    Y.applyUpdate(nt.doc, state, REMOTE_ORIGIN);
    const probe = new Y.Doc();
    Y.applyUpdate(probe, state);
    const serverText = probe.getText("text").toString();
    probe.destroy();
    if (nt.text !== serverText && !nt.dirty) {
      nt.install(state, newClientId(this.random), this.captureTimeout);
    }
    this.emitText(nt);
  }

  /** Fetches the server's state and merges it (local changes kept). */
  private async refresh(nt: NoteText): Promise<void> {
    if (nt.holding || nt.status !== "ready") return;
    try {
      const { state } = await this.transport.textState(nt.id);
      if (nt.status === "ready" && !this.stopped) Y.applyUpdate(nt.doc, fromBase64(state), REMOTE_ORIGIN);
    } catch {
      // Offline or gone: the next snapshot or reconnect tries again.
    }
    this.emitText(nt);
  }

  private async load(nt: NoteText): Promise<void> {
    nt.status = "loading";
    nt.emitStatus();
    let state: TextState;
    try {
      state = await this.transport.textState(nt.id);
    } catch (err) {
      if (this.stopped || this.docs.get(nt.id) !== nt) return;
      if ((err as RpcError).code === "not_found") {
        this.drop(nt);
        return;
      }
      nt.status = "failed";
      nt.emitStatus();
      return;
    }
    if (this.stopped || this.docs.get(nt.id) !== nt || (nt.status as TextStatus) === "ready") return;
    nt.install(fromBase64(state.state), newClientId(this.random), this.captureTimeout);
    this.emitText(nt);
  }

  private emitText(nt: NoteText): void {
    if (nt.status !== "ready" || this.docs.get(nt.id) !== nt) return;
    this.opts.onText?.(nt.id, { text: nt.text, dirty: nt.dirty });
  }
}

/** An update that changes nothing (no structs, empty delete set). */
function isEmptyUpdate(u: Uint8Array): boolean {
  return u.length <= 2;
}

/** Where the caret of a note's text is, as a Yjs relative position (base64): it stays on the same characters while others type. */
export function relativeAt(nt: NoteText, index: number): string {
  return toBase64(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(nt.ytext, index)));
}

/** A relative position (base64) as an index into the note's current text; null when it does not resolve. */
export function resolveRelative(nt: NoteText, rel: string): number | null {
  try {
    const abs = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(fromBase64(rel)), nt.doc);
    return abs && abs.type === nt.ytext ? abs.index : null;
  } catch {
    return null;
  }
}

export { changeEnd, diffText, mapIndex, type TextDelta, type TextDiff } from "./textdiff";
export { fromBase64, toBase64 };
