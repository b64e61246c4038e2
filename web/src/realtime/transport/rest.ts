/**
 * The WebSocket RPCs the board client uses, as their REST twins
 * (docs/protocol.md, the method table under "WebSocket").
 *
 * Exists so that the HTTP fallback can carry the same mutations, with the
 * same `op` ids, as the WebSocket: the server shares the idempotency keys
 * between REST and RPC, so an entry the outbox replays over either transport
 * is applied once.
 */
import type { RpcMethod } from "../protocol";

/** One HTTP request standing for an RPC. */
export interface RestCall {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  body?: Record<string, unknown>;
  /** Turns the REST answer into the RPC's result (they differ for `board.rename`). */
  result(json: unknown): unknown;
}

const same = (json: unknown) => json;
const seg = (v: unknown) => encodeURIComponent(String(v));

/** Params without the ids the path carries. */
function rest(params: Record<string, unknown>, ...drop: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (!drop.includes(k) && v !== undefined) out[k] = v;
  return out;
}

/** The REST request for `method`, or null for a method without a twin here. */
export function restCallFor(method: string, params: Record<string, unknown>): RestCall | null {
  const board = `/api/boards/${seg(params.board)}`;
  const note = `${board}/notes/${seg(params.id)}`;
  const known = method as RpcMethod;
  switch (known) {
    case "note.create":
      return { method: "POST", path: `${board}/notes`, body: rest(params, "board"), result: same };
    case "note.update":
      return { method: "PATCH", path: note, body: rest(params, "board", "id"), result: same };
    case "note.delete":
      return { method: "DELETE", path: note, body: rest(params, "board", "id"), result: same };
    case "note.edit":
      return { method: "POST", path: `${note}/edit`, body: rest(params, "board", "id"), result: same };
    case "note.restore":
      return { method: "POST", path: `${note}/restore`, body: rest(params, "board", "id"), result: same };
    case "note.text_state":
      return { method: "GET", path: `${note}/text_state`, result: same };
    case "board.get":
      return { method: "GET", path: board, result: same };
    case "board.rename":
      // REST answers the Board; the RPC wraps it as `{board}`.
      return { method: "PATCH", path: board, body: rest(params, "board"), result: (json) => ({ board: json }) };
    default: {
      const unhandled: never = known;
      void unhandled;
      return null;
    }
  }
}
