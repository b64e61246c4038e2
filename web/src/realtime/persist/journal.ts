/**
 * The outbox's journal in IndexedDB: every mutation is written when its
 * params are built — before it is sent when online, at once when offline —
 * and deleted when the server has answered it.
 *
 * Writes are issued in order on one promise chain; until the user's database
 * is open (the session is known a moment after the page loads) they wait in
 * memory. `unsaved` counts what is not on disk yet, for the `beforeunload`
 * warning.
 */
import type { JournalEntry, OutboxJournal } from "../outbox";
import type { Described } from "./describe";
import type { OfflineDb, StoredMutation } from "./db";

export interface JournalOptions {
  /** This tab's id (it may change once, see tabs.ts): its entries are its own to send. */
  tab: () => string;
  /** The board and pending view of a mutation. */
  describe: (entry: JournalEntry) => Described;
  /** A write failed (quota, private mode): the edit is still in memory, but not safe from a reload. */
  failed?: (err: unknown) => void;
}

let lastOrder = 0;
/** A strictly increasing order number, comparable across tabs (ms epoch × 1000 + counter). */
export function nextOrder(): number {
  lastOrder = Math.max(lastOrder + 1, Date.now() * 1000);
  return lastOrder;
}

export class IdbJournal implements OutboxJournal {
  private db: OfflineDb | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  /** Order and board of entries this tab knows to be stored (adopted ones keep their order). */
  private readonly known = new Map<string, { order: number; stored?: StoredMutation }>();
  private readonly forgottenOps = new Set<string>();
  /** Writes issued before the database was open, in order. */
  private readonly pendingBeforeOpen: (() => Promise<void>)[] = [];

  constructor(private readonly opts: JournalOptions) {}

  /** Opens the journal on the user's database; writes waiting in memory go out now. */
  attach(db: OfflineDb): void {
    this.db = db;
    this.enqueue(async () => undefined);
  }

  /** No storage here (IndexedDB refused): nothing is written, and nothing counts as waiting to be. */
  disable(): void {
    this.disabled = true;
    this.waiting -= this.pendingBeforeOpen.splice(0).length;
  }

  /** True once `disable` was called: mutations live in memory only. */
  get isDisabled(): boolean {
    return this.disabled;
  }

  private disabled = false;

  /** Keeps a stored entry's place in the order when this tab sends it again (after a reload). */
  adopt(m: StoredMutation): void {
    this.known.set(m.op, { order: m.order, stored: m });
  }

  /** Writes not on disk yet. */
  get unsaved(): number {
    return this.waiting;
  }

  /** Resolves once every write issued so far is done (tests, and before a deliberate reload). */
  settled(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  saved(entry: JournalEntry): void {
    const prev = this.known.get(entry.op);
    // An adopted entry keeps what it showed when it was made (its board may not be open here).
    const d: Described = prev?.stored ?? this.opts.describe(entry);
    const order = prev?.order ?? nextOrder();
    this.known.set(entry.op, { order, stored: prev?.stored });
    this.forgottenOps.delete(entry.op);
    const record: StoredMutation = {
      op: entry.op,
      order,
      tab: this.opts.tab(),
      board: d.board,
      key: entry.key,
      method: entry.method,
      params: entry.params,
      view: d.view,
      ...(d.text !== undefined ? { text: d.text } : {}),
    };
    this.enqueue(async (db) => {
      // Answered meanwhile: nothing to keep.
      if (!this.forgottenOps.has(record.op)) await db.put("outbox", record);
    });
  }

  forgotten(op: string): void {
    this.known.delete(op);
    this.forgottenOps.add(op);
    this.enqueue(async (db) => {
      await db.delete("outbox", op);
      this.forgottenOps.delete(op);
    });
  }

  private enqueue(write: (db: OfflineDb) => Promise<void>): void {
    if (this.disabled) return;
    this.waiting++;
    const run = async () => {
      try {
        if (this.db) await write(this.db);
      } catch (e) {
        this.opts.failed?.(e);
      } finally {
        this.waiting--;
      }
    };
    if (!this.db) {
      // Not open yet: re-queued by attach (which enqueues after these).
      this.pendingBeforeOpen.push(run);
      return;
    }
    const queued = this.pendingBeforeOpen.splice(0);
    this.chain = this.chain.then(async () => {
      for (const q of queued) await q();
      await run();
    });
  }
}
