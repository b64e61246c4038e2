import { afterEach, describe, expect, it, vi } from "vitest";
import { mulberry32, regressions, testSeed } from "./seed";

describe("test seeds", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("mulberry32 replays the same sequence in [0, 1) for the same seed", () => {
    const a = mulberry32(1234);
    const b = mulberry32(1234);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBe(xs.length);
    expect(mulberry32(1235)()).not.toBe(xs[0]);
  });

  it("takes CORKBOARD_SEED when set, folds a 64-bit one and rejects a bad one", () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    vi.stubEnv("CORKBOARD_SEED", "4242");
    expect(testSeed("f.test.ts", "t")).toBe(4242);
    expect(log).toHaveBeenCalledWith(expect.stringContaining('CORKBOARD_SEED=4242 npx vitest run f.test.ts -t "t"'));
    vi.stubEnv("CORKBOARD_SEED", String(2 ** 32 + 5)); // a Rust-sized seed: high ^ low
    expect(testSeed("f.test.ts", "t")).toBe(4);
    vi.stubEnv("CORKBOARD_SEED", "-1");
    expect(() => testSeed("f.test.ts", "t")).toThrow(/CORKBOARD_SEED/);
    vi.stubEnv("CORKBOARD_SEED", "18446744073709551616"); // 2^64
    expect(() => testSeed("f.test.ts", "t")).toThrow(/CORKBOARD_SEED/);
    vi.stubEnv("CORKBOARD_SEED", "");
    const s = testSeed("f.test.ts", "t");
    expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
    log.mockRestore();
  });

  it("runs each regression seed with its own PRNG", () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const ran: [number, number][] = [];
    regressions("f.test.ts", "t", [{ name: "a", seed: 7, caught: "x" }, { name: "b", seed: 9, caught: "y" }], (r, s) =>
      ran.push([s, r()]),
    );
    expect(ran).toEqual([
      [7, mulberry32(7)()],
      [9, mulberry32(9)()],
    ]);
    log.mockRestore();
  });
});
