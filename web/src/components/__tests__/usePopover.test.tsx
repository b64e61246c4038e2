// @vitest-environment happy-dom
import { act } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { usePopover } from "../usePopover";

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

function Menu({ name }: { name: string }) {
  const { open, toggle, buttonRef, panelRef } = usePopover();
  return (
    <div>
      <button ref={buttonRef} type="button" onClick={toggle} data-testid={`${name}-button`}>
        {name}
      </button>
      {open && (
        <div ref={panelRef} data-testid={`${name}-panel`}>
          <button type="button">inside {name}</button>
        </div>
      )}
    </div>
  );
}

let root: Root;
let container: HTMLElement;
const q = (id: string) => container.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const click = (el: HTMLElement | null) => act(() => el!.click());
const pointerDown = (el: Element) =>
  act(() => {
    el.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true }));
  });

beforeEach(() => {
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
  act(() =>
    root.render(
      <>
        <Menu name="share" />
        <Menu name="account" />
        <p data-testid="outside">board</p>
      </>,
    ),
  );
});
afterEach(() => {
  act(() => root.unmount());
  container.remove();
});

describe("usePopover", () => {
  it("closes on a pointer down outside, not inside", () => {
    click(q("share-button"));
    pointerDown(q("share-panel")!.querySelector("button")!);
    expect(q("share-panel")).not.toBeNull();
    pointerDown(q("outside")!);
    expect(q("share-panel")).toBeNull();
  });

  it("closes on Escape and gives focus back to its button", () => {
    click(q("account-button"));
    q("account-panel")!.querySelector("button")!.focus();
    act(() => {
      document.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    });
    expect(q("account-panel")).toBeNull();
    expect(document.activeElement).toBe(q("account-button"));
  });

  it("keeps one open at a time", () => {
    click(q("share-button"));
    click(q("account-button"));
    expect(q("share-panel")).toBeNull();
    expect(q("account-panel")).not.toBeNull();
    click(q("account-button"));
    expect(q("account-panel")).toBeNull();
  });
});
