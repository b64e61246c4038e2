// Transport fallback, end to end: a small proxy in this process (node:http +
// node:net, loopback only) stands between one user's browser and the server.
// Mode "no-websocket" answers every WebSocket upgrade with 403 and passes
// everything else; mode "buffering" also holds each SSE answer's body until
// the upstream ends (as a buffering proxy does), so the client must reach
// long poll. For each mode, bob (through the proxy) and alice (direct) see
// each other's creates, moves and edits within a few seconds, and bob's
// status names the transport; then the proxy lets WebSocket through and bob's
// tab goes back to it by itself. In the buffering mode bob's notifications
// stream is held too: a mention by alice still reaches his unread badge (by
// polling). A third test has the proxy add a keep-alive comment every second
// to bob's board stream (as a server with --sse-keepalive-ms 1000 would), then
// stop forwarding it without closing: bob's tab notices the silence, resumes
// on a new stream and sees alice's later note. The proxy forwards Host as-is,
// so the server's Origin check (its own origin is http://<Host>) accepts bob's
// requests.
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { BASE, ConsoleWatch, PASSWORD, launchBrowser, rest, seen, until } from "./harness.mjs";

const LIVE_MS = 5000; // "seen on the other side within a few seconds"
const upstream = new URL(BASE);

/**
 * Starts the proxy on a free loopback port; resolves to {url, close, …}.
 * `keepAliveMs`: in the no-websocket mode, a `: keep-alive` comment is added
 * to each board stream this often (between blocks), so that a stall shows.
 */
async function startProxy(mode, { keepAliveMs = 0 } = {}) {
  /** The board streams forwarded so far: {stalled}. */
  const boardStreams = [];
  const server = http.createServer((req, res) => {
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        const sse = (upRes.headers["content-type"] ?? "").startsWith("text/event-stream");
        if (mode === "buffering" && sse) {
          // Headers go at once; the body only when the upstream ends.
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.flushHeaders();
          const chunks = [];
          upRes.on("data", (c) => chunks.push(c));
          upRes.on("end", () => res.end(Buffer.concat(chunks)));
        } else if (sse && keepAliveMs && req.url.startsWith("/api/boards/")) {
          const stream = { stalled: false, betweenBlocks: true };
          boardStreams.push(stream);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          const tick = setInterval(() => {
            if (!stream.stalled && stream.betweenBlocks) res.write(": keep-alive\n\n");
          }, keepAliveMs);
          res.on("close", () => clearInterval(tick));
          upRes.on("data", (c) => {
            if (stream.stalled) return; // half-open: nothing more reaches the client, nothing is closed
            res.write(c);
            stream.betweenBlocks = c.toString().endsWith("\n\n");
          });
          upRes.on("end", () => {
            clearInterval(tick);
            if (!stream.stalled) res.end();
          });
        } else {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        }
      },
    );
    up.on("error", () => res.destroy());
    res.on("close", () => up.destroy());
    req.pipe(up);
  });
  let passWebSocket = false;
  server.on("upgrade", (req, socket, head) => {
    if (!passWebSocket) {
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    // The network is fixed: tunnel the upgrade as it is.
    const up = net.connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on("error", () => socket.destroy());
    socket.on("error", () => up.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    /** How many board streams were opened through the proxy. */
    boardStreams: () => boardStreams.length,
    /** Every board stream open now stops being forwarded, without being closed. */
    stallBoardStreams: () => {
      for (const stream of boardStreams) stream.stalled = true;
    },
    /** From now on WebSocket upgrades go through. */
    allowWebSocket: () => {
      passWebSocket = true;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const strict = new ConsoleWatch();
// Through the proxy the refused WebSocket dials are logged by chromium; they are the point of the test.
const proxied = new ConsoleWatch();
proxied.outage = true;
let browser;
let closeBrowser;

const note = (page, id) => page.locator(`[data-note-id="${id}"]`);
const statusOf = (page) => page.locator('header [role="status"]');
const hasText = ([id, text]) => document.querySelector(`[data-note-id="${id}"]`)?.textContent?.includes(text) ?? false;
const at = ([id, x, y]) => {
  const el = document.querySelector(`[data-note-id="${id}"]`);
  return !!el && parseFloat(el.style.left) === x && parseFloat(el.style.top) === y;
};

async function status(page, text, ms) {
  await until(`${page.url()} to show ${text}`, async () => (await statusOf(page).textContent()) === text, ms);
}

async function user(name, origin, watch) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  watch.attach(page, name);
  await page.goto(`${origin}/login/`);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.waitForURL(/\/boards\/$/);
  return { context, page };
}

/** "Add note" with `text`; returns the note id. */
async function addNote(page, text) {
  await page.getByRole("button", { name: "Add note" }).click();
  const editor = page.getByLabel("Note text");
  await editor.waitFor();
  const id = await page.locator("[data-note-id]:has(textarea)").getAttribute("data-note-id");
  await editor.fill(text);
  await editor.press("Escape");
  return id;
}

async function edit(page, id, text) {
  await note(page, id).dblclick();
  const editor = page.getByLabel("Note text");
  await editor.fill(text);
  await editor.press("Escape");
}

/** Drags a note by its top strip; returns its new [left, top]. */
async function drag(page, id, dx, dy) {
  const box = await note(page, id).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + 6);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + dx, box.y + 6 + dy, { steps: 6 });
  await page.mouse.up();
  return note(page, id).evaluate((el) => [parseFloat(el.style.left), parseFloat(el.style.top)]);
}

/** alice (direct) and bob (through `proxy`) sign up, share a board and open it; resolves once bob's status shows `expected`. */
async function pair(t, proxy, tag, expected) {
  const alice = await user(`alice_${tag}`, BASE, strict);
  const bob = await user(`bob_${tag}`, proxy.url, proxied);
  const created = await rest(alice.context, "POST", "/api/boards", { title: `Fallback ${tag}` });
  assert.equal(created.status, 201);
  const boardId = created.body.id;
  const invite = await rest(alice.context, "POST", `/api/boards/${boardId}/invites`, { role: "editor" });
  assert.equal(invite.status, 201);
  const joined = await bob.page.evaluate(
    (token) => fetch(`/api/invites/${token}/accept`, { method: "POST" }).then((r) => r.status),
    invite.body.token,
  );
  assert.equal(joined, 200);

  const t0 = Date.now();
  await Promise.all([alice.page.goto(`${BASE}/boards/${boardId}/`), bob.page.goto(`${proxy.url}/boards/${boardId}/`)]);
  await status(alice.page, "Connected", 10_000);
  await status(bob.page, expected, 20_000);
  t.diagnostic(`${tag}: bob showed "${expected}" ${Date.now() - t0} ms after opening the board`);
  return { alice, bob };
}

/** One mode: alice (direct) and bob (through the proxy) on one board, changes seen both ways. */
async function bothWays(t, mode, expected) {
  const proxy = await startProxy(mode);
  const tag = mode === "buffering" ? "b" : "a";
  try {
    const { alice, bob } = await pair(t, proxy, tag, expected);
    assert.equal(await bob.page.getByText("No live cursors").count(), 1, "bob's status says cursors are not shared");

    const timings = {};
    const A = alice.page;
    const B = bob.page;
    // create, each side
    let t1 = Date.now();
    const fromAlice = await addNote(A, "from alice");
    await seen(B, "alice's note", hasText, [fromAlice, "from alice"], LIVE_MS);
    timings.createAB = Date.now() - t1;
    t1 = Date.now();
    const fromBob = await addNote(B, "from bob");
    await seen(A, "bob's note", hasText, [fromBob, "from bob"], LIVE_MS);
    timings.createBA = Date.now() - t1;
    // move, each side
    t1 = Date.now();
    const bobTo = await drag(B, fromBob, 320, 0);
    await seen(A, `bob's note at ${bobTo}`, at, [fromBob, ...bobTo], LIVE_MS);
    timings.moveBA = Date.now() - t1;
    t1 = Date.now();
    const aliceTo = await drag(A, fromAlice, 0, 260);
    await seen(B, `alice's note at ${aliceTo}`, at, [fromAlice, ...aliceTo], LIVE_MS);
    timings.moveAB = Date.now() - t1;
    // edit text, each side (note.edit over REST for bob)
    t1 = Date.now();
    await edit(B, fromAlice, "bob was here");
    await seen(A, "bob's edit", hasText, [fromAlice, "bob was here"], LIVE_MS);
    timings.editBA = Date.now() - t1;
    t1 = Date.now();
    await edit(A, fromBob, "alice was here");
    await seen(B, "alice's edit", hasText, [fromBob, "alice was here"], LIVE_MS);
    timings.editAB = Date.now() - t1;
    t.diagnostic(`${mode}: ms from action to seen on the other side: ${JSON.stringify(timings)}`);

    if (mode === "buffering") {
      // bob's notifications stream is held too: his tab polls instead, says so in the status tooltip only,
      // and alice's mention reaches his unread badge and list.
      await until(
        "bob's status tooltip to say notifications are polled",
        async () => ((await statusOf(B).getAttribute("title")) ?? "").startsWith("Notifications are checked"),
        10_000,
      );
      const bell = B.getByRole("button", { name: /^Notifications, \d+ unread$/ });
      const unread = async () => Number(/(\d+) unread$/.exec(await bell.getAttribute("aria-label"))[1]);
      const unreadBefore = await unread();
      t1 = Date.now();
      await addNote(A, `@bob_${tag} please look`);
      await until("bob's unread badge to count the mention", async () => (await unread()) > unreadBefore, 12_000);
      timings.mention = Date.now() - t1;
      await bell.click();
      await until(
        "the mention in bob's notifications",
        async () => ((await B.getByRole("dialog", { name: "Notifications" }).textContent()) ?? "").includes("please look"),
        12_000,
      );
      await bell.click();
      t.diagnostic(`${mode}: alice's mention on bob's badge after ${timings.mention} ms`);
    } else {
      assert.equal(await statusOf(B).getAttribute("title"), null, "the notifications stream gets through: no polling");
    }

    // nothing left pending on bob's side, still on the fallback
    await status(B, expected, 5000);

    // The network lets WebSocket through again: bob's tab finds out in the background and switches back.
    t1 = Date.now();
    proxy.allowWebSocket();
    await status(B, "Connected", 30_000);
    t.diagnostic(`${mode}: back on WebSocket ${Date.now() - t1} ms after the proxy let it through`);
    const afterSwitch = await addNote(A, "after the switch");
    await seen(B, "a note made after the switch", hasText, [afterSwitch, "after the switch"], LIVE_MS);
    await edit(B, afterSwitch, "seen over WebSocket");
    await seen(A, "bob's edit after the switch", hasText, [afterSwitch, "seen over WebSocket"], LIVE_MS);
    assert.equal(await B.locator(`[data-note-id="${afterSwitch}"]`).count(), 1, "the note shows once");
    await alice.context.close();
    await bob.context.close();
  } finally {
    await proxy.close();
  }
}

describe("transport fallback through a proxy", { timeout: 160_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
  });
  after(async () => {
    await closeBrowser?.();
  });

  test("WebSocket refused: SSE for updates, REST for changes, both ways", { timeout: 70_000 }, async (t) => {
    await bothWays(t, "no-websocket", "Live (SSE fallback)");
  });

  test("WebSocket refused and SSE held by the proxy: long poll, both ways", { timeout: 70_000 }, async (t) => {
    await bothWays(t, "buffering", "Live (long poll)");
  });

  test("an SSE stream the proxy stops forwarding (without closing it) is noticed and resumed", { timeout: 45_000 }, async (t) => {
    const proxy = await startProxy("no-websocket", { keepAliveMs: 1000 });
    try {
      const { alice, bob } = await pair(t, proxy, "c", "Live (SSE fallback)");
      const before = await addNote(alice.page, "before the stall");
      await seen(bob.page, "a note made before the stall", hasText, [before, "before the stall"], LIVE_MS);
      // Two keep-alives in a row teach bob's reader the interval (1 s here).
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const streams = proxy.boardStreams();
      const t1 = Date.now();
      proxy.stallBoardStreams();
      const during = await addNote(alice.page, "after the stall");
      await seen(bob.page, "a note made after the stall", hasText, [during, "after the stall"], 15_000);
      t.diagnostic(`stall: alice's note reached bob ${Date.now() - t1} ms after his stream stalled`);
      assert.ok(proxy.boardStreams() > streams, "bob's tab opened a new board stream");
      await status(bob.page, "Live (SSE fallback)", 5000);
      await alice.context.close();
      await bob.context.close();
    } finally {
      await proxy.close();
    }
  });

  test("no unexpected console errors", () => {
    assert.deepEqual(strict.errors, []);
    assert.deepEqual(proxied.errors, []);
  });
});
