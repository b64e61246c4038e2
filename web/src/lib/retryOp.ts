/**
 * One `op` id per intended action, so that retrying it (after a network
 * error, or a second click) sends the same id and the server applies it
 * once: a retried board create makes no second board. Another action (a
 * different key, e.g. another title) gets a fresh id.
 */
export class RetryOp {
  private current: { key: string; op: string } | null = null;

  constructor(private readonly uuid: () => string = () => crypto.randomUUID()) {}

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
