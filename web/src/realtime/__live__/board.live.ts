/**
 * Two users on one board through the real server: create, move, edit, delete,
 * presence, cursors, a conflict, and a mutation whose answer is lost and which
 * is replayed after reconnect (applied exactly once).
 */
import { afterAll, describe, expect, it } from "vitest";
import { BoardClient } from "../board";
import { Connection } from "../connection";
import type { SocketLike } from "../socket";

const BASE = process.env.CORKBOARD_LIVE_URL ?? "http://127.0.0.1:8080";
const ORIGIN = process.env.CORKBOARD_LIVE_ORIGIN ?? BASE;
const run = Math.random().toString(36).slice(2, 8);

async function call(cookie: string, method: string, path: string, body?: unknown) {
  const res = await fetch(BASE + path, {
    method,
    headers: { "content-type": "application/json", origin: ORIGIN, cookie },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, cookie: res.headers.get("set-cookie") };
}

async function signup(name: string) {
  const r = await call("", "POST", "/api/auth/signup", { username: name, password: "password123" });
  expect(r.status).toBe(201);
  return r.cookie!.split(";")[0];
}

function connect(cookie: string) {
  const sockets: WebSocket[] = [];
  const conn = new Connection({
    url: BASE.replace(/^http/, "ws") + "/ws",
    env: null,
    isOnline: () => true,
    createSocket: (url, protocols) => {
      // Node's WebSocket (undici) takes headers; a browser sends the cookie itself.
      const Ctor = WebSocket as unknown as new (u: string, o: object) => WebSocket;
      const ws = new Ctor(url, { protocols, headers: { cookie, origin: ORIGIN } });
      sockets.push(ws);
      return ws as unknown as SocketLike;
    },
  });
  conn.start();
  return { conn, sockets };
}

async function until(check: () => boolean, ms = 3000) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

const cleanup: (() => void)[] = [];
afterAll(() => cleanup.forEach((f) => f()));

describe("live server", () => {
  it("two users collaborate on a board", async () => {
    const ann = await signup(`ann_${run}`);
    const bob = await signup(`bob_${run}`);
    const board = (await call(ann, "POST", "/api/boards", { title: "Live" })).json;
    const { token } = (await call(ann, "POST", `/api/boards/${board.id}/invites`, { role: "editor" })).json;
    expect((await call(bob, "POST", `/api/invites/${token}/accept`)).status).toBe(200);

    const a = connect(ann);
    const b = connect(bob);
    const ca = new BoardClient(a.conn, board.id);
    const cb = new BoardClient(b.conn, board.id);
    ca.start();
    cb.start();
    cleanup.push(() => {
      ca.stop();
      cb.stop();
      a.conn.stop();
      b.conn.stop();
    });
    await until(() => ca.store.isReady && cb.store.isReady);
    await until(() => ca.getMeta().presence.length === 2 && cb.getMeta().presence.length === 2);

    // Create: optimistic at once, seen by the other well within 1 s.
    const id = ca.createNote({ x: 10, y: 20, text: "hello" });
    expect(ca.store.getView().byId.get(id)?.text).toBe("hello");
    const seen = await until(() => cb.store.getView().byId.has(id));
    expect(seen).toBeLessThan(1000);

    // Move and recolour by bob.
    await cb.updateNote(id, { x: 300, color: "pink" });
    await until(() => ca.store.getView().byId.get(id)?.x === 300);
    expect(ca.store.getView().byId.get(id)?.color).toBe("pink");

    // Cursor signal.
    cb.sendCursor(42, 43);
    await until(() => ca.getMeta().cursors.some((c) => c.x === 42 && c.y === 43));

    // Conflict: both edit the text from the same base; the second one conflicts.
    const base = ca.store.confirmedNote(id)!.version;
    await ca.updateNote(id, { text: "ann's" }, { baseVersion: base });
    await cb.updateNote(id, { text: "bob's" }, { baseVersion: base });
    const conflict = cb.getMeta().notices.find((n) => n.kind === "conflict");
    expect(conflict && conflict.kind === "conflict" && conflict.theirs.text).toBe("ann's");
    await until(() => cb.store.getView().byId.get(id)?.text === "ann's");
    cb.resolveConflict(conflict!.id, "mine");
    await until(() => ca.store.getView().byId.get(id)?.text === "bob's");

    // A mutation whose answer is lost: the socket dies right after sending.
    const seqBefore = ca.store.confirmedSeq;
    const p = ca.updateNote(id, { y: 999 });
    a.sockets.at(-1)!.close();
    await p;
    await until(() => cb.store.getView().byId.get(id)?.y === 999);
    await until(() => ca.store.getView().pending === 0 && ca.store.confirmedSeq === cb.store.confirmedSeq);
    // Exactly one new event (seq + 1), however many times it was sent.
    expect(cb.store.confirmedSeq).toBe(seqBefore + 1);
    expect(a.sockets.length).toBeGreaterThanOrEqual(2);

    // Delete.
    cb.deleteNote(id);
    await until(() => !ca.store.getView().byId.has(id));
    expect(ca.store.getView().notes).toHaveLength(0);
  });
});
