// Accessibility and small screens, end to end (issue 18 part 7): axe-core on
// every screen (sign in, boards list, board, board with a dialog open,
// account, invite) in light and dark mode, with zero serious or critical
// violations; and the main flows on a 390×844 phone screen (sign up, create a
// board, add and edit a note, notifications, share menu) with nothing
// off-screen or squashed. Real server (scripts/e2e.sh), Debian's chromium.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE, ConsoleWatch, PASSWORD, checkA11y, launchBrowser, layoutProblems, rest, screenshotPath, until } from "./harness.mjs";

const watch = new ConsoleWatch();
let browser;
let closeBrowser;
const suffix = String(Date.now() % 1e6);
let owner; // a context signed in as the board's owner
let boardId = "";
let inviteToken = "";

async function connected(page) {
  await until("Connected", async () => (await page.locator('header [role="status"]').textContent()) === "Connected", 8000);
}

/** Every screen of the app, checked with axe in one colour scheme. */
async function everyScreen(scheme) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  watch.attach(page, `axe ${scheme}`);
  const check = async (what, opts) => checkA11y(page, `${what} (${scheme})`, opts);

  await page.goto(`${BASE}/login/`);
  await page.getByLabel("Username").waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.classList.contains("dark")), scheme === "dark");
  await check("sign in");

  const name = `axe${scheme[0]}${suffix}`;
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.waitForURL(/\/boards\/$/);
  await page.getByLabel("New board title").waitFor();
  await check("boards list");

  await page.goto(`${BASE}/invite/?token=${encodeURIComponent(inviteToken)}`);
  await page.getByRole("button", { name: "Join board" }).waitFor();
  await check("invite");
  await page.getByRole("button", { name: "Join board" }).click();
  await page.waitForURL(new RegExp(`/boards/${boardId}/?$`));
  await connected(page);
  await page.locator("[data-note-id]").first().waitFor();
  await check("board");

  // A note selected (its tools), then being edited, then the history panel and the online list's dialog.
  const first = page.locator("[data-note-id]").first();
  await first.focus();
  await first.hover();
  await page.getByRole("tooltip").waitFor();
  await check("board, a note selected and hovered");
  await first.press("Enter");
  await page.getByLabel("Note text").waitFor();
  await check("board, a note being edited");
  await page.getByLabel("Note text").press("Escape");
  await page.getByRole("button", { name: "History", exact: true }).click();
  await page.getByRole("slider").first().waitFor();
  await check("board, history panel open");
  await page.getByRole("button", { name: "History", exact: true }).click();
  await page.getByRole("button", { name: /^Who is online/ }).click();
  await page.getByRole("dialog", { name: "Online now" }).waitFor();
  await check("board, online dialog open");
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: /^Notifications/ }).click();
  await page.getByRole("dialog", { name: "Notifications" }).waitFor();
  await check("board, notifications open");
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Account", exact: true }).click();
  await page.getByRole("group", { name: "Account menu" }).waitFor();
  await check("board, account menu open");
  await page.keyboard.press("Escape");

  await page.goto(`${BASE}/account/`);
  await page.getByRole("heading", { name: "Account" }).waitFor();
  await page.getByRole("list", { name: "Sessions" }).waitFor();
  await check("account");
  await context.close();
}

describe("accessibility (axe) and a 390 px screen", { timeout: 150_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
    owner = await browser.newContext();
    const su = await rest(owner, "POST", "/api/auth/signup", { username: `own${suffix}`, password: PASSWORD });
    assert.equal(su.status, 201, JSON.stringify(su.body));
    const b = await rest(owner, "POST", "/api/boards", { title: "Accessible board" });
    boardId = b.body.id;
    for (const [text, x, y, color] of [
      ["Plan the launch @someone", 40, 40, "yellow"],
      ["Pink note", 280, 60, "pink"],
      ["Blue note", 520, 40, "blue"],
      ["Green", 40, 240, "green"],
      ["Purple", 280, 240, "purple"],
      ["Gray", 520, 240, "gray"],
    ]) {
      const r = await rest(owner, "POST", `/api/boards/${boardId}/notes`, { text, x, y, color });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const inv = await rest(owner, "POST", `/api/boards/${boardId}/invites`, { role: "editor" });
    assert.equal(inv.status, 201, JSON.stringify(inv.body));
    inviteToken = inv.body.token;
  });
  after(async () => {
    await closeBrowser?.();
    assert.deepEqual(watch.errors, [], "no console errors");
  });

  test("every screen in light mode: no serious or critical axe violations", { timeout: 60_000 }, async () => {
    await everyScreen("light");
  });

  test("every screen in dark mode: no serious or critical axe violations", { timeout: 60_000 }, async () => {
    await everyScreen("dark");
  });

  test("the main flows on a 390×844 screen: nothing off-screen or squashed, and axe-clean", { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: "light", hasTouch: true, isMobile: true });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    watch.attach(page, "phone");
    const fits = async (what) => {
      assert.deepEqual(await layoutProblems(page), [], `${what} at 390 px`);
      await checkA11y(page, `${what} at 390 px`);
    };

    await page.goto(`${BASE}/login/`);
    await page.getByLabel("Username").waitFor();
    await fits("sign in");
    await page.getByLabel("Username").fill(`phone${suffix}`);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.waitForURL(/\/boards\/$/);
    await page.getByLabel("New board title").waitFor();
    await fits("boards list");

    await page.getByLabel("New board title").fill("Phone board with a fairly long title");
    await page.getByRole("button", { name: "Create board" }).click();
    await page.waitForURL(/\/boards\/[^_/][^/]*\/?$/);
    await connected(page);
    await fits("new board");
    const title = await page.getByRole("heading", { level: 1 }).boundingBox();
    assert.ok(title.width >= 80, `the board title is readable: ${JSON.stringify(title)}`);

    await page.getByRole("button", { name: "Add note" }).click();
    const editor = page.getByLabel("Note text");
    await editor.waitFor();
    await until("editor ready", async () => (await editor.getAttribute("aria-busy")) === "false", 5000);
    await editor.pressSequentially("Milk, eggs, bread", { delay: 10 });
    await fits("a note being edited");
    await editor.press("Escape");

    await page.getByRole("button", { name: /^Notifications/ }).click();
    await page.getByRole("dialog", { name: "Notifications" }).waitFor();
    await fits("notifications open");
    await page.keyboard.press("Escape");

    await page.getByRole("button", { name: "Share", exact: true }).click();
    await page.getByRole("dialog", { name: "Share" }).waitFor();
    await fits("share menu open");
    const shot = screenshotPath("mobile");
    if (shot) await page.screenshot({ path: shot });
    await page.keyboard.press("Escape");

    await page.getByRole("button", { name: "Account", exact: true }).click();
    await page.getByRole("group", { name: "Account menu" }).waitFor();
    await fits("account menu open");
    await context.close();
  });
});
