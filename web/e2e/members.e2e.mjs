// End-to-end checks of sharing and members (issue 18, parts 1–3): invite by
// username through the suggestions, a role change and a removal reaching the
// other user's open tab live, invite links (single use, revoke), API tokens on
// the account page, and the boards list's thumbnails. Two users (owen owns the
// board, bea is invited), plus cal for the single-use link. Real server
// (scripts/e2e.sh), Debian's chromium through playwright-core.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BASE, ConsoleWatch, PASSWORD, launchBrowser, rest, screenshotPath, until } from "./harness.mjs";

const watch = new ConsoleWatch();
const tag = Date.now() % 1e6;
const names = { owner: `owen${tag}`, bea: `bea${tag}`, cal: `cal${tag}` };
let browser;
let closeBrowser;
/** The browser context (cookie jar) of each user. */
const ctx = {};
let boardId = "";

async function signUp(who) {
  const c = await browser.newContext({ colorScheme: "light" });
  c.setDefaultTimeout(10_000);
  const r = await rest(c, "POST", "/api/auth/signup", { username: names[who], password: PASSWORD });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  ctx[who] = c;
  return r.body.user;
}

async function openBoard(who, viewport = { width: 1280, height: 800 }) {
  const page = await ctx[who].newPage();
  await page.setViewportSize(viewport);
  watch.attach(page, who);
  await page.goto(`${BASE}/boards/${boardId}`);
  await until(`${who} connected`, async () => (await page.locator('header [role="status"]').textContent()) === "Connected", 8000);
  return page;
}

/** Lets the owner create a link in the Share menu and returns it. */
async function createLink(page, { role, singleUse }) {
  const dialog = page.getByRole("dialog", { name: "Share" });
  await dialog.getByLabel("Link role").selectOption(role);
  await dialog.getByLabel("Link expires after").selectOption({ label: "Expires in 1 hour" });
  const box = dialog.getByLabel("Single use (one person can join)");
  if ((await box.isChecked()) !== singleUse) await box.click();
  const before = await dialog.getByTestId("new-invite-link").inputValue().catch(() => "");
  await dialog.getByRole("button", { name: "Create and copy link" }).click();
  return until("the new link", async () => {
    const v = await dialog.getByTestId("new-invite-link").inputValue().catch(() => "");
    return v && v !== before ? v : null;
  });
}

describe("sharing and members, end to end", { timeout: 120_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
    await signUp("owner");
    await signUp("bea");
    await signUp("cal");
    // Owen and bea already share a board: that is what makes bea a suggestion.
    const earlier = await rest(ctx.owner, "POST", "/api/boards", { title: "Earlier" });
    const inv = await rest(ctx.owner, "POST", `/api/boards/${earlier.body.id}/invites`, { role: "viewer" });
    assert.equal((await rest(ctx.bea, "POST", `/api/invites/${inv.body.token}/accept`)).status, 200);
    const b = await rest(ctx.owner, "POST", "/api/boards", { title: "Team board" });
    assert.equal(b.status, 201, JSON.stringify(b.body));
    boardId = b.body.id;
    for (const [i, color] of ["yellow", "pink", "blue"].entries()) {
      await rest(ctx.owner, "POST", `/api/boards/${boardId}/notes`, { x: i * 240, y: i * 60, color, text: `note ${i}` });
    }
  });
  after(async () => {
    await closeBrowser?.();
    assert.deepEqual(watch.errors, [], "no console errors");
  });

  test("invite by username, a live demotion, a live removal", { timeout: 60_000 }, async () => {
    const owner = await openBoard("owner");
    await owner.getByRole("button", { name: "Share", exact: true }).click();
    const share = owner.getByRole("dialog", { name: "Share" });
    const combo = share.getByRole("combobox", { name: "Invite by username" });
    await combo.pressSequentially(names.bea.slice(0, 4).toUpperCase());
    const option = share.getByRole("option", { name: names.bea });
    await option.waitFor();
    assert.equal(await combo.getAttribute("aria-expanded"), "true");
    await combo.press("ArrowDown");
    assert.equal(await option.getAttribute("aria-selected"), "true");
    assert.equal(await combo.getAttribute("aria-activedescendant"), await option.getAttribute("id"));
    await combo.press("Enter");
    assert.equal(await combo.inputValue(), names.bea);
    await share.getByLabel("Role for the invited user").selectOption("editor");
    await share.getByRole("button", { name: "Send invite" }).click();
    await until("the named invite listed", async () => (await share.getByTestId("invite-row").allTextContents()).some((t) => t.includes(`for ${names.bea}`)));
    await owner.keyboard.press("Escape");

    // Bea gets the notification, opens it, joins, and lands on the board as an editor.
    const bea = await ctx.bea.newPage();
    watch.attach(bea, "bea");
    await bea.goto(`${BASE}/boards/`);
    await bea.getByRole("button", { name: /^Notifications, 1 unread/ }).click();
    await bea.getByRole("dialog", { name: "Notifications" }).getByText(`${names.owner} invited you to a board`).click();
    await bea.getByRole("button", { name: "Join board" }).click();
    await bea.waitForURL(`**/boards/${boardId}/`);
    await until("bea connected", async () => (await bea.locator('header [role="status"]').textContent()) === "Connected", 8000);
    await bea.getByRole("button", { name: "Add note" }).waitFor();

    // The owner's members panel shows bea with her role, online.
    await owner.getByRole("button", { name: "Members", exact: true }).click();
    const panel = owner.getByRole("dialog", { name: "Members" });
    const beaRow = panel.locator(`[data-username="${names.bea}"]`);
    await beaRow.waitFor();
    await until("bea shown online", async () => (await beaRow.textContent()).includes("Online"));
    const shot = screenshotPath("members");
    if (shot) await owner.screenshot({ path: shot });

    // Owner lowers bea to viewer: bea's open tab turns read-only at once, saying who did it.
    await panel.getByLabel(`Role of ${names.bea}`).selectOption("viewer");
    await bea.getByTestId("role-change").waitFor();
    assert.match(await bea.getByTestId("role-change").textContent(), new RegExp(`${names.owner} made you a viewer`));
    await bea.getByRole("button", { name: "Add note" }).waitFor({ state: "detached" });
    await bea.getByText("View only").waitFor();
    const members = await rest(ctx.owner, "GET", `/api/boards/${boardId}/members`);
    assert.equal(members.body.members.find((m) => m.user.username === names.bea).role, "viewer");

    // Bea's own members panel follows live, and offers her "Leave board" (not role controls).
    await bea.getByRole("button", { name: "Members", exact: true }).click();
    const beaPanel = bea.getByRole("dialog", { name: "Members" });
    await beaPanel.getByRole("button", { name: "Leave board" }).waitFor();
    assert.equal(await beaPanel.getByRole("combobox").count(), 0);
    await bea.keyboard.press("Escape");

    // Owner removes bea (after confirming): bea's tab shows why, with a way back.
    owner.once("dialog", (d) => d.accept());
    await panel.getByRole("button", { name: `Remove ${names.bea}` }).click();
    await beaRow.waitFor({ state: "detached" });
    await bea.getByRole("heading", { name: "You were removed from this board" }).waitFor();
    assert.match(await bea.locator("main").textContent(), new RegExp(`${names.owner} removed you from “Team board”`));
    await bea.getByRole("link", { name: /Back to your boards/ }).waitFor();
    assert.equal((await rest(ctx.bea, "GET", `/api/boards/${boardId}`)).status, 404);
    await bea.close();
    await owner.close();
  });

  test("a single-use link works once; a revoked link is refused", { timeout: 45_000 }, async () => {
    const owner = await openBoard("owner");
    await owner.getByRole("button", { name: "Share", exact: true }).click();
    const share = owner.getByRole("dialog", { name: "Share" });
    const once = await createLink(owner, { role: "viewer", singleUse: true });
    const token = new URL(once).searchParams.get("token");
    assert.ok(token?.startsWith("cbi_"), once);

    const cal = await ctx.cal.newPage();
    watch.attach(cal, "cal");
    await cal.goto(once);
    assert.equal(await cal.getByTestId("invite-role").textContent(), "viewer");
    await cal.getByRole("button", { name: "Join board" }).click();
    await cal.waitForURL(`**/boards/${boardId}/`);
    await cal.close();
    // Used up: bea (removed earlier) cannot join through it.
    const again = await rest(ctx.bea, "POST", `/api/invites/${token}/accept`);
    assert.equal(again.status, 404, JSON.stringify(again.body));

    // A fresh link, revoked from the list, is refused too.
    const link = await createLink(owner, { role: "editor", singleUse: false });
    const revoked = new URL(link).searchParams.get("token");
    const rows = share.getByTestId("invite-row");
    await until("two links listed", async () => (await rows.count()) >= 2);
    const row = rows.filter({ hasText: "editor link" }).first();
    assert.match(await row.textContent(), /expires in (1 hour|60 min)/);
    await row.getByRole("button", { name: /^Revoke/ }).click();
    await until("the link gone from the list", async () => (await rows.filter({ hasText: "editor link" }).count()) === 0);
    const refused = await rest(ctx.cal, "GET", `/api/invites/${revoked}`);
    assert.equal(refused.status, 404, JSON.stringify(refused.body));
    await owner.close();
  });

  test("API tokens: created, shown once, listed, revoked (then 401)", { timeout: 30_000 }, async () => {
    const page = await ctx.owner.newPage();
    watch.attach(page, "owner account");
    await page.goto(`${BASE}/account/`);
    const section = page.getByRole("region", { name: "API tokens" });
    await section.getByLabel("Token name").fill("e2e script");
    await section.getByRole("button", { name: "Create token" }).click();
    const secret = await section.getByLabel("New token").inputValue();
    assert.ok(secret.length > 20, secret);
    const me = await fetch(`${BASE}/api/me`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(me.status, 200);
    await section.getByRole("button", { name: "Done" }).click();
    assert.equal(await section.getByLabel("New token").count(), 0, "the secret is gone once dismissed");
    const list = section.getByRole("list", { name: "API tokens" });
    await list.getByText("e2e script").waitFor();
    // After a reload the token is listed, never its secret.
    await page.reload();
    await list.getByText("e2e script").waitFor();
    assert.ok(!(await page.content()).includes(secret));
    page.once("dialog", (d) => d.accept());
    await list.getByRole("button", { name: "Revoke e2e script" }).click();
    await list.getByText("e2e script").waitFor({ state: "detached" });
    await until("the token refused", async () => (await fetch(`${BASE}/api/me`, { headers: { authorization: `Bearer ${secret}` } })).status === 401);
    await page.close();
  });

  test("on a 390 px screen in dark mode the members panel fits, and Escape closes it", { timeout: 30_000 }, async () => {
    const page = await openBoard("owner", { width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: "dark" });
    const button = page.getByRole("button", { name: "Members", exact: true });
    await button.click();
    const panel = page.getByRole("dialog", { name: "Members" });
    await panel.locator(`[data-username="${names.cal}"]`).waitFor();
    const box = await panel.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `within the screen: ${JSON.stringify(box)}`);
    const bg = await panel.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.notEqual(bg, "rgb(255, 255, 255)", "a dark panel in dark mode");
    await page.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
    assert.equal(await button.evaluate((el) => el === document.activeElement), true, "focus back on Members");
    await page.close();
  });

  test("the boards list shows each board's thumbnail", { timeout: 30_000 }, async () => {
    const page = await ctx.owner.newPage();
    watch.attach(page, "owner boards");
    await page.goto(`${BASE}/boards/`);
    const card = page.locator("li", { hasText: "Team board" });
    const img = card.getByTestId("board-thumbnail");
    await img.scrollIntoViewIfNeeded();
    await until("the thumbnail loaded", async () => img.evaluate((el) => el.complete && el.naturalWidth > 0));
    assert.equal(await img.evaluate((el) => el.naturalWidth), 320);
    assert.match(await img.getAttribute("src"), new RegExp(`/api/boards/${boardId}/thumbnail\\.svg\\?v=\\d+`));
    assert.equal(await img.getAttribute("loading"), "lazy");
    await page.close();
  });

  test("sign out everywhere ends every session of the user, this one too", { timeout: 30_000 }, async () => {
    const other = await browser.newContext();
    assert.equal((await rest(other, "POST", "/api/auth/login", { username: names.cal, password: PASSWORD })).status, 200);
    const page = await ctx.cal.newPage();
    watch.attach(page, "cal account");
    await page.goto(`${BASE}/account/`);
    page.once("dialog", (d) => d.accept());
    await page.getByRole("button", { name: "Sign out everywhere", exact: true }).click();
    await page.waitForURL("**/login/**");
    assert.equal((await rest(ctx.cal, "GET", "/api/me")).status, 401);
    assert.equal((await rest(other, "GET", "/api/me")).status, 401);
    await other.close();
    await page.close();
  });
});
