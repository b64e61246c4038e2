import { afterEach, describe, expect, it, vi } from "vitest";
import { randomUuid, RetryOp } from "../retryOp";

describe("RetryOp", () => {
  it("reuses the op for a retry of the same action and not for another", () => {
    let n = 0;
    const ops = new RetryOp(() => `op-${++n}`);
    expect(ops.for("Plan")).toBe("op-1");
    expect(ops.for("Plan")).toBe("op-1");
    expect(ops.for("Other")).toBe("op-2");
    ops.done();
    expect(ops.for("Other")).toBe("op-3");
  });

  it("makes UUIDs by default", () => {
    expect(new RetryOp().for("x")).toMatch(/^[0-9a-f-]{36}$/);
  });

  afterEach(() => vi.unstubAllGlobals());

  it("makes a v4 UUID where randomUUID is missing (plain HTTP)", () => {
    const real = crypto;
    vi.stubGlobal("crypto", { getRandomValues: real.getRandomValues.bind(real) });
    const id = randomUuid();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(randomUuid()).not.toBe(id);
  });
});
