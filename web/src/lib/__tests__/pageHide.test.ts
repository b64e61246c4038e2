// @vitest-environment happy-dom
import { describe, expect, it, vi } from "vitest";
import { onPageHide } from "../pageHide";

function setVisibility(state: "visible" | "hidden") {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  document.dispatchEvent(new Event("visibilitychange"));
}

describe("onPageHide", () => {
  it("calls back on pagehide and on becoming hidden, not on becoming visible; stops when unsubscribed", () => {
    const cb = vi.fn();
    const off = onPageHide(cb);
    window.dispatchEvent(new Event("pagehide"));
    expect(cb).toHaveBeenLastCalledWith(true);
    setVisibility("hidden");
    expect(cb).toHaveBeenLastCalledWith(false);
    expect(cb).toHaveBeenCalledTimes(2);
    setVisibility("visible");
    expect(cb).toHaveBeenCalledTimes(2);
    off();
    window.dispatchEvent(new Event("pagehide"));
    setVisibility("hidden");
    expect(cb).toHaveBeenCalledTimes(2);
  });
});
