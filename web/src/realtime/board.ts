/**
 * One open board: ties the tab's Connection to a BoardStore, and keeps the
 * ephemeral state (presence, cursors, typing) and the user-facing notices
 * (rollbacks and conflicts).
 */
import type { Connection } from "./connection";
import { Emitter } from "./emitter";
import type { RpcError } from "./errors";
import type {
  BoardMessage,
  CursorSignal,
  Id,
  Note,
  NoteColor,
  NoteDelta,
  Presence,
  TypingSignal,
  User,
} from "./protocol";
import { BoardStore } from "./store";
import { throttle } from "./throttle";

export type BoardStatus = "loading" | "ready" | "not_found" | "revoked" | "deleted";

export type Notice =
  | { id: string; kind: "error"; message: string }
  | {
      id: string;
      kind: "conflict";
      message: string;
      note: Id;
      /** The fields the user tried to write. */
      mine: NoteDelta;
      /** The note as the server has it now. */
      theirs: Note;
    };

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

export interface BoardMeta {
  status: BoardStatus;
  presence: Presence[];
  cursors: Cursor[];
  typing: Typing[];
  notices: Notice[];
}

export interface BoardClientOptions {
  uuid?: () => string;
  /** Max cursor signals per second. */
  cursorRate?: number;
  /** Remote cursors / typing marks disappear after this long without news (ms). */
  signalTtlMs?: number;
}

export const DEFAULT_NOTE_SIZE = { w: 200, h: 140 };

const defaultUuid = () => crypto.randomUUID();

export class BoardClient {
  readonly store: BoardStore;
  readonly meta = new Emitter<BoardMeta>();

  private status: BoardStatus = "loading";
  private presence = new Map<Id, Presence>();
  private cursors = new Map<Id, Cursor>();
  private typing = new Map<Id, Typing>();
  private notices: Notice[] = [];
  private metaSnapshot: BoardMeta;
  private unsubscribe: (() => void) | null = null;
  private resyncing = false;
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  /** Per note: the version right after this client's last confirmed text write. */
  private ownTextVersion = new Map<Id, number>();
  private readonly uuid: () => string;
  private readonly ttl: number;
  readonly sendCursor: ((x: number, y: number) => void) & { cancel(): void };

  constructor(
    private readonly conn: Connection,
    readonly boardId: Id,
    opts: BoardClientOptions = {},
  ) {
    this.store = new BoardStore(boardId, { currentUserId: () => this.conn.user?.id });
    this.uuid = opts.uuid ?? defaultUuid;
    this.ttl = opts.signalTtlMs ?? 10_000;
    this.sendCursor = throttle((x: number, y: number) => {
      this.conn.signal(this.boardId, "cursor", { x: Math.round(x), y: Math.round(y) } satisfies CursorSignal);
    }, 1000 / (opts.cursorRate ?? 20));
    this.metaSnapshot = this.computeMeta();
  }

  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.conn.subscribeBoard(this.boardId, {
      since: () => (this.store.isReady ? this.store.confirmedSeq : undefined),
      onMessage: (m) => this.onMessage(m),
      onDisconnect: () => {
        this.resyncing = false;
        this.presence.clear();
        this.cursors.clear();
        this.typing.clear();
        this.emitMeta();
      },
    });
    this.sweepTimer = setInterval(() => this.sweep(), 1000);
  }

  stop(): void {
    this.sendCursor.cancel();
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
  createNote(input: { x: number; y: number; text?: string; color?: NoteColor; w?: number; h?: number }): Id {
    const id = this.uuid();
    const op = this.uuid();
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
    this.store.add({ op, kind: "create", note });
    const params = {
      board: this.boardId,
      id,
      op,
      text: note.text,
      x: note.x,
      y: note.y,
      w: note.w,
      h: note.h,
      color: note.color,
    };
    this.conn.mutate("note.create", op, id, () => params).then(
      (r) => {
        // The create wrote the text: an edit begun before it was confirmed is based on it.
        this.ownTextVersion.set(id, r.note.version);
        this.store.acknowledge(op, r.seq);
      },
      (e: RpcError) => this.rejected(op, e, "create the note"),
    );
    return id;
  }

  /**
   * Changes fields of a note, last-writer-wins per field. With `baseVersion`
   * (text edits), the server refuses the write if another user changed one of
   * these fields after that version, and a conflict notice appears.
   */
  updateNote(id: Id, delta: NoteDelta, opts: { baseVersion?: number } = {}): Promise<void> {
    const op = this.uuid();
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
        this.store.acknowledge(op, r.seq);
      },
      (e: RpcError) => this.rejected(op, e, "save the note", { id, delta }),
    );
  }

  deleteNote(id: Id): void {
    const op = this.uuid();
    this.store.add({ op, kind: "delete", id });
    this.conn.mutate("note.delete", op, id, () => ({ board: this.boardId, id, op })).then(
      (r) => this.store.acknowledge(op, r.seq),
      (e: RpcError) => this.rejected(op, e, "delete the note"),
    );
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
    this.conn.signal(this.boardId, "typing", { note } satisfies TypingSignal);
  }

  // ------------------------------------------------------------ internals

  private rejected(op: string, e: RpcError, what: string, update?: { id: Id; delta: NoteDelta }): void {
    this.store.reject(op);
    if (e.code === "conflict" && update && e.details?.note) {
      const theirs = e.details.note;
      // One conflict per note: the newest attempt replaces an older one.
      this.notices = this.notices.filter((n) => !(n.kind === "conflict" && n.note === update.id));
      this.notices.push({
        id: this.uuid(),
        kind: "conflict",
        message: "Someone else changed this note while you were editing it.",
        note: update.id,
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
        if (m.snapshot) this.store.loadSnapshot(m.snapshot, m.seq);
        else this.store.markReady();
        this.setStatus("ready");
        break;
      case "event": {
        const outcome = this.store.applyEvent(m);
        if (outcome === "gap" && !this.resyncing) {
          this.resyncing = true;
          this.conn.resubscribe(this.boardId);
        }
        if (m.kind === "board.deleted") this.setStatus("deleted");
        // The server ends the subscription right after (`unsubscribed`, "revoked"); the event says so first.
        if (m.kind === "member.left" && m.user.id === this.conn.user?.id) this.setStatus("revoked");
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

  private onPresence(m: Extract<BoardMessage, { type: "presence" }>): void {
    if (m.members) {
      this.presence = new Map(m.members.map((p) => [p.user.id, p]));
    }
    for (const p of m.joined ?? []) this.presence.set(p.user.id, p);
    for (const p of m.left ?? []) {
      // `left` carries the remaining connection count; gone when it reaches 0.
      if (p.connections > 0) this.presence.set(p.user.id, p);
      else {
        this.presence.delete(p.user.id);
        this.cursors.delete(p.user.id);
        this.typing.delete(p.user.id);
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
    if (changed) this.emitMeta();
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
      presence: [...this.presence.values()],
      cursors: [...this.cursors.values()],
      typing: [...this.typing.values()],
      notices: [...this.notices],
    };
  }

  private emitMeta(): void {
    this.metaSnapshot = this.computeMeta();
    this.meta.emit(this.metaSnapshot);
  }
}
