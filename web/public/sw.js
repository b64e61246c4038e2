/*
 * Corkboard's service worker: the app opens while the server is down.
 *
 * - Pages (navigations, the RSC `.txt` payloads and other UI files) go to the
 *   network first; a good answer is kept, and the kept copy answers when the
 *   network fails. Every /boards/{id}/ is kept and served as /boards/_/ (the
 *   one exported board page; it reads the id from the address).
 * - /_next/static/* is immutable (hashed names): served from the cache first.
 * - Never touched: /api/*, /ws, /healthz, /metrics, event streams, other
 *   origins, anything but GET. The app's data comes from IndexedDB, not here.
 *
 * Versioned by the `v` query parameter the page registers it with (a new
 * build registers a new URL): the new worker installs its own cache and, on
 * activation, deletes the caches of older versions.
 */
const VERSION = new URL(self.location.href).searchParams.get("v") || "dev";
const PREFIX = "corkboard-ui-";
const CACHE = PREFIX + VERSION;
/** The exported pages, fetched at install with the static files they name. */
const PAGES = ["/", "/login/", "/boards/", "/boards/_/", "/account/", "/invite/", "/404.html"];
const BYPASS = /^\/(api(\/|$)|ws$|healthz$|metrics$)/;
const BOARD_PAGE = /^\/boards\/[^/]+\/?$/;

/** A response safe to store and to answer a navigation with (not marked as redirected). */
function storable(res) {
  if (!res.redirected) return res;
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

async function precache() {
  const cache = await caches.open(CACHE);
  const statics = new Set();
  await Promise.all(
    PAGES.map(async (page) => {
      try {
        const res = await fetch(page, { cache: "reload" });
        if (!res.ok && page !== "/404.html") return;
        const html = await res.clone().text();
        for (const m of html.matchAll(/\/_next\/static\/[^"'\s)\\]+/g)) statics.add(m[0]);
        await cache.put(page, storable(res));
      } catch {
        /* offline at install: kept on the next visit instead */
      }
    }),
  );
  await Promise.all(
    [...statics].map(async (url) => {
      if (await cache.match(url)) return;
      try {
        const res = await fetch(url);
        if (res.ok) await cache.put(url, res);
      } catch {
        /* fetched and kept when first used */
      }
    }),
  );
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

/** Where a page is kept: every board page under the one exported board page. */
function cacheKey(url) {
  return BOARD_PAGE.test(url.pathname) && url.pathname !== "/boards/_/" ? "/boards/_/" : url.pathname + url.search;
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok) await cache.put(request, res.clone());
  return res;
}

async function networkFirst(request, url) {
  const cache = await caches.open(CACHE);
  const key = cacheKey(url);
  try {
    const res = await fetch(request);
    if (res.ok && res.type === "basic") await cache.put(key, storable(res.clone()));
    return res;
  } catch (err) {
    const hit =
      (await cache.match(key)) ||
      (await cache.match(url.pathname, { ignoreSearch: true })) ||
      (request.mode === "navigate" ? await cache.match("/404.html") : undefined);
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || BYPASS.test(url.pathname)) return;
  if (url.pathname === "/sw.js") return;
  if ((request.headers.get("accept") || "").includes("text/event-stream")) return;
  if (url.pathname.startsWith("/_next/static/")) event.respondWith(cacheFirst(request));
  else event.respondWith(networkFirst(request, url));
});
