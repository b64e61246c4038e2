// End-to-end tests of the web UI against the real corkboard binary, in Debian's
// chromium through playwright-core. Run with scripts/e2e.sh (`make e2e`), which
// starts the server and sets E2E_*; the tests run in order and share one
// browser, a board and its users (alice owns it, bob edits, carol views).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  BASE,
  ConsoleWatch,
  PASSWORD,
  launchBrowser,
  rest,
  screenshotPath,
  seen,
  startServer,
  stopServer,
  until,
} from "./harness.mjs";

const VIEWPORT = { width: 1280, height: 800 };
const LIVE_MS = 1000; // "seen by the other within 1 s"

const watch = new ConsoleWatch();
let browser;
let closeBrowser;
/** @type {{ name: string, context: import("playwright-core").BrowserContext, page: import("playwright-core").Page }} */
let alice;
let bob;
let boardId = "";

async function newUser(name, options = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light", ...options });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  watch.attach(page, name);
  return { name, context, page };
}

async function signUp({ name, page }) {
  await page.goto(`${BASE}/login/`);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.waitForURL(/\/boards\/$/);
}

const note = (page, id) => page.locator(`[data-note-id="${id}"]`);
const statusOf = (page) => page.locator('header [role="status"]');
const online = (page) => page.getByRole("region", { name: "Online" });

/** "Add note", optionally write `text` (Escape leaves editing and saves at once); returns the note id. */
async function addNote(page, text) {
  await page.getByRole("button", { name: "Add note" }).click();
  const editor = page.getByLabel("Note text");
  await editor.waitFor();
  const id = await page.locator("[data-note-id]:has(textarea)").getAttribute("data-note-id");
  assert.ok(id, "the new note has an id");
  if (text) await editor.fill(text);
  await editor.press("Escape");
  return id;
}

/** The invite link from the board's Share menu (the owner's context may read its clipboard). */
async function inviteLink(page, role) {
  const share = page.getByRole("button", { name: "Share", exact: true });
  await share.click();
  await page.getByRole("dialog", { name: "Share" }).getByLabel("Link role").selectOption(role);
  await page.getByRole("button", { name: "Create and copy link" }).click();
  await page.getByText(`${role === "editor" ? "Editor" : "Viewer"} invite link copied`).first().waitFor();
  await share.click();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(link, /\/invite\?token=/);
  return link;
}

const hasText = ([id, text]) => document.querySelector(`[data-note-id="${id}"]`)?.textContent?.includes(text) ?? false;

async function connected(page, ms = 5000) {
  await until(`${page.url()} to show Connected`, async () => (await statusOf(page).textContent()) === "Connected", ms);
}

async function unread(page) {
  const label = await page.locator('header button[aria-label^="Notifications"]').getAttribute("aria-label");
  const m = /^Notifications, (\d+) unread$/.exec(label ?? "");
  assert.ok(m, `Notifications button label: ${label}`);
  return Number(m[1]);
}

describe("corkboard web UI, end to end", { timeout: 240_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
  });
  after(async () => {
    await closeBrowser?.();
  });

  test("two users sign up in their own contexts; the second joins through the first's invite link", { timeout: 45_000 }, async () => {
    alice = await newUser("alice", { permissions: ["clipboard-read", "clipboard-write"] });
    bob = await newUser("bob");
    await signUp(alice);
    await signUp(bob);

    await alice.page.getByLabel("New board title").fill("Launch plan");
    await alice.page.getByRole("button", { name: "Create board" }).click();
    await alice.page.waitForURL(/\/boards\/[^_/][^/]*\/?$/);
    boardId = decodeURIComponent(/\/boards\/([^/]+)/.exec(new URL(alice.page.url()).pathname)[1]);
    await connected(alice.page);

    const link = await inviteLink(alice.page, "editor");
    await bob.page.goto(link);
    // The invite page shows the board and role and asks before joining.
    await bob.page.getByRole("heading", { name: "Launch plan" }).waitFor();
    assert.equal(await bob.page.getByTestId("invite-role").textContent(), "editor");
    await bob.page.getByRole("button", { name: "Join board" }).click();
    await bob.page.waitForURL(new RegExp(`/boards/${boardId}/?$`));
    await bob.page.getByRole("button", { name: "Add note" }).waitFor();
    await connected(bob.page);
  });

  test("create, move, edit, recolour and delete a note: each change is seen by the other user within 1 s", { timeout: 45_000 }, async (t) => {
    const A = alice.page;
    const B = bob.page;
    const timings = {};

    // create
    await A.getByRole("button", { name: "Add note" }).click();
    await A.getByLabel("Note text").waitFor();
    const id = await A.locator("[data-note-id]:has(textarea)").getAttribute("data-note-id");
    timings.create = await seen(B, "the new note", (i) => !!document.querySelector(`[data-note-id="${i}"]`), id, LIVE_MS);
    await A.getByLabel("Note text").press("Escape");

    // move (drag by the note's top strip)
    const box = await note(A, id).boundingBox();
    const from = await note(A, id).evaluate((el) => [parseFloat(el.style.left), parseFloat(el.style.top)]);
    await A.mouse.move(box.x + box.width / 2, box.y + 6);
    await A.mouse.down();
    await A.mouse.move(box.x + box.width / 2 + 160, box.y + 6 + 90, { steps: 8 });
    await A.mouse.up();
    const to = await note(A, id).evaluate((el) => [parseFloat(el.style.left), parseFloat(el.style.top)]);
    assert.ok(Math.abs(to[0] - from[0] - 160) <= 2 && Math.abs(to[1] - from[1] - 90) <= 2, `dragged from ${from} to ${to}`);
    timings.move = await seen(
      B,
      `the note at ${to}`,
      ([i, x, y]) => {
        const el = document.querySelector(`[data-note-id="${i}"]`);
        return !!el && parseFloat(el.style.left) === x && parseFloat(el.style.top) === y;
      },
      [id, to[0], to[1]],
      LIVE_MS,
    );

    // edit text inline
    await note(A, id).dblclick();
    const editor = A.getByLabel("Note text");
    await editor.fill("Ship the beta on Friday");
    await editor.press("Escape");
    timings.edit = await seen(B, "the new text", hasText, [id, "Ship the beta on Friday"], LIVE_MS);

    // recolour
    await note(A, id).click();
    await A.getByRole("radiogroup", { name: "Note colour" }).getByRole("radio", { name: "Pink" }).click();
    timings.recolour = await seen(
      B,
      "the pink note",
      (i) => document.querySelector(`[data-note-id="${i}"]`)?.className.includes("bg-pink-200") ?? false,
      id,
      LIVE_MS,
    );

    // delete
    await A.getByRole("button", { name: "Delete note" }).click();
    await note(A, id).waitFor({ state: "detached", timeout: LIVE_MS });
    timings.delete = await seen(B, "the note gone", (i) => !document.querySelector(`[data-note-id="${i}"]`), id, LIVE_MS);

    // and the other direction: bob's new note reaches alice
    const t0 = Date.now();
    const mine = await addNote(B, "From bob");
    await seen(A, "bob's note", hasText, [mine, "From bob"], LIVE_MS);
    timings.reverse = Date.now() - t0;
    await note(B, mine).click();
    await B.keyboard.press("Delete");
    await seen(A, "bob's note deleted", (i) => !document.querySelector(`[data-note-id="${i}"]`), mine, LIVE_MS);
    t.diagnostic(`seen by the other after (ms): ${JSON.stringify(timings)}`);
  });

  test("presence avatars in the Online region and the other's live cursor with their name", { timeout: 30_000 }, async () => {
    const A = alice.page;
    const B = bob.page;
    for (const [page, names] of [
      [A, ["alice", "bob"]],
      [B, ["alice", "bob"]],
    ]) {
      for (const n of names) await online(page).getByRole("img", { name: n, exact: true }).waitFor({ timeout: 3000 });
    }

    const canvas = await A.getByTestId("canvas").boundingBox();
    const cursorAt = ([name, x, y]) =>
      [...document.querySelectorAll('[data-testid="canvas"] div[aria-hidden="true"]')].some((d) => {
        const m = /translate\(([-\d.]+)px, ([-\d.]+)px\)/.exec(d.style.transform);
        return d.textContent === name && !!m && Math.abs(+m[1] - x) < 3 && Math.abs(+m[2] - y) < 3;
      });
    // The camera starts at (40, 40), zoom 1: board = client − canvas origin − 40.
    for (const [cx, cy] of [
      [300, 200],
      [520, 330],
    ]) {
      await A.mouse.move(canvas.x + cx, canvas.y + cy, { steps: 4 });
      await seen(B, `alice's cursor at ${cx - 40},${cy - 40}`, cursorAt, ["alice", cx - 40, cy - 40], LIVE_MS);
    }
    // bob's cursor shows up for alice too, with his name
    const bc = await B.getByTestId("canvas").boundingBox();
    await B.mouse.move(bc.x + 640, bc.y + 420, { steps: 4 });
    await seen(A, "bob's cursor", cursorAt, ["bob", 600, 380], LIVE_MS);
    await B.getByTestId("canvas").getByText("alice", { exact: true }).waitFor({ state: "visible" });
  });

  test("an @mention of the second user raises their Notifications unread count live", { timeout: 30_000 }, async () => {
    const before = await unread(bob.page);
    await addNote(alice.page, "@bob can you check the launch copy?");
    await seen(
      bob.page,
      `Notifications, ${before + 1} unread`,
      (n) => document.querySelector('header button[aria-label^="Notifications"]')?.getAttribute("aria-label") === `Notifications, ${n} unread`,
      before + 1,
      5000,
    );
    // the item is in the list, and the count stays (no refresh needed)
    await bob.page.getByRole("button", { name: /^Notifications, \d+ unread$/ }).click();
    await bob.page.getByRole("dialog", { name: "Notifications" }).getByText("alice mentioned you").waitFor({ timeout: 3000 });
    await bob.page.keyboard.press("Escape");
  });

  test("server stopped, an edit made while it is down, server restarted: applied exactly once and both converge", { timeout: 90_000 }, async (t) => {
    const A = alice.page;
    const B = bob.page;
    const id = await addNote(A, "Before the outage");
    await seen(B, "the note", hasText, [id, "Before the outage"], LIVE_MS);
    await until("the note to be saved", async () => (await rest(alice.context, "GET", `/api/boards/${boardId}`)).body.notes.some((n) => n.id === id && n.text === "Before the outage"));
    const seqBefore = (await rest(alice.context, "GET", `/api/boards/${boardId}`)).body.seq;

    watch.outage = true;
    try {
      await stopServer();
      await until("alice to see the connection drop", async () => /Reconnecting|Offline/.test((await statusOf(A).textContent()) ?? ""), 10_000);

      const edited = "Edited while the server was down";
      await note(A, id).dblclick();
      await A.getByLabel("Note text").fill(edited);
      await A.getByLabel("Note text").press("Escape");
      const pending = await until(
        "alice's status to say 1 change pending",
        async () => {
          const s = (await statusOf(A).textContent()) ?? "";
          return /^(Reconnecting|Offline)\b.*1 change pending/.test(s) && s;
        },
        3000,
      );
      t.diagnostic(`while the server was down, alice's status said "${pending}"`);
      assert.ok(await note(A, id).textContent().then((t) => t.includes(edited)), "the edit shows at once for alice (optimistic)");
      assert.ok(!(await note(B, id).textContent()).includes(edited), "bob cannot have it yet");

      await startServer();
      const restarted = Date.now();
      // Skip whatever backoff delay is left (the status offers "Retry now").
      for (const page of [A, B]) {
        await page.getByRole("button", { name: /^Retry now/ }).click({ timeout: 1000 }).catch(() => undefined);
      }
      await connected(A, 20_000);
      await connected(B, 20_000);
      t.diagnostic(`both connected again ${Date.now() - restarted} ms after the restart`);
      await seen(B, "the offline edit", hasText, [id, edited], 5000);
      await until("alice's outbox to drain", async () => (await statusOf(A).textContent()) === "Connected", 5000);
    } finally {
      // console noise from the outage may still be in flight; give it a moment before counting again
      await new Promise((r) => setTimeout(r, 500));
      watch.outage = false;
      t.diagnostic(`network errors expected and ignored during the outage: ${JSON.stringify(watch.ignored)}`);
    }

    // exactly once: one note.updated event since, and the server's note holds the edit
    const { status, body } = await rest(alice.context, "GET", `/api/boards/${boardId}/events?after=${seqBefore}`);
    assert.equal(status, 200);
    const updates = body.events.filter((e) => e.kind === "note.updated" && e.id === id);
    assert.equal(updates.length, 1, `one note.updated for the note, got ${JSON.stringify(body.events)}`);
    assert.equal(updates[0].delta.text, "Edited while the server was down");
    assert.equal(body.events.length, 1, `nothing else happened: ${JSON.stringify(body.events)}`);
    const snap = (await rest(bob.context, "GET", `/api/boards/${boardId}`)).body;
    const server = snap.notes.find((n) => n.id === id);
    assert.equal(server.text, "Edited while the server was down");
    assert.equal(server.version, updates[0].seq);
    // both browsers render the same board as the server
    for (const page of [A, B]) {
      const rendered = await page.locator("[data-note-id]").evaluateAll((els) => els.map((e) => e.getAttribute("data-note-id")).sort());
      assert.deepEqual(rendered, snap.notes.map((n) => n.id).sort());
      assert.ok((await note(page, id).textContent()).includes("Edited while the server was down"));
    }
  });

  test("a viewer sees no editing controls, and a forced edit is rejected with 403 forbidden", { timeout: 45_000 }, async () => {
    const link = await inviteLink(alice.page, "viewer");
    const carol = await newUser("carol");
    try {
      await signUp(carol);
      await carol.page.goto(link);
      await carol.page.getByRole("button", { name: "Join board" }).click();
      await carol.page.waitForURL(new RegExp(`/boards/${boardId}/?$`));
      const C = carol.page;
      await C.getByText("View only").waitFor();
      await connected(C);
      const { notes } = (await rest(carol.context, "GET", `/api/boards/${boardId}`)).body;
      assert.ok(notes.length > 0);
      // the top-most note (notes stack by z-index, the newest change on top): nothing covers it
      await C.locator("[data-note-id]").first().waitFor();
      const topId = await C.locator("[data-note-id]").evaluateAll((els) => {
        const z = (el) => Number(getComputedStyle(el).zIndex) || 0;
        return els.reduce((top, el) => (z(el) >= z(top) ? el : top)).getAttribute("data-note-id");
      });
      const target = notes.find((n) => n.id === topId);
      assert.ok(target, "the drawn note is on the server");

      assert.equal(await C.getByRole("button", { name: "Add note" }).count(), 0, "no Add note");
      assert.equal(await C.getByRole("button", { name: "Share", exact: true }).count(), 0, "no Share menu");
      assert.equal(await C.getByRole("button", { name: "Rename board" }).count(), 0, "no rename");
      await note(C, target.id).click();
      await note(C, target.id).dblclick();
      await C.keyboard.press("Delete");
      await C.waitForTimeout(300);
      assert.equal(await C.getByRole("radiogroup", { name: "Note colour" }).count(), 0, "no colour picker");
      assert.equal(await C.getByRole("button", { name: "Delete note" }).count(), 0, "no delete button");
      assert.equal(await C.getByLabel("Note text").count(), 0, "no text editor");
      assert.equal(await C.locator(".cursor-nwse-resize").count(), 0, "no resize handles");
      // double-click on the empty canvas creates nothing either
      const canvas = await C.getByTestId("canvas").boundingBox();
      await C.mouse.dblclick(canvas.x + canvas.width - 60, canvas.y + canvas.height - 60);
      await C.waitForTimeout(300);
      assert.equal(await C.locator("[data-note-id]").count(), notes.length, "no note created");

      // forced edit over REST with the viewer's own session cookie
      const patch = await rest(carol.context, "PATCH", `/api/boards/${boardId}/notes/${target.id}`, { text: "hacked" });
      assert.equal(patch.status, 403);
      assert.equal(patch.body?.error?.code, "forbidden");
      const del = await rest(carol.context, "DELETE", `/api/boards/${boardId}/notes/${target.id}`, {});
      assert.equal(del.status, 403);
      // forced edit over the page's own WebSocket protocol (an RPC the UI would never send)
      const answer = await C.evaluate(
        ({ board, id }) =>
          new Promise((resolve, reject) => {
            const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/ws`, "corkboard.v1");
            const t = setTimeout(() => reject(new Error("no answer to the forced RPC")), 5000);
            ws.onmessage = (e) => {
              const m = JSON.parse(e.data);
              if (m.type === "welcome")
                ws.send(JSON.stringify({ type: "rpc", id: "forced-1", method: "note.update", params: { board, id, text: "hacked" } }));
              else if (m.id === "forced-1") {
                clearTimeout(t);
                ws.close();
                resolve(m);
              }
            };
          }),
        { board: boardId, id: target.id },
      );
      assert.equal(answer.type, "error", JSON.stringify(answer));
      assert.equal(answer.error.code, "forbidden");

      const after = (await rest(alice.context, "GET", `/api/boards/${boardId}`)).body.notes.find((n) => n.id === target.id);
      assert.deepEqual(
        { text: after.text, x: after.x, y: after.y, version: after.version },
        { text: target.text, x: target.x, y: target.y, version: target.version },
        "the note is untouched",
      );
      assert.ok(!(await note(alice.page, target.id).textContent()).includes("hacked"));
      await online(alice.page).getByRole("img", { name: "carol", exact: true }).waitFor({ timeout: 3000 });
    } finally {
      await carol.context.close();
    }
    // carol leaves the Online region when her tab closes
    await online(alice.page).getByRole("img", { name: "carol", exact: true }).waitFor({ state: "detached", timeout: 5000 });
  });

  test("the account page signs other sessions out and changes the password", { timeout: 45_000 }, async () => {
    // alice signs in a second time, elsewhere
    const phone = await newUser("alice-phone");
    const page = await alice.context.newPage();
    watch.attach(page, "alice-account");
    try {
      await phone.page.goto(`${BASE}/login/`);
      await phone.page.getByLabel("Username").fill("alice");
      await phone.page.getByLabel("Password").fill(PASSWORD);
      await phone.page.getByRole("button", { name: "Sign in" }).click();
      await phone.page.waitForURL(/\/boards\/$/);
      await phone.page.close(); // its session stays; only its cookie is used below

      await page.goto(`${BASE}/boards/`);
      await page.locator('header button[aria-label="Account"]').click();
      await page.getByRole("link", { name: "Account & sessions" }).click();
      await page.waitForURL(/\/account\/$/);
      const list = page.getByRole("list", { name: "Sessions" });
      await until("two sessions listed", async () => (await list.getByRole("listitem").count()) >= 2);
      await list.getByText("This browser").waitFor();
      await page.waitForTimeout(200);
      const path = screenshotPath("account");
      if (path) await page.screenshot({ path });

      await page.getByRole("button", { name: "Sign out everywhere else" }).click();
      await page.getByText(/^Signed out \d+ other sessions?$/).first().waitFor();
      await until("one session left", async () => (await list.getByRole("listitem").count()) === 1);
      assert.equal((await rest(phone.context, "GET", "/api/me")).status, 401, "the other session ended");
      assert.equal((await rest(alice.context, "GET", "/api/me")).status, 200, "this one did not");

      const newPassword = `new-${PASSWORD}`;
      await page.getByLabel("Current password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("New password", { exact: true }).fill(newPassword);
      await page.getByLabel("Repeat the new password").fill(newPassword);
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByText(/^Password changed/).first().waitFor();
      assert.equal((await rest(alice.context, "GET", "/api/me")).status, 200, "still signed in");
      // back to the shared password for the tests that follow
      const back = await rest(alice.context, "POST", "/api/auth/password", { current_password: newPassword, new_password: PASSWORD });
      assert.equal(back.status, 204, JSON.stringify(back.body));
    } finally {
      await page.close();
      await phone.context.close();
    }
  });

  test("screenshots of the main screens (docs/screenshots/*.png)", { timeout: 60_000 }, async () => {
    const A = alice.page;
    const B = bob.page;
    // a few notes, laid out for the picture (through the API; they arrive live)
    const layout = [
      { x: 40, y: 30, color: "yellow", text: "Ship the beta on Friday" },
      { x: 300, y: 60, color: "pink", text: "@bob can you check the launch copy?" },
      { x: 560, y: 20, color: "blue", text: "Retro notes:\n• faster deploys\n• fewer meetings" },
      { x: 120, y: 260, color: "green", text: "Pricing page → final review" },
      { x: 420, y: 280, color: "purple", text: "Invite the design team" },
      { x: 720, y: 250, color: "yellow", text: "Edited while the server was down" },
    ];
    const existing = (await rest(alice.context, "GET", `/api/boards/${boardId}`)).body.notes;
    for (const n of existing) {
      const spot = layout.find((l) => l.text === n.text);
      if (spot) {
        const r = await rest(alice.context, "PATCH", `/api/boards/${boardId}/notes/${n.id}`, { x: spot.x, y: spot.y, color: spot.color });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        spot.done = true;
      } else {
        assert.equal((await rest(alice.context, "DELETE", `/api/boards/${boardId}/notes/${n.id}`, {})).status, 200);
      }
    }
    for (const l of layout.filter((s) => !s.done)) {
      const r = await rest(alice.context, "POST", `/api/boards/${boardId}/notes`, { x: l.x, y: l.y, color: l.color, text: l.text });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await until("six notes on both screens", async () => (await A.locator("[data-note-id]").count()) === 6 && (await B.locator("[data-note-id]").count()) === 6);
    await A.mouse.click(5, VIEWPORT.height - 5); // deselect; the pointer rests at the edge
    const bc = await B.getByTestId("canvas").boundingBox();
    await B.mouse.move(bc.x + 610, bc.y + 250, { steps: 3 });
    await seen(A, "bob's cursor", () => [...document.querySelectorAll('[data-testid="canvas"] div[aria-hidden="true"]')].some((d) => d.textContent === "bob"), null, LIVE_MS);
    await A.getByText(/invite link copied/).waitFor({ state: "detached", timeout: 10_000 });
    await A.waitForTimeout(300);
    const shot = async (page, name) => {
      const path = screenshotPath(name);
      if (path) await page.screenshot({ path });
    };
    await shot(A, "board");

    await B.getByRole("button", { name: /^Notifications, \d+ unread$/ }).click();
    await B.getByRole("dialog", { name: "Notifications" }).getByText("alice mentioned you").waitFor();
    await B.waitForTimeout(200);
    await shot(B, "notifications");
    await B.keyboard.press("Escape");

    for (const title of ["Team retro", "Roadmap Q3"]) {
      assert.equal((await rest(alice.context, "POST", "/api/boards", { title })).status, 201);
    }
    await A.goto(`${BASE}/boards/`);
    await A.getByRole("link", { name: /Roadmap Q3/ }).waitFor();
    await A.waitForTimeout(200);
    await shot(A, "boards");

    // The owner's Share menu with its live links, and the invite page asking before joining.
    const inv = await rest(alice.context, "POST", `/api/boards/${boardId}/invites`, { role: "editor", single_use: true });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    await A.goto(`${BASE}/boards/${boardId}`);
    await connected(A);
    await A.getByRole("button", { name: "Share", exact: true }).click();
    await A.getByRole("button", { name: "Revoke" }).first().waitFor();
    await A.waitForTimeout(200);
    await shot(A, "share");
    await B.goto(`${BASE}/invite?token=${encodeURIComponent(inv.body.token)}`);
    await B.getByRole("button", { name: "Join board" }).waitFor();
    await B.waitForTimeout(200);
    await shot(B, "invite");

    const visitor = await newUser("visitor");
    try {
      await visitor.page.goto(`${BASE}/login/`);
      await visitor.page.getByLabel("Username").waitFor();
      await visitor.page.waitForTimeout(300); // the login page's own GET /api/me settles
      await shot(visitor.page, "login");
    } finally {
      await visitor.context.close();
    }
  });

  test("no console errors or uncaught exceptions in any page", () => {
    assert.deepEqual(watch.errors, []);
  });
});
