/**
 * The RPCs in flight on one connection, by id.
 *
 * Exists because the server answers `rpc` frames in any order (it runs them
 * concurrently): each call gets an id, a timer, and exactly one outcome —
 * the server's result or error, a timeout, or the connection's loss. What an
 * outcome means is the caller's business: a plain RPC rejects on a timeout,
 * the outbox keeps its mutation for the next connection.
 */
import { RpcError } from "./errors";
import type { ClientMessage, ErrorMessage, ResultMessage, RpcMethod } from "./protocol";

export type RpcOutcome =
  | { kind: "result"; result: unknown }
  | { kind: "error"; error: RpcError }
  /** No answer within the call's timeout. */
  | { kind: "timeout" }
  /** The connection went away (or was closed) with the call unanswered. */
  | { kind: "lost"; error: RpcError };

interface Call {
  settle(outcome: RpcOutcome): void;
  timer: ReturnType<typeof setTimeout>;
}

export class RpcTable {
  private readonly calls = new Map<string, Call>();
  private nextId = 1;

  constructor(private readonly send: (msg: ClientMessage) => boolean) {}

  /** Sends `method`; `settle` is called exactly once, later. False (and no call) when the frame could not be sent. */
  call(method: RpcMethod, params: unknown, timeoutMs: number, settle: (outcome: RpcOutcome) => void): boolean {
    const id = `r${this.nextId++}`;
    if (!this.send({ type: "rpc", id, method, params })) return false;
    const timer = setTimeout(() => {
      if (this.calls.delete(id)) settle({ kind: "timeout" });
    }, timeoutMs);
    this.calls.set(id, { settle, timer });
    return true;
  }

  /** Settles the call a `result` or `error` frame answers. False when no call in flight has its id. */
  answer(msg: ResultMessage | ErrorMessage): boolean {
    // Our ids are strings; a null id answers no call (a message the server could not read).
    if (typeof msg.id !== "string") return false;
    const call = this.calls.get(msg.id);
    if (!call) return false;
    this.calls.delete(msg.id);
    clearTimeout(call.timer);
    call.settle(msg.type === "result" ? { kind: "result", result: msg.result } : { kind: "error", error: RpcError.fromMessage(msg) });
    return true;
  }

  /** Every call in flight settles as lost with `error`. */
  failAll(error: RpcError): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) {
      clearTimeout(call.timer);
      call.settle({ kind: "lost", error });
    }
  }

  get size(): number {
    return this.calls.size;
  }
}
