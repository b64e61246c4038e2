"use client";
import { useEffect } from "react";
import { cacheUi, staticPaths } from "@/lib/uiCache";

/** The UI build this page belongs to: the service worker's cache version (next.config.ts sets it). */
export const UI_VERSION = process.env.NEXT_PUBLIC_UI_VERSION ?? "dev";

/**
 * Registers public/sw.js, which answers navigations from its cache when the
 * server is down, and fills that cache from here (lib/uiCache.ts), including
 * the files this page loads later. Not under `next dev` (its files change all the time).
 */
export function ServiceWorker() {
  useEffect(() => {
    if (process.env.NODE_ENV !== "production" || !("serviceWorker" in navigator) || typeof caches === "undefined") return;
    let stopped = false;
    const fill = (paths: string[], pages?: readonly string[]) =>
      cacheUi(UI_VERSION, paths, pages).then(
        async (cached) => (await navigator.serviceWorker.ready).active?.postMessage({ type: "cached", paths: cached }),
        (err: unknown) => console.warn("offline copy of the UI not updated", err),
      );
    navigator.serviceWorker.register(`/sw.js?v=${encodeURIComponent(UI_VERSION)}`).then(
      () => navigator.serviceWorker.ready.then(() => {
        if (!stopped) void fill(staticPaths(performance.getEntriesByType("resource"), location.origin));
      }),
      (err: unknown) => console.warn("service worker not registered", err),
    );
    // Chunks loaded later (the text editor's) are kept too.
    const observer = new PerformanceObserver((list) => {
      const paths = staticPaths(list.getEntries(), location.origin);
      if (paths.length) void fill(paths, []);
    });
    observer.observe({ type: "resource" });
    return () => {
      stopped = true;
      observer.disconnect();
    };
  }, []);
  return null;
}
