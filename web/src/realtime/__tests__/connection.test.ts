import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BoardClient } from "../board";
import type { ClientMessage } from "../protocol";
import { ann, board, bob, flush, note, setup } from "./fakes";

type Rpc = Extract<ClientMessage, { type: "rpc" }>;

let counter = 0;
const uuid = () => `id-${++counter}`;

beforeEach(() => {
  counter = 0;
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

function open() {
  const t = setup({ random: () => 0.5 });
  t.conn.start();
  t.last.welcome(ann);
  return t;
}

describe("RPC", () => {
  it("matches results by id and times out", async () => {
    const t = open();
    const p = t.conn.rpc("board.get", { board: "b1" }, 1000);
    const [req] = t.last.ofType("rpc");
    expect(req).toMatchObject({ method: "board.get", params: { board: "b1" } });
    t.last.receive({ type: "result", id: "unrelated", result: 1 });
    t.last.receive({ type: "result", id: req.id, result: { seq: 3 } });
    await expect(p).resolves.toEqual({ seq: 3 });

    const q = t.conn.rpc("board.get", { board: "b1" }, 1000);
    vi.advanceTimersByTime(1000);
    await expect(q).rejects.toMatchObject({ code: "unavailable" });

    const r = t.conn.rpc("board.get", { board: "zz" });
    const [, , third] = t.last.ofType("rpc");
    t.last.receive({ type: "error", id: third.id, error: { code: "not_found", message: "no such board" } });
    await expect(r).rejects.toMatchObject({ code: "not_found", message: "no such board" });
    t.conn.stop();
  });

  it("fails plain RPCs at once when offline", async () => {
    const t = setup();
    t.conn.start();
    await expect(t.conn.rpc("board.get", { board: "b1" })).rejects.toMatchObject({ code: "unavailable" });
    t.conn.stop();
  });
});

describe("outbox", () => {
  it("replays unacknowledged mutations after reconnect, with the same op ids, exactly once each", async () => {
    const t = open();
    const results: unknown[] = [];
    const p1 = t.conn.mutate("note.update", "op-1", "n1", () => ({ board: "b1", id: "n1", op: "op-1", x: 1 }));
    p1.then((r) => results.push(r));
    const first = t.last;
    expect(first.ofType("rpc").map((m) => (m.params as { op: string }).op)).toEqual(["op-1"]);

    // The connection drops before the answer; more edits are made while offline.
    first.drop(1006);
    const p2 = t.conn.mutate("note.update", "op-2", "n2", () => ({ board: "b1", id: "n2", op: "op-2", x: 2 }));
    expect(t.conn.getState().pending).toBe(2);
    expect(first.ofType("rpc")).toHaveLength(1);

    vi.advanceTimersByTime(250);
    const second = t.last;
    expect(second).not.toBe(first);
    expect(second.ofType("rpc")).toHaveLength(0); // nothing before welcome
    second.welcome(ann);
    const replayed = second.ofType("rpc") as Rpc[];
    expect(replayed.map((m) => (m.params as { op: string }).op)).toEqual(["op-1", "op-2"]);
    // Same params as the first attempt (idempotent retry).
    expect(replayed[0].params).toEqual(first.ofType("rpc")[0].params);

    // The server applied op-1 before the drop: it answers the original result again.
    second.receive({ type: "result", id: replayed[0].id, result: { note: note("n1"), seq: 7 } });
    second.receive({ type: "result", id: replayed[1].id, result: { note: note("n2"), seq: 8 } });
    await p2;
    await flush();
    expect(results).toHaveLength(1);
    expect(t.conn.getState().pending).toBe(0);

    // A later reconnect sends nothing again.
    second.drop(1001);
    vi.advanceTimersByTime(250);
    t.last.welcome(ann);
    expect(t.last.ofType("rpc")).toHaveLength(0);
    t.conn.stop();
  });

  it("sends mutations of the same note one at a time, in order", async () => {
    const t = open();
    let built = 0;
    const quiet = () => undefined;
    t.conn.mutate("note.create", "c", "n1", () => ({ board: "b1", id: "n1", op: "c", x: 0, y: 0 })).catch(quiet);
    t.conn
      .mutate("note.update", "u", "n1", () => {
        built++;
        return { board: "b1", id: "n1", op: "u", x: 5 };
      })
      .catch(quiet);
    t.conn.mutate("note.update", "other", "n2", () => ({ board: "b1", id: "n2", op: "other", x: 5 })).catch(quiet);
    let rpcs = t.last.ofType("rpc");
    expect(rpcs.map((m) => (m.params as { op: string }).op)).toEqual(["c", "other"]);
    expect(built).toBe(0);
    t.last.receive({ type: "result", id: rpcs[0].id, result: { note: note("n1"), seq: 1 } });
    await flush();
    rpcs = t.last.ofType("rpc");
    expect(rpcs.map((m) => (m.params as { op: string }).op)).toEqual(["c", "other", "u"]);
    expect(built).toBe(1);
    t.conn.stop();
  });

  it("retries transient errors after retry_after, rejects the rest", async () => {
    const t = open();
    const p = t.conn.mutate("note.update", "u", "n1", () => ({ board: "b1", id: "n1", op: "u", x: 5 }));
    const q = t.conn.mutate("note.update", "v", "n2", () => ({ board: "b1", id: "n2", op: "v", x: 5 }));
    const [a, b] = t.last.ofType("rpc");
    t.last.receive({ type: "error", id: a.id, error: { code: "rate_limited", message: "slow down", details: { retry_after: 2 } } });
    t.last.receive({ type: "error", id: b.id, error: { code: "forbidden", message: "viewers cannot edit" } });
    await expect(q).rejects.toMatchObject({ code: "forbidden" });
    vi.advanceTimersByTime(1999);
    expect(t.last.ofType("rpc")).toHaveLength(2);
    vi.advanceTimersByTime(1);
    const again = t.last.ofType("rpc")[2];
    expect((again.params as { op: string }).op).toBe("u");
    t.last.receive({ type: "result", id: again.id, result: { note: note("n1"), seq: 2 } });
    await expect(p).resolves.toMatchObject({ seq: 2 });
    t.conn.stop();
  });

  it("an RPC timeout on a mutation reconnects and replays it", async () => {
    const t = open();
    t.conn.mutate("note.delete", "d", "n1", () => ({ board: "b1", id: "n1", op: "d" })).catch(() => undefined);
    vi.advanceTimersByTime(10_000);
    expect(t.sockets[0].closedWith?.code).toBe(4000);
    vi.advanceTimersByTime(250);
    t.last.welcome(ann);
    expect(t.last.ofType("rpc")[0]).toMatchObject({ method: "note.delete", params: { op: "d" } });
    t.conn.stop();
  });
});

describe("BoardClient over the connection", () => {
  function boardSetup() {
    const t = open();
    const client = new BoardClient(t.conn, "b1", { uuid });
    client.start();
    const sub = t.last.ofType("subscribe")[0];
    expect(sub).toMatchObject({ board: "b1" });
    expect(sub.since).toBeUndefined();
    t.last.receive({
      type: "subscribed",
      board: "b1",
      seq: 3,
      snapshot: { board: { ...board, seq: 3 }, notes: [note("n1", { text: "hi", version: 3 })] },
    });
    return { t, client };
  }

  it("resumes with since = last seq after a reconnect, and replays an offline edit exactly once", async () => {
    const { t, client } = boardSetup();
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 4, by: bob, at: "t", id: "n1", version: 4, delta: { x: 9 } });
    t.last.drop(1006);

    // Offline edit: shows at once.
    client.updateNote("n1", { text: "offline edit" });
    expect(client.store.getView().byId.get("n1")?.text).toBe("offline edit");

    vi.advanceTimersByTime(250);
    t.last.welcome(ann);
    expect(t.last.ofType("subscribe")[0]).toMatchObject({ board: "b1", since: 4 });
    const [rpc] = t.last.ofType("rpc");
    expect(rpc).toMatchObject({ method: "note.update", params: { id: "n1", text: "offline edit" } });
    const op = (rpc.params as { op: string }).op;

    // Replay of what was missed (a remote change), then our own event, then the result.
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 5, by: bob, at: "t", id: "n1", version: 5, delta: { color: "blue" } });
    expect(client.store.getView().byId.get("n1")).toMatchObject({ text: "offline edit", color: "blue", x: 9 });
    t.last.receive({ type: "subscribed", board: "b1", seq: 5, replayed: 1 });
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 6, by: ann, at: "t", op, id: "n1", version: 6, delta: { text: "offline edit" } });
    t.last.receive({ type: "result", id: rpc.id, result: { note: note("n1", { text: "offline edit", version: 6 }), seq: 6 } });
    await flush();
    const v = client.store.getView();
    expect(v.pending).toBe(0);
    expect(v.byId.get("n1")).toMatchObject({ text: "offline edit", color: "blue", x: 9, version: 6 });
    expect(t.conn.getState().pending).toBe(0);
    client.stop();
    t.conn.stop();
  });

  it("a gap triggers one resubscribe from the last contiguous seq", () => {
    const { t, client } = boardSetup();
    t.last.receive({ type: "event", kind: "note.deleted", board: "b1", seq: 6, by: bob, at: "t", id: "n1" });
    t.last.receive({ type: "event", kind: "note.deleted", board: "b1", seq: 7, by: bob, at: "t", id: "n1" });
    const subs = t.last.ofType("subscribe");
    expect(subs).toHaveLength(2);
    expect(subs[1].since).toBe(3);
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 4, by: bob, at: "t", id: "n1", version: 4, delta: { x: 1 } });
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 5, by: bob, at: "t", id: "n1", version: 5, delta: { x: 2 } });
    expect(client.store.confirmedSeq).toBe(7);
    expect(client.store.getView().byId.has("n1")).toBe(false);
    client.stop();
    t.conn.stop();
  });

  it("rolls back a rejected mutation and shows a message", async () => {
    const { t, client } = boardSetup();
    const id = client.createNote({ x: 10, y: 20 });
    expect(client.store.getView().byId.get(id)).toMatchObject({ x: 10, y: 20, color: "yellow", w: 200, h: 140 });
    const [rpc] = t.last.ofType("rpc");
    expect(rpc).toMatchObject({ method: "note.create", params: { id, x: 10, y: 20 } });
    t.last.receive({ type: "error", id: rpc.id, error: { code: "forbidden", message: "viewers cannot edit" } });
    await flush();
    expect(client.store.getView().byId.has(id)).toBe(false);
    const notices = client.getMeta().notices;
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ kind: "error", message: "Couldn't create the note: viewers cannot edit" });
    client.dismiss(notices[0].id);
    expect(client.getMeta().notices).toHaveLength(0);
    client.stop();
    t.conn.stop();
  });

  it("a conflict shows their version; keeping mine re-sends without base_version", async () => {
    const { t, client } = boardSetup();
    const done = client.updateNote("n1", { text: "mine" }, { baseVersion: 3 });
    const [rpc] = t.last.ofType("rpc");
    expect(rpc.params).toMatchObject({ text: "mine", base_version: 3 });
    const theirs = note("n1", { text: "theirs", version: 4 });
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 4, by: bob, at: "t", id: "n1", version: 4, delta: { text: "theirs" } });
    t.last.receive({ type: "error", id: rpc.id, error: { code: "conflict", message: "changed", details: { note: theirs, fields: ["text"] } } });
    await done;
    expect(client.store.getView().byId.get("n1")?.text).toBe("theirs");
    const [c] = client.getMeta().notices;
    expect(c).toMatchObject({ kind: "conflict", note: "n1", by: "bob", mine: { text: "mine" }, theirs: { text: "theirs" } });
    expect(c.kind === "conflict" && c.message).toBe("bob changed this note while you were editing it.");

    client.resolveConflict(c.id, "mine");
    expect(client.store.getView().byId.get("n1")?.text).toBe("mine");
    const again = t.last.ofType("rpc")[1];
    expect(again.params).toMatchObject({ text: "mine" });
    expect(again.params).not.toHaveProperty("base_version");
    expect(client.getMeta().notices).toHaveLength(0);
    client.stop();
    t.conn.stop();
  });

  it("after its own text write, the next base_version is that write's version", async () => {
    const { t, client } = boardSetup();
    client.updateNote("n1", { text: "a" }, { baseVersion: 3 });
    client.updateNote("n1", { text: "ab" }, { baseVersion: 3 });
    const [first] = t.last.ofType("rpc");
    t.last.receive({ type: "result", id: first.id, result: { note: note("n1", { text: "a", version: 9 }), seq: 9 } });
    await flush();
    const second = t.last.ofType("rpc")[1];
    expect(second.params).toMatchObject({ text: "ab", base_version: 9 });
    client.stop();
    t.conn.stop();
  });

  it("tracks presence, cursors (throttled) and typing", () => {
    const { t, client } = boardSetup();
    const p = (u: typeof ann, connections = 1) => ({ user: u, connections, since: "t" });
    t.last.receive({ type: "presence", board: "b1", members: [p(ann)] });
    t.last.receive({ type: "presence", board: "b1", joined: [p(bob)] });
    expect(client.getMeta().presence.map((x) => x.user.username)).toEqual(["ann", "bob"]);
    t.last.receive({ type: "signal", board: "b1", from: bob, name: "cursor", data: { x: 5, y: 6 } });
    t.last.receive({ type: "signal", board: "b1", from: bob, name: "typing", data: { note: "n1" } });
    t.last.receive({ type: "signal", board: "b1", from: ann, name: "cursor", data: { x: 1, y: 1 } }); // own echo ignored
    expect(client.getMeta().cursors).toEqual([expect.objectContaining({ user: bob, x: 5, y: 6 })]);
    expect(client.getMeta().typing).toEqual([expect.objectContaining({ user: bob, note: "n1" })]);
    t.last.receive({ type: "presence", board: "b1", left: [p(bob, 0)] });
    expect(client.getMeta().presence.map((x) => x.user.username)).toEqual(["ann"]);
    expect(client.getMeta().cursors).toEqual([]);

    for (let i = 0; i < 100; i++) {
      client.sendCursor(i, i);
      vi.advanceTimersByTime(10);
    }
    const cursors = t.last.ofType("signal").filter((s) => s.name === "cursor");
    expect(cursors.length).toBeLessThanOrEqual(21); // 1 s at ≤ 20/s
    expect(cursors.length).toBeGreaterThanOrEqual(19);
    vi.advanceTimersByTime(100);
    expect(t.last.ofType("signal").at(-1)).toMatchObject({ name: "cursor", data: { x: 99, y: 99 } });
    client.stop();
    t.conn.stop();
  });

  it("a live demotion of the signed-in user turns the board read-only without a reload", () => {
    const { t, client } = boardSetup(); // ann, owner in the snapshot
    const roles: string[] = [];
    client.store.changes.on((v) => roles.push(v.board?.role ?? "none"));
    t.last.receive({ type: "event", kind: "member.updated", board: "b1", seq: 4, by: bob, at: "t", user: ann, role: "viewer" });
    expect(client.store.getView().board?.role).toBe("viewer");
    expect(roles).toEqual(["viewer"]);
    t.last.receive({ type: "event", kind: "member.updated", board: "b1", seq: 5, by: bob, at: "t", user: bob, role: "editor" });
    expect(client.store.getView().board?.role).toBe("viewer");
    client.stop();
    t.conn.stop();
  });

  it("the signed-in user's member.left shows the board as revoked, saying by whom", () => {
    const { t, client } = boardSetup();
    t.last.receive({ type: "event", kind: "member.left", board: "b1", seq: 4, by: bob, at: "t", user: bob, role: "editor" });
    expect(client.getMeta().status).toBe("ready");
    t.last.receive({ type: "event", kind: "member.left", board: "b1", seq: 5, by: bob, at: "t", user: ann, role: "editor" });
    expect(client.getMeta().status).toBe("revoked");
    expect(client.getMeta().removedBy).toEqual(bob);
    // The `unsubscribed` that follows changes neither.
    t.last.receive({ type: "unsubscribed", board: "b1", reason: "revoked" });
    expect(client.getMeta()).toMatchObject({ status: "revoked", removedBy: bob });
    client.stop();
    t.conn.stop();
  });

  it("an `unsubscribed` revoked alone shows the board as revoked by nobody known", () => {
    const { t, client } = boardSetup();
    t.last.receive({ type: "unsubscribed", board: "b1", reason: "revoked" });
    expect(client.getMeta()).toMatchObject({ status: "revoked", removedBy: null });
    client.stop();
    t.conn.stop();
  });

  it("says who changed the signed-in user's role, and hands every member event to the members panel once", () => {
    const { t, client } = boardSetup(); // ann
    const seen: string[] = [];
    client.memberEvents.on((e) => seen.push(`${e.kind}:${e.user.username}:${e.role}`));
    const ev = { type: "event", kind: "member.updated", board: "b1", seq: 4, by: bob, at: "t", user: ann, role: "viewer" } as const;
    t.last.receive(ev);
    t.last.receive(ev); // a duplicate is neither applied nor handed on
    expect(client.getMeta().roleChange).toEqual({ by: bob, role: "viewer" });
    t.last.receive({ type: "event", kind: "member.joined", board: "b1", seq: 5, by: bob, at: "t", user: bob, role: "editor" });
    expect(seen).toEqual(["member.updated:ann:viewer", "member.joined:bob:editor"]);
    client.dismissRoleChange();
    expect(client.getMeta().roleChange).toBeNull();
    // Someone else's role change is not about this user.
    t.last.receive({ type: "event", kind: "member.updated", board: "b1", seq: 6, by: bob, at: "t", user: bob, role: "viewer" });
    expect(client.getMeta().roleChange).toBeNull();
    client.stop();
    t.conn.stop();
  });

  it("reports a board it cannot see", () => {
    const t = open();
    const client = new BoardClient(t.conn, "nope", { uuid });
    client.start();
    t.last.receive({ type: "error", id: "s1", board: "nope", error: { code: "not_found", message: "no board" } });
    expect(client.getMeta().status).toBe("not_found");
    client.stop();
    t.conn.stop();
  });
});

describe("editing a note created in this tab", () => {
  it("bases the first text edit on the create's version, not 0", async () => {
    const t = open();
    const client = new BoardClient(t.conn, "b1", { uuid });
    client.start();
    t.last.receive({ type: "subscribed", board: "b1", seq: 1, snapshot: { board: { ...board, seq: 1 }, notes: [] } });
    const id = client.createNote({ x: 0, y: 0 });
    void client.updateNote(id, { text: "typed before the create was answered" }, { baseVersion: 0 });
    const [create] = t.last.ofType("rpc");
    t.last.receive({ type: "result", id: create.id, result: { note: note(id, { version: 2 }), seq: 2 } });
    await flush();
    expect(t.last.ofType("rpc")[1].params).toMatchObject({ base_version: 2 });
    client.stop();
    t.conn.stop();
  });
});
