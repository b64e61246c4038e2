import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RpcError } from "../errors";
import { Outbox } from "../outbox";
import type { RpcMethod } from "../protocol";
import type { RpcOutcome } from "../rpc";
import { flush } from "./fakes";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

interface Sent {
  method: RpcMethod;
  op: string;
  settle(o: RpcOutcome): void;
}

/** An outbox over a transport the test controls. */
function outbox() {
  const sent: Sent[] = [];
  const t = { ready: true, unanswered: 0, changes: 0 };
  const box = new Outbox({
    ready: () => t.ready,
    call: (method, params, settle) => {
      if (!t.ready) return false;
      sent.push({ method, op: (params as { op: string }).op, settle });
      return true;
    },
    unanswered: () => t.unanswered++,
    changed: () => t.changes++,
  });
  const push = (op: string, key = op) => box.push("note.update", op, key, () => ({ op }));
  return { box, sent, t, push };
}

const ok = (result: unknown = { seq: 1 }): RpcOutcome => ({ kind: "result", result });
const lost = (): RpcOutcome => ({ kind: "lost", error: new RpcError({ code: "unavailable", message: "connection lost" }) });

describe("Outbox", () => {
  it("keeps a mutation until its answer, and settles it with the result", async () => {
    const { box, sent, t, push } = outbox();
    const p = push("a");
    expect(box.size).toBe(1);
    expect(t.changes).toBe(1);
    sent[0].settle(ok({ seq: 4 }));
    await expect(p).resolves.toEqual({ seq: 4 });
    expect(box.size).toBe(0);
    expect(t.changes).toBe(2);
  });

  it("waits while the transport is not ready, and replays lost mutations in order with the same ops", () => {
    const { box, sent, t, push } = outbox();
    t.ready = false;
    void push("a");
    void push("b");
    expect(sent).toHaveLength(0);
    t.ready = true;
    box.replay();
    expect(sent.map((s) => s.op)).toEqual(["a", "b"]);
    sent[0].settle(lost());
    sent[1].settle(lost());
    box.replay();
    expect(sent.map((s) => s.op)).toEqual(["a", "b", "a", "b"]);
    expect(box.pendingOps()).toEqual(["a", "b"]);
  });

  it("sends one mutation per key at a time, building params only when sent", async () => {
    const { box, sent } = outbox();
    let built = 0;
    void box.push("note.create", "c", "n1", () => ({ op: "c" }));
    void box.push("note.update", "u", "n1", () => {
      built++;
      return { op: "u" };
    });
    void box.push("note.update", "x", "n2", () => ({ op: "x" }));
    expect(sent.map((s) => s.op)).toEqual(["c", "x"]);
    expect(built).toBe(0);
    sent[0].settle(ok());
    await flush();
    expect(sent.map((s) => s.op)).toEqual(["c", "x", "u"]);
    expect(built).toBe(1);
  });

  it("retries a transient error after retry_after (or 1 s), rejects a final one", async () => {
    const { box, sent, push } = outbox();
    const p = push("a");
    const q = push("b");
    const r = push("c");
    sent[0].settle({ kind: "error", error: new RpcError({ code: "rate_limited", message: "slow", details: { retry_after: 2 } }) });
    sent[1].settle({ kind: "error", error: new RpcError({ code: "forbidden", message: "viewer" }) });
    sent[2].settle({ kind: "error", error: new RpcError({ code: "unavailable", message: "busy" }) });
    await expect(q).rejects.toMatchObject({ code: "forbidden" });
    vi.advanceTimersByTime(999);
    expect(sent).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(sent.map((s) => s.op)).toEqual(["a", "b", "c", "c"]);
    vi.advanceTimersByTime(1000);
    expect(sent.map((s) => s.op)).toEqual(["a", "b", "c", "c", "a"]);
    sent[3].settle(ok());
    sent[4].settle(ok());
    await expect(p).resolves.toEqual({ seq: 1 });
    await expect(r).resolves.toEqual({ seq: 1 });
    expect(box.size).toBe(0);
  });

  it("an unanswered mutation tells the transport and stays for the replay", () => {
    const { box, sent, t, push } = outbox();
    void push("a");
    sent[0].settle({ kind: "timeout" });
    expect(t.unanswered).toBe(1);
    expect(box.pendingOps()).toEqual(["a"]);
    box.replay();
    expect(sent.map((s) => s.op)).toEqual(["a", "a"]);
  });

  it("rejectAll fails every entry", async () => {
    const { box, push } = outbox();
    const p = push("a");
    const q = push("b");
    box.rejectAll(new RpcError({ code: "unavailable", message: "connection closed" }));
    await expect(p).rejects.toMatchObject({ message: "connection closed" });
    await expect(q).rejects.toMatchObject({ message: "connection closed" });
    expect(box.size).toBe(0);
  });
});
