"use client";
/**
 * The state behind the history panel: the board's events where they are shown
 * (`HistoryLoader`: the newest page on open, older pages on demand, the page
 * around the slider's seq; at most `WINDOW_MAX` in memory), described without
 * replaying the board from its start (`describeRun`), the chosen point on the
 * timeline, the board as it was there (`/history?seq=S`, debounced while the
 * slider moves and the older request cancelled, so dragging over a thousand
 * events sends a handful of requests, not a thousand), and play/pause.
 */
import { useCallback, useEffect, useMemo, useState } from "react";
import { api, type ApiError } from "@/lib/api";
import { describeRun, type KnownVersion } from "@/lib/describeEvent";
import { HistoryLoader } from "@/lib/historyLoader";
import type { BoardEvent, Id, Note } from "@/realtime/protocol";

/** One event of the list, with its sentence. */
export interface HistoryItem {
  event: BoardEvent;
  text: string;
}

/** The board as it was right after event `seq`. */
export interface PastVersion {
  seq: number;
  title: string;
  notes: Note[];
}

/** Consecutive loaded events, seq `from`…`to`, oldest first. */
export interface HistoryRun {
  from: number;
  to: number;
  items: HistoryItem[];
}

export interface BoardHistory {
  /** The loaded events in runs (gaps between them are not loaded), oldest first. */
  runs: HistoryRun[];
  /** The event with this seq, when loaded. */
  itemAt(seq: number): HistoryItem | undefined;
  /** True while a page of events is being read. */
  loadingEvents: boolean;
  /** Reads the page below the run starting at `from` ("Load older"). */
  loadOlder(from: number): void;
  /** Reads the page above the run ending at `to` ("Load newer"). */
  loadNewer(to: number): void;
  /** The lowest seq whose event the server still keeps (0: all of them). */
  floor: number;
  /** The newest seq (the live board). */
  head: number;
  /** The chosen seq; null = live. */
  chosen: number | null;
  choose(seq: number | null): void;
  /** The version shown (may lag `chosen` while it loads). */
  version: PastVersion | null;
  loadingVersion: boolean;
  error: string | null;
  playing: boolean;
  setPlaying(on: boolean): void;
}

/** Quiet time before the chosen version is fetched (ms). */
export const VERSION_DEBOUNCE_MS = 120;
/** Play: one event every this many ms. */
export const PLAY_STEP_MS = 300;

const isAbort = (e: unknown) => e instanceof DOMException && e.name === "AbortError";

export function useBoardHistory(boardId: string, liveSeq: number, open: boolean, liveNotes?: readonly Note[]): BoardHistory {
  // Bumped whenever the loader's window, head or error changes (it is mutable, outside React).
  const [tick, setTick] = useState(0);
  const [chosen, setChosen] = useState<number | null>(null);
  const [version, setVersion] = useState<PastVersion | null>(null);
  const [loadingVersion, setLoadingVersion] = useState(false);
  const [versionError, setVersionError] = useState<string | null>(null);
  const [playing, setPlaying] = useState(false);

  // Events: one loader per opening of the panel.
  const loader = useMemo(
    () =>
      open
        ? new HistoryLoader(
            (after, limit, signal) => api.historyEvents(boardId, after, limit, signal),
            () => setTick((t) => t + 1),
          )
        : null,
    [boardId, open],
  );
  useEffect(() => {
    loader?.start();
    return () => loader?.close();
  }, [loader]);

  // The newest page first, then live events appended at the head (while the newest run reaches it).
  useEffect(() => {
    if (loader && (liveSeq > loader.head || loader.window.size === 0)) void loader.follow(liveSeq);
  }, [loader, liveSeq]);

  const head = Math.max(liveSeq, loader?.head ?? 0);

  // Trimming keeps what is shown.
  useEffect(() => {
    loader?.setFocus(chosen);
  }, [loader, chosen]);

  // The chosen version (and its event's page, unless loaded): fetched once the slider rests; a newer choice cancels the older requests.
  useEffect(() => {
    if (!open || chosen === null) return;
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      if (chosen > 0) void loader?.ensure(chosen, ctl.signal);
      setLoadingVersion(true);
      api.history(boardId, chosen, ctl.signal).then(
        (r) => {
          setVersion({ seq: r.seq, title: r.board.title, notes: r.notes });
          setLoadingVersion(false);
          setVersionError(null);
        },
        (e: unknown) => {
          if (isAbort(e)) return;
          setLoadingVersion(false);
          setVersionError(`Couldn't load version #${chosen}: ${(e as ApiError).message}`);
        },
      );
    }, VERSION_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [boardId, chosen, open, loader]);

  const choose = useCallback(
    (seq: number | null) => {
      setChosen(seq === null || seq >= head ? null : Math.max(0, Math.round(seq)));
      if (seq === null) setPlaying(false);
    },
    [head],
  );

  // Play: one event forward every PLAY_STEP_MS; at the live end it stops there.
  useEffect(() => {
    if (!playing || !open) return;
    const timer = setInterval(() => {
      setChosen((c) => {
        const next = (c ?? -1) + 1;
        if (next >= head) {
          setPlaying(false);
          return null;
        }
        return next;
      });
    }, PLAY_STEP_MS);
    return () => clearInterval(timer);
  }, [playing, open, head]);

  // Sentences: each run on its own, helped by the version on screen and the live notes' texts.
  const shownVersion = chosen === null ? null : version;
  const nowOf = useMemo(() => {
    const texts = new Map<Id, string>(liveNotes?.map((n) => [n.id, n.text]));
    return (id: Id) => texts.get(id);
  }, [liveNotes]);
  const runs = useMemo<HistoryRun[]>(() => {
    if (!loader) return [];
    void tick; // the loader's window changed
    const known: KnownVersion | undefined = shownVersion ?? undefined;
    return loader.window.segments.map((s) => {
      const texts = describeRun(s.events, known, nowOf);
      return { from: s.from, to: s.to, items: s.events.map((event: BoardEvent, i) => ({ event, text: texts[i] })) };
    });
  }, [loader, tick, shownVersion, nowOf]);
  const itemAt = useCallback(
    (seq: number) => {
      const run = runs.find((r) => r.from <= seq && seq <= r.to);
      return run?.items[seq - run.from];
    },
    [runs],
  );
  const loadOlder = useCallback((from: number) => void loader?.older(from), [loader]);
  const loadNewer = useCallback((to: number) => void loader?.newer(to), [loader]);

  return {
    runs,
    itemAt,
    loadingEvents: (loader?.pending ?? 0) > 0,
    loadOlder,
    loadNewer,
    floor: loader?.floor ?? 0,
    head,
    chosen,
    choose,
    version: chosen === null ? null : version,
    loadingVersion: loadingVersion && chosen !== null,
    error: versionError ?? loader?.error ?? null,
    playing,
    setPlaying: (on: boolean) => {
      if (on && chosen === null) setChosen(0);
      setPlaying(on);
    },
  };
}
