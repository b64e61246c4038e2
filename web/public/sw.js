/*
 * Corkboard's service worker: the app opens while the server is down.
 *
 * The server sends this script with `connect-src 'self'` (a worker runs under
 * its own script's policy); older servers sent `default-src 'none'`, under
 * which a worker may not fetch(). So it fetches only when it must:
 *
 * - Navigations use navigation preload (the browser's own request, made in
 *   parallel): a good answer is kept in the cache and returned; without a
 *   preload answer it fetches the page itself; when the network fails, the
 *   kept copy answers. Every /boards/{id}/ is kept and
 *   served as /boards/_/ (the one exported board page; it reads the id from
 *   the address).
 * - The pages themselves fill the cache (src/lib/uiCache.ts: every exported
 *   page and the /_next/static files they name, fetched under the pages'
 *   `connect-src 'self'`) and tell the worker what is in it; those files are
 *   then answered from the cache (their names are content hashes). Anything
 *   else goes to the network untouched.
 * - Never touched: /api/*, /ws, /healthz, /metrics, event streams, other
 *   origins, anything but GET.
 *
 * Versioned by the `v` query parameter the page registers it with (a new
 * build registers a new URL, so a new worker): it uses its own cache and, on
 * activation, deletes the caches of older versions.
 */
const VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
const PREFIX = "corkboard-ui-";
const CACHE = PREFIX + VERSION;
const BYPASS = /^\/(api(\/|$)|ws$|healthz$|metrics$)/;
const BOARD_PAGE = /^\/boards\/[^/]+\/?$/;

/** Paths in the cache, so that a fetch can be answered from it synchronously decided. */
const known = new Set();
const knownLoaded = caches
  .open(CACHE)
  .then((c) => c.keys())
  .then((reqs) => {
    for (const r of reqs) known.add(new URL(r.url).pathname);
  })
  .catch(() => undefined);

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const data = event.data;
  if (data && data.type === "cached" && Array.isArray(data.paths)) for (const p of data.paths) known.add(p);
});

/** Where a page is kept: every board page under the one exported board page. */
function pageKey(url) {
  return BOARD_PAGE.test(url.pathname) ? "/boards/_/" : url.pathname;
}

async function navigate(event, url) {
  const cache = await caches.open(CACHE);
  const key = pageKey(url);
  try {
    // No preload answer (preload not enabled yet): the worker's own request.
    const res = (await event.preloadResponse) || (await fetch(event.request));
    if (res) {
      if (res.ok && !res.redirected) event.waitUntil(cache.put(key, res.clone()).catch(() => undefined));
      return res;
    }
  } catch {
    /* the network failed: the kept copy below */
  }
  await knownLoaded;
  const hit = (await cache.match(key)) || (await cache.match("/404.html"));
  if (hit) return hit;
  return new Response("Corkboard can't reach its server, and this page was not kept for offline use.", {
    status: 503,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || BYPASS.test(url.pathname)) return;
  if (request.mode === "navigate") {
    // Without navigation preload this worker could not reach the network: leave navigations alone.
    if ("preloadResponse" in event) event.respondWith(navigate(event, url));
    return;
  }
  if (url.pathname.startsWith("/_next/static/") && known.has(url.pathname)) {
    event.respondWith(
      caches.match(url.pathname).then((hit) => {
        if (hit) return hit;
        known.delete(url.pathname);
        return Response.error();
      }),
    );
  }
});
