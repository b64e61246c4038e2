// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Emitter } from "@/realtime/emitter";
import type { BoardClient, MemberEvent } from "@/realtime/board";
import type { Member } from "@/realtime/protocol";

const members = vi.fn<() => Promise<{ members: Member[] }>>();
const setRole = vi.fn<() => Promise<Member>>();
const removeMember = vi.fn<() => Promise<void>>();
vi.mock("@/lib/api", () => ({ api: { members: () => members(), setRole: () => setRole(), removeMember: () => removeMember() } }));
const { MembersPanel } = await import("../MembersPanel");

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

let root: Root;
let container: HTMLElement;
const ann = { id: "u1", username: "ann" };
const bob = { id: "u2", username: "bob" };
const cat = { id: "u3", username: "cat" };

beforeEach(() => {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  members.mockResolvedValue({
    members: [
      { user: ann, role: "owner" },
      { user: bob, role: "editor" },
    ],
  });
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
  vi.restoreAllMocks();
});

const rows = () =>
  [...container.querySelectorAll<HTMLElement>('[data-testid="member-row"]')].map((r) => {
    const select = r.querySelector("select");
    return `${r.dataset.username}:${select ? select.value : r.textContent?.match(/(owner|editor|viewer)$/)?.[1]}`;
  });

async function flush() {
  await act(async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  });
}

async function openAs(role: "owner" | "editor", events = new Emitter<MemberEvent>()) {
  const client = { memberEvents: events } as unknown as BoardClient;
  act(() =>
    root.render(<MembersPanel boardId="b1" user={role === "owner" ? ann : bob} role={role} presence={[{ user: bob, connections: 1, since: "" }]} client={client} />),
  );
  act(() => container.querySelector("button")!.click());
  await flush();
  return events;
}

describe("MembersPanel", () => {
  it("a refused role change goes back, with a message saying so", async () => {
    let refuse!: (e: unknown) => void;
    setRole.mockReturnValue(new Promise((_, reject) => (refuse = reject)));
    await openAs("owner");
    expect(rows()).toEqual(["ann:owner", "bob:editor"]);
    const select = container.querySelector<HTMLSelectElement>('select[aria-label="Role of bob"]')!;
    act(() => {
      select.value = "viewer";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(rows()).toEqual(["ann:owner", "bob:viewer"]); // at once
    await act(async () => refuse(Object.assign(new Error("forbidden"), { message: "only the owner may do that" })));
    await flush();
    expect(rows()).toEqual(["ann:owner", "bob:editor"]);
    expect(container.querySelector('[role="alert"]')?.textContent).toBe("Couldn't change bob's role: only the owner may do that");
  });

  it("a refused removal brings the member back in place; a confirmed one that succeeds stays gone", async () => {
    // happy-dom has no window.confirm: the user says yes.
    window.confirm = vi.fn(() => true);
    removeMember.mockRejectedValueOnce(new Error("unavailable"));
    await openAs("owner");
    const remove = () => container.querySelector<HTMLButtonElement>('button[aria-label="Remove bob"]')!;
    await act(async () => remove().click());
    await flush();
    expect(rows()).toEqual(["ann:owner", "bob:editor"]);
    expect(container.querySelector('[role="alert"]')?.textContent).toContain("Couldn't remove bob");
    removeMember.mockResolvedValueOnce(undefined);
    await act(async () => remove().click());
    await flush();
    expect(rows()).toEqual(["ann:owner"]);
  });

  it("follows member events live, and offers a non-owner Leave instead of controls", async () => {
    const events = await openAs("editor");
    expect(container.querySelectorAll("select")).toHaveLength(0);
    expect([...container.querySelectorAll("button")].map((b) => b.textContent)).toContain("Leave board");
    act(() => events.emit({ kind: "member.joined", board: "b1", seq: 5, by: ann, at: "t", user: cat, role: "viewer" } as MemberEvent));
    act(() => events.emit({ kind: "member.updated", board: "b1", seq: 6, by: ann, at: "t", user: bob, role: "viewer" } as MemberEvent));
    expect(rows()).toEqual(["ann:owner", "bob:viewer", "cat:viewer"]);
    expect(container.querySelector('[data-username="bob"]')?.textContent).toContain("Online");
    expect(container.querySelector('[data-username="cat"]')?.textContent).toContain("Offline");
  });
});
