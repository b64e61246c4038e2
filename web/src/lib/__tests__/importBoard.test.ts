import { describe, expect, it } from "vitest";
import { RpcError } from "@/realtime/errors";
import type { NoteCreate } from "@/realtime/protocol";
import { importNotes, type ImportItem } from "../importBoard";

const items = (n: number): ImportItem[] =>
  Array.from({ length: n }, (_, i) => ({ op: `op-${i}`, note: { x: i, y: 0, w: 10, h: 10, color: "yellow", text: `${i}` } }));

describe("importNotes", () => {
  it("creates every note with its op, never more than `concurrency` at once, and reports progress", async () => {
    let inFlight = 0;
    let most = 0;
    const bodies: NoteCreate[] = [];
    const progress: number[] = [];
    const r = await importNotes(
      items(10),
      {
        create: async (b) => {
          bodies.push(b);
          most = Math.max(most, ++inFlight);
          await new Promise((res) => setTimeout(res, 1));
          inFlight--;
        },
        progress: (done) => progress.push(done),
      },
      3,
    );
    expect(r).toEqual({ created: 10, failed: [] });
    expect(most).toBe(3);
    expect(bodies.map((b) => b.op).sort()).toEqual(items(10).map((i) => i.op).sort());
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("waits out rate limits and retries with the same op; reports what the server refused", async () => {
    const waits: number[] = [];
    const seen: string[] = [];
    let limited = false;
    const r = await importNotes(
      items(2),
      {
        create: async (b) => {
          seen.push(b.op ?? "");
          if (b.op === "op-0" && !limited) {
            limited = true;
            throw new RpcError({ code: "rate_limited", message: "slow down", details: { retry_after: 0.5 } });
          }
          if (b.op === "op-1") throw new RpcError({ code: "too_large", message: "board full", details: { limit: 1 } });
        },
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
      1,
    );
    expect(waits).toEqual([500]);
    expect(seen).toEqual(["op-0", "op-0", "op-1"]);
    expect(r.created).toBe(1);
    expect(r.failed.map((f) => [f.item.op, f.error.code])).toEqual([["op-1", "too_large"]]);
  });
});
