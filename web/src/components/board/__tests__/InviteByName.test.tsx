// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Member, User } from "@/realtime/protocol";

const suggestUsers = vi.fn<(q: string, signal?: AbortSignal) => Promise<{ users: User[] }>>();
vi.mock("@/lib/api", () => ({ api: { suggestUsers: (q: string, s?: AbortSignal) => suggestUsers(q, s) } }));
const { InviteByName } = await import("../InviteByName");

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

let root: Root;
let container: HTMLElement;
const ann = { id: "u1", username: "ann" };
const bob = { id: "u2", username: "bob" };
const bobby = { id: "u3", username: "bobby" };
const members: Member[] = [
  { user: ann, role: "owner" },
  { user: bob, role: "editor" },
];

beforeEach(() => {
  vi.useFakeTimers();
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  suggestUsers.mockReset();
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
  vi.useRealTimers();
});

const input = () => container.querySelector<HTMLInputElement>('[role="combobox"]')!;
const options = () => [...container.querySelectorAll('[role="option"]')];

function type(value: string) {
  const el = input();
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!;
  act(() => {
    el.focus();
    setter.call(el, value);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

function key(k: string) {
  act(() => {
    input().dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
  });
}

async function settle() {
  await act(async () => {
    vi.advanceTimersByTime(200);
    await Promise.resolve();
    await Promise.resolve();
  });
}

describe("InviteByName", () => {
  it("suggests non-members as the owner types; arrows and Enter pick one; Enter again sends with the role", async () => {
    suggestUsers.mockResolvedValue({ users: [bob, bobby] });
    const onInvite = vi.fn(async () => true);
    act(() => root.render(<InviteByName members={members} onInvite={onInvite} />));
    expect(input().getAttribute("aria-expanded")).toBe("false");
    type("Bo");
    await settle();
    // One request for the text as typed, 150 ms after the last key; bob is a member already.
    expect(suggestUsers).toHaveBeenCalledTimes(1);
    expect(suggestUsers.mock.calls[0][0]).toBe("Bo");
    expect(options().map((o) => o.textContent)).toEqual(["bobby"]);
    expect(input().getAttribute("aria-expanded")).toBe("true");
    expect(input().getAttribute("aria-controls")).toBe(container.querySelector('[role="listbox"]')!.id);
    key("ArrowDown");
    expect(options()[0].getAttribute("aria-selected")).toBe("true");
    expect(input().getAttribute("aria-activedescendant")).toBe(options()[0].id);
    key("Enter");
    expect(input().value).toBe("bobby");
    expect(input().getAttribute("aria-expanded")).toBe("false");
    act(() => {
      container.querySelector("select")!.value = "viewer";
      container.querySelector("select")!.dispatchEvent(new Event("change", { bubbles: true }));
    });
    await act(async () => {
      container.querySelector("form")!.requestSubmit();
      await Promise.resolve();
    });
    expect(onInvite).toHaveBeenCalledWith("bobby", "viewer");
  });

  it("Escape closes the list without reaching the menu; a member is refused without a request", async () => {
    suggestUsers.mockResolvedValue({ users: [bobby] });
    const onInvite = vi.fn(async () => true);
    const outer = vi.fn();
    document.addEventListener("keydown", outer);
    act(() => root.render(<InviteByName members={members} onInvite={onInvite} />));
    type("bob");
    await settle();
    expect(options()).toHaveLength(1);
    key("Escape");
    expect(options()).toHaveLength(0);
    expect(outer).not.toHaveBeenCalled();
    document.removeEventListener("keydown", outer);
    await act(async () => {
      container.querySelector("form")!.requestSubmit();
      await Promise.resolve();
    });
    expect(onInvite).not.toHaveBeenCalled();
    expect(container.querySelector('[role="alert"]')?.textContent).toBe("bob is already a member.");
  });
});
