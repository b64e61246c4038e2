/**
 * Fills the service worker's cache from the page (public/sw.js may not fetch
 * under the policy the server gives it): every exported page and every
 * /_next/static file those pages name or this page loaded (also later, such
 * as the text editor's chunk), then tells the worker which paths it holds.
 * Idempotent and cheap after the first run: what is cached is not fetched again.
 */

/** The exported pages (see web/README.md, "The export"). */
export const UI_PAGES = ["/", "/login/", "/boards/", "/boards/_/", "/account/", "/invite/", "/404.html"];

const STATIC = /\/_next\/static\/[^"'\s)\\]+/g;

/** The cache's name for a UI build: the worker uses the same. */
export const uiCacheName = (version: string) => `corkboard-ui-${version}`;

/** Caches `paths` (those not cached yet) and, for pages, the static files they name. Returns the paths cached. */
export async function cacheUi(version: string, statics: Iterable<string>, pages: readonly string[] = UI_PAGES): Promise<string[]> {
  const cache = await caches.open(uiCacheName(version));
  const done: string[] = [];
  const wanted = new Set(statics);
  const put = async (path: string, page: boolean) => {
    if (await cache.match(path)) {
      done.push(path);
      return;
    }
    const res = await fetch(path, { credentials: "same-origin" }).catch(() => null);
    if (!res || !(res.ok || (page && res.status === 404)) || res.redirected) return;
    if (page) for (const m of (await res.clone().text()).matchAll(STATIC)) wanted.add(m[0]);
    await cache.put(path, res);
    done.push(path);
  };
  await Promise.all(pages.map((p) => put(p, true)));
  await Promise.all([...wanted].map((p) => put(p, false)));
  return done;
}

/** /_next/static paths of this origin among resource timing entries. */
export function staticPaths(entries: readonly PerformanceEntry[], origin: string): string[] {
  const out: string[] = [];
  for (const e of entries) {
    try {
      const u = new URL(e.name);
      if (u.origin === origin && u.pathname.startsWith("/_next/static/")) out.push(u.pathname);
    } catch {
      /* not a URL */
    }
  }
  return out;
}
