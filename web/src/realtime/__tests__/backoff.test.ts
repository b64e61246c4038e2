import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_BACKOFF, backoffCeiling, backoffDelay } from "../backoff";
import { setup } from "./fakes";
import { regressions, seeded, type RegressionSeed } from "./seed";

const FILE = "src/realtime/__tests__/backoff.test.ts";
const RANDOM_DELAYS = "random attempts, options and jitter keep every delay within its bounds";

/**
 * Seeds that once failed the random delays test, each with what it caught and
 * the fixing commit (see ./seed.ts). None has so far: the history names no
 * failing seed.
 */
const RANDOM_DELAYS_REGRESSIONS: readonly RegressionSeed[] = [];

/** Draws attempts, options (the defaults or random ones) and jitter from `random`. */
function delaysStayInBounds(random: () => number) {
  for (let i = 0; i < 200; i++) {
    const attempt = Math.floor(random() * 64);
    const opts =
      random() < 0.5
        ? DEFAULT_BACKOFF
        : { baseMs: 1 + Math.floor(random() * 2000), capMs: 1 + Math.floor(random() * 60_000) };
    const d = backoffDelay(attempt, opts, random);
    expect(Number.isInteger(d)).toBe(true);
    expect(d).toBeGreaterThanOrEqual(0);
    expect(d).toBeLessThan(backoffCeiling(attempt, opts));
  }
}

describe("backoff math", () => {
  it("doubles from 500 ms and stops at 30 s", () => {
    const ceilings = Array.from({ length: 10 }, (_, i) => backoffCeiling(i));
    expect(ceilings).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(backoffCeiling(2000)).toBe(30000);
  });

  it("full jitter stays in [0, ceiling)", () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = backoffCeiling(attempt);
      expect(backoffDelay(attempt, undefined, () => 0)).toBe(0);
      const top = backoffDelay(attempt, undefined, () => 0.999999);
      expect(top).toBeLessThan(ceiling);
      expect(top).toBeGreaterThanOrEqual(ceiling - 1);
    }
  });

  it("uses Math.random by default (mocked)", () => {
    const spy = vi.spyOn(Math, "random").mockReturnValue(0.25);
    expect(backoffDelay(3)).toBe(1000); // 0.25 × 4000
    spy.mockRestore();
  });

  it(RANDOM_DELAYS, () => delaysStayInBounds(seeded(FILE, RANDOM_DELAYS).random));

  it("replays the regression seeds of the random delays test", () =>
    regressions(FILE, RANDOM_DELAYS, RANDOM_DELAYS_REGRESSIONS, delaysStayInBounds));
});

describe("reconnect schedule (fake timers)", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("redials after min(cap, 500·2^n)·random ms (cap 5 s: the tab is visible), and resets after welcome", () => {
    const t = setup({ random: () => 0.5 });
    t.conn.start();
    expect(t.sockets).toHaveLength(1);
    expect(t.last.protocols).toEqual(["corkboard.v1"]);

    const expected = [250, 500, 1000, 2000, 2500, 2500, 2500];
    for (const delay of expected) {
      const before = t.sockets.length;
      t.last.drop(1006);
      const st = t.conn.getState().conn;
      expect(st.status).toBe("reconnecting");
      vi.advanceTimersByTime(delay - 1);
      expect(t.sockets.length).toBe(before);
      vi.advanceTimersByTime(1);
      expect(t.sockets.length).toBe(before + 1);
    }

    // A successful connection resets the schedule.
    t.last.welcome();
    expect(t.conn.getState().conn.status).toBe("live");
    t.last.drop(1001);
    const n = t.sockets.length;
    vi.advanceTimersByTime(250);
    expect(t.sockets.length).toBe(n + 1);
    t.conn.stop();
  });

  it("shows when the next attempt is due", () => {
    const t = setup({ random: () => 0.999 });
    vi.setSystemTime(1_000_000);
    t.conn.start();
    t.last.drop(1006);
    const st = t.conn.getState().conn;
    expect(st.status === "reconnecting" && st.retryAt).toBe(1_000_000 + 499);
    t.conn.stop();
  });

  it("retries at once on the online event", () => {
    let online = true;
    const t = setup({ random: () => 0.9, online: () => online });
    t.conn.start();
    for (let i = 0; i < 5; i++) {
      t.last.drop(1006);
      vi.runOnlyPendingTimers();
    }
    t.last.drop(1006);
    expect(t.conn.getState().conn.status).toBe("reconnecting");
    const n = t.sockets.length;
    t.env.fire("online");
    expect(t.sockets.length).toBe(n + 1);

    // Offline: no timers run until the browser is back online.
    online = false;
    t.last.drop(1006);
    expect(t.conn.getState().conn.status).toBe("offline");
    vi.advanceTimersByTime(120_000);
    expect(t.sockets.length).toBe(n + 1);
    online = true;
    t.env.fire("online");
    expect(t.sockets.length).toBe(n + 2);
    t.conn.stop();
  });

  it("stops retrying on 4001 (session revoked)", () => {
    const t = setup();
    t.conn.start();
    t.last.welcome();
    t.last.drop(4001, "revoked");
    expect(t.conn.getState().conn.status).toBe("unauthorized");
    vi.advanceTimersByTime(60_000);
    expect(t.sockets).toHaveLength(1);
  });

  it("declares the socket dead after 2 missed pongs", () => {
    const t = setup({ random: () => 0 });
    t.conn.start();
    t.last.welcome(undefined, 1000);
    vi.advanceTimersByTime(1000);
    expect(t.last.ofType("ping")).toHaveLength(1);
    t.last.receive({ type: "pong", t: 1 });
    vi.advanceTimersByTime(1000); // ping 2, unanswered
    vi.advanceTimersByTime(1000); // missed 1, ping 3
    expect(t.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1000); // missed 2: dead
    expect(t.sockets[0].closedWith?.code).toBe(4000);
    expect(t.conn.getState().conn.status).not.toBe("live");
    vi.advanceTimersByTime(1); // full jitter with random() = 0: at once
    expect(t.sockets).toHaveLength(2);
    t.conn.stop();
  });
});
