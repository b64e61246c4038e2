import { describe, expect, it } from "vitest";
import { planRestore, summarizePlan } from "../restorePlan";
import { note as n } from "./fakes";

describe("planRestore", () => {
  it("restores notes deleted since, updates changed fields only, deletes notes created since", () => {
    const past = [n("a", { text: "Groceries", x: 10 }), n("b", { color: "pink" }), n("c")];
    const live = [n("a", { text: "Groceries!", x: 50, version: 9 }), n("c", { version: 4 }), n("d")];
    expect(planRestore(live, past)).toEqual([
      { kind: "restore", note: past[1] },
      { kind: "update", id: "a", delta: { x: 10, text: "Groceries" } },
      { kind: "delete", id: "d", note: live[2] },
    ]);
  });

  it("is empty when only versions and times differ", () => {
    expect(planRestore([n("a", { version: 7, updated_at: "later" })], [n("a")])).toEqual([]);
  });

  it("restoring version 0 deletes every note", () => {
    const plan = planRestore([n("a"), n("b")], []);
    expect(plan.map((c) => c.kind)).toEqual(["delete", "delete"]);
    expect(summarizePlan(plan)).toBe("2 removed");
  });

  it("summarizes each kind", () => {
    const plan = planRestore([n("a", { x: 1 }), n("z")], [n("a"), n("b")]);
    expect(summarizePlan(plan)).toBe("1 note brought back, 1 changed, 1 removed");
  });
});
