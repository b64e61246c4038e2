/**
 * The mutations this tab has made that the server has not answered yet.
 *
 * Exists so that an edit survives a dropped connection: each mutation carries
 * an `op` id and stays here until the server answers it, and is sent again
 * (same op, same params) after every reconnect — the server's idempotency
 * makes the retry harmless. Mutations with the same key (a note) are sent one
 * at a time, in order, because the server runs RPCs concurrently; a transient
 * error (`rate_limited`, `unavailable`) waits and retries instead of failing.
 */
import { isTransient, type RpcError } from "./errors";
import type { RpcMethod } from "./protocol";
import type { RpcOutcome } from "./rpc";

/** How the outbox reaches the server (the connection). */
export interface OutboxTransport {
  /** True when mutations may be sent (connected, after `welcome`). */
  ready(): boolean;
  /** Sends one RPC; false when it could not be sent. `settle` is then called exactly once. */
  call(method: RpcMethod, params: unknown, settle: (outcome: RpcOutcome) => void): boolean;
  /** A mutation went unanswered past its timeout: the connection is presumed dead. */
  unanswered(): void;
  /** The number of entries changed. */
  changed(): void;
}

/** A mutation whose params are known: what the journal stores so that it survives a reload. */
export interface JournalEntry {
  op: string;
  key: string;
  method: RpcMethod;
  params: unknown;
}

/**
 * Where the outbox writes its mutations so that they outlive the page
 * (IndexedDB, see persist/). Optional: without one, the outbox lives in memory.
 */
export interface OutboxJournal {
  /** A mutation's params are built: store it (called before it is sent). */
  saved(entry: JournalEntry): void;
  /** The server answered it, or it was withdrawn: forget it. */
  forgotten(op: string): void;
}

interface OutboxEntry {
  op: string;
  key: string;
  method: RpcMethod;
  /** Builds the params on first send (so they can depend on earlier answers). */
  build: () => unknown;
  params?: unknown;
  inflight: boolean;
  /** Not before this time (ms epoch), after a transient error. */
  notBefore: number;
  resolve(result: unknown): void;
  reject(err: RpcError): void;
}

/** Wait after a transient error without `retry_after` (ms). */
const TRANSIENT_RETRY_MS = 1000;

export class Outbox {
  private readonly entries: OutboxEntry[] = [];
  private wakeTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly transport: OutboxTransport,
    private readonly journal?: OutboxJournal,
  ) {}

  /**
   * Queues a mutation; it is sent when the transport is ready (after earlier
   * entries with the same key are answered) and settles with the server's
   * answer. `build` runs once, just before the first send.
   */
  push(method: RpcMethod, op: string, key: string, build: () => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.entries.push({ op, key, method, build, inflight: false, notBefore: 0, resolve, reject });
      this.transport.changed();
      this.flush();
    });
  }

  /** After a reconnect: everything unanswered goes again, in order, with the same op ids. */
  replay(): void {
    for (const e of this.entries) e.inflight = false;
    this.flush();
  }

  /**
   * Sends every entry that may go now. While the transport is not ready and a
   * journal is attached, every entry's params are built and journaled instead,
   * so nothing waits unsaved while offline.
   */
  flush(): void {
    this.clearWake();
    if (!this.transport.ready()) {
      if (this.journal) for (const e of this.entries) this.build(e);
      return;
    }
    const blocked = new Set<string>();
    const now = Date.now();
    let wakeAt = Infinity;
    for (const e of this.entries) {
      if (blocked.has(e.key)) continue;
      blocked.add(e.key);
      if (e.inflight) continue;
      if (e.notBefore > now) {
        wakeAt = Math.min(wakeAt, e.notBefore);
        continue;
      }
      this.build(e);
      if (!this.transport.call(e.method, e.params, (outcome) => this.settle(e, outcome))) return;
      e.inflight = true;
    }
    if (wakeAt < Infinity) this.wakeTimer = setTimeout(() => this.flush(), wakeAt - now);
  }

  /** Fails every entry with `err` (the connection is closed for good). */
  rejectAll(err: RpcError): void {
    this.clearWake();
    const entries = this.entries.splice(0);
    if (entries.length) this.transport.changed();
    for (const e of entries) e.reject(err);
  }

  /**
   * Withdraws a mutation that was never sent (its `build` has not run), so
   * the server cannot have applied it; it settles with `err`. False, and
   * nothing changes, when the entry is unknown or already went out once.
   */
  cancel(op: string, err: RpcError): boolean {
    const e = this.entries.find((x) => x.op === op);
    if (!e || e.params !== undefined || e.inflight) return false;
    this.remove(e);
    e.reject(err);
    return true;
  }

  /** Entries not in the journal yet (all of them without a journal): what a page unload would lose. */
  get unsaved(): number {
    return this.journal ? this.entries.filter((e) => e.params === undefined).length : this.entries.length;
  }

  /** Ops not answered yet, oldest first. */
  pendingOps(): string[] {
    return this.entries.map((e) => e.op);
  }

  get size(): number {
    return this.entries.length;
  }

  private settle(entry: OutboxEntry, outcome: RpcOutcome): void {
    switch (outcome.kind) {
      case "lost":
        // Sent again after the next `welcome`.
        entry.inflight = false;
        return;
      case "timeout":
        entry.inflight = false;
        this.transport.unanswered();
        return;
      case "error":
        if (isTransient(outcome.error.code)) {
          entry.inflight = false;
          const after = Number(outcome.error.details?.retry_after);
          entry.notBefore = Date.now() + (Number.isFinite(after) && after > 0 ? after * 1000 : TRANSIENT_RETRY_MS);
          this.flush();
          return;
        }
        this.remove(entry);
        entry.reject(outcome.error);
        break;
      case "result":
        this.remove(entry);
        entry.resolve(outcome.result);
        break;
      default: {
        const unhandled: never = outcome;
        void unhandled;
      }
    }
    // After the settle callbacks have run (a later entry's params may depend on them).
    void Promise.resolve().then(() => this.flush());
  }

  /** Builds an entry's params once and journals them. */
  private build(e: OutboxEntry): void {
    if (e.params !== undefined) return;
    e.params = e.build();
    this.journal?.saved({ op: e.op, key: e.key, method: e.method, params: e.params });
  }

  private remove(entry: OutboxEntry): void {
    const i = this.entries.indexOf(entry);
    if (i >= 0) this.entries.splice(i, 1);
    this.journal?.forgotten(entry.op);
    this.transport.changed();
  }

  private clearWake(): void {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
  }
}
