"use client";
import { Fragment, useEffect, useRef, type UIEvent } from "react";
import { Button, Spinner } from "@/components/ui";
import type { BoardHistory, HistoryItem } from "./useBoardHistory";

/** "ann · 1 Dec, 14:03" for an event. */
export function eventByline(item: HistoryItem | undefined): string {
  if (!item) return "";
  return `${item.event.by.username}, ${new Date(item.event.at).toLocaleString()}`;
}

/** Pixels from the list's end at which the next older page is read. */
const LOAD_OLDER_MARGIN = 48;

const count = (n: number) => `${n.toLocaleString()} change${n === 1 ? "" : "s"}`;

/**
 * The history side panel: a slider over the board's seq (0 … now) with the
 * author and time of the chosen event, step back/forward, play/pause, the
 * list of events ("who changed what", newest first; click one to see the
 * board right after it; scrolling to its end reads older ones, and a row
 * between runs says how many changes are not loaded, with a button to read
 * them) and "Restore this version". Escape closes it.
 */
export function HistoryPanel({
  history,
  canRestore,
  restoring,
  onRestore,
  onClose,
}: {
  history: BoardHistory;
  canRestore: boolean;
  restoring: boolean;
  onRestore(): void;
  onClose(): void;
}) {
  const { head, chosen, choose, runs, itemAt, loadOlder, loadNewer, floor, playing, setPlaying, version, loadingVersion, loadingEvents, error } = history;
  const at = chosen ?? head;
  const current = itemAt(at);
  const sliderRef = useRef<HTMLInputElement>(null);

  useEffect(() => sliderRef.current?.focus(), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const lowest = runs.length ? runs[0].from : 0;
  const canLoadOlder = runs.length > 0 && lowest > floor + 1;
  // Scrolled to the end of the list: the page below it.
  const onScroll = (e: UIEvent<HTMLOListElement>) => {
    const el = e.currentTarget;
    if (canLoadOlder && !loadingEvents && el.scrollTop + el.clientHeight >= el.scrollHeight - LOAD_OLDER_MARGIN) loadOlder(lowest);
  };
  const newestFirst = [...runs].reverse();
  const gapRow = (above: number, below: number, key: string) => (
    <li key={key} className="flex items-center gap-2 px-4 py-2 text-xs text-stone-500" data-testid="history-gap">
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
    <aside
      aria-label="Board history"
      data-testid="history-panel"
      className="absolute inset-y-0 right-0 z-30 flex w-full max-w-sm flex-col border-l border-stone-200 bg-white shadow-xl dark:border-stone-800 dark:bg-stone-950"
    >
      <div className="flex items-center justify-between border-b border-stone-200 px-4 py-3 dark:border-stone-800">
        <h2 className="text-sm font-semibold">History</h2>
        <Button size="sm" variant="ghost" aria-label="Close history" onClick={onClose}>
          ✕
        </Button>
      </div>
      <div className="space-y-2 border-b border-stone-200 px-4 py-3 dark:border-stone-800">
        <label htmlFor="history-slider" className="flex items-baseline justify-between text-xs text-stone-500">
          <span>
            {chosen === null ? "Live" : `Version #${chosen}`}
            {loadingVersion && <Spinner className="ml-1 inline h-3 w-3" />}
          </span>
          <span data-testid="history-byline">{at === 0 ? "board created" : eventByline(current)}</span>
        </label>
        <input
          ref={sliderRef}
          id="history-slider"
          type="range"
          min={0}
          max={head}
          step={1}
          value={at}
          aria-valuetext={chosen === null ? `live, #${head}` : `version ${chosen}${current ? `: ${current.text}` : ""}`}
          onChange={(e) => choose(Number(e.target.value))}
          className="w-full accent-brand-500"
        />
        <div className="flex items-center gap-1">
          <Button size="sm" variant="ghost" aria-label="Step back" disabled={at <= 0} onClick={() => choose(at - 1)}>
            ◀
          </Button>
          <Button size="sm" variant="ghost" aria-label={playing ? "Pause" : "Play"} disabled={head === 0} onClick={() => setPlaying(!playing)}>
            {playing ? "❚❚" : "▶"}
          </Button>
          <Button size="sm" variant="ghost" aria-label="Step forward" disabled={chosen === null} onClick={() => choose(at + 1)}>
            ▶▎
          </Button>
          <div className="flex-1" />
          <Button size="sm" variant="ghost" disabled={chosen === null} onClick={() => choose(null)}>
            Live
          </Button>
          {canRestore && (
            <Button
              size="sm"
              variant="primary"
              disabled={chosen === null || !version || version.seq !== chosen || restoring}
              onClick={onRestore}
            >
              {restoring && <Spinner />} Restore this version
            </Button>
          )}
        </div>
        {current && chosen !== null && <p className="text-sm">{current.text}</p>}
        {error && (
          <p role="alert" className="text-sm text-red-600 dark:text-red-400">
            {error}
          </p>
        )}
      </div>
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
                  <span className="mr-2 text-xs tabular-nums text-stone-400">#{i.event.seq}</span>
                  {i.text}
                  <span className="block text-xs text-stone-500">{new Date(i.event.at).toLocaleString()}</span>
                </button>
              </li>
            ))}
          </Fragment>
        ))}
        {loadingEvents && (
          <li className="flex justify-center py-3 text-stone-500">
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
          <li className="px-4 py-2 text-xs text-stone-500">Changes up to #{floor} are no longer kept.</li>
        )}
      </ol>
    </aside>
  );
}
