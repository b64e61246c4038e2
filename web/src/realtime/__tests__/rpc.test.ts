import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RpcError } from "../errors";
import type { ClientMessage } from "../protocol";
import { RpcTable, type RpcOutcome } from "../rpc";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function table(canSend = true) {
  const sent: Extract<ClientMessage, { type: "rpc" }>[] = [];
  const rpcs = new RpcTable((msg) => {
    if (!canSend) return false;
    if (msg.type === "rpc") sent.push(msg);
    return true;
  });
  const outcomes: RpcOutcome[] = [];
  const settle = (o: RpcOutcome) => outcomes.push(o);
  return { rpcs, sent, outcomes, settle };
}

describe("RpcTable", () => {
  it("gives each call its own id and settles it with its own answer, whatever the order", () => {
    const t = table();
    const a: RpcOutcome[] = [];
    const b: RpcOutcome[] = [];
    t.rpcs.call("board.get", { board: "b1" }, 1000, (o) => a.push(o));
    t.rpcs.call("board.rename", { board: "b1", title: "x" }, 1000, (o) => b.push(o));
    const [first, second] = t.sent;
    expect(first.id).not.toBe(second.id);
    expect(t.rpcs.answer({ type: "error", id: second.id, error: { code: "forbidden", message: "no" } })).toBe(true);
    expect(t.rpcs.answer({ type: "result", id: first.id, result: { seq: 1 } })).toBe(true);
    expect(a).toEqual([{ kind: "result", result: { seq: 1 } }]);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({ kind: "error", error: { code: "forbidden", message: "no" } });
    expect(t.rpcs.size).toBe(0);
  });

  it("ignores answers to unknown ids, null ids and second answers", () => {
    const t = table();
    t.rpcs.call("board.get", { board: "b1" }, 1000, t.settle);
    const id = t.sent[0].id;
    expect(t.rpcs.answer({ type: "result", id: "r999", result: 1 })).toBe(false);
    expect(t.rpcs.answer({ type: "error", id: null, error: { code: "invalid_message", message: "?" } })).toBe(false);
    expect(t.rpcs.answer({ type: "result", id, result: 1 })).toBe(true);
    expect(t.rpcs.answer({ type: "result", id, result: 2 })).toBe(false);
    expect(t.outcomes).toEqual([{ kind: "result", result: 1 }]);
  });

  it("times a call out exactly once, and a late answer is ignored", () => {
    const t = table();
    t.rpcs.call("board.get", { board: "b1" }, 1000, t.settle);
    vi.advanceTimersByTime(999);
    expect(t.outcomes).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(t.outcomes).toEqual([{ kind: "timeout" }]);
    expect(t.rpcs.answer({ type: "result", id: t.sent[0].id, result: 1 })).toBe(false);
    expect(t.outcomes).toHaveLength(1);
  });

  it("fails every call in flight as lost, and their timers with them", () => {
    const t = table();
    t.rpcs.call("board.get", { board: "b1" }, 1000, t.settle);
    t.rpcs.call("board.get", { board: "b2" }, 1000, t.settle);
    const err = new RpcError({ code: "unavailable", message: "connection lost" });
    t.rpcs.failAll(err);
    vi.advanceTimersByTime(5000);
    expect(t.outcomes).toEqual([
      { kind: "lost", error: err },
      { kind: "lost", error: err },
    ]);
    expect(t.rpcs.size).toBe(0);
  });

  it("keeps no call when the frame cannot be sent", () => {
    const t = table(false);
    expect(t.rpcs.call("board.get", { board: "b1" }, 1000, t.settle)).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(t.outcomes).toEqual([]);
    expect(t.rpcs.size).toBe(0);
  });
});
