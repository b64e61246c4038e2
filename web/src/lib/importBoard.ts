/**
 * Creating an imported board's notes: REST `POST /api/boards/{b}/notes`, a few
 * at a time, each with its own op id (so a retry never makes a second note),
 * waiting out `rate_limited` and retrying transient errors. Which notes failed
 * is returned, so the user can retry exactly those.
 */
import { isTransient, type RpcError } from "@/realtime/errors";
import type { NoteCreate } from "@/realtime/protocol";
import type { BoardFileNote } from "./boardFile";

/** A note to create, with the op id that makes its retries safe. */
export interface ImportItem {
  note: BoardFileNote;
  op: string;
}

export interface ImportDeps {
  create(body: NoteCreate): Promise<unknown>;
  sleep?(ms: number): Promise<void>;
  /** Called after each note settles (created or failed for good). */
  progress?(done: number, total: number): void;
}

export interface ImportResult {
  created: number;
  failed: { item: ImportItem; error: RpcError }[];
}

/** Requests in flight at once: enough to be quick, few enough to stay under the REST mutation rate. */
export const IMPORT_CONCURRENCY = 4;
/** Tries per note for transient errors (rate limits are waited out and not counted). */
const MAX_TRIES = 4;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Creates every item, `concurrency` at a time; never rejects. */
export async function importNotes(items: readonly ImportItem[], deps: ImportDeps, concurrency = IMPORT_CONCURRENCY): Promise<ImportResult> {
  const sleep = deps.sleep ?? defaultSleep;
  const result: ImportResult = { created: 0, failed: [] };
  let next = 0;
  let done = 0;
  const one = async (item: ImportItem) => {
    const body: NoteCreate = { ...item.note, op: item.op };
    for (let attempt = 1; ; ) {
      try {
        await deps.create(body);
        result.created++;
        return;
      } catch (e) {
        const err = e as RpcError;
        const retryAfter = Number(err.details?.retry_after);
        if (err.code === "rate_limited" && Number.isFinite(retryAfter)) {
          await sleep(Math.max(0.05, retryAfter) * 1000);
          continue;
        }
        if (isTransient(err.code) && attempt < MAX_TRIES) {
          await sleep(250 * 2 ** attempt);
          attempt++;
          continue;
        }
        result.failed.push({ item, error: err });
        return;
      }
    }
  };
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await one(item);
      deps.progress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return result;
}
