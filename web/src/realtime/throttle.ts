/**
 * Leading + trailing throttle: calls `fn` at most once per `intervalMs`; the
 * newest arguments of a burst are always delivered (what cursors need).
 */
export function throttle<A extends unknown[]>(
  fn: (...args: A) => void,
  intervalMs: number,
): ((...args: A) => void) & { cancel(): void } {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: A | null = null;

  const fire = () => {
    timer = null;
    if (pending) {
      const args = pending;
      pending = null;
      last = Date.now();
      fn(...args);
    }
  };

  const throttled = (...args: A) => {
    const wait = last + intervalMs - Date.now();
    if (wait <= 0 && !timer) {
      last = Date.now();
      fn(...args);
      return;
    }
    pending = args;
    if (!timer) timer = setTimeout(fire, Math.max(0, wait));
  };
  throttled.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    pending = null;
  };
  return throttled;
}
