// End-to-end checks of the board's people features (issue 18 part 5, and
// part 0's live drags): a drag seen live by the other user, who is editing
// which note, @mention autocomplete, author and last editor on hover, the
// online list and following someone's view, and the dark-mode choice across
// a reload. Two users (pia owns the board, quin edits it), real server
// (scripts/e2e.sh), Debian's chromium through playwright-core.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE, ConsoleWatch, PASSWORD, launchBrowser, rest, screenshotPath, seen, until } from "./harness.mjs";

const VIEWPORT = { width: 1280, height: 800 };
const watch = new ConsoleWatch();
let browser;
let closeBrowser;
let pia;
let quin;
let boardId = "";
const suffix = String(Date.now() % 1e6);

async function newUser(name) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light" });
  context.setDefaultTimeout(10_000);
  const su = await rest(context, "POST", "/api/auth/signup", { username: name, password: PASSWORD });
  assert.equal(su.status, 201, JSON.stringify(su.body));
  const page = await context.newPage();
  watch.attach(page, name);
  return { name, context, page, id: su.body.user?.id ?? su.body.id };
}

const note = (page, id) => page.locator(`[data-note-id="${id}"]`);
const statusOf = (page) => page.locator('header [role="status"]');

async function openBoard(u) {
  await u.page.goto(`${BASE}/boards/${boardId}`);
  await until(`${u.name} Connected`, async () => (await statusOf(u.page).textContent()) === "Connected", 8000);
}

async function createNote(text, x, y) {
  const r = await rest(pia.context, "POST", `/api/boards/${boardId}/notes`, { text, x, y });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.note.id;
}

/** The board point at the centre of a page's canvas, and its zoom. */
async function centreOf(page) {
  const c = await cameraOf(page);
  const { w, h } = await page.getByTestId("canvas").evaluate((el) => ({ w: el.clientWidth, h: el.clientHeight }));
  return { x: (w / 2 - c.x) / c.z, y: (h / 2 - c.y) / c.z, z: c.z };
}

/** The camera of a page: the canvas layer's translate and scale. */
async function cameraOf(page) {
  const t = await page.locator('[data-testid="canvas"] > div.origin-top-left').evaluate((el) => el.style.transform);
  const m = /translate\(([-\d.e]+)px, ([-\d.e]+)px\) scale\(([-\d.e]+)\)/.exec(t);
  assert.ok(m, `camera transform: ${t}`);
  return { x: Number(m[1]), y: Number(m[2]), z: Number(m[3]) };
}

describe("people on a board, end to end", { timeout: 120_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
    pia = await newUser(`pia${suffix}`);
    quin = await newUser(`quin${suffix}`);
    const b = await rest(pia.context, "POST", "/api/boards", { title: "People" });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    boardId = b.body.id;
    const inv = await rest(pia.context, "POST", `/api/boards/${boardId}/invites`, { role: "editor" });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const acc = await rest(quin.context, "POST", `/api/invites/${encodeURIComponent(inv.body.token)}/accept`);
    assert.ok(acc.status === 200 || acc.status === 201, JSON.stringify(acc.body));
  });
  after(async () => {
    await closeBrowser?.();
    assert.deepEqual(watch.errors, [], "no console errors");
  });

  test("a slow drag is seen live by the other user, marked with the dragger's name, then lands", { timeout: 30_000 }, async () => {
    const id = await createNote("Drag me", 100, 100);
    await openBoard(pia);
    await openBoard(quin);
    const A = pia.page;
    const B = quin.page;
    await note(B, id).waitFor();
    const box = await note(A, id).boundingBox();
    const x0 = box.x + 60;
    const y0 = box.y + 40;
    // B records every left position it draws while A drags.
    await B.evaluate((nid) => {
      window.__lefts = [];
      const el = document.querySelector(`[data-note-id="${nid}"]`);
      new MutationObserver(() => window.__lefts.push([parseFloat(el.style.left), el.dataset.draggedBy ?? null])).observe(el, {
        attributes: true,
        attributeFilter: ["style", "data-dragged-by"],
      });
    }, id);
    await A.mouse.move(x0, y0);
    await A.mouse.down();
    const t0 = Date.now();
    for (let i = 1; i <= 30; i++) {
      await A.mouse.move(x0 + i * 10, y0 + i * 4);
      await sleep(40);
    }
    // Before the drop, B sees the note part-way and who moves it.
    await seen(B, "the note marked as being moved by pia", ([nid, who]) => document.querySelector(`[data-note-id="${nid}"]`)?.dataset.draggedBy === who, [id, pia.name], 2000);
    const marker = await note(B, id).getByTestId("note-marker").textContent();
    assert.equal(marker, `${pia.name} is moving this`);
    const dragMs = Date.now() - t0;
    await A.mouse.up();
    await seen(B, "the committed position", ([nid]) => {
      const el = document.querySelector(`[data-note-id="${nid}"]`);
      return el && parseFloat(el.style.left) === 400 && !el.dataset.draggedBy;
    }, [id], 3000);
    const lefts = await B.evaluate(() => window.__lefts);
    const between = new Set(lefts.filter(([l, by]) => by && l > 110 && l < 390).map(([l]) => l));
    assert.ok(between.size >= 5, `B drew intermediate positions before the drop: ${JSON.stringify(lefts.slice(0, 40))}`);
    console.log(JSON.stringify({ live_drag: { drag_ms: dragMs, pointer_moves: 30, positions_drawn_by_other: between.size } }));
    const server = (await rest(pia.context, "GET", `/api/boards/${boardId}`)).body.notes.find((n) => n.id === id);
    assert.deepEqual([server.x, server.y], [400, 220]);
  });

  test("typing in a note shows the other user who is editing it", { timeout: 20_000 }, async () => {
    const id = await createNote("", 100, 400);
    const A = pia.page;
    const B = quin.page;
    await note(A, id).waitFor();
    await note(A, id).dblclick();
    const editor = A.getByLabel("Note text");
    await editor.waitFor();
    await until("editor ready", async () => (await editor.getAttribute("aria-busy")) === "false", 5000);
    await editor.pressSequentially("Hello", { delay: 30 });
    await seen(B, "pia is editing on the note", ([nid, who]) => document.querySelector(`[data-note-id="${nid}"]`)?.dataset.editedBy === who, [id, pia.name], 2000);
    assert.equal(await note(B, id).getByTestId("note-marker").textContent(), `${pia.name} is editing`);
    await editor.press("Escape");
    await seen(B, "the mark gone when pia stops editing", ([nid]) => !document.querySelector(`[data-note-id="${nid}"]`)?.dataset.editedBy, [id], 3000);
  });

  test("@mention autocomplete inserts a member's name, and they are notified", { timeout: 30_000 }, async () => {
    const id = await createNote("", 500, 400);
    const A = pia.page;
    await note(A, id).waitFor();
    await note(A, id).dblclick();
    const editor = A.getByLabel("Note text");
    await until("editor ready", async () => (await editor.getAttribute("aria-busy")) === "false", 5000);
    await editor.pressSequentially("Ask @", { delay: 20 });
    const list = A.getByRole("listbox", { name: "Mention a board member" });
    await list.waitFor();
    // pia is left out: only quin is suggested
    assert.deepEqual(await list.getByRole("option").allTextContents(), [`@${quin.name}`]);
    await editor.pressSequentially("qu", { delay: 20 });
    assert.equal(await list.getByRole("option").count(), 1);
    assert.equal(await editor.getAttribute("aria-activedescendant"), await list.getByRole("option").first().getAttribute("id"));
    await editor.press("Enter");
    await list.waitFor({ state: "detached" });
    await editor.pressSequentially("today", { delay: 20 });
    assert.equal(await editor.inputValue(), `Ask @${quin.name} today`);
    // Escape closes the list without leaving the editor
    await editor.pressSequentially(" @zzz", { delay: 20 });
    assert.equal(await list.count(), 0, "no member matches zzz");
    for (let i = 0; i < 3; i++) await editor.press("Backspace");
    await list.waitFor();
    await editor.press("Escape");
    await list.waitFor({ state: "detached" });
    assert.equal(await editor.count(), 1, "still editing after Escape closed the list");
    await editor.press("Backspace");
    await editor.press("Backspace");
    await editor.press("Escape");
    await until("the text saved", async () => {
      const n = (await rest(pia.context, "GET", `/api/boards/${boardId}`)).body.notes.find((x) => x.id === id);
      return n?.text === `Ask @${quin.name} today`;
    }, 5000);
    await until("quin's mention notification", async () => {
      const r = await rest(quin.context, "GET", "/api/notifications");
      return r.body.notifications?.some((n) => n.kind === "mention" && n.note === id);
    }, 5000);
    const label = await quin.page.locator('header button[aria-label^="Notifications"]').getAttribute("aria-label");
    assert.match(label, /[1-9]\d* unread/);
  });

  test("hover and focus show the author and the last editor with the time", { timeout: 20_000 }, async () => {
    const id = await createNote("Written by pia", 800, 100);
    const B = quin.page;
    const A = pia.page;
    await note(B, id).waitFor();
    // quin edits it; pia has seen both events
    await note(B, id).dblclick();
    const editor = B.getByLabel("Note text");
    await until("editor ready", async () => (await editor.getAttribute("aria-busy")) === "false", 5000);
    await editor.press("End");
    await editor.pressSequentially("!", { delay: 20 });
    await editor.press("Escape");
    await seen(A, "quin's edit", ([nid]) => document.querySelector(`[data-note-id="${nid}"]`)?.textContent?.includes("pia!"), [id], 3000);
    await note(A, id).hover();
    const byline = note(A, id).getByRole("tooltip");
    await byline.waitFor();
    assert.match(await byline.textContent(), new RegExp(`^Created by ${pia.name} · edited by ${quin.name}, just now$`));
    assert.ok((await note(A, id).getAttribute("aria-describedby")).split(" ").includes(await byline.getAttribute("id")), "described by the byline");
    await A.mouse.move(5, 790);
    await byline.waitFor({ state: "detached" });
    // Keyboard: focusing the note shows it too
    await note(A, id).focus();
    await byline.waitFor();
    // A tab that has seen no event of the note (a fresh one: no stored board to resume from) knows only the time
    const fresh = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light", storageState: await pia.context.storageState() });
    const F = await fresh.newPage();
    watch.attach(F, "pia (fresh tab)");
    await F.goto(`${BASE}/boards/${boardId}`);
    await until("Connected", async () => (await statusOf(F).textContent()) === "Connected", 8000);
    await note(F, id).hover();
    await note(F, id).getByRole("tooltip").waitFor();
    assert.match(await note(F, id).getByRole("tooltip").textContent(), new RegExp(`^Created by ${pia.name} · edited just now$`));
    await fresh.close();
  });

  test("quin follows pia: pia's pans move quin's view; quin's own pan stops following", { timeout: 30_000 }, async () => {
    const A = pia.page;
    const B = quin.page;
    await openBoard(pia);
    await openBoard(quin);
    await B.getByRole("button", { name: /^Who is online \(2\)/ }).click();
    const panel = B.getByRole("dialog", { name: "Online now" });
    await panel.getByRole("button", { name: `Follow ${pia.name}` }).click();
    const banner = B.getByTestId("follow-banner");
    await banner.waitFor();
    assert.match(await banner.textContent(), new RegExp(`Following ${pia.name}`));
    // quin looks at what pia looks at: the same centre (quin's canvas is a banner shorter: all of pia's view fits)
    const same = async (what) => {
      const a = await centreOf(A);
      await until(what, async () => {
        const b = await centreOf(B);
        const ok = Math.abs(b.x - a.x) < 2 && Math.abs(b.y - a.y) < 2 && b.z <= a.z + 1e-6 && b.z > a.z * 0.9;
        return ok || `pia ${JSON.stringify(a)} quin ${JSON.stringify(b)} banner ${await banner.count()}` === "";
      }, 3000).catch(async (e) => {
        throw new Error(`${e.message}: pia ${JSON.stringify(a)} quin ${JSON.stringify(await centreOf(B))} banner ${await banner.count()}`);
      });
      return a;
    };
    await same("quin's view on pia's at once");
    // pia drags the empty canvas by (-300, -200)
    const before = await cameraOf(A);
    await A.mouse.move(1100, 700);
    await A.mouse.down();
    for (let i = 1; i <= 10; i++) await A.mouse.move(1100 - 30 * i, 700 - 20 * i);
    await A.mouse.up();
    const a = await cameraOf(A);
    assert.deepEqual([a.x - before.x, a.y - before.y], [-300, -200]);
    await same("quin's view to follow pia's pan");
    // pia zooms with the toolbar; quin follows again
    const z0 = (await cameraOf(B)).z;
    await A.getByRole("button", { name: "Zoom in" }).click();
    await same("quin's view to follow pia's zoom");
    assert.ok((await cameraOf(B)).z > z0, "quin zoomed in too");
    // quin pans: following stops, and pia's next pan no longer moves quin
    await B.mouse.move(600, 600);
    await B.mouse.down();
    await B.mouse.move(650, 640);
    await B.mouse.move(700, 680);
    await B.mouse.up();
    await banner.waitFor({ state: "detached" });
    const b = await cameraOf(B);
    await A.getByRole("button", { name: "Zoom out" }).click();
    await sleep(600);
    assert.deepEqual(await cameraOf(B), b, "quin's view stays where quin put it");
  });

  test("others' selected notes are outlined in their colour", { timeout: 15_000 }, async () => {
    const id = await createNote("Pick me", 300, 600);
    const A = pia.page;
    const B = quin.page;
    await note(A, id).waitFor();
    await note(A, id).focus();
    await seen(B, "pia's selection", ([nid, who]) => document.querySelector(`[data-note-id="${nid}"]`)?.dataset.selectedBy === who, [id, pia.name], 2000);
    assert.notEqual(await note(B, id).evaluate((el) => el.style.outlineStyle), "");
  });

  test("the dark theme is kept across a reload, applied before the first paint", { timeout: 20_000 }, async () => {
    const A = pia.page;
    await A.getByRole("button", { name: "Account", exact: true }).click();
    await A.getByRole("radiogroup", { name: "Theme" }).getByRole("radio", { name: "Dark" }).click();
    assert.equal(await A.evaluate(() => document.documentElement.classList.contains("dark")), true);
    await A.keyboard.press("Escape");
    await A.reload({ waitUntil: "commit" });
    // the class is there as soon as the document exists, before the app's scripts run
    await A.waitForFunction(() => document.body !== null, null, { polling: 10 });
    assert.equal(await A.evaluate(() => document.documentElement.classList.contains("dark")), true);
    await until("Connected", async () => (await statusOf(A).textContent()) === "Connected", 8000);
    const bg = await A.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(bg, "rgb(250, 250, 249)", "the page is dark");
    await A.getByRole("button", { name: "Fit", exact: true }).click();
    await A.waitForTimeout(300);
    const shot = screenshotPath("board-dark");
    if (shot) await A.screenshot({ path: shot });
    // quin's choice is separate (per user): still light
    await quin.page.reload();
    assert.equal(await quin.page.evaluate(() => document.documentElement.classList.contains("dark")), false);
    // back to System
    await A.getByRole("button", { name: "Account", exact: true }).click();
    await A.getByRole("radiogroup", { name: "Theme" }).getByRole("radio", { name: "System" }).click();
    assert.equal(await A.evaluate(() => document.documentElement.classList.contains("dark")), false);
  });
});
