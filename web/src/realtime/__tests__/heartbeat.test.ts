import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Heartbeat } from "../heartbeat";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function heartbeat() {
  const log: string[] = [];
  const hb = new Heartbeat({ ping: () => log.push("ping"), dead: () => log.push("dead") });
  return { hb, log };
}

describe("Heartbeat", () => {
  it("pings every interval while pongs come back", () => {
    const { hb, log } = heartbeat();
    hb.start(1000);
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(1000);
      hb.pong();
    }
    expect(log).toEqual(["ping", "ping", "ping", "ping", "ping"]);
    hb.stop();
  });

  it("declares the connection dead after two pongs missed, then stops", () => {
    const { hb, log } = heartbeat();
    hb.start(1000);
    vi.advanceTimersByTime(1000); // ping 1
    vi.advanceTimersByTime(1000); // missed 1, ping 2
    expect(log).toEqual(["ping", "ping"]);
    vi.advanceTimersByTime(1000); // missed 2
    expect(log).toEqual(["ping", "ping", "dead"]);
    vi.advanceTimersByTime(10_000);
    expect(log).toHaveLength(3);
  });

  it("anything heard from the server counts as alive", () => {
    const { hb, log } = heartbeat();
    hb.start(1000);
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(1000);
      hb.heard(); // e.g. an event, but no pong
    }
    expect(log).not.toContain("dead");
    hb.stop();
  });

  it("a restart (a new welcome) starts counting afresh at the new interval", () => {
    const { hb, log } = heartbeat();
    hb.start(1000);
    vi.advanceTimersByTime(2000); // ping, missed 1 + ping
    hb.start(5000);
    vi.advanceTimersByTime(4999);
    expect(log).toEqual(["ping", "ping"]);
    vi.advanceTimersByTime(1);
    expect(log).toEqual(["ping", "ping", "ping"]);
    hb.stop();
  });
});
