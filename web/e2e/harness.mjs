// Helpers for the end-to-end tests: the browser (Debian's chromium through
// playwright-core), the server started by scripts/e2e.sh (stop / restart on the
// same port and data directory), console-error collection and small waits.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the end-to-end tests with scripts/e2e.sh (make e2e)`);
  return v;
}

export const BASE = env("E2E_BASE_URL");
export const SCREENSHOTS = process.env.E2E_SCREENSHOTS ?? "";
export const PASSWORD = "correct-horse-battery";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * One chromium for the whole run, on a fresh user-data-dir. Playwright takes the
 * profile directory as a parameter (it refuses `--user-data-dir` in args); the
 * users get their own isolated contexts from `browser.newContext()`.
 */
export async function launchBrowser() {
  const userDataDir = mkdtempSync(join(process.env.E2E_TMP ?? tmpdir(), "chromium-profile-"));
  const persistent = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  const browser = persistent.browser();
  if (!browser) throw new Error("chromium started without a Browser object");
  return { browser, close: () => persistent.close() };
}

// ---------------------------------------------------------------- console errors

/** Network noise that is expected only while the server is deliberately down. */
const OUTAGE_NOISE =
  /ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE|ERR_CONNECTION_CLOSED|WebSocket connection to '[^']*' failed|Failed to fetch|network error/i;

/**
 * After an outage ends, its noise is still ignored for this long: a dial or a
 * fetch that failed just before the server came back can reach the console
 * after the test has marked the outage over.
 */
const OUTAGE_TAIL_MS = 3000;

export class ConsoleWatch {
  constructor() {
    this.errors = [];
    this._outage = false;
    this._outageEnded = -Infinity;
    /** what was let through during the outage, for the test's diagnostics */
    this.ignored = [];
  }

  /** Whether the server is down on purpose (its network errors are expected). */
  get outage() {
    return this._outage || Date.now() - this._outageEnded < OUTAGE_TAIL_MS;
  }

  set outage(down) {
    if (this._outage && !down) this._outageEnded = Date.now();
    this._outage = down;
  }

  /** Records console errors and uncaught exceptions of `page`, labelled `who`. */
  attach(page, who) {
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const text = msg.text();
      const where = msg.location()?.url ?? "";
      // The login page asks GET /api/me to find out whether someone is signed in: 401 is the answer.
      if (new URL(page.url()).pathname.startsWith("/login") && /\/api\/me$/.test(where) && /status of 401/.test(text)) return;
      if (this.outage && OUTAGE_NOISE.test(text)) {
        this.ignored.push(`${who}: ${text}`);
        return;
      }
      this.errors.push(`${who} console.error at ${page.url()}: ${text}${where ? ` (${where})` : ""}`);
    });
    page.on("pageerror", (err) => {
      this.errors.push(`${who} uncaught exception at ${page.url()}: ${err.stack ?? err.message}`);
    });
  }
}

// ---------------------------------------------------------------- server control

function pidAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // state is the field after "(comm)"; Z = exited, not yet reaped by its parent
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

export async function healthy() {
  try {
    const r = await fetch(`${BASE}/healthz`, { signal: AbortSignal.timeout(1000) });
    return r.ok;
  } catch {
    return false;
  }
}

/** SIGTERM (the server drains for at most 1 s), SIGKILL after 10 s; waits until the port is closed. */
export async function stopServer() {
  const pid = Number(readFileSync(env("E2E_PIDFILE"), "utf8").trim());
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(50);
  if (pidAlive(pid)) {
    process.kill(pid, "SIGKILL");
    while (pidAlive(pid)) await sleep(50);
  }
  while (await healthy()) await sleep(50);
}

/** Starts the binary again with the same port and data directory (as scripts/e2e.sh did). */
export async function startServer() {
  const log = openSync(env("E2E_SERVER_LOG"), "a");
  const child = spawn(
    env("E2E_BIN"),
    ["--listen", `127.0.0.1:${env("E2E_PORT")}`, "--data", env("E2E_DATA"), "--drain-timeout", "1"],
    { detached: true, stdio: ["ignore", log, log], env: { ...process.env, CORKBOARD_LOG: process.env.CORKBOARD_LOG ?? "warn" } },
  );
  child.unref();
  writeFileSync(env("E2E_PIDFILE"), String(child.pid));
  const deadline = Date.now() + 15_000;
  while (!(await healthy())) {
    if (Date.now() > deadline) throw new Error("the restarted server did not answer /healthz within 15 s");
    await sleep(100);
  }
}

// ---------------------------------------------------------------- small helpers

/** Polls `fn` until it returns a truthy value; throws `what` after `ms`. */
export async function until(what, fn, ms = 5000, every = 50) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await sleep(every);
  }
}

/** Waits for a predicate over the page's DOM, polling every 25 ms, at most `ms`. */
export async function seen(page, what, predicate, arg, ms = 1000) {
  const t0 = Date.now();
  try {
    await page.waitForFunction(predicate, arg, { timeout: ms, polling: 25 });
  } catch (e) {
    throw new Error(`not seen within ${ms} ms: ${what} (${e.message.split("\n")[0]})`);
  }
  return Date.now() - t0;
}

export function screenshotPath(name) {
  if (!SCREENSHOTS) return null;
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}

/** REST through the browser context (its session cookie), as the page itself would send it. */
export async function rest(context, method, path, data) {
  const res = await context.request.fetch(`${BASE}${path}`, {
    method,
    headers: { origin: BASE, ...(data === undefined ? {} : { "content-type": "application/json" }) },
    data: data === undefined ? undefined : JSON.stringify(data),
    failOnStatusCode: false,
  });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status(), body };
}

// ---------------------------------------------------------------- accessibility

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core on the page as it is now and fails with a readable list of the
 * serious and critical violations (rule, impact, what it means, the first
 * elements). axe is evaluated through the DevTools protocol, which the page's
 * CSP does not apply to; `exclude` lists selectors to leave out.
 */
export async function checkA11y(page, what, { exclude = [] } = {}) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(
    async (ex) => {
      const r = await window.axe.run(ex.length ? { exclude: ex.map((s) => [s]) } : document, {
        resultTypes: ["violations"],
      });
      return r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(" ")}${n.failureSummary ? ` — ${n.failureSummary.split("\n").slice(1, 2).join("").trim()}` : ""}`),
      }));
    },
    exclude,
  );
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length) {
    const list = bad
      .map((v) => `  - ${v.id} (${v.impact}): ${v.help}\n${v.nodes.slice(0, 6).map((n) => `      ${n}`).join("\n")}${v.nodes.length > 6 ? `\n      … ${v.nodes.length - 6} more` : ""}`)
      .join("\n");
    throw new Error(`axe: ${bad.length} serious/critical violation(s) on ${what} (${page.url()}):\n${list}`);
  }
  return violations.length;
}

/**
 * Controls of the page (outside the board canvas) that are off-screen
 * sideways or squashed (under 16 px wide or high): what a 390 px screen
 * must not show. Returns descriptions, empty when all is well.
 */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    const name = (el) => (el.getAttribute("aria-label") || el.textContent || el.tagName).trim().slice(0, 40);
    for (const el of document.querySelectorAll("button, a[href], input, select, textarea, h1, [role=dialog], [role=group], [role=status]")) {
      if (el.closest('[data-testid="canvas"]')) continue;
      const r = el.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (r.width === 0 && r.height === 0) continue; // not rendered
      if (style.visibility === "hidden" || style.display === "none") continue;
      if (el.type === "checkbox" || el.type === "radio") continue;
      if (r.left < -1 || r.right > vw + 1) out.push(`off-screen: ${el.tagName.toLowerCase()} "${name(el)}" ${Math.round(r.left)}…${Math.round(r.right)} of ${vw}`);
      else if (r.width < 16 || r.height < 16) out.push(`squashed: ${el.tagName.toLowerCase()} "${name(el)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
    return out;
  });
}
