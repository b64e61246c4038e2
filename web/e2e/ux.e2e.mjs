// End-to-end checks of what a new user hits first on the board (issue 18):
// header menus on a phone, text typed just before a reload, and so on. Real
// server (scripts/e2e.sh), Debian's chromium through playwright-core. One user
// (ursa) owns one board; each test opens its own page.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE, ConsoleWatch, PASSWORD, launchBrowser, rest, startServer, stopServer, until } from "./harness.mjs";

const watch = new ConsoleWatch();
let browser;
let closeBrowser;
let context;
let boardId = "";

const note = (page, id) => page.locator(`[data-note-id="${id}"]`);
const serverNote = async (id) => (await rest(context, "GET", `/api/boards/${boardId}`)).body.notes.find((n) => n.id === id);

async function openBoard(viewport) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  watch.attach(page, `ursa ${viewport.width}`);
  await page.goto(`${BASE}/boards/${boardId}`);
  await until("Connected", async () => (await page.locator('header [role="status"]').textContent()) === "Connected", 8000);
  return page;
}

async function createNote(text, x, y) {
  const r = await rest(context, "POST", `/api/boards/${boardId}/notes`, { text, x, y });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.note.id;
}

describe("first use of the board, end to end", { timeout: 120_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
    context = await browser.newContext({ colorScheme: "light" });
    context.setDefaultTimeout(10_000);
    const su = await rest(context, "POST", "/api/auth/signup", { username: `ursa${Date.now() % 1e6}`, password: PASSWORD });
    assert.equal(su.status, 201, JSON.stringify(su.body));
    const b = await rest(context, "POST", "/api/boards", { title: "First use" });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    boardId = b.body.id;
  });
  after(async () => {
    await closeBrowser?.();
    assert.deepEqual(watch.errors, [], "no console errors");
  });

  test("on a phone, menus close on outside click and Escape and never stack", { timeout: 30_000 }, async () => {
    const page = await openBoard({ width: 390, height: 844 });
    const share = page.getByRole("button", { name: "Share", exact: true });
    const account = page.getByRole("button", { name: "Account", exact: true });
    const bell = page.getByRole("button", { name: /^Notifications/ });
    const sharePanel = page.getByRole("dialog", { name: "Share" });
    const accountMenu = page.getByRole("group", { name: "Account menu" });
    const notifPanel = page.getByRole("dialog", { name: "Notifications" });

    const onScreen = async (panel, button, what) => {
      const b = await panel.boundingBox();
      const under = await button.boundingBox();
      assert.ok(b.x >= 0 && b.x + b.width <= 390, `${what} within the screen: ${JSON.stringify(b)}`);
      assert.ok(b.y >= under.y + under.height, `${what} below its button: ${JSON.stringify({ b, under })}`);
    };
    await share.click();
    await sharePanel.waitFor();
    await onScreen(sharePanel, share, "Share");
    await account.click();
    await accountMenu.waitFor();
    assert.equal(await sharePanel.count(), 0, "opening Account closed Share");
    await onScreen(accountMenu, account, "Account");
    await bell.click();
    await notifPanel.waitFor();
    await onScreen(notifPanel, bell, "Notifications");
    assert.equal(await accountMenu.count(), 0, "opening Notifications closed Account");
    // a click on the board outside closes it
    await page.mouse.click(200, 600);
    await notifPanel.waitFor({ state: "detached" });

    await account.click();
    await accountMenu.waitFor();
    await page.keyboard.press("Escape");
    await accountMenu.waitFor({ state: "detached" });
    assert.ok(await account.evaluate((el) => el === document.activeElement), "focus back on the Account button");
    await page.close();
  });

  test("right-to-left text reads right to left; placeholders are legible in dark mode; avatars do not overlap", { timeout: 30_000 }, async () => {
    const rtl = await createNote("שלום עולם, מה שלומך?", 60, 300);
    const empty = await createNote("", 320, 300);
    // a second person on the board, so there are two avatars
    const other = await browser.newContext();
    const su = await rest(other, "POST", "/api/auth/signup", { username: `vic${Date.now() % 1e6}`, password: PASSWORD });
    assert.equal(su.status, 201, JSON.stringify(su.body));
    const inv = await rest(context, "POST", `/api/boards/${boardId}/invites`, { role: "editor" });
    const acc = await rest(other, "POST", `/api/invites/${encodeURIComponent(inv.body.token)}/accept`, {});
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    const otherPage = await other.newPage();
    watch.attach(otherPage, "vic");
    await otherPage.goto(`${BASE}/boards/${boardId}`);

    const page = await openBoard({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: "dark" });
    const direction = (sel) => page.locator(sel).evaluate((el) => getComputedStyle(el).direction);
    assert.equal(await direction(`[data-note-id="${rtl}"] [dir="auto"]`), "rtl", "the note's text");
    await note(page, rtl).dblclick();
    assert.equal(await direction(`[data-note-id="${rtl}"] textarea`), "rtl", "the editor");
    await note(page, rtl).getByLabel("Note text").press("Escape");

    await note(page, empty).dblclick();
    const contrast = await page.locator(`[data-note-id="${empty}"]`).evaluate((card) => {
      const ta = card.querySelector("textarea");
      // the computed colours may be oklch(): let a canvas turn them into sRGB bytes
      const rgb = (css) => {
        const ctx = document.createElement("canvas").getContext("2d");
        ctx.fillStyle = css;
        ctx.fillRect(0, 0, 1, 1);
        return [...ctx.getImageData(0, 0, 1, 1).data];
      };
      const lum = ([r, g, b]) =>
        [r, g, b].map((v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)).reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
      const bg = rgb(getComputedStyle(card).backgroundColor);
      const fg = rgb(getComputedStyle(ta, "::placeholder").color);
      // a translucent placeholder is drawn over the note
      const a = fg[3] / 255;
      const seen = fg.slice(0, 3).map((v, i) => v * a + bg[i] * (1 - a));
      const [l1, l2] = [lum(bg), lum(seen)].sort((x, y) => y - x);
      return (l1 + 0.05) / (l2 + 0.05);
    });
    assert.ok(contrast >= 4.5, `placeholder contrast ${contrast.toFixed(2)} ≥ 4.5`);

    await until("two avatars", async () => (await page.locator('section[aria-label="Online"] [role="img"]').count()) === 2, 5000);
    const boxes = await page.locator('section[aria-label="Online"] [role="img"]').evaluateAll((els) =>
      els.map((el) => {
        const r = el.getBoundingClientRect();
        return { left: r.left, right: r.right, clipped: el.scrollWidth > el.clientWidth };
      }),
    );
    assert.ok(boxes[0].right <= boxes[1].left, `avatars side by side: ${JSON.stringify(boxes)}`);
    assert.ok(!boxes.some((b) => b.clipped), "initials fit");
    await page.close();
    await other.close();
  });

  test("Ctrl+wheel zooms a step at a time around the cursor; Fit shows every note; a reload keeps the view", { timeout: 30_000 }, async () => {
    await createNote("far away", 3000, 2000);
    const page = await openBoard({ width: 1280, height: 800 });
    const zoomLabel = () => page.getByRole("button", { name: /^Zoom \d+%/ }).textContent();
    assert.equal(await zoomLabel(), "100%");
    const canvas = await page.getByTestId("canvas").boundingBox();
    await page.mouse.move(canvas.x + 400, canvas.y + 300);
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -100);
    await page.keyboard.up("Control");
    await until("one notch of zoom", async () => (await zoomLabel()) === "122%", 3000);

    await page.getByRole("button", { name: "Fit" }).click();
    const outside = await page.getByTestId("canvas").evaluate((c) => {
      const r = c.getBoundingClientRect();
      return [...c.querySelectorAll("[data-note-id]")]
        .map((n) => n.getBoundingClientRect())
        .filter((b) => b.left < r.left || b.top < r.top || b.right > r.right || b.bottom > r.bottom).length;
    });
    assert.equal(outside, 0, "every note in view after Fit");
    const fitted = await zoomLabel();
    assert.notEqual(fitted, "122%");

    await page.reload();
    await until("the same view after a reload", async () => (await zoomLabel()) === fitted, 5000);
    await page.close();
  });

  test("text typed right before a reload is kept", { timeout: 30_000 }, async () => {
    const id = await createNote("Start", 80, 80);
    const page = await openBoard({ width: 1280, height: 800 });
    // the view the test before left (kept per board): back to 100 %
    await page.getByRole("button", { name: /^Zoom \d+%, reset view/ }).click();
    await note(page, id).dblclick();
    const ed = note(page, id).getByLabel("Note text");
    await until("the editor to load", async () => !(await ed.evaluate((el) => el.readOnly)), 5000);
    await ed.evaluate((el) => el.setSelectionRange(el.value.length, el.value.length));
    const typed = " and the last words before reload";
    await ed.pressSequentially(typed, { delay: 5 });
    // the last words and the reload in one task: no frame or timer runs between them
    const last = " END";
    const reloaded = page.waitForEvent("load");
    await ed.evaluate((el, words) => {
      el.focus();
      document.execCommand("insertText", false, words);
      location.reload();
    }, last);
    await reloaded;
    let held = "";
    await until("the server to hold every keystroke", async () => (held = (await serverNote(id))?.text) === `Start${typed}${last}`, 5000).catch((e) => {
      throw new Error(`${e.message}; the server has ${JSON.stringify(held)}`);
    });
    await page.close();
  });

  test("while the server is down a change says 'Not saved yet', not 'Saving'; it reconnects within 5 s of the restart, no click", { timeout: 40_000 }, async (t) => {
    const id = await createNote("Outage", 120, 120);
    const page = await openBoard({ width: 1280, height: 800 });
    await page.getByRole("button", { name: /^Zoom \d+%, reset view/ }).click();
    const status = page.locator('header [role="status"]');
    // the note's text is loaded before the outage (a document cannot load while the server is down)
    await note(page, id).dblclick();
    const ed = note(page, id).getByLabel("Note text");
    await until("the editor to load", async () => !(await ed.evaluate((el) => el.readOnly)), 5000);
    watch.outage = true;
    try {
      await stopServer();
      await until("the drop to show", async () => /Reconnecting|Offline/.test((await status.textContent()) ?? ""), 10_000);
      // a long outage: before, the backoff had grown to waits of up to 30 s by now
      await sleep(12_000);
      await ed.press("End");
      await ed.pressSequentially(" typed offline", { delay: 5 });
      await ed.press("Escape");
      const unsaved = note(page, id).getByTestId("unsaved");
      await until("the note to say it is not saved yet", async () => (await unsaved.textContent().catch(() => null)) === "Not saved yet", 3000);
      assert.equal(await note(page, id).getByLabel("Saving").count(), 0, "no 'Saving' while offline");

      await startServer();
      const back = Date.now();
      await until("Connected again without a click", async () => (await status.textContent()) === "Connected", 6000);
      t.diagnostic(`connected ${Date.now() - back} ms after the restart`);
      await until("the text saved", async () => (await serverNote(id))?.text === "Outage typed offline", 5000);
    } finally {
      await sleep(500);
      watch.outage = false;
    }
    await page.close();
  });
});
