// End-to-end test of the board history panel, "Restore this version" and
// export/import, against the real corkboard binary in Debian's chromium (run
// with scripts/e2e.sh). ann and bob share a board: ann's changes are made over
// REST (fast and exact), ann looks at an older version in the history panel
// while bob's screen stays live, restores it, and bob sees the board return to
// it; then the board is exported and imported as a new board. Last, a board of
// a few thousand events (made by four users in parallel over REST, within the
// per-user rate limit): opening the panel reads one page of events, and a
// slider jump far back reads one more.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE, ConsoleWatch, PASSWORD, launchBrowser, rest, screenshotPath, seen, until } from "./harness.mjs";

const VIEWPORT = { width: 1280, height: 800 };
const LIVE_MS = 2000;

const watch = new ConsoleWatch();
let browser;
let closeBrowser;
let ann;
let bob;
let boardId = "";
/** The seq of the version ann goes back to, and the board's seq just before the restore. */
let versionSeq = 0;
let beforeRestore = 0;
const ids = { groceries: "n-groceries", chores: "n-chores", later: "n-later", bobs: "n-bobs" };

async function newUser(name) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light", acceptDownloads: true });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  watch.attach(page, name);
  const r = await rest(context, "POST", "/api/auth/signup", { username: `${name}${Date.now() % 100000}`, password: PASSWORD });
  assert.equal(r.status, 201, `signup ${name}: ${JSON.stringify(r.body)}`);
  return { name, context, page };
}

const api = async (who, method, path, data, status) => {
  const r = await rest(who.context, method, path, data);
  if (status !== undefined) assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
};

/** [left, top, text] of a note in the page's DOM, or null when it is not there. */
const noteState = (page, id) =>
  page.evaluate((i) => {
    const el = document.querySelector(`[data-note-id="${i}"]`);
    return el ? [parseFloat(el.style.left), parseFloat(el.style.top), el.textContent ?? ""] : null;
  }, id);

const at = ([i, x, y]) => {
  const el = document.querySelector(`[data-note-id="${i}"]`);
  return !!el && parseFloat(el.style.left) === x && parseFloat(el.style.top) === y;
};
const gone = (i) => !document.querySelector(`[data-note-id="${i}"]`);
const present = (i) => !!document.querySelector(`[data-note-id="${i}"]`);

describe("board history, restore and export/import", { timeout: 120_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
  });
  after(async () => {
    await closeBrowser?.();
    assert.deepEqual(watch.errors, [], "console errors");
  });

  test("ann changes a board; in the history panel she sees an older version while bob's screen stays live", { timeout: 45_000 }, async () => {
    ann = await newUser("ann");
    bob = await newUser("bob");
    const board = await api(ann, "POST", "/api/boards", { title: "Weekend" }, 201);
    boardId = board.id;
    const { token } = await api(ann, "POST", `/api/boards/${boardId}/invites`, { role: "editor" }, 201);
    await api(bob, "POST", `/api/invites/${token}/accept`, undefined, 200);

    const notes = `/api/boards/${boardId}/notes`;
    await api(ann, "POST", notes, { id: ids.groceries, x: 40, y: 40, text: "Groceries\nmilk, eggs" }, 201);
    const r = await api(ann, "POST", notes, { id: ids.chores, x: 320, y: 40, text: "Chores", color: "blue" }, 201);
    versionSeq = r.seq;
    await api(ann, "PATCH", `${notes}/${ids.groceries}`, { x: 400, y: 300 }, 200);
    await api(ann, "PATCH", `${notes}/${ids.chores}`, { text: "Chores (done)" }, 200);
    await api(ann, "POST", notes, { id: ids.later, x: 700, y: 60, text: "Later" }, 201);
    await api(ann, "DELETE", `${notes}/${ids.chores}`, undefined, 200);

    for (const who of [ann, bob]) {
      await who.page.goto(`${BASE}/boards/${boardId}/`);
      await seen(who.page, "the live board", at, [ids.groceries, 400, 300], 10_000);
    }

    const A = ann.page;
    await A.getByRole("button", { name: "History" }).click();
    const panel = A.getByTestId("history-panel");
    await panel.waitFor();
    await panel.getByText("changed the text of 'Chores'").waitFor();
    await panel.getByText("moved 'Groceries…'").waitFor();
    // Keyboard only: the slider has focus; Home goes to the board as created, then one step per event.
    const slider = A.locator("#history-slider");
    await slider.press("Home");
    for (let i = 0; i < versionSeq; i++) await slider.press("ArrowRight");
    await seen(A, "the old version", at, [ids.groceries, 40, 40], 5000);
    const banner = await A.getByTestId("history-banner").textContent();
    assert.match(banner, new RegExp(`Viewing version #${versionSeq} by ann\\d*, .*Back to live`));
    assert.match((await noteState(A, ids.chores))[2], /^Chores$/m);
    assert.equal(await noteState(A, ids.later), null, "a note created later is not in the old version");
    // Read-only: no editing controls on the old version.
    assert.equal(await A.getByRole("button", { name: "Add note" }).count(), 0);

    // bob stays live, and his new note arrives under ann's history view without showing in it.
    assert.deepEqual((await noteState(bob.page, ids.groceries)).slice(0, 2), [400, 300]);
    assert.equal(await noteState(bob.page, ids.chores), null);
    await api(bob, "POST", notes, { id: ids.bobs, x: 100, y: 420, text: "Bob's idea" }, 201);
    await seen(bob.page, "bob's note", present, ids.bobs, LIVE_MS);
    await panel.getByText(/added 'Bob's idea'/).waitFor();
    assert.equal(await noteState(A, ids.bobs), null, "the old version stays on screen");

    const shot = screenshotPath("history");
    if (shot) await A.screenshot({ path: shot });
  });

  test("ann restores the version: bob sees the board return to it live, as ordinary events by ann; one Undo takes it back", { timeout: 30_000 }, async () => {
    const A = ann.page;
    const B = bob.page;
    beforeRestore = (await api(ann, "GET", `/api/boards/${boardId}`, undefined, 200)).board.seq;
    let question = "";
    A.once("dialog", (d) => {
      question = d.message();
      void d.accept();
    });
    await A.getByRole("button", { name: "Restore this version" }).click();
    await A.getByText(`Restored version #${versionSeq}`).waitFor();
    assert.match(question, /^Restore 4 changes \(1 note brought back, 1 changed, 2 removed\)/);

    await seen(B, "groceries back in place", at, [ids.groceries, 40, 40], LIVE_MS);
    // Back with the version's text, not the "(done)" it had when it was deleted.
    await seen(B, "chores back as it was", ([i, t]) => {
      const text = document.querySelector(`[data-note-id="${i}"]`)?.textContent ?? "";
      return text.includes(t) && !text.includes("(done)");
    }, [ids.chores, "Chores"], LIVE_MS);
    await seen(B, "later gone", gone, ids.later, LIVE_MS);
    await seen(B, "bob's note gone", gone, ids.bobs, LIVE_MS);
    // ann is back to live, and sees the same.
    await seen(A, "ann live on the restored board", at, [ids.groceries, 40, 40], LIVE_MS);
    assert.equal(await A.getByTestId("history-banner").count(), 0);

    const log = await api(ann, "GET", `/api/boards/${boardId}/events?after=${beforeRestore}`, undefined, 200);
    const kinds = log.events.map((e) => `${e.kind}:${e.by.username.replace(/\d+$/, "")}`).sort();
    // The restore brings chores back as deleted, then sets the version's text on it.
    assert.deepEqual(kinds, ["note.created:ann", "note.deleted:ann", "note.deleted:ann", "note.updated:ann", "note.updated:ann"]);
    assert.ok(log.events.every((e) => typeof e.op === "string" && e.op.length > 0), "each restore mutation has an op id");

    // One Undo (the toolbar button) reverts the whole restore, live for bob too.
    await A.getByRole("button", { name: "Undo" }).click();
    await seen(B, "later back after undo", present, ids.later, LIVE_MS);
    await seen(B, "bob's note back after undo", present, ids.bobs, LIVE_MS);
    await seen(B, "chores gone again", gone, ids.chores, LIVE_MS);
    await seen(B, "groceries moved again", at, [ids.groceries, 400, 300], LIVE_MS);
  });

  test("export then import round-trips the notes into a new board; a bad file is refused with a message", { timeout: 30_000 }, async () => {
    const A = ann.page;
    const [download] = await Promise.all([A.waitForEvent("download"), A.getByRole("button", { name: "Export" }).click()]);
    assert.equal(download.suggestedFilename(), "weekend.corkboard.json");
    const file = JSON.parse(readFileSync(await download.path(), "utf8"));
    assert.equal(file.format, "corkboard.board.v1");
    assert.equal(file.title, "Weekend");

    await A.goto(`${BASE}/boards/`);
    const input = A.getByTestId("import-file");
    await input.setInputFiles({ name: "bad.json", mimeType: "application/json", buffer: Buffer.from('{"format":"trello"}') });
    await A.getByText(/Can't import “bad.json”: This file is not a Corkboard export/).waitFor();

    await input.setInputFiles({ name: "weekend.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(file)) });
    await A.waitForURL((u) => /\/boards\/[^_/][^/]*\/?$/.test(u.pathname) && !u.pathname.includes(boardId), { timeout: 15_000 });
    const newId = decodeURIComponent(/\/boards\/([^/]+)/.exec(new URL(A.url()).pathname)[1]);
    const orig = await api(ann, "GET", `/api/boards/${boardId}`, undefined, 200);
    const copy = await api(ann, "GET", `/api/boards/${newId}`, undefined, 200);
    const shape = (ns) => ns.map((n) => ({ id: n.id, x: n.x, y: n.y, w: n.w, h: n.h, color: n.color, text: n.text })).sort((a, b) => a.id.localeCompare(b.id));
    assert.equal(copy.board.title, "Weekend");
    assert.deepEqual(shape(copy.notes), shape(orig.notes));
    await until("the imported board on screen", async () => (await A.locator("[data-note-id]").count()) === orig.notes.length, 10_000);
  });

  test("dragging the slider across many events sends a few version requests, not one per event; play advances one event at a time", { timeout: 45_000 }, async () => {
    const A = ann.page;
    const notes = `/api/boards/${boardId}/notes`;
    const moves = 150;
    for (let i = 0; i < moves; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, k) => api(ann, "PATCH", `${notes}/${ids.groceries}`, { x: 1000 + i + k }, 200)));
    await A.goto(`${BASE}/boards/${boardId}/`);
    await A.getByRole("button", { name: "History" }).click();
    const head = (await api(ann, "GET", `/api/boards/${boardId}`, undefined, 200)).board.seq;
    await A.getByTestId("history-panel").getByText(`#${head}`, { exact: true }).waitFor();
    const versions = [];
    A.on("request", (r) => {
      if (r.url().includes("/history?seq=")) versions.push(Number(new URL(r.url()).searchParams.get("seq")));
    });
    const slider = A.locator("#history-slider");
    const t0 = Date.now();
    await slider.press("Home");
    for (let i = 0; i < moves; i++) await slider.press("ArrowRight");
    const sweepMs = Date.now() - t0;
    await seen(A, `version #${moves}`, (n) => document.querySelector('[data-testid="history-banner"]')?.textContent?.startsWith(`Viewing version #${n} `), moves, 5000);
    console.log(`slider swept over ${moves + 1} positions in ${sweepMs} ms: ${versions.length} version requests (${versions.join(", ")})`);
    assert.ok(versions.length <= 10, `${versions.length} version requests for ${moves + 1} slider positions`);
    assert.equal(versions.at(-1), moves);

    // Play: one event every ~300 ms from the chosen version, shown as it goes.
    await A.getByRole("button", { name: "Play" }).click();
    await seen(A, "play reaches the next versions", (n) => document.querySelector('[data-testid="history-banner"]')?.textContent?.startsWith(`Viewing version #${n} `), moves + 3, 3000);
    await A.getByRole("button", { name: "Pause" }).click();
    await A.keyboard.press("Escape");
    await A.getByTestId("history-panel").waitFor({ state: "detached" });
    assert.equal(await A.getByTestId("history-banner").count(), 0, "closing the panel goes back to live");
  });

  test("a board of thousands of events: opening the panel reads one page, a jump far back one more; Export saves the version shown", { timeout: 60_000 }, async () => {
    const A = ann.page;
    const board = await api(ann, "POST", "/api/boards", { title: "Long" }, 201);
    const id = board.id;
    const notes = `/api/boards/${id}/notes`;
    // Four writers, so the per-user REST rate (100/s, burst 200) allows it in a few seconds.
    const writers = [ann];
    for (const name of ["cy", "di", "ed"]) {
      const context = await browser.newContext();
      const r = await rest(context, "POST", "/api/auth/signup", { username: `${name}${Date.now() % 100000}`, password: PASSWORD });
      assert.equal(r.status, 201);
      const { token } = await api(ann, "POST", `/api/boards/${id}/invites`, { role: "editor" }, 201);
      const who = { name, context };
      await api(who, "POST", `/api/invites/${token}/accept`, undefined, 200);
      writers.push(who);
    }
    const PER_WRITER = 700;
    const t0 = Date.now();
    await Promise.all(
      writers.map(async (who, w) => {
        const nid = `n-tally-${w}`;
        await api(who, "POST", notes, { id: nid, x: 40 + 220 * w, y: 40, text: `Tally ${who.name}` }, 201);
        for (let i = 0; i < PER_WRITER; i += 20)
          await Promise.all(
            Array.from({ length: 20 }, async (_, k) => {
              for (;;) {
                const r = await rest(who.context, "PATCH", `${notes}/${nid}`, { y: 40 + ((i + k) % 300) });
                if (r.status === 200) return;
                assert.equal(r.status, 429, JSON.stringify(r.body));
                await sleep(1000 * (r.body?.error?.details?.retry_after ?? 0.1));
              }
            }),
          );
      }),
    );
    const head = (await api(ann, "GET", `/api/boards/${id}`, undefined, 200)).board.seq;
    console.log(`made a board of ${head} events in ${Date.now() - t0} ms`);
    assert.ok(head >= 4 * PER_WRITER, `${head} events`);

    const pages = [];
    A.on("request", (r) => {
      if (r.url().includes(`/boards/${id}/history/events`)) pages.push(new URL(r.url()).searchParams.get("after"));
    });
    await A.goto(`${BASE}/boards/${id}/`);
    await seen(A, "the board", (i) => !!document.querySelector(`[data-note-id="${i}"]`), "n-tally-0", 10_000);
    const opened = Date.now();
    await A.getByRole("button", { name: "History" }).click();
    const panel = A.getByTestId("history-panel");
    await panel.getByText(`#${head}`, { exact: true }).waitFor();
    // Named without a replay from seq 1: the note's text then is not known, its text now is.
    await panel.getByText(/moved a note \(now 'Tally /).first().waitFor();
    const openMs = Date.now() - opened;
    await sleep(300);
    console.log(`history panel on ${head} events: ${pages.length} event request(s) (after=${pages.join(", ")}), list shown in ${openMs} ms`);
    assert.deepEqual(pages, [String(head - 500)]);
    assert.equal(await panel.locator("[data-seq]").count(), 500);

    // The slider far back: the page around it, and the event's author in the byline.
    const slider = A.locator("#history-slider");
    await slider.press("Home");
    for (let i = 0; i < 3; i++) await slider.press("ArrowRight");
    await seen(A, "version #3", () => document.querySelector('[data-testid="history-banner"]')?.textContent?.startsWith("Viewing version #3 by "), undefined, 5000);
    await panel.locator('[data-seq="3"]').waitFor();
    assert.equal(pages.length, 2, `event requests: ${pages.join(", ")}`);
    assert.equal(await panel.getByTestId("history-gap").count(), 1, "one gap between the two pages");
    // Export while a version is shown: that version, and the file says which.
    const [download] = await Promise.all([A.waitForEvent("download"), A.getByRole("button", { name: "Export" }).click()]);
    assert.equal(download.suggestedFilename(), "long-v3.corkboard.json");
    const file = JSON.parse(readFileSync(await download.path(), "utf8"));
    const past = await api(ann, "GET", `/api/boards/${id}/history?seq=3`, undefined, 200);
    assert.equal(file.seq, 3);
    assert.deepEqual(file.notes.map((n) => [n.id, n.y]), past.notes.map((n) => [n.id, n.y]));
    await A.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
  });
});
