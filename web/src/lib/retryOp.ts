/**
 * One `op` id per intended action, so that retrying it (after a network
 * error, or a second click) sends the same id and the server applies it
 * once: a retried board create makes no second board. Another action (a
 * different key, e.g. another title) gets a fresh id.
 */
export class RetryOp {
  private current: { key: string; op: string } | null = null;

  constructor(private readonly uuid: () => string = randomUuid) {}

  /** The op id for the action `key`: the pending one if it is the same action. */
  for(key: string): string {
    if (!this.current || this.current.key !== key) this.current = { key, op: this.uuid() };
    return this.current.op;
  }

  /** The action succeeded: the next one is new. */
  done(): void {
    this.current = null;
  }
}

/**
 * A random (v4) UUID. `crypto.randomUUID` exists only in secure contexts
 * (HTTPS or localhost); over plain HTTP elsewhere it is built from
 * `getRandomValues`, which browsers offer everywhere, so creating a board
 * never fails for want of an id.
 */
export function randomUuid(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
