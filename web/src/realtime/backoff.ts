/** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */

export interface BackoffOptions {
  /** Delay ceiling for the first retry, in ms. */
  baseMs: number;
  /** Upper bound of any delay, in ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000 };

/** The largest delay for retry number `attempt` (0-based): min(cap, base · 2^attempt). */
export function backoffCeiling(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  // 2^attempt overflows to Infinity long after it passes any sane cap; min() handles that.
  return Math.min(opts.capMs, opts.baseMs * 2 ** Math.max(0, attempt));
}

/** Full jitter: a uniformly random delay in [0, ceiling). */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * backoffCeiling(attempt, opts));
}
