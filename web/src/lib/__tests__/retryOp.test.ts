import { describe, expect, it } from "vitest";
import { RetryOp } from "../retryOp";

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
});
