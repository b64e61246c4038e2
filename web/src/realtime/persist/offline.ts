/**
 * The tab's offline layer: the user's database, the outbox journal, the
 * cached boards and which tab sends which journaled mutation.
 *
 * Created with the Connection (the journal must exist before the first
 * mutation); `signIn` opens the signed-in user's database once the session is
 * known. A reloaded tab sends its own journaled mutations again; those of
 * closed tabs are adopted by the leader tab (tabs.ts) and sent through its
 * outbox. How each ends is told to every tab (`settled`, and a
 * BroadcastChannel), so the tabs that show it as pending drop it, or show the
 * refusal.
 */
import type { Connection } from "../connection";
import { Emitter } from "../emitter";
import type { RpcError } from "../errors";
import type { JournalEntry } from "../outbox";
import type { Board, Id, User } from "../protocol";
import { describeMutation } from "./describe";
import { loadOutbox, openOfflineDb, type OfflineDb, type StoredBoard, type StoredMutation } from "./db";
import { IdbJournal } from "./journal";
import { pageTabId, TabCoordinator, type LockManagerLike } from "./tabs";

/** How a journaled mutation ended. */
export interface Settled {
  op: string;
  board: Id;
  /** The seq of the server's answer (success). */
  seq?: number;
  /** The refusal (never transient: those are retried). */
  error?: { code: string; message: string };
}

export interface OfflineOptions {
  /** This tab's id (default: kept in sessionStorage, the same across reloads). */
  tab?: string;
  /** How often the leader looks for mutations of gone tabs (ms). */
  adoptEveryMs?: number;
  locks?: LockManagerLike | null;
  /** Opens the user's database (tests pass their own). */
  open?: (user: Id) => Promise<OfflineDb>;
}

/** Seq of an RPC result (`{seq}` or `{board: {seq}}`). */
function seqOf(result: unknown): number | undefined {
  const r = result as { seq?: unknown; board?: { seq?: unknown } } | null;
  const s = r?.seq ?? r?.board?.seq;
  return typeof s === "number" ? s : undefined;
}

export class OfflineSync {
  readonly journal: IdbJournal;
  private tabId: string;
  /** A journaled mutation was answered (in this tab or another). */
  readonly settled = new Emitter<Settled>();
  private user: User | null = null;
  private conn: Connection | null = null;
  private dbReady: Promise<OfflineDb | null> = Promise.resolve(null);
  private coordinator: TabCoordinator | null = null;
  private channel: BroadcastChannel | null = null;
  private adoptTimer: ReturnType<typeof setInterval> | null = null;
  private readonly adopted = new Set<string>();
  /** Per tab seen in the journal but not alive: on how many scans in a row. */
  private readonly goneScans = new Map<string, number>();
  /** Ops answered lately: a board opening after the answer must not show them as pending. */
  readonly recentlySettled = new Set<string>();
  private readonly texts = new Map<Id, (note: Id) => string | undefined>();
  private readonly opts: OfflineOptions;
  /** The database being opened ahead of the session (`prewarm`). */
  private opening: { user: Id; db: Promise<OfflineDb | null> } | null = null;
  /** The database being opened ahead of the session (`prewarm`). */
  constructor(opts: OfflineOptions = {}) {
    this.opts = opts;
    this.tabId = opts.tab ?? pageTabId();
    this.journal = new IdbJournal({
      tab: () => this.tabId,
      describe: (e) => this.describe(e),
      // Quota, or storage gone: stop pretending edits are stored (the unload warning then covers them all).
      failed: (err) => {
        console.warn("offline journal: write failed; edits are kept in memory only", err);
        this.journal.disable();
      },
    });
  }

  /**
   * Starts opening a user's database before the session is confirmed (the
   * last signed-in user, while `GET /api/me` is on its way), so that a board
   * is drawn from storage sooner. Nothing is read or sent until `signIn`.
   */
  prewarm(userId: Id): void {
    if (this.user || this.opening?.user === userId) return;
    this.opening = { user: userId, db: this.open(userId) };
  }

  private open(userId: Id): Promise<OfflineDb | null> {
    return (this.opts.open ?? openOfflineDb)(userId).catch((err: unknown) => {
      console.warn("offline storage unavailable", err);
      return null;
    });
  }

  /** Opens the user's database and starts sending the journal's orphans when this tab leads. */
  signIn(user: User, conn: Connection): void {
    if (this.user) return;
    this.user = user;
    this.conn = conn;
    const db = this.opening?.user === user.id ? this.opening.db : this.open(user.id);
    if (this.opening && this.opening.user !== user.id) void this.opening.db.then((other) => other?.close());
    this.opening = null;
    this.dbReady = db.then((d) => {
      if (d) this.journal.attach(d);
      else this.journal.disable();
      return d;
    });
    if (typeof BroadcastChannel !== "undefined") {
      this.channel = new BroadcastChannel(`corkboard-offline:${user.id}`);
      this.channel.onmessage = (e: MessageEvent<Settled>) => this.noteSettled(e.data);
    }
    this.coordinator = new TabCoordinator(this.tabId, user.id, this.opts.locks);
    void this.coordinator
      .start(() => {
        void this.adoptOrphans();
        this.adoptTimer = setInterval(() => void this.adoptOrphans(), this.opts.adoptEveryMs ?? 1000);
      })
      .then((tab) => {
        this.tabId = tab;
        return this.adoptOwn();
      });
  }

  /** Sign-out: stops leading and closes the channel (the stored data stays for this user's next visit). */
  stop(): void {
    if (this.adoptTimer) clearInterval(this.adoptTimer);
    this.adoptTimer = null;
    this.coordinator?.stop();
    this.channel?.close();
    this.channel = null;
  }

  /** Mutations a page unload would lose: not built yet, or not written yet. */
  get unsaved(): number {
    // Without storage every pending mutation would be lost.
    if (this.journal.isDisabled) return this.conn?.getState().pending ?? 0;
    return (this.conn?.unsavedMutations ?? 0) + this.journal.unsaved;
  }

  // ------------------------------------------------------------ boards

  /** Lets the journal read an open board's note text (what a `note.edit` leads to). */
  registerBoard(board: Id, textOf: (note: Id) => string | undefined): () => void {
    this.texts.set(board, textOf);
    return () => {
      if (this.texts.get(board) === textOf) this.texts.delete(board);
    };
  }

  /** The board as last seen, if stored. */
  async loadBoard(board: Id): Promise<StoredBoard | undefined> {
    const db = await this.dbReady;
    return db ? db.get("boards", board).catch(() => undefined) : undefined;
  }

  /** Stores a board's confirmed state. */
  async saveBoard(state: Omit<StoredBoard, "savedAt">): Promise<void> {
    const db = await this.dbReady;
    await db?.put("boards", { ...state, savedAt: Date.now() }).catch(() => undefined);
  }

  /** Journaled mutations of a board, oldest first. */
  async pendingFor(board: Id): Promise<StoredMutation[]> {
    const db = await this.dbReady;
    if (!db) return [];
    const all = await loadOutbox(db).catch(() => []);
    return all.filter((m) => m.board === board && !this.recentlySettled.has(m.op));
  }

  /** The boards list as last loaded. */
  async loadBoards(): Promise<Board[] | undefined> {
    const db = await this.dbReady;
    return (await db?.get("lists", "boards").catch(() => undefined))?.boards;
  }

  async saveBoards(boards: Board[]): Promise<void> {
    const db = await this.dbReady;
    await db?.put("lists", { id: "boards", boards, savedAt: Date.now() }).catch(() => undefined);
  }

  // ------------------------------------------------------------ internals

  private describe(e: JournalEntry) {
    const me = this.user ?? this.conn?.user ?? { id: "", username: "" };
    return describeMutation(e.method, e.op, e.params, me, (board, note) => this.texts.get(board)?.(note));
  }

  /** This tab's id (see tabs.ts). */
  get tab(): string {
    return this.tabId;
  }

  /** After a reload: this tab's mutations journaled before it go first, in their order. */
  async adoptOwn(): Promise<void> {
    const db = await this.dbReady;
    if (!db || !this.conn) return;
    const mine = new Set(this.conn.pendingOps());
    for (const m of await loadOutbox(db)) if (m.tab === this.tabId && !mine.has(m.op)) this.adopt(m);
  }

  /**
   * Leader only: sends, through this tab's outbox, what tabs that are gone
   * left in the journal (gone on two scans in a row: a reloading tab takes its
   * lock again in between).
   */
  async adoptOrphans(): Promise<void> {
    const db = await this.dbReady;
    if (!db || !this.conn || !this.coordinator) return;
    const [all, live] = await Promise.all([loadOutbox(db), this.coordinator.liveTabs()]);
    const gone = new Set(all.map((m) => m.tab).filter((t) => !live.has(t)));
    for (const t of [...this.goneScans.keys()]) if (!gone.has(t)) this.goneScans.delete(t);
    for (const t of gone) this.goneScans.set(t, (this.goneScans.get(t) ?? 0) + 1);
    for (const m of all) if ((this.goneScans.get(m.tab) ?? 0) >= 2) this.adopt(m);
  }

  /** Takes a journaled mutation into this tab's outbox (once) and announces how it ends. */
  private adopt(m: StoredMutation): void {
    const conn = this.conn;
    if (!conn || this.adopted.has(m.op)) return;
    this.adopted.add(m.op);
    this.journal.adopt(m);
    conn.mutate(m.method, m.op, m.key, () => m.params as never).then(
      (r) => this.announce({ op: m.op, board: m.board, seq: seqOf(r) }),
      (e: RpcError) => {
        // Sign-out ("connection closed"): it stays in the journal for the next visit.
        if (e.code === "unavailable") return;
        this.announce({ op: m.op, board: m.board, error: { code: e.code, message: e.message } });
      },
    );
  }

  private announce(s: Settled): void {
    this.channel?.postMessage(s);
    this.noteSettled(s);
  }

  private noteSettled(s: Settled): void {
    this.recentlySettled.add(s.op);
    this.settled.emit(s);
  }
}
