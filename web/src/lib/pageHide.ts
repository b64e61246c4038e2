/**
 * Calls `cb` when the page is being left or hidden: `pagehide` (reload,
 * navigation, closing the tab; also when it enters the back/forward cache)
 * and `visibilitychange` to hidden (switching tabs or apps, where a phone may
 * freeze or discard the page without another event). What is still waiting
 * for a frame or a timer must be sent then. `leaving` is true on `pagehide`
 * (no answer will come back to this page), false when only hidden. Returns
 * the unsubscribe.
 */
export function onPageHide(cb: (leaving: boolean) => void, win: Window = window): () => void {
  const onVisibility = () => {
    if (win.document.visibilityState === "hidden") cb(false);
  };
  const onPagehide = () => cb(true);
  win.addEventListener("pagehide", onPagehide);
  win.document.addEventListener("visibilitychange", onVisibility);
  return () => {
    win.removeEventListener("pagehide", onPagehide);
    win.document.removeEventListener("visibilitychange", onVisibility);
  };
}
