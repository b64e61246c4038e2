// End-to-end checks of editing on the board (issue 18, parts 4 and 7): a
// selection moved, recoloured and deleted as one change (one undo), duplicate,
// copy and paste between boards, the keyboard (one Tab stop per note, Enter,
// Escape, arrows, Delete), double-click to create, bring to front and send to
// back, a paste over the length limit, snap to grid kept over a reload, and
// pinch-zoom on touch.
// Two users: ann (owner) and bob (editor) on the same board; bob's page checks
// that everything ann does reaches him live. Real server (scripts/e2e.sh).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BASE, ConsoleWatch, PASSWORD, launchBrowser, rest, screenshotPath, until } from "./harness.mjs";

const watch = new ConsoleWatch();
const VIEWPORT = { width: 1280, height: 800 };
let browser;
let closeBrowser;
let ann; // contexts
let bob;
let A; // pages on board 1
let B;
let board1 = "";
let board2 = "";
let annName = "";

const note = (page, id) => page.locator(`[data-note-id="${id}"]`);
const notesOf = async (board) => (await rest(ann, "GET", `/api/boards/${board}`)).body.notes;
const serverNote = async (id, board = board1) => (await notesOf(board)).find((n) => n.id === id);
const pos = (page, id) => note(page, id).evaluate((el) => [parseFloat(el.style.left), parseFloat(el.style.top)]);
const selectedIds = (page) => page.locator("[data-note-id][data-selected]").evaluateAll((els) => els.map((e) => e.dataset.noteId).sort());
/** The id of the note that has focus itself (not a control inside it), else the focused element's tag. */
const focusedNote = (page) => page.evaluate(() => document.activeElement?.dataset?.noteId ?? document.activeElement?.tagName);

async function createNote(text, x, y, extra = {}) {
  const r = await rest(ann, "POST", `/api/boards/${board1}/notes`, { text, x, y, ...extra });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.note.id;
  await note(A, id).waitFor();
  await note(B, id).waitFor();
  return id;
}

/** The screen point of board point (`x`, `y`) on `page` (the view starts at 100 %, origin at (40, 40)). */
async function screen(page, x, y) {
  const c = await page.getByTestId("canvas").boundingBox();
  return { x: c.x + 40 + x, y: c.y + 40 + y };
}

async function openBoard(context, id, who) {
  const page = await context.newPage();
  await page.setViewportSize(VIEWPORT);
  watch.attach(page, who);
  await page.goto(`${BASE}/boards/${id}`);
  await until(`${who}: Connected`, async () => (await page.locator('header [role="status"]').textContent()) === "Connected", 8000);
  return page;
}

/** Which note is drawn on top at board point (`x`, `y`). */
const topAt = async (page, x, y) => {
  const p = await screen(page, x, y);
  return page.evaluate(([px, py]) => document.elementFromPoint(px, py)?.closest("[data-note-id]")?.dataset.noteId ?? null, [p.x, p.y]);
};

/** Waits until the server and bob's page agree on the notes' positions. */
async function bothSee(what, expected) {
  await until(`server: ${what}`, async () => {
    for (const [id, x, y] of expected) {
      const n = await serverNote(id);
      if (!n || n.x !== x || n.y !== y) return false;
    }
    return true;
  });
  await until(`bob sees: ${what}`, async () => {
    for (const [id, x, y] of expected) {
      const [bx, by] = await pos(B, id);
      if (bx !== x || by !== y) return false;
    }
    return true;
  });
}

describe("editing a board, end to end", { timeout: 150_000 }, () => {
  before(async () => {
    ({ browser, close: closeBrowser } = await launchBrowser());
    ann = await browser.newContext({ colorScheme: "light" });
    bob = await browser.newContext({ colorScheme: "light" });
    ann.setDefaultTimeout(10_000);
    bob.setDefaultTimeout(10_000);
    await ann.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
    const stamp = Date.now() % 1e6;
    annName = `edann${stamp}`;
    assert.equal((await rest(ann, "POST", "/api/auth/signup", { username: annName, password: PASSWORD })).status, 201);
    assert.equal((await rest(bob, "POST", "/api/auth/signup", { username: `edbob${stamp}`, password: PASSWORD })).status, 201);
    board1 = (await rest(ann, "POST", "/api/boards", { title: "Editing" })).body.id;
    board2 = (await rest(ann, "POST", "/api/boards", { title: "Paste target" })).body.id;
    const inv = await rest(ann, "POST", `/api/boards/${board1}/invites`, { role: "editor" });
    const acc = await rest(bob, "POST", `/api/invites/${encodeURIComponent(inv.body.token)}/accept`, {});
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    A = await openBoard(ann, board1, "ann");
    B = await openBoard(bob, board1, "bob");
  });
  after(async () => {
    await closeBrowser?.();
    assert.deepEqual(watch.errors, [], "no console errors");
  });

  let n1, n2, n3;

  test("a marquee selects 3 notes; a drag moves all three (bob sees it); one undo moves all three back", async () => {
    n1 = await createNote("one", 0, 0);
    n2 = await createNote("two", 250, 0);
    n3 = await createNote("three", 500, 0);
    const far = await createNote("not selected", 0, 400);
    // Shift+drag on the empty canvas draws a marquee (a plain drag pans)
    const from = await screen(A, -20, -20);
    const to = await screen(A, 720, 160);
    await A.keyboard.down("Shift");
    await A.mouse.move(from.x, from.y);
    await A.mouse.down();
    await A.mouse.move(to.x, to.y, { steps: 6 });
    await A.mouse.up();
    await A.keyboard.up("Shift");
    assert.deepEqual(await selectedIds(A), [n1, n2, n3].sort());

    const grab = await screen(A, 350, 70);
    await A.mouse.move(grab.x, grab.y);
    await A.mouse.down();
    await A.mouse.move(grab.x + 100, grab.y + 60, { steps: 8 });
    await A.mouse.up();
    await bothSee("the three moved", [
      [n1, 100, 60],
      [n2, 350, 60],
      [n3, 600, 60],
      [far, 0, 400],
    ]);

    await A.keyboard.press("Control+z");
    await bothSee("one undo moved all three back", [
      [n1, 0, 0],
      [n2, 250, 0],
      [n3, 500, 0],
    ]);
  });

  test("recolour a selection from its toolbar; delete it and one undo restores all three", async () => {
    assert.deepEqual(await selectedIds(A), [n1, n2, n3].sort(), "still selected");
    const bar = A.getByRole("toolbar", { name: "3 selected notes" });
    await bar.waitFor();
    const shot = screenshotPath("multi-select");
    if (shot) await A.screenshot({ path: shot });
    await bar.getByRole("radio", { name: "Blue" }).click();
    await until("all three blue on the server", async () => (await notesOf(board1)).filter((n) => [n1, n2, n3].includes(n.id) && n.color === "blue").length === 3);
    await until("bob sees them blue", async () => (await B.locator('[data-note-id].bg-sky-200').count()) === 3);

    await A.keyboard.press("Delete");
    await until("bob sees them gone", async () => (await B.locator("[data-note-id]").count()) === 1);
    assert.notEqual(await focusedNote(A), "BODY", "focus did not drop to the page");
    await A.keyboard.press("Control+z");
    await until("bob sees all three back", async () => (await B.locator("[data-note-id]").count()) === 4);
    assert.equal((await notesOf(board1)).length, 4);
  });

  test("Ctrl+D duplicates the selection 20 px away and selects the copies", async () => {
    await note(A, n1).click({ position: { x: 30, y: 60 } });
    assert.deepEqual(await selectedIds(A), [n1]);
    await A.keyboard.press("Control+d");
    let copy;
    await until("the copy on the server", async () => {
      copy = (await notesOf(board1)).find((n) => n.text === "one" && n.id !== n1);
      return copy && copy.x === 20 && copy.y === 20 && copy.color === "blue";
    });
    assert.deepEqual(await selectedIds(A), [copy.id]);
    await note(B, copy.id).waitFor();
    // leave the board as it was
    await A.keyboard.press("Delete");
    await until("the copy deleted", async () => (await notesOf(board1)).length === 4);
  });

  test("copy two notes on board 1, paste them on board 2", async () => {
    await note(A, n1).click({ position: { x: 30, y: 60 } });
    await note(A, n2).click({ position: { x: 30, y: 60 }, modifiers: ["Shift"] });
    assert.deepEqual(await selectedIds(A), [n1, n2].sort());
    await A.keyboard.press("Control+c");
    await A.getByText("Copied 2 notes").waitFor();
    const P = await openBoard(ann, board2, "ann board 2");
    const c = await P.getByTestId("canvas").boundingBox();
    await P.mouse.move(c.x + 500, c.y + 300);
    await P.keyboard.press("Control+v");
    await until("two notes pasted on board 2", async () => (await notesOf(board2)).length === 2);
    const pasted = (await notesOf(board2)).sort((a, b) => a.x - b.x);
    assert.deepEqual(pasted.map((n) => n.text), ["one", "two"]);
    assert.equal(pasted[1].x - pasted[0].x, 250, "the layout is kept");
    assert.equal(await P.locator("[data-note-id][data-selected]").count(), 2, "the pasted notes are selected");
    await P.close();
  });

  test("keyboard: Tab reaches a note in one stop, Enter edits, Escape returns to the note, arrows nudge (bob sees it), Delete removes", async () => {
    const k = await createNote("keyboard", 800, 300);
    // focus the empty canvas, then Tab: the first note; each further Tab: the next note, nothing in between
    const empty = await screen(A, 900, 600);
    await A.mouse.click(empty.x, empty.y);
    await A.keyboard.press("Tab");
    const order = await A.locator("[data-note-id]").evaluateAll((els) => els.map((e) => e.dataset.noteId));
    assert.equal(await focusedNote(A), order[0], "one Tab from the canvas: the first note");
    for (let i = 1; i < order.length; i++) {
      await A.keyboard.press("Tab");
      assert.equal(await focusedNote(A), order[i], `Tab ${i + 1}: note ${i + 1}, no control in between`);
    }
    const label = await note(A, k).getAttribute("aria-label");
    assert.match(label, /^Note: keyboard/);

    await note(A, k).focus();
    await A.keyboard.press("Enter");
    const ed = note(A, k).getByLabel("Note text");
    await until("editing", async () => (await A.evaluate(() => document.activeElement?.tagName)) === "TEXTAREA");
    await until("the editor to load", async () => !(await ed.evaluate((el) => el.readOnly)), 5000);
    await A.keyboard.press("End");
    await A.keyboard.type(" typed");
    await A.keyboard.press("Escape");
    assert.equal(await focusedNote(A), k, "Escape leaves the editor with focus on the note");
    await until("the text saved", async () => (await serverNote(k))?.text === "keyboard typed");

    await A.keyboard.press("ArrowRight");
    await A.keyboard.press("Shift+ArrowDown");
    await bothSee("nudged 10 right and 50 down", [[k, 810, 350]]);

    await A.keyboard.press("Delete");
    await until("bob sees it deleted", async () => (await note(B, k).count()) === 0);
    const now = await focusedNote(A);
    assert.ok(now !== "BODY" && now !== k, `focus moved to a neighbour or the canvas, not the page: ${now}`);
  });

  test("a double-click on the empty canvas creates a note there, in the colour chosen beside Add note", async () => {
    await A.getByRole("button", { name: /^Colour of new notes/ }).click();
    await A.getByRole("group", { name: "Colour of new notes" }).getByRole("button", { name: "Green" }).click();
    const before = (await notesOf(board1)).length;
    const p = await screen(A, 1000, 500);
    await A.mouse.dblclick(p.x, p.y);
    let created;
    await until("a new note on the server", async () => {
      const all = await notesOf(board1);
      created = all.find((n) => Math.abs(n.x - 900) < 2 && Math.abs(n.y - 430) < 2);
      return all.length === before + 1 && created;
    });
    assert.equal(created.color, "green");
    await A.keyboard.press("Escape");
  });

  test("bring to front and send to back change which note is on top, for both users", async () => {
    const low = await createNote("low", 0, 520);
    const high = await createNote("high", 100, 560);
    // the overlap: (150, 600)
    assert.equal(await topAt(A, 150, 600), high);
    assert.equal(await topAt(B, 150, 600), high);
    await note(A, low).click({ position: { x: 20, y: 20 } });
    await A.getByRole("toolbar", { name: "Selected note" }).getByRole("button", { name: /To front/ }).click();
    await until("low on top for ann", async () => (await topAt(A, 150, 600)) === low);
    await until("low on top for bob", async () => (await topAt(B, 150, 600)) === low);
    // and back under with "[" (the keyboard) and "To back" (the toolbar)
    await A.keyboard.press("[");
    await until("low under high for ann", async () => (await topAt(A, 150, 600)) === high);
    await until("low under high for bob", async () => (await topAt(B, 150, 600)) === high);
    await A.getByRole("toolbar", { name: "Selected note" }).getByRole("button", { name: /To front/ }).click();
    await until("low on top again", async () => (await topAt(B, 150, 600)) === low);
    await A.getByRole("toolbar", { name: "Selected note" }).getByRole("button", { name: /To back/ }).click();
    await until("low under high again, for bob", async () => (await topAt(B, 150, 600)) === high);
  });

  test("long text scrolls with a 'more' cue; a paste over the 10,000-character limit says how much was cut", async () => {
    const long = await createNote(Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n"), 1000, 100);
    await note(A, long).getByTestId("note-more").waitFor();
    await A.evaluate((t) => navigator.clipboard.writeText(t), "x".repeat(10_050));
    await note(A, long).dblclick();
    const ed = note(A, long).getByLabel("Note text");
    await until("the editor to load", async () => !(await ed.evaluate((el) => el.readOnly)), 5000);
    await ed.press("Control+a");
    await ed.press("Control+v");
    await A.getByText(/The pasted text was cut: 50 characters over the 10,000-character limit/).waitFor();
    await ed.press("Escape");
  });

  test("snap to grid: a drop lands on the 20 px grid, and the setting survives a reload", async () => {
    const snapBtn = A.getByRole("button", { name: "Snap" });
    assert.equal(await snapBtn.getAttribute("aria-pressed"), "false");
    await snapBtn.click();
    const s = await createNote("snap me", 613, 33);
    const box = await note(A, s).boundingBox();
    await A.mouse.move(box.x + 40, box.y + 60);
    await A.mouse.down();
    await A.mouse.move(box.x + 40 + 47, box.y + 60 + 29, { steps: 5 });
    await A.mouse.up();
    await until("on the grid", async () => {
      const n = await serverNote(s);
      return n.x === 660 && n.y === 60;
    });
    await A.reload();
    await until("Connected", async () => (await A.locator('header [role="status"]').textContent()) === "Connected", 8000);
    assert.equal(await A.getByRole("button", { name: "Snap" }).getAttribute("aria-pressed"), "true");
    await A.getByRole("button", { name: "Snap" }).click();
  });

  test("a touch pinch zooms around the fingers; one finger drags a note", async () => {
    const t = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
    const li = await rest(t, "POST", "/api/auth/login", { username: annName, password: PASSWORD });
    assert.equal(li.status, 200, JSON.stringify(li.body));
    const page = await t.newPage();
    watch.attach(page, "ann touch");
    await page.goto(`${BASE}/boards/${board1}`);
    await until("Connected", async () => (await page.locator('header [role="status"]').textContent()) === "Connected", 8000);
    const zoom = () => page.getByRole("button", { name: /^Zoom \d+%/ }).textContent();
    assert.equal(await zoom(), "100%");
    const c = await page.getByTestId("canvas").boundingBox();
    const cx = c.x + c.width / 2;
    const cy = c.y + c.height - 120;
    const cdp = await t.newCDPSession(page);
    const points = (d) => [
      { x: cx - d, y: cy, id: 0 },
      { x: cx + d, y: cy, id: 1 },
    ];
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: points(40) });
    for (let d = 45; d <= 100; d += 5) {
      await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: points(d) });
      await sleep(16);
    }
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    await until("zoomed in by the pinch", async () => parseInt(await zoom(), 10) >= 200, 3000);

    // one finger on a note drags it
    await page.getByRole("button", { name: /^Zoom \d+%, reset view/ }).click();
    const id = await createNote("touch me", 10, 200);
    const nb = await note(page, id).boundingBox();
    const [sx, sy] = [nb.x + 60, nb.y + 60];
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x: sx, y: sy, id: 0 }] });
    for (let i = 1; i <= 8; i++) {
      await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [{ x: sx + i * 5, y: sy + i * 10, id: 0 }] });
      await sleep(16);
    }
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    await until("the note moved by the finger", async () => {
      const n = await serverNote(id);
      return n.x === 50 && n.y === 280;
    }).catch(async (e) => {
      const dbg = await note(page, id).evaluate((el) => ({ style: el.getAttribute("style"), sel: el.dataset.selected, at: JSON.stringify(el.getBoundingClientRect()) }));
      const hit = await page.evaluate(([x, y]) => document.elementFromPoint(x, y)?.outerHTML.slice(0, 200), [sx, sy]);
      throw new Error(`${e.message}; server ${JSON.stringify(await serverNote(id))}; page ${JSON.stringify(dbg)}; box ${JSON.stringify(nb)}; at the finger: ${hit}`);
    });
    await t.close();
  });
});
