/**
 * Seeds for the randomized tests: the one place that decides them.
 *
 * A randomized test calls `seeded(file, name)` and draws every random number
 * from the `random` it returns (mulberry32, a small seeded PRNG). The seed is
 * `CORKBOARD_SEED` when set, otherwise fresh and random; either way the test
 * prints it with the command that replays it.
 *
 * A seed that once failed stays as a regression: the test keeps a
 * `RegressionSeed[]` list next to it, replayed by a named test whatever
 * `CORKBOARD_SEED` says. To add one, append `{ name, seed, caught }` with
 * `caught` saying what it found (and the fixing commit).
 */

export const SEED_ENV = "CORKBOARD_SEED";

/** A seed that once made a randomized test fail. */
export interface RegressionSeed {
  name: string;
  seed: number;
  /** What the seed caught, and where it was fixed (commit). */
  caught: string;
}

/** mulberry32: a 32-bit seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The command that reruns test `name` of `file` (relative to web/) with `seed`. */
export function replay(seed: number, file: string, name: string): string {
  return `cd web && ${SEED_ENV}=${seed} npx vitest run ${file} -t ${JSON.stringify(name)}`;
}

/**
 * The seed for test `name` in `file` (relative to web/): `CORKBOARD_SEED` when
 * set, else a fresh random one. Seeds are 32-bit; a larger one (the Rust
 * tests take any u64, and `CORKBOARD_SEED` may be set for both) is folded
 * to 32 bits, high half XOR low half. Prints the seed and how to replay it.
 */
export function testSeed(file: string, name: string): number {
  const env = process.env[SEED_ENV]?.trim();
  let seed: number;
  if (env) {
    if (!/^[0-9]{1,20}$/.test(env) || BigInt(env) >= 2n ** 64n) {
      throw new Error(`${SEED_ENV}=${JSON.stringify(env)} is not an unsigned 64-bit integer`);
    }
    const big = BigInt(env);
    seed = Number(BigInt.asUintN(32, big ^ (big >> 32n)));
  } else {
    seed = Math.floor(Math.random() * 2 ** 32);
  }
  console.error(`seed = ${seed} (replay: ${replay(seed, file, name)})`);
  return seed;
}

/** `testSeed` with its PRNG. */
export function seeded(file: string, name: string): { seed: number; random: () => number } {
  const seed = testSeed(file, name);
  return { seed, random: mulberry32(seed) };
}

/** Runs `run` with each regression seed of test `name`, printing which one runs. */
export function regressions(
  file: string,
  name: string,
  seeds: readonly RegressionSeed[],
  run: (random: () => number, seed: number) => void,
): void {
  for (const r of seeds) {
    console.error(
      `${name}: regression ${JSON.stringify(r.name)}, seed = ${r.seed} (${r.caught}); alone: ${replay(r.seed, file, name)}`,
    );
    run(mulberry32(r.seed), r.seed);
  }
}
