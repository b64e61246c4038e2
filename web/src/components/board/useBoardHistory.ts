"use client";
/**
 * The state behind the history panel: the board's events (read page by page
 * from `/history/events`, described as they come), the chosen point on the
 * timeline, the board as it was there (`/history?seq=S`, debounced while the
 * slider moves and the older request cancelled, so dragging over a thousand
 * events sends a handful of requests, not a thousand), and play/pause.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, type ApiError } from "@/lib/api";
import { NoteNames } from "@/lib/describeEvent";
import type { BoardEvent, Note } from "@/realtime/protocol";

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

export interface BoardHistory {
  /** Events loaded so far, oldest first. */
  items: HistoryItem[];
  /** The event with this seq, when loaded. */
  itemAt(seq: number): HistoryItem | undefined;
  /** True until every event up to the board's seq is loaded. */
  loadingEvents: boolean;
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

/** Events per page of `/history/events` (the server allows 1–1000). */
export const EVENTS_PAGE = 500;
/** Quiet time before the chosen version is fetched (ms). */
export const VERSION_DEBOUNCE_MS = 120;
/** Play: one event every this many ms. */
export const PLAY_STEP_MS = 300;

const isAbort = (e: unknown) => e instanceof DOMException && e.name === "AbortError";

export function useBoardHistory(boardId: string, liveSeq: number, open: boolean): BoardHistory {
  const [items, setItems] = useState<HistoryItem[]>([]);
  const [serverSeq, setServerSeq] = useState(0);
  const [loadingEvents, setLoadingEvents] = useState(false);
  const [chosen, setChosen] = useState<number | null>(null);
  const [version, setVersion] = useState<PastVersion | null>(null);
  const [loadingVersion, setLoadingVersion] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [playing, setPlaying] = useState(false);
  const names = useRef(new NoteNames());
  const loaded = useRef(0);
  const head = Math.max(liveSeq, serverSeq);

  // Events: from the first, page after page, and again whenever live events go past what is loaded.
  useEffect(() => {
    if (!open || (loaded.current >= liveSeq && loaded.current > 0)) return;
    const ctl = new AbortController();
    setLoadingEvents(true);
    (async () => {
      for (;;) {
        const page = await api.historyEvents(boardId, loaded.current, EVENTS_PAGE, ctl.signal);
        // A newer load may have started from the same point: only one of them appends.
        if (ctl.signal.aborted) return;
        setServerSeq(page.seq);
        if (page.events.length === 0) break;
        const described = page.events.map((event) => ({ event, text: names.current.describe(event) }));
        loaded.current = page.events[page.events.length - 1].seq;
        setItems((old) => [...old, ...described]);
        if (loaded.current >= page.seq) break;
      }
    })().then(
      () => setLoadingEvents(false),
      (e: unknown) => {
        if (isAbort(e)) return;
        setLoadingEvents(false);
        setError(`Couldn't load the history: ${(e as ApiError).message}`);
      },
    );
    return () => ctl.abort();
  }, [boardId, liveSeq, open]);

  // The chosen version: fetched once the slider rests; a newer choice cancels the older request.
  useEffect(() => {
    if (!open || chosen === null) return;
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      setLoadingVersion(true);
      api.history(boardId, chosen, ctl.signal).then(
        (r) => {
          setVersion({ seq: r.seq, title: r.board.title, notes: r.notes });
          setLoadingVersion(false);
          setError(null);
        },
        (e: unknown) => {
          if (isAbort(e)) return;
          setLoadingVersion(false);
          setError(`Couldn't load version #${chosen}: ${(e as ApiError).message}`);
        },
      );
    }, VERSION_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      ctl.abort();
    };
  }, [boardId, chosen, open]);

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

  const bySeq = useMemo(() => new Map(items.map((i) => [i.event.seq, i])), [items]);
  const itemAt = useCallback((seq: number) => bySeq.get(seq), [bySeq]);

  return {
    items,
    itemAt,
    loadingEvents,
    head,
    chosen,
    choose,
    version: chosen === null ? null : version,
    loadingVersion: loadingVersion && chosen !== null,
    error,
    playing,
    setPlaying: (on: boolean) => {
      if (on && chosen === null) setChosen(0);
      setPlaying(on);
    },
  };
}
