import type { ErrorCode, ErrorDetails, ErrorMessage, ErrorObject } from "./protocol";

/** An error answered by the server (RPC `error` frame or HTTP error body), or a local transport failure. */
export class RpcError extends Error {
  readonly code: ErrorCode;
  readonly details?: ErrorDetails;
  readonly status?: number;

  constructor(err: ErrorObject, status?: number) {
    super(err.message);
    this.name = "RpcError";
    this.code = err.code;
    this.details = err.details;
    this.status = status;
  }

  /** From an `error` message: the wire leaves `details` open; the client reads it as `ErrorDetails`. */
  static fromMessage(msg: ErrorMessage): RpcError {
    return new RpcError({ ...msg.error, details: msg.error.details as ErrorDetails | undefined });
  }
}

/** Errors worth retrying later with the same op id (the server applied nothing). */
export function isTransient(code: ErrorCode): boolean {
  return code === "rate_limited" || code === "unavailable";
}
