// End-to-end tests of collaborative note text and undo/redo (issue 14) against
// the real corkboard binary, in Debian's chromium through playwright-core. Run
// with scripts/e2e.sh (`make e2e`). Two users (tess owns the board, uma edits),
// each in their own browser context; they type into one note at the same time.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE, ConsoleWatch, PASSWORD, launchBrowser, rest, screenshotPath, seen, until } from "./harness.mjs";

const VIEWPORT = { width: 1280, height: 800 };
const LIVE_MS = 1000;

const watch = new ConsoleWatch();
let browser;
let closeBrowser;
let tess;
let uma;
let boardId = "";

async function newUser(name) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light" });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  watch.attach(page, name);
  const su = await rest(context, "POST", "/api/auth/signup", { username: name, password: PASSWORD });
  assert.equal(su.status, 201, JSON.stringify(su.body));
  return { name, context, page };
}

const note = (page, id) => page.locator(`[data-note-id="${id}"]`);
const editorOf = (page, id) => note(page, id).getByLabel("Note text");
const serverNote = async (ctx, id) => (await rest(ctx, "GET", `/api/boards/${boardId}`)).body.notes.find((n) => n.id === id);
const noteText = (page, id) =>
  page.evaluate((i) => {
    const el = document.querySelector(`[data-note-id="${i}"]`);
    const ta = el?.querySelector("textarea");
    if (ta) return ta.value;
    // the display: the text, without the carets' name labels
    const div = el?.querySelector("div.whitespace-pre-wrap");
    if (!div) return null;
    const clone = div.cloneNode(true);
    clone.querySelectorAll("[data-caret]").forEach((c) => c.remove());
    return clone.textContent;
  }, id);

async function connected(page, ms = 5000) {
  await until(`${page.url()} to show Connected`, async () => (await page.locator('header [role="status"]').textContent()) === "Connected", ms);
}

/** Opens the note's editor and waits until its document is loaded (the textarea is writable). */
async function edit(page, id) {
  await note(page, id).dblclick();
  const ed = editorOf(page, id);
  await ed.waitFor();
  await until("the editor to load", async () => !(await ed.evaluate((el) => el.readOnly)), 5000);
  // the caret at the end
  await ed.evaluate((el) => el.setSelectionRange(el.value.length, el.value.length));
  return ed;
}

async function leave(page, id) {
  await editorOf(page, id).press("Escape");
  await editorOf(page, id).waitFor({ state: "detached" });
}

/** Both pages and the server hold the same text for the note; returns it. */
async function converged(id, ms = 5000) {
  return until(
    "both pages and the server to agree on the text",
    async () => {
      const [a, b, s] = await Promise.all([noteText(tess.page, id), noteText(uma.page, id), serverNote(tess.context, id)]);
      return a !== null && a === b && s && s.text === a ? a : null;
    },
    ms,
  );
}

async function createNote(text, x, y) {
  const r = await rest(tess.context, "POST", `/api/boards/${boardId}/notes`, { text, x, y });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.note.id;
  for (const p of [tess.page, uma.page]) await note(p, id).waitFor();
  return id;
}

describe("collaborative text and undo, end to end", { timeout: 180_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
    tess = await newUser(`tess${Date.now() % 1e6}`);
    uma = await newUser(`uma${Date.now() % 1e6}`);
    const b = await rest(tess.context, "POST", "/api/boards", { title: "Together" });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    boardId = b.body.id;
    const inv = await rest(tess.context, "POST", `/api/boards/${boardId}/invites`, { role: "editor" });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    const acc = await rest(uma.context, "POST", `/api/invites/${encodeURIComponent(inv.body.token)}/accept`, {});
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    for (const u of [tess, uma]) {
      await u.page.goto(`${BASE}/boards/${boardId}`);
      await connected(u.page);
    }
  });
  after(async () => {
    await closeBrowser?.();
  });

  test("two users type into the same note at the same time: both see both texts merged, nothing lost", { timeout: 60_000 }, async (t) => {
    const id = await createNote("Plan: ", 60, 60);
    const A = await edit(tess.page, id);
    const B = await edit(uma.page, id);
    // each one's caret shows in the other's note, with their name
    await uma.page.keyboard.press("End");
    await seen(tess.page, "uma's caret in the note", ([i, n]) => !!document.querySelector(`[data-note-id="${i}"] [data-caret="${n}"]`), [id, uma.name], 3000);

    const mine = "alpha-bravo-charlie-delta-echo";
    const theirs = "XRAY_YANKEE_ZULU_QUEBEC_OSCAR";
    await Promise.all([A.pressSequentially(mine, { delay: 15 }), B.pressSequentially(theirs, { delay: 15 })]);
    const text = await converged(id);
    t.diagnostic(`merged: ${JSON.stringify(text)}`);
    assert.ok(text.startsWith("Plan: "), text);
    const rest_ = text.slice("Plan: ".length);
    assert.equal(rest_.length, mine.length + theirs.length, "every keystroke of both is there");
    assert.equal([...rest_].filter((c) => /[a-z-]/.test(c)).join(""), mine, "tess's text, in order");
    assert.equal([...rest_].filter((c) => /[A-Z_]/.test(c)).join(""), theirs, "uma's text, in order");
  });

  test("undo in one browser reverts only that user's typing; redo brings it back", { timeout: 60_000 }, async () => {
    const id = (await rest(tess.context, "GET", `/api/boards/${boardId}`)).body.notes.find((n) => n.text.startsWith("Plan: ")).id;
    await converged(id);
    // tess's editor still has focus: Ctrl+Z goes to this note's text first (her typing was one step)
    await editorOf(tess.page, id).press("Control+z");
    const undone = await converged(id);
    assert.equal(undone, "Plan: XRAY_YANKEE_ZULU_QUEBEC_OSCAR", "only tess's words are gone; uma's stay");
    // the caret of uma stayed in her editor: she types on, after her own text
    await editorOf(uma.page, id).press("End");
    await editorOf(uma.page, id).pressSequentially("!", { delay: 10 });
    const more = await converged(id);
    assert.ok(more.endsWith("OSCAR!"), more);
    await editorOf(tess.page, id).press("Control+Shift+z");
    const redone = await converged(id);
    assert.equal([...redone.slice(6)].filter((c) => /[a-z-]/.test(c)).join(""), "alpha-bravo-charlie-delta-echo");

    // tess's caret stays on the same characters while uma types before it
    const ta = editorOf(tess.page, id);
    const at = await ta.evaluate((el) => {
      const i = el.value.indexOf("XRAY");
      el.setSelectionRange(i, i);
      return i;
    });
    await editorOf(uma.page, id).evaluate((el) => el.setSelectionRange(0, 0));
    await editorOf(uma.page, id).pressSequentially(">> ", { delay: 10 });
    await until("uma's '>> ' at tess's", () => ta.evaluate((el) => el.value.startsWith(">> ")), 3000);
    assert.deepEqual(
      await ta.evaluate((el) => [el.selectionStart, el.selectionEnd, el.value.slice(el.selectionStart, el.selectionStart + 4)]),
      [at + 3, at + 3, "XRAY"],
      "tess's caret moved with the text",
    );
    const path = screenshotPath("collaborative-text");
    if (path) {
      // uma selects "YANKEE": tess sees the selection and the caret in uma's colour, with her name
      await editorOf(uma.page, id).evaluate((el) => {
        const i = el.value.indexOf("YANKEE");
        el.focus();
        el.setSelectionRange(i, i + 6);
        el.dispatchEvent(new Event("select", { bubbles: true }));
      });
      await seen(tess.page, "uma's selection", (i) => !!document.querySelector(`[data-note-id="${i}"] mark[data-selection]`), id, 3000);
      await tess.page.waitForTimeout(200);
      await tess.page.screenshot({ path, clip: { x: 0, y: 0, width: 640, height: 360 } });
    }
    await leave(tess.page, id);
    await leave(uma.page, id);
  });

  test("undo of a delete brings the note back for both", { timeout: 30_000 }, async () => {
    const id = await createNote("Keep me", 400, 60);
    await note(tess.page, id).click();
    await tess.page.getByRole("button", { name: "Delete note" }).click();
    for (const p of [tess.page, uma.page]) await note(p, id).waitFor({ state: "detached", timeout: LIVE_MS });
    await tess.page.getByRole("button", { name: "Undo", exact: true }).click();
    for (const p of [tess.page, uma.page]) {
      await seen(p, "the note back", ([i, s]) => document.querySelector(`[data-note-id="${i}"]`)?.textContent?.includes(s) ?? false, [id, "Keep me"], 2000);
    }
    assert.equal((await serverNote(uma.context, id))?.text, "Keep me");
    // and with the keyboard: redo deletes it again, undo restores it
    await tess.page.getByTestId("canvas").click({ position: { x: 5, y: 5 } });
    await tess.page.keyboard.press("Control+Shift+z");
    await note(uma.page, id).waitFor({ state: "detached", timeout: 2000 });
    await tess.page.keyboard.press("Control+z");
    await note(uma.page, id).waitFor({ timeout: 2000 });
  });

  test("an undo is skipped, with a toast, when the other user changed that field since; other fields do not block", { timeout: 30_000 }, async () => {
    const id = await createNote("Colours", 700, 60);
    const colourOf = (page) => note(page, id).evaluate((el) => /bg-(\w+)-200/.exec(el.className)?.[1]);
    const pick = async (u, label) => {
      await note(u.page, id).click();
      await u.page.getByRole("radiogroup", { name: "Note colour" }).getByRole("radio", { name: label }).click();
    };
    // tess recolours; uma recolours after her: tess's undo must not overwrite uma's colour
    await pick(tess, "Pink");
    await seen(uma.page, "pink", (i) => document.querySelector(`[data-note-id="${i}"]`)?.className.includes("bg-pink-200"), id, LIVE_MS);
    await pick(uma, "Blue");
    await seen(tess.page, "blue", (i) => document.querySelector(`[data-note-id="${i}"]`)?.className.includes("bg-sky-200"), id, LIVE_MS);
    await tess.page.getByRole("button", { name: "Undo", exact: true }).click();
    await tess.page.getByText("Undo skipped: someone else changed its colour since.").waitFor({ timeout: 2000 });
    await tess.page.waitForTimeout(300);
    assert.equal(await colourOf(tess.page), "sky");
    assert.equal(await colourOf(uma.page), "sky");
    assert.equal((await serverNote(tess.context, id)).color, "blue");

    // tess moves it; uma recolours it: the move's undo goes through, the colour stays uma's
    const box = await note(tess.page, id).boundingBox();
    const from = await note(tess.page, id).evaluate((el) => [parseFloat(el.style.left), parseFloat(el.style.top)]);
    await tess.page.mouse.move(box.x + box.width / 2, box.y + 6);
    await tess.page.mouse.down();
    await tess.page.mouse.move(box.x + box.width / 2 + 120, box.y + 6 + 80, { steps: 6 });
    await tess.page.mouse.up();
    await until("the move saved", async () => (await serverNote(tess.context, id)).x === from[0] + 120);
    await pick(uma, "Green");
    await seen(tess.page, "green", (i) => document.querySelector(`[data-note-id="${i}"]`)?.className.includes("bg-emerald-200"), id, LIVE_MS);
    await tess.page.getByRole("button", { name: "Undo", exact: true }).click();
    await until("the move undone on the server", async () => {
      const n = await serverNote(uma.context, id);
      return n.x === from[0] && n.y === from[1] && n.color === "green";
    });
    await seen(
      uma.page,
      "the note back where it was",
      ([i, x, y]) => {
        const el = document.querySelector(`[data-note-id="${i}"]`);
        return !!el && parseFloat(el.style.left) === x && parseFloat(el.style.top) === y;
      },
      [id, from[0], from[1]],
      LIVE_MS,
    );
  });

  test("no console errors or uncaught exceptions in any page", () => {
    assert.deepEqual(watch.errors, []);
  });
});
