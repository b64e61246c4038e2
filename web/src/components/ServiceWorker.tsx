"use client";
import { useEffect } from "react";

/** The UI build this page belongs to: the service worker's cache version (next.config.ts sets it). */
export const UI_VERSION = process.env.NEXT_PUBLIC_UI_VERSION ?? "dev";

/**
 * Registers public/sw.js, which keeps the UI's files so that the app opens
 * while the server is down. Not under `next dev` (its files change all the time).
 */
export function ServiceWorker() {
  useEffect(() => {
    if (process.env.NODE_ENV !== "production" || !("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(`/sw.js?v=${encodeURIComponent(UI_VERSION)}`).catch((err: unknown) => {
      console.warn("service worker not registered", err);
    });
  }, []);
  return null;
}
