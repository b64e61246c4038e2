// The people signals of BoardClient: live drags (`drag`), views and selected
// notes (`viewport`), and the last editor of each note kept by the store.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BoardClient, parseDrag, parseViewport } from "../board";
import { ann, board, bob, note, setup } from "./fakes";

let counter = 0;
const uuid = () => `id-${++counter}`;

beforeEach(() => {
  counter = 0;
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

function boardSetup() {
  const t = setup({ random: () => 0.5 });
  t.conn.start();
  t.last.welcome(ann);
  const client = new BoardClient(t.conn, "b1", { uuid });
  client.start();
  t.last.receive({
    type: "subscribed",
    board: "b1",
    seq: 3,
    snapshot: { board: { ...board, seq: 3 }, notes: [note("n1", { text: "hi", version: 3 }), note("n2", { version: 3 })] },
  });
  const signals = (name: string) => t.last.ofType("signal").filter((s) => s.name === name);
  const stop = () => {
    client.stop();
    t.conn.stop();
  };
  return { t, client, signals, stop };
}

describe("drag signals", () => {
  it("are coalesced to about 30 a second with the newest positions, and the end goes at once", () => {
    const { client, signals, stop } = boardSetup();
    for (let i = 0; i < 200; i++) {
      client.sendDrag([{ id: "n1", x: i + 0.4, y: 2 * i }]);
      vi.advanceTimersByTime(5); // a 200 Hz pointer for 1 s
    }
    const moving = signals("drag");
    expect(moving.length).toBeGreaterThanOrEqual(28);
    expect(moving.length).toBeLessThanOrEqual(32);
    vi.advanceTimersByTime(40);
    expect(signals("drag").at(-1)?.data).toEqual({ notes: [{ id: "n1", x: 199, y: 398 }] });
    client.sendDrag([{ id: "n1", x: 500, y: 500 }]); // waits behind the throttle…
    client.sendDrag([]); // …and the end cancels it
    vi.advanceTimersByTime(100);
    expect(signals("drag").at(-1)?.data).toEqual({ notes: [] });
    expect(signals("drag").some((s) => (s.data as { notes: { x: number }[] }).notes[0]?.x === 500)).toBe(false);
    stop();
  });

  it("while dragging no cursor signal goes out: at most ~30 signals a second in all, well under the server's 50", () => {
    const { client, t, stop } = boardSetup();
    const before = t.last.ofType("signal").length;
    for (let i = 0; i < 100; i++) {
      client.sendCursor(i, i); // the pointer moves over the canvas too
      client.sendDrag([{ id: "n1", x: i, y: i }]);
      vi.advanceTimersByTime(10);
    }
    const sent = t.last.ofType("signal").slice(before);
    expect(sent.filter((s) => s.name === "cursor")).toHaveLength(1); // the first, before the drag began
    expect(sent.length).toBeLessThanOrEqual(33);
    client.sendDrag([]);
    client.sendCursor(5, 5);
    vi.advanceTimersByTime(100);
    expect(t.last.ofType("signal").at(-1)).toMatchObject({ name: "cursor", data: { x: 5, y: 5 } });
    stop();
  });

  it("a remote drag shows until the committed move arrives, and one without news for 2 s is dropped", () => {
    const { t, client, stop } = boardSetup();
    const drag = (notes: unknown) => t.last.receive({ type: "signal", board: "b1", from: bob, name: "drag", data: { notes } });
    drag([{ id: "n1", x: 10, y: 20 }, { id: "n2", x: 30, y: 40 }]);
    expect(client.getMeta().drags).toEqual([expect.objectContaining({ user: bob, ended: false, notes: [{ id: "n1", x: 10, y: 20 }, { id: "n2", x: 30, y: 40 }] })]);
    // Dropped: the positions stay until the committed moves arrive.
    drag([]);
    expect(client.getMeta().drags[0]).toMatchObject({ ended: true });
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 4, by: bob, at: "t", id: "n1", version: 4, delta: { x: 10, y: 20 } });
    expect(client.getMeta().drags[0].notes.map((n) => n.id)).toEqual(["n2"]);
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 5, by: bob, at: "t", id: "n2", version: 5, delta: { x: 30, y: 40 } });
    expect(client.getMeta().drags).toEqual([]);

    // A drag that stops sending (the sender's tab froze) is dropped after ~2 s.
    drag([{ id: "n1", x: 1, y: 1 }]);
    vi.advanceTimersByTime(1500);
    expect(client.getMeta().drags).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(client.getMeta().drags).toEqual([]);
    // An ended drag whose move never comes (cancelled) lets go after a moment.
    drag([{ id: "n1", x: 1, y: 1 }]);
    drag([]);
    vi.advanceTimersByTime(1300);
    expect(client.getMeta().drags).toEqual([]);
    stop();
  });

  it("ignores own echoes and malformed data", () => {
    const { t, client, stop } = boardSetup();
    t.last.receive({ type: "signal", board: "b1", from: ann, name: "drag", data: { notes: [{ id: "n1", x: 1, y: 1 }] } });
    t.last.receive({ type: "signal", board: "b1", from: bob, name: "drag", data: { notes: "x" } });
    expect(client.getMeta().drags).toEqual([]);
    expect(parseDrag({ notes: [{ id: "a", x: 1, y: "2" }, { id: "b", x: 1, y: 2 }, null] })).toEqual([{ id: "b", x: 1, y: 2 }]);
    expect(parseDrag({})).toBeNull();
    stop();
  });
});

describe("viewport signals", () => {
  it("are throttled to ~10 a second, skip unchanged views, carry the selection and are re-sent when someone joins", () => {
    const { t, client, signals, stop } = boardSetup();
    for (let i = 0; i < 100; i++) {
      client.sendViewport({ x: i, y: 0, zoom: 1, w: 800, h: 600 });
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(200);
    const sent = signals("viewport");
    expect(sent.length).toBeGreaterThanOrEqual(9);
    expect(sent.length).toBeLessThanOrEqual(12);
    expect(sent.at(-1)?.data).toEqual({ x: 99, y: 0, zoom: 1, w: 800, h: 600, selected: [] });
    client.sendViewport({ x: 99, y: 0, zoom: 1, w: 800, h: 600 });
    vi.advanceTimersByTime(200);
    expect(signals("viewport")).toHaveLength(sent.length);

    client.setSelected(new Set(["n2"]));
    vi.advanceTimersByTime(200);
    expect(signals("viewport").at(-1)?.data).toMatchObject({ x: 99, selected: ["n2"] });

    const before = signals("viewport").length;
    t.last.receive({ type: "presence", board: "b1", joined: [{ user: bob, connections: 1, since: "t" }] });
    expect(signals("viewport")).toHaveLength(before + 1);
    stop();
  });

  it("others' views and selections are kept until they leave", () => {
    const { t, client, stop } = boardSetup();
    t.last.receive({ type: "presence", board: "b1", joined: [{ user: bob, connections: 1, since: "t" }] });
    t.last.receive({ type: "signal", board: "b1", from: bob, name: "viewport", data: { x: 5, y: 6, zoom: 2, w: 390, h: 700, selected: ["n1"] } });
    vi.advanceTimersByTime(12_000); // longer than any signal TTL
    expect(client.getMeta().viewports).toEqual([expect.objectContaining({ user: bob, x: 5, y: 6, zoom: 2, selected: ["n1"] })]);
    t.last.receive({ type: "presence", board: "b1", left: [{ user: bob, connections: 0, since: "t" }] });
    expect(client.getMeta().viewports).toEqual([]);
    expect(parseViewport(bob, { x: 1, y: 1, zoom: 0, w: 1, h: 1 })).toBeNull();
    expect(parseViewport(bob, { x: 1, y: 1, zoom: 1, w: 1, h: 1, selected: [1, "a"] })?.selected).toEqual(["a"]);
    stop();
  });
});

describe("last editor", () => {
  it("is the author of the newest created/updated event seen, unknown after a snapshot", () => {
    const { t, client, stop } = boardSetup();
    expect(client.store.lastEditor("n1")).toBeNull();
    t.last.receive({ type: "event", kind: "note.updated", board: "b1", seq: 4, by: bob, at: "t", id: "n1", version: 4, delta: { text: "x" } });
    expect(client.store.lastEditor("n1")).toEqual(bob);
    t.last.receive({ type: "event", kind: "note.created", board: "b1", seq: 5, by: ann, at: "t", note: note("n3", { version: 5 }) });
    expect(client.store.lastEditor("n3")).toEqual(ann);
    expect(client.store.lastEditor("n2")).toBeNull();
    stop();
  });
});

describe("before subscribed", () => {
  it("no signal goes out (the server would answer not_found); the view goes once subscribed", () => {
    const t = setup({ random: () => 0.5 });
    t.conn.start();
    t.last.welcome(ann);
    const client = new BoardClient(t.conn, "b1", { uuid });
    client.start();
    client.sendViewport({ x: 1, y: 2, zoom: 1, w: 800, h: 600 });
    client.sendDrag([{ id: "n1", x: 1, y: 1 }]);
    client.sendDrag([]); // the drag's end, too
    client.sendCursor(3, 4);
    client.sendTyping("n1");
    client.sendSelection("n1", 0, 0);
    vi.advanceTimersByTime(500);
    expect(t.last.ofType("signal")).toEqual([]);
    t.last.receive({ type: "subscribed", board: "b1", seq: 1, snapshot: { board: { ...board, seq: 1 }, notes: [] } });
    expect(t.last.ofType("signal").map((s) => s.name)).toEqual(["viewport"]);
    expect(t.last.ofType("signal")[0].data).toMatchObject({ x: 1, y: 2 });
    client.stop();
    t.conn.stop();
  });
});
