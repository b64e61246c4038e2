import type { ErrorCode, ErrorDetails, ErrorObject } from "./protocol";

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
}

/** Errors worth retrying later with the same op id (the server applied nothing). */
export function isTransient(code: ErrorCode): boolean {
  return code === "rate_limited" || code === "unavailable";
}
