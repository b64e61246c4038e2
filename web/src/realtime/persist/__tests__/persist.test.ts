import "fake-indexeddb/auto";
import { afterEach, describe, expect, it } from "vitest";
import { BoardClient } from "../../board";
import type { Connection } from "../../connection";
import { RpcError } from "../../errors";
import { Outbox, type JournalEntry, type OutboxJournal } from "../../outbox";
import type { RpcMethod } from "../../protocol";
import type { RpcOutcome } from "../../rpc";
import * as textModule from "../../text";
import { ann, board, bob, flush, note, setup } from "../../__tests__/fakes";
import { attachOffline } from "../boardCache";
import { dbName, loadOutbox, openOfflineDb, type OfflineDb, type StoredMutation } from "../db";
import { describeMutation } from "../describe";
import { IdbJournal } from "../journal";
import { OfflineSync } from "../offline";
import type { LockManagerLike } from "../tabs";

const opened: OfflineDb[] = [];
async function freshDb(user = ann.id): Promise<OfflineDb> {
  const db = await openOfflineDb(user);
  opened.push(db);
  await db.clear("outbox");
  await db.clear("boards");
  return db;
}
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

/** Records what the outbox tells its journal. */
class MemoryJournal implements OutboxJournal {
  readonly log: string[] = [];
  saved(e: JournalEntry) {
    this.log.push(`saved ${e.op}`);
  }
  forgotten(op: string) {
    this.log.push(`forgotten ${op}`);
  }
}

function journaledOutbox() {
  const journal = new MemoryJournal();
  const t = { ready: false };
  const calls: { op: string; settle: (o: RpcOutcome) => void }[] = [];
  const box = new Outbox(
    {
      ready: () => t.ready,
      call: (_m, params, settle) => {
        journal.log.push(`sent ${(params as { op: string }).op}`);
        calls.push({ op: (params as { op: string }).op, settle });
        return true;
      },
      unanswered: () => undefined,
      changed: () => undefined,
    },
    journal,
  );
  return { box, journal, t, calls };
}

describe("Outbox with a journal", () => {
  it("journals at once while offline, and before sending while online", () => {
    const { box, journal, t } = journaledOutbox();
    void box.push("note.update", "a", "n1", () => ({ op: "a" }));
    expect(journal.log).toEqual(["saved a"]);
    expect(box.unsaved).toBe(0);
    t.ready = true;
    box.replay();
    void box.push("note.update", "b", "n2", () => ({ op: "b" }));
    expect(journal.log).toEqual(["saved a", "sent a", "saved b", "sent b"]);
  });

  it("keeps an entry waiting behind its note unbuilt (and counted unsaved) while online, and forgets answered ones", async () => {
    const { box, journal, t, calls } = journaledOutbox();
    t.ready = true;
    const a = box.push("note.update", "a", "n1", () => ({ op: "a" }));
    const b = box.push("note.update", "b", "n1", () => ({ op: "b" }));
    expect(box.unsaved).toBe(1);
    calls[0].settle({ kind: "result", result: { seq: 1 } });
    await a;
    await flush();
    calls[1].settle({ kind: "error", error: new RpcError({ code: "not_found", message: "gone" }) });
    await expect(b).rejects.toThrow("gone");
    expect(journal.log).toEqual(["saved a", "sent a", "forgotten a", "saved b", "sent b", "forgotten b"]);
  });
});

describe("describeMutation", () => {
  const textOf = () => "hello";
  it("rebuilds the pending view of each kind", () => {
    const create = describeMutation("note.create", "o1", { board: "b1", id: "n1", op: "o1", text: "hi", x: 1, y: 2, w: 3, h: 4, color: "pink" }, ann, textOf);
    expect(create.board).toBe("b1");
    expect(create.view).toMatchObject({ kind: "create", note: { id: "n1", text: "hi", x: 1, color: "pink", created_by: ann } });
    const update = describeMutation("note.update", "o2", { board: "b1", id: "n1", op: "o2", x: 5, base_version: 3 }, ann, textOf);
    expect(update.view).toEqual({ op: "o2", kind: "update", id: "n1", delta: { x: 5 } });
    const edit = describeMutation("note.edit", "o3", { board: "b1", id: "n1", op: "o3", update: "AA==" }, ann, textOf);
    expect(edit).toEqual({ board: "b1", view: { op: "o3", kind: "update", id: "n1", delta: { text: "hello" } }, text: "hello" });
    expect(describeMutation("note.delete", "o4", { board: "b1", id: "n1" }, ann, textOf).view).toEqual({ op: "o4", kind: "delete", id: "n1" });
    expect(describeMutation("board.rename", "o5", { board: "b1", title: "T" }, ann, textOf).view).toEqual({ op: "o5", kind: "rename", title: "T" });
    expect(describeMutation("note.restore", "o6", { board: "b1", id: "n1" }, ann, textOf).view).toBeNull();
  });
});

function entry(op: string, method: RpcMethod = "note.update", params: Record<string, unknown> = { board: "b1", id: "n1", op, x: 1 }): JournalEntry {
  return { op, key: "n1", method, params };
}

describe("IdbJournal", () => {
  const describeEntry = (e: JournalEntry) => describeMutation(e.method, e.op, e.params, ann, () => undefined);

  it("stores mutations in order (also those made before the database was open) and deletes answered ones", async () => {
    const db = await freshDb();
    const j = new IdbJournal({ tab: () => "t1", describe: describeEntry });
    j.saved(entry("a"));
    j.saved(entry("b"));
    expect(j.unsaved).toBe(2);
    j.attach(db);
    j.saved(entry("c"));
    j.forgotten("b");
    await j.settled();
    expect(j.unsaved).toBe(0);
    const stored = await loadOutbox(db);
    expect(stored.map((m) => m.op)).toEqual(["a", "c"]);
    expect(stored[0]).toMatchObject({ tab: "t1", board: "b1", method: "note.update", view: { kind: "update", delta: { x: 1 } } });
  });

  it("keeps an adopted entry's place and view when it is written again", async () => {
    const db = await freshDb();
    const old: StoredMutation = { ...entry("z"), order: 5, tab: "gone", board: "b1", view: null, text: "typed" };
    await db.put("outbox", old);
    const j = new IdbJournal({ tab: () => "t2", describe: describeEntry });
    j.attach(db);
    j.adopt(old);
    j.saved(entry("z"));
    await j.settled();
    expect(await db.get("outbox", "z")).toMatchObject({ order: 5, tab: "t2", view: null, text: "typed" });
  });

  it("keeps each user's data in a database of their own", async () => {
    expect(dbName(ann.id)).not.toBe(dbName(bob.id));
    const a = await freshDb(ann.id);
    const b = await freshDb(bob.id);
    await a.put("outbox", { ...entry("only-ann"), order: 1, tab: "t", board: "b1", view: null });
    expect(await b.count("outbox")).toBe(0);
  });
});

/** A connection stand-in: records mutations, answers them when told. */
function fakeConn() {
  const sent: { method: RpcMethod; op: string; resolve(r: unknown): void; reject(e: RpcError): void }[] = [];
  const conn = {
    user: ann,
    unsavedMutations: 0,
    pendingOps: () => sent.map((s) => s.op),
    mutate: (method: RpcMethod, op: string) =>
      new Promise((resolve, reject) => {
        sent.push({ method, op, resolve, reject });
      }),
  };
  return { conn: conn as unknown as Connection, sent };
}

function locksHolding(...tabs: string[]): LockManagerLike {
  return {
    request: (_name, _options, cb) => cb({}),
    query: async () => ({ held: tabs.map((t) => ({ name: `corkboard-tab:${t}` })) }),
  };
}

describe("OfflineSync", () => {
  it("the leader sends, in order, what gone tabs left, once; a live tab's entries are left to it", async () => {
    const db = await freshDb();
    const put = (op: string, order: number, tab: string) => db.put("outbox", { ...entry(op), order, tab, board: "b1", view: null });
    await put("b", 2, "gone");
    await put("a", 1, "gone");
    await put("c", 3, "alive");
    const { conn, sent } = fakeConn();
    const sync = new OfflineSync({ tab: "me", locks: locksHolding("alive", "me"), open: async () => db, adoptEveryMs: 60_000 });
    const settled: unknown[] = [];
    sync.settled.on((s) => settled.push(s));
    sync.signIn(ann, conn);
    await sync.loadBoard("b1");
    await flush();
    // Leadership's first scan saw "gone" once: a reloading tab gets one more scan to take its lock again.
    expect(sent).toHaveLength(0);
    await sync.adoptOrphans();
    await sync.adoptOrphans();
    expect(sent.map((s) => s.op)).toEqual(["a", "b"]);
    sent[0].resolve({ seq: 7 });
    sent[1].reject(new RpcError({ code: "not_found", message: "note not found" }));
    await flush();
    expect(settled).toEqual([
      { op: "a", board: "b1", seq: 7 },
      { op: "b", board: "b1", error: { code: "not_found", message: "note not found" } },
    ]);
    sync.stop();
  });

  it("a board opens with its stored state and shows stored edits as pending; a refused one becomes a notice with its text", async () => {
    const db = await freshDb();
    await db.put("boards", { id: "b1", board: { ...board, seq: 3 }, notes: [note("n1", { text: "old" })], seq: 3, savedAt: 1 });
    await db.put("outbox", {
      op: "e1",
      order: 1,
      tab: "gone",
      board: "b1",
      key: "n1",
      method: "note.edit",
      params: { board: "b1", id: "n1", op: "e1", update: "AA==" },
      view: { op: "e1", kind: "update", id: "n1", delta: { text: "new words" } },
      text: "new words",
    });
    const { conn: fake } = fakeConn();
    const sync = new OfflineSync({ tab: "me", locks: locksHolding("me"), open: async () => db, adoptEveryMs: 60_000 });
    sync.signIn(ann, fake);
    const { conn } = setup();
    const client = new BoardClient(conn, "b1", { loadText: () => textModule });
    const detach = attachOffline(client, sync, { saveEveryMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    const view = client.store.getView();
    expect(view.ready).toBe(true);
    expect(view.byId.get("n1")?.text).toBe("new words");
    expect(view.dirty.has("n1")).toBe(true);
    sync.settled.emit({ op: "e1", board: "b1", error: { code: "not_found", message: "note not found" } });
    expect(client.store.getView().byId.get("n1")?.text).toBe("old");
    const lost = client.getMeta().notices.find((n) => n.kind === "lost");
    expect(lost).toMatchObject({ kind: "lost", note: "n1", text: "new words" });
    detach();
    client.stop();
    sync.stop();
  });
});

describe("a reloaded tab", () => {
  it("sends its own journaled mutations itself, in order, before the leader would", async () => {
    const db = await freshDb();
    await db.put("outbox", { ...entry("second"), order: 2, tab: "me", board: "b1", view: null });
    await db.put("outbox", { ...entry("first"), order: 1, tab: "me", board: "b1", view: null });
    await db.put("outbox", { ...entry("other"), order: 3, tab: "alive", board: "b1", view: null });
    const { conn, sent } = fakeConn();
    const sync = new OfflineSync({ tab: "me", locks: locksHolding("alive", "me"), open: async () => db, adoptEveryMs: 60_000 });
    sync.signIn(ann, conn);
    await until(() => sent.length === 2);
    expect(sent.map((s) => s.op)).toEqual(["first", "second"]);
    sync.stop();
  });

  it("takes a new id when another tab holds its lock (a duplicated tab)", async () => {
    const db = await freshDb();
    const locks: LockManagerLike = { request: (name, _o, cb) => cb(name === "corkboard-tab:me" ? null : {}), query: async () => ({}) };
    const { conn } = fakeConn();
    const sync = new OfflineSync({ tab: "me", locks, open: async () => db, adoptEveryMs: 60_000 });
    sync.signIn(ann, conn);
    await until(() => sync.tab !== "me");
    sync.stop();
  });
});

/** Polls `ok` (real timers) for up to a second. */
async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(ok()).toBe(true);
}

describe("what a page unload would lose", () => {
  it("without storage, every pending mutation", async () => {
    const sync = new OfflineSync({ tab: "me", locks: null, open: async () => Promise.reject(new Error("no IndexedDB")), adoptEveryMs: 60_000 });
    const { conn } = fakeConn();
    (conn as unknown as { getState: () => { pending: number } }).getState = () => ({ pending: 3 });
    sync.signIn(ann, conn);
    sync.journal.saved(entry("a"));
    await sync.loadBoard("b1");
    expect(sync.unsaved).toBe(3);
    expect(sync.journal.unsaved).toBe(0);
    sync.stop();
  });

  it("counts mutations not built yet and writes not on disk yet", async () => {
    const db = await freshDb();
    const sync = new OfflineSync({ tab: "me", locks: null, open: async () => db, adoptEveryMs: 60_000 });
    const { conn } = fakeConn();
    (conn as unknown as { unsavedMutations: number }).unsavedMutations = 1;
    sync.signIn(ann, conn);
    sync.journal.saved(entry("a"));
    expect(sync.unsaved).toBe(2);
    await sync.loadBoard("b1"); // the database is open
    await sync.journal.settled();
    await flush();
    expect(sync.unsaved).toBe(1);
    sync.stop();
  });
});
