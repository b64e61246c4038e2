/**
 * Where the Corkboard server is.
 *
 * Production (the export served by the binary): same origin for everything.
 * `NEXT_PUBLIC_CORKBOARD_ORIGIN` (inlined at build time) points the WebSocket
 * elsewhere. Under `next dev`, REST and SSE go through the dev server's
 * `/api` rewrite (same origin, so cookies just work) and the WebSocket goes to
 * the Rust server directly: NEXT_PUBLIC_CORKBOARD_ORIGIN, or port 8080 on the
 * page's own host name (cookies are per host, not per port, so the session
 * cookie set through the proxy is sent along).
 */
const configured = (process.env.NEXT_PUBLIC_CORKBOARD_ORIGIN ?? "").replace(/\/+$/, "");

export function serverOrigin(): string {
  if (configured) return configured;
  if (typeof window === "undefined") return "";
  if (process.env.NODE_ENV === "development") {
    return `${window.location.protocol}//${window.location.hostname}:8080`;
  }
  return window.location.origin;
}

export function wsUrl(): string {
  const origin = serverOrigin() || (typeof window !== "undefined" ? window.location.origin : "");
  return `${origin.replace(/^http/, "ws")}/ws`;
}

/** REST and SSE base: same origin (proxied in dev). */
export const API_BASE = "";
