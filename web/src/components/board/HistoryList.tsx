"use client";
import { Fragment, memo, type UIEvent } from "react";
import { Button, Spinner } from "@/components/ui";
import type { HistoryRun } from "./useBoardHistory";

/** Pixels from the list's end at which the next older page is read. */
const LOAD_OLDER_MARGIN = 48;

const count = (n: number) => `${n.toLocaleString()} change${n === 1 ? "" : "s"}`;

/**
 * The history panel's list: "who changed what", newest first; click one to
 * see the board right after it. Only loaded runs are listed: scrolling to the
 * end reads older events, and a row between runs says how many changes are
 * not loaded, with buttons to read them. Memoised: up to 2,000 rows, not
 * redrawn for cursor moves and other board renders.
 */
export const HistoryList = memo(function HistoryList({
  runs,
  head,
  floor,
  chosen,
  loadingEvents,
  choose,
  loadOlder,
  loadNewer,
}: {
  runs: HistoryRun[];
  head: number;
  floor: number;
  chosen: number | null;
  loadingEvents: boolean;
  choose(seq: number): void;
  loadOlder(from: number): void;
  loadNewer(to: number): void;
}) {
  const lowest = runs.length ? runs[0].from : 0;
  const canLoadOlder = runs.length > 0 && lowest > floor + 1;
  // Scrolled to the end of the list: the page below it.
  const onScroll = (e: UIEvent<HTMLOListElement>) => {
    const el = e.currentTarget;
    if (canLoadOlder && !loadingEvents && el.scrollTop + el.clientHeight >= el.scrollHeight - LOAD_OLDER_MARGIN) loadOlder(lowest);
  };
  const newestFirst = [...runs].reverse();
  const gapRow = (above: number, below: number, key: string) => (
    <li key={key} className="flex items-center gap-2 px-4 py-2 text-xs text-stone-500 dark:text-stone-400" data-testid="history-gap">
      <span className="flex-1">{count(above - below - 1)} not loaded</span>
      <Button size="sm" variant="ghost" disabled={loadingEvents} onClick={() => loadNewer(below)}>
        Load newer
      </Button>
      <Button size="sm" variant="ghost" disabled={loadingEvents} onClick={() => loadOlder(above)}>
        Load older
      </Button>
    </li>
  );

  return (
    <ol aria-label="Changes, newest first" onScroll={onScroll} className="min-h-0 flex-1 overflow-y-auto py-1 text-sm">
      {runs.length > 0 && runs[runs.length - 1].to < head && gapRow(head + 1, runs[runs.length - 1].to, "gap-head")}
      {newestFirst.map((run, r) => (
        <Fragment key={run.from}>
          {r > 0 && gapRow(newestFirst[r - 1].from, run.to, `gap-${run.to}`)}
          {[...run.items].reverse().map((i) => (
            <li key={i.event.seq}>
              <button
                type="button"
                data-seq={i.event.seq}
                aria-current={i.event.seq === chosen ? "step" : undefined}
                onClick={() => choose(i.event.seq)}
                className={`block w-full px-4 py-1.5 text-left hover:bg-stone-100 dark:hover:bg-stone-900 ${
                  i.event.seq === chosen ? "bg-brand-500/10 font-medium" : ""
                }`}
              >
                <span className="mr-2 text-xs tabular-nums text-stone-500 dark:text-stone-400">#{i.event.seq}</span>
                {i.text}
                <span className="block text-xs text-stone-500 dark:text-stone-400">{new Date(i.event.at).toLocaleString()}</span>
              </button>
            </li>
          ))}
        </Fragment>
      ))}
      {loadingEvents && (
        <li className="flex justify-center py-3 text-stone-500 dark:text-stone-400">
          <Spinner />
        </li>
      )}
      {canLoadOlder && !loadingEvents && (
        <li className="px-4 py-2">
          <Button size="sm" variant="ghost" onClick={() => loadOlder(lowest)}>
            Load older ({count(lowest - floor - 1)})
          </Button>
        </li>
      )}
      {floor > 0 && !canLoadOlder && runs.length > 0 && (
        <li className="px-4 py-2 text-xs text-stone-500 dark:text-stone-400">Changes up to #{floor} are no longer kept.</li>
      )}
    </ol>
  );
});
