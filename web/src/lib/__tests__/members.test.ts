import { describe, expect, it } from "vitest";
import { applyMemberEvent, notMembers, withRole, without } from "../members";
import type { Member } from "@/realtime/protocol";

const ann = { id: "u1", username: "ann" };
const bob = { id: "u2", username: "bob" };
const cat = { id: "u3", username: "cat" };
const list: Member[] = [
  { user: ann, role: "owner" },
  { user: bob, role: "editor" },
];

describe("members list", () => {
  it("applies joins, role changes and leaves", () => {
    const joined = applyMemberEvent(list, { kind: "member.joined", user: cat, role: "viewer" });
    expect(joined.map((m) => `${m.user.username}:${m.role}`)).toEqual(["ann:owner", "bob:editor", "cat:viewer"]);
    // A join of someone already listed (a replayed event) does not list them twice.
    expect(applyMemberEvent(joined, { kind: "member.joined", user: cat, role: "editor" })).toHaveLength(3);
    const updated = applyMemberEvent(joined, { kind: "member.updated", user: bob, role: "viewer" });
    expect(updated[1]).toEqual({ user: bob, role: "viewer" });
    const left = applyMemberEvent(updated, { kind: "member.left", user: bob, role: "viewer" });
    expect(left.map((m) => m.user.username)).toEqual(["ann", "cat"]);
    expect(applyMemberEvent(left, { kind: "member.left", user: bob, role: "viewer" })).toEqual(left);
    // The input is never changed (the panel keeps it to roll back to).
    expect(list).toHaveLength(2);
    expect(list[1].role).toBe("editor");
  });

  it("changes and removes optimistically without touching the original", () => {
    expect(withRole(list, "u2", "viewer")[1].role).toBe("viewer");
    expect(without(list, "u2")).toEqual([{ user: ann, role: "owner" }]);
    expect(list[1].role).toBe("editor");
  });

  it("drops members from suggestions", () => {
    expect(notMembers([ann, bob, cat], list)).toEqual([cat]);
    expect(notMembers([cat], null)).toEqual([cat]);
  });
});
