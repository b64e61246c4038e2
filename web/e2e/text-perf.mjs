// Keystroke → remote render latency of collaborative note text (issue 14,
// "Numbers"), two browsers against the real binary, in Debian's chromium
// through playwright-core. Run it with scripts/bench-web.sh (`make bench-web`),
// which starts the server and sets E2E_* as scripts/e2e.sh does; alone:
// `BENCH_WEB_SCRIPTS=e2e/text-perf.mjs scripts/bench-web.sh`. Prints one JSON
// line with the results on stdout.
//
// Two users in their own browser contexts open one board with one note. The
// writer types PERF_KEYS characters into the note, one keystroke every
// PERF_KEY_DELAY_MS. Each keystroke is stamped in the writer's page at
// `keydown` (capture phase, before the app sees it). The reader's page stamps
// when the character is there:
//
// - phase "editing": the reader also has the note's editor open (the
//   collaborative case: the remote update goes through the reader's Yjs
//   document and the textarea binding, caret mapping included); a
//   requestAnimationFrame loop stamps the first frame whose textarea holds it,
//   so the number includes waiting for the next frame, as a user sees it;
// - phase "viewing": the reader only looks at the note; a MutationObserver
//   stamps the DOM change.
//
// Both stamps are performance.timeOrigin + performance.now() (wall clock, the
// same machine), so latency = reader stamp − writer stamp.
//
//   PERF_KEYS (200)  PERF_KEY_DELAY_MS (30)  PERF_BUDGET_S (180)
import { setTimeout as sleep } from "node:timers/promises";
import { request as pwRequest } from "playwright-core";
import { BASE, ConsoleWatch, PASSWORD, launchBrowser, rest, until } from "./harness.mjs";

const KEYS = Number(process.env.PERF_KEYS ?? 200);
const DELAY = Number(process.env.PERF_KEY_DELAY_MS ?? 30);
const BUDGET_S = Number(process.env.PERF_BUDGET_S ?? 180);
const VIEWPORT = { width: 1280, height: 800 };

const budget = setTimeout(() => {
  console.error(`text-perf: over the ${BUDGET_S} s budget; giving up`);
  process.exit(2);
}, BUDGET_S * 1000);
budget.unref();

const log = (...a) => console.error("text-perf:", ...a);
const r2 = (n) => Math.round(n * 100) / 100;
function pct(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const summary = (v) => ({ n: v.length, p50: r2(pct(v, 50)), p90: r2(pct(v, 90)), p99: r2(pct(v, 99)), max: r2(Math.max(...v)) });

const ALPHABET = "abcdefghijklmnopqrstuvwxyz";

// Runs in the writer's page before the app: stamps each note.edit RPC sent and its answer.
function instrument() {
  window.__rtt = [];
  const sent = new Map();
  const Native = window.WebSocket;
  class Hooked extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (ev) => {
        if (typeof ev.data !== "string" || !ev.data.startsWith('{"type":"result"') && !ev.data.startsWith('{"type":"error"')) return;
        const m = JSON.parse(ev.data);
        const t = sent.get(m.id);
        if (t !== undefined) {
          sent.delete(m.id);
          window.__rtt.push(performance.now() - t);
        }
      });
    }
    send(data) {
      if (typeof data === "string" && data.includes('"method":"note.edit"')) sent.set(JSON.parse(data).id, performance.now());
      return super.send(data);
    }
  }
  window.WebSocket = Hooked;
}

async function signup(name) {
  const api = await pwRequest.newContext({ baseURL: BASE, extraHTTPHeaders: { origin: BASE } });
  const r = await api.post("/api/auth/signup", { data: { username: name, password: PASSWORD } });
  if (r.status() !== 201) throw new Error(`signup ${name}: ${r.status()} ${await r.text()}`);
  return api;
}

async function openPage(browser, watch, name) {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme: "light" });
  context.setDefaultTimeout(15_000);
  const li = await rest(context, "POST", "/api/auth/login", { username: name, password: PASSWORD });
  if (li.status !== 200) throw new Error(`login ${name}: ${li.status}`);
  const page = await context.newPage();
  watch.attach(page, name);
  return { context, page };
}

async function openEditor(page, id) {
  await page.locator(`[data-note-id="${id}"]`).dblclick();
  const ed = page.locator(`[data-note-id="${id}"] textarea`);
  await ed.waitFor();
  await until("the editor to load", async () => !(await ed.evaluate((el) => el.readOnly)), 5000);
  return ed;
}

/** One phase: the writer types KEYS characters into an empty note; the reader stamps each one. */
async function phase(writer, reader, boardApi, boardId, readerEditing, x) {
  const r = await boardApi.post(`/api/boards/${boardId}/notes`, { data: { text: "", x, y: 80 } });
  if (r.status() !== 201) throw new Error(`create note: ${r.status()} ${await r.text()}`);
  const id = (await r.json()).note.id;
  for (const p of [writer, reader]) await p.locator(`[data-note-id="${id}"]`).waitFor();

  const ed = await openEditor(writer, id);
  if (readerEditing) await openEditor(reader, id);

  await writer.evaluate(() => {
    window.__rtt.length = 0;
    window.__keys = [];
    if (!window.__keyHook) {
      window.__keyHook = true;
      window.addEventListener("keydown", () => window.__keys.push(performance.timeOrigin + performance.now()), { capture: true });
    }
  });
  await reader.evaluate(
    ([i, editing]) => {
      const seen = (window.__seen = []);
      const note = () => document.querySelector(`[data-note-id="${i}"]`);
      const lengthNow = () => {
        const n = note();
        if (!n) return 0;
        if (editing) return n.querySelector("textarea")?.value.length ?? 0;
        const div = n.querySelector("div.whitespace-pre-wrap");
        if (!div) return 0;
        const clone = div.cloneNode(true);
        clone.querySelectorAll("[data-caret]").forEach((c) => c.remove());
        return clone.textContent.length;
      };
      const stamp = () => {
        const len = lengthNow();
        const t = performance.timeOrigin + performance.now();
        while (seen.length < len) seen.push(t);
      };
      if (editing) {
        const tick = () => {
          stamp();
          if (!window.__stop) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      } else {
        window.__obs = new MutationObserver(stamp);
        window.__obs.observe(note(), { subtree: true, childList: true, characterData: true });
      }
    },
    [id, readerEditing],
  );

  await ed.focus();
  for (let k = 0; k < KEYS; k++) {
    await writer.keyboard.press(ALPHABET[k % ALPHABET.length]);
    await sleep(DELAY);
  }
  await until(`all ${KEYS} characters at the reader`, () => reader.evaluate((n) => window.__seen.length >= n, KEYS), 10_000);
  const keys = await writer.evaluate(() => window.__keys);
  const rtt = await writer.evaluate(() => window.__rtt.slice());
  const seenAt = await reader.evaluate(() => {
    window.__stop = true;
    window.__obs?.disconnect();
    return window.__seen;
  });
  if (keys.length !== KEYS) throw new Error(`${keys.length} keydowns stamped, ${KEYS} pressed`);
  const lat = keys.map((t, k) => seenAt[k] - t);

  // The server holds exactly what was typed (nothing lost, nothing twice).
  const expected = Array.from({ length: KEYS }, (_, k) => ALPHABET[k % ALPHABET.length]).join("");
  const snap = await (await boardApi.get(`/api/boards/${boardId}`)).json();
  const text = snap.notes.find((n) => n.id === id)?.text;
  if (text !== expected) throw new Error(`the server's text is ${JSON.stringify(text)}, typed ${JSON.stringify(expected)}`);

  await writer.keyboard.press("Escape");
  if (readerEditing) await reader.locator(`[data-note-id="${id}"] textarea`).press("Escape");
  await writer.mouse.click(VIEWPORT.width - 20, VIEWPORT.height - 20); // nothing selected
  return { lat, rtt };
}

async function main() {
  const t0 = Date.now();
  const watch = new ConsoleWatch();
  const { browser, close } = await launchBrowser();
  const suffix = Date.now() % 1e6;
  const names = [`writer${suffix}`, `reader${suffix}`];
  const apis = [];
  try {
    for (const n of names) apis.push(await signup(n));
    const b = await apis[0].post("/api/boards", { data: { title: "Typing latency" } });
    if (b.status() !== 201) throw new Error(`create board: ${b.status()}`);
    const boardId = (await b.json()).id;
    const inv = await apis[0].post(`/api/boards/${boardId}/invites`, { data: { role: "editor" } });
    const token = (await inv.json()).token;
    const acc = await apis[1].post(`/api/invites/${encodeURIComponent(token)}/accept`, { data: {} });
    if (acc.status() !== 200) throw new Error(`accept: ${acc.status()} ${await acc.text()}`);

    const w = await openPage(browser, watch, names[0]);
    await w.context.addInitScript(instrument);
    const r = await openPage(browser, watch, names[1]);
    for (const p of [w.page, r.page]) {
      await p.goto(`${BASE}/boards/${encodeURIComponent(boardId)}`);
      await until("Connected", async () => (await p.locator('header [role="status"]').textContent()) === "Connected", 10_000);
    }

    const result = { keys: KEYS, key_delay_ms: DELAY };
    const editing = await phase(w.page, r.page, apis[0], boardId, true, 80);
    result.keystroke_to_remote_frame_ms = summary(editing.lat);
    log(`reader editing (next frame): ${JSON.stringify(result.keystroke_to_remote_frame_ms)}`);
    const viewing = await phase(w.page, r.page, apis[0], boardId, false, 480);
    result.keystroke_to_remote_dom_ms = summary(viewing.lat);
    log(`reader viewing (DOM): ${JSON.stringify(result.keystroke_to_remote_dom_ms)}`);
    result.edits_sent = editing.rtt.length + viewing.rtt.length;
    result.edit_rpc_round_trip_ms = summary([...editing.rtt, ...viewing.rtt]);
    log(`note.edit sent ${result.edits_sent} for ${2 * KEYS} keystrokes; RPC round trip: ${JSON.stringify(result.edit_rpc_round_trip_ms)}`);

    if (watch.errors.length) result.console_errors = watch.errors;
    result.seconds = Math.round((Date.now() - t0) / 100) / 10;
    result.aims = { p99_le_50ms: result.keystroke_to_remote_frame_ms.p99 <= 50 };
    console.log(JSON.stringify({ text_latency: result }));
  } finally {
    for (const a of apis) await a.dispose().catch(() => {});
    await close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error("text-perf: FAILED:", e.stack ?? e);
    process.exit(1);
  },
);
