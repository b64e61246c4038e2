// @vitest-environment happy-dom
import { act, useRef, useState } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MentionMenu, useMentions, type MentionCandidate } from "../Mentions";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

const members: MentionCandidate[] = [
  { id: "u2", username: "bob" },
  { id: "u3", username: "bea" },
  { id: "u4", username: "carl" },
];
let loads = 0;
const load = () => {
  loads++;
  return Promise.resolve(members);
};

/** A textarea with the autocomplete, as the note editor wires it. */
function Harness() {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [, setText] = useState("");
  const m = useMentions(ref, load, (text, caret) => {
    ref.current!.value = text;
    ref.current!.setSelectionRange(caret, caret);
    setText(text);
  });
  return (
    <div>
      <textarea
        ref={ref}
        aria-label="Note text"
        aria-autocomplete="list"
        aria-controls={m.open ? m.listId : undefined}
        aria-activedescendant={m.open ? m.optionId(m.open.active) : undefined}
        onInput={() => m.update()}
        onKeyDown={(e) => m.onKeyDown(e)}
      />
      <MentionMenu mentions={m} zoom={1} />
    </div>
  );
}

let root: Root;
let container: HTMLElement;
beforeEach(() => {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  loads = 0;
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

const ta = () => container.querySelector("textarea")!;
const options = () => [...container.querySelectorAll('[role="option"]')].map((o) => o.textContent);
async function type(value: string) {
  await act(async () => {
    ta().value = value;
    ta().setSelectionRange(value.length, value.length);
    ta().dispatchEvent(new Event("input", { bubbles: true }));
    await Promise.resolve();
  });
}
async function key(k: string) {
  await act(async () => {
    ta().dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
    await Promise.resolve();
  });
}

describe("@mention autocomplete", () => {
  it("opens on @, filters as one types, arrows move, Enter inserts @username and a space", async () => {
    await act(async () => root.render(<Harness />));
    await type("Ask @");
    expect(options()).toEqual(["@bea", "@bob", "@carl"]);
    expect(container.querySelector('[role="listbox"]')?.getAttribute("aria-label")).toBe("Mention a board member");
    await type("Ask @b");
    expect(options()).toHaveLength(2);
    const first = container.querySelector('[role="option"]')!;
    expect(ta().getAttribute("aria-activedescendant")).toBe(first.id);
    expect(first.getAttribute("aria-selected")).toBe("true");
    await key("ArrowDown");
    expect(container.querySelectorAll('[role="option"]')[1].getAttribute("aria-selected")).toBe("true");
    await key("Enter");
    expect(ta().value).toBe("Ask @bob ");
    expect(container.querySelector('[role="listbox"]')).toBeNull();
  });

  it("Tab inserts too, Escape closes without inserting, and no match means no list", async () => {
    await act(async () => root.render(<Harness />));
    await type("@ca");
    await key("Tab");
    expect(ta().value).toBe("@carl ");
    await type("@carl x @zz");
    expect(container.querySelector('[role="listbox"]')).toBeNull();
    await type("@carl x @b");
    expect(options()).toHaveLength(2);
    await key("Escape");
    expect(container.querySelector('[role="listbox"]')).toBeNull();
    expect(ta().value).toBe("@carl x @b");
    expect(loads).toBeGreaterThan(0);
  });
});
