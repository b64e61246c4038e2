import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Reconnector, type ConnectionStatus } from "../reconnect";
import { ann, FakeEnv } from "./fakes";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const live = { user: ann, session: "s1", server: "corkboard/test" };

function machine(opts: { random?: number; online?: boolean; visible?: boolean; dialOk?: boolean } = {}) {
  const env = new FakeEnv();
  const w = { online: opts.online ?? true, visible: opts.visible ?? true, dialOk: opts.dialOk ?? true, dials: 0, timeouts: 0 };
  const seen: ConnectionStatus["status"][] = [];
  const r = new Reconnector({
    dial: () => {
      w.dials++;
      return w.dialOk;
    },
    dialTimedOut: () => w.timeouts++,
    changed: (s) => seen.push(s.status),
    random: () => opts.random ?? 0.5,
    dialTimeoutMs: 5000,
    env,
    isOnline: () => w.online,
    isVisible: () => w.visible,
  });
  return { r, env, w, seen };
}

describe("Reconnector", () => {
  it("dials on start, goes live on welcome, and backs off exponentially with jitter after losses", () => {
    const { r, w, seen } = machine();
    r.start();
    r.start();
    expect(w.dials).toBe(1);
    expect(r.status).toEqual({ status: "connecting", attempt: 0 });
    r.connected(live);
    expect(r.status).toEqual({ status: "live", ...live });

    for (const delay of [250, 500, 1000, 2000]) {
      const before = w.dials;
      r.lost({ code: 1006, reason: "" });
      expect(r.status.status).toBe("reconnecting");
      vi.advanceTimersByTime(delay - 1);
      expect(w.dials).toBe(before);
      vi.advanceTimersByTime(1);
      expect(w.dials).toBe(before + 1);
    }
    // welcome resets the schedule
    r.connected(live);
    r.lost({ code: 1001, reason: "going away" });
    expect(r.status).toMatchObject({ status: "reconnecting", attempt: 0, lastClose: { code: 1001, reason: "going away" } });
    expect(seen.slice(0, 3)).toEqual(["connecting", "live", "reconnecting"]);
    r.stop();
  });

  it("gives up on 4001", () => {
    const { r, w } = machine();
    r.start();
    r.lost({ code: 4001, reason: "revoked" });
    expect(r.status.status).toBe("unauthorized");
    vi.advanceTimersByTime(60_000);
    expect(w.dials).toBe(1);
    r.stop();
  });

  it("a dial without welcome in time is reported, once", () => {
    const { r, w } = machine();
    r.start();
    vi.advanceTimersByTime(4999);
    expect(w.timeouts).toBe(0);
    vi.advanceTimersByTime(1);
    expect(w.timeouts).toBe(1);
    r.connected(live);
    vi.advanceTimersByTime(60_000);
    expect(w.timeouts).toBe(1);
    r.stop();
  });

  it("a socket that cannot be created counts as a loss", () => {
    const { r, w } = machine({ dialOk: false });
    r.start();
    expect(r.status).toMatchObject({ status: "reconnecting", lastClose: { code: 1006 } });
    w.dialOk = true;
    vi.advanceTimersByTime(250);
    expect(r.status.status).toBe("connecting");
    r.stop();
  });

  it("waits offline without timers, and dials at once on `online`", () => {
    const { r, env, w } = machine({ online: false });
    r.start();
    expect(r.status.status).toBe("offline");
    vi.advanceTimersByTime(120_000);
    expect(w.dials).toBe(0);
    w.online = true;
    env.fire("online");
    expect(w.dials).toBe(1);
    r.stop();
  });

  it("`offline` stops a pending retry; a live connection is left to the heartbeat", () => {
    const { r, env, w } = machine();
    r.start();
    r.connected(live);
    env.fire("offline");
    expect(r.status.status).toBe("live");
    r.lost({ code: 1006, reason: "" });
    env.fire("offline");
    expect(r.status.status).toBe("offline");
    vi.advanceTimersByTime(120_000);
    expect(w.dials).toBe(1);
    r.stop();
  });

  it("a tab becoming visible, or Retry now, skips the wait", () => {
    const { r, env, w } = machine({ random: 0.99, visible: false });
    r.start();
    r.lost({ code: 1006, reason: "" });
    env.fire("visibilitychange");
    expect(w.dials).toBe(1); // still hidden
    w.visible = true;
    env.fire("visibilitychange");
    expect(w.dials).toBe(2);
    r.lost({ code: 1006, reason: "" });
    r.retryNow();
    expect(w.dials).toBe(3);
    r.retryNow(); // connecting: nothing to skip
    expect(w.dials).toBe(3);
    r.stop();
  });

  it("while the tab is visible a wait is at most 5 s, however long the outage; hidden, up to 30 s", () => {
    const { r, w } = machine({ random: 0.999 });
    r.start();
    for (let i = 0; i < 12; i++) {
      const before = w.dials;
      r.lost({ code: 1006, reason: "" });
      vi.advanceTimersByTime(5000);
      expect(w.dials).toBe(before + 1);
    }
    w.visible = false;
    r.lost({ code: 1006, reason: "" });
    expect(r.status.status === "reconnecting" && r.status.retryAt - Date.now()).toBeGreaterThan(29_000);
    r.stop();
  });

  it("`online` and a tab becoming visible dial at once, also from offline, and start the backoff over", () => {
    const { r, env, w } = machine({ random: 0.999, visible: false });
    r.start();
    for (let i = 0; i < 8; i++) r.lost({ code: 1006, reason: "" });
    expect(r.status).toMatchObject({ status: "reconnecting", attempt: 7 });
    env.fire("online");
    expect(w.dials).toBe(2);
    r.lost({ code: 1006, reason: "" });
    expect(r.status).toMatchObject({ status: "reconnecting", attempt: 0 });
    // browser offline, then the tab is shown again once it is back
    w.online = false;
    env.fire("offline");
    expect(r.status.status).toBe("offline");
    w.online = true;
    w.visible = true;
    env.fire("visibilitychange");
    expect(w.dials).toBe(3);
    r.stop();
  });

  it("stop closes for good and forgets the environment", () => {
    const { r, env, w } = machine();
    r.start();
    r.lost({ code: 1006, reason: "" });
    r.stop();
    expect(r.status.status).toBe("closed");
    env.fire("online");
    vi.advanceTimersByTime(120_000);
    r.lost({ code: 1006, reason: "" });
    expect(w.dials).toBe(1);
    expect(r.status.status).toBe("closed");
  });
});
