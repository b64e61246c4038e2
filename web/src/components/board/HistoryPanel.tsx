"use client";
import { useEffect, useRef } from "react";
import { Button, Spinner } from "@/components/ui";
import { HistoryList } from "./HistoryList";
import type { BoardHistory, HistoryItem } from "./useBoardHistory";

/** "ann · 1 Dec, 14:03" for an event. */
export function eventByline(item: HistoryItem | undefined): string {
  if (!item) return "";
  return `${item.event.by.username}, ${new Date(item.event.at).toLocaleString()}`;
}

/**
 * The history side panel: a slider over the board's seq (0 … now) with the
 * author and time of the chosen event, step back/forward, play/pause, the
 * list of events (`HistoryList`) and "Restore this version". Escape closes it.
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
        <label htmlFor="history-slider" className="flex items-baseline justify-between text-xs text-stone-500 dark:text-stone-400">
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
      <HistoryList
        runs={runs}
        head={head}
        floor={floor}
        chosen={chosen}
        loadingEvents={loadingEvents}
        choose={choose}
        loadOlder={loadOlder}
        loadNewer={loadNewer}
      />
    </aside>
  );
}
