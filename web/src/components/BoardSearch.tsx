"use client";
import { useEffect, useId, useRef, useState } from "react";
import { api, ApiError, type SearchResult } from "@/lib/api";
import { highlightParts } from "@/lib/highlight";
import { boardPath } from "@/lib/nav";
import { Spinner } from "./ui";

/** Waits this long after the last keystroke before asking the server. */
export const SEARCH_DEBOUNCE_MS = 200;

const noteDot: Record<string, string> = {
  yellow: "bg-yellow-300",
  pink: "bg-pink-300",
  blue: "bg-sky-300",
  green: "bg-green-300",
  purple: "bg-violet-300",
  gray: "bg-stone-300",
};

/** The snippet with its matched words in `<mark>`s: text nodes only, never HTML. */
export function Highlighted({ snippet, highlights }: { snippet: string; highlights: SearchResult["highlights"] }) {
  return (
    <>
      {highlightParts(snippet, highlights).map((p, i) =>
        p.match ? (
          <mark key={i} className="rounded-sm bg-amber-200 px-0.5 text-stone-900 dark:bg-amber-400/80">
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

type Found =
  | { status: "idle" }
  | { status: "loading"; q: string }
  | { status: "done"; q: string; results: SearchResult[] }
  | { status: "error"; q: string; message: string };

/**
 * Search across the caller's boards and notes (`GET /api/search`), on the
 * boards list. Ctrl/⌘+K focuses it from anywhere on the page; results come
 * 200 ms after the last keystroke (an older request still on its way is
 * aborted); a result opens the board, on its note when it is one
 * (`/boards/{id}/?note=…`). Arrow keys move between the input and the
 * results; Escape clears the search.
 */
export function BoardSearch() {
  const [q, setQ] = useState("");
  const [found, setFound] = useState<Found>({ status: "idle" });
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLUListElement>(null);
  const listId = useId();

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
        e.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    const query = q.trim();
    // An empty box shows nothing (see `showing`); the last results wait for the next query.
    if (!query) return;
    const abort = new AbortController();
    const t = setTimeout(() => {
      setFound((f) => (f.status === "done" ? f : { status: "loading", q: query }));
      api.search(query.slice(0, 200), 20, abort.signal).then(
        (r) => setFound({ status: "done", q: query, results: r.results }),
        (e: ApiError) => {
          if (!abort.signal.aborted) setFound({ status: "error", q: query, message: e.message });
        },
      );
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      clearTimeout(t);
      abort.abort();
    };
  }, [q]);

  const links = () => Array.from(list.current?.querySelectorAll<HTMLAnchorElement>("a[data-result]") ?? []);
  const onListKey = (e: React.KeyboardEvent) => {
    const all = links();
    const at = all.indexOf(document.activeElement as HTMLAnchorElement);
    if (e.key === "ArrowDown") {
      e.preventDefault();
      all[Math.min(all.length - 1, at + 1)]?.focus();
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      if (at <= 0) input.current?.focus();
      else all[at - 1]?.focus();
    } else if (e.key === "Escape") {
      setQ("");
      input.current?.focus();
    }
  };

  const showing = found.status !== "idle" && q.trim() !== "";
  return (
    <div className="relative w-full sm:max-w-md" onKeyDown={onListKey}>
      <label htmlFor={`${listId}-q`} className="sr-only">
        Search boards and notes
      </label>
      <div className="relative">
        <svg viewBox="0 0 20 20" className="pointer-events-none absolute left-3 top-1/2 h-4 w-4 -translate-y-1/2 text-stone-500" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
          <circle cx="9" cy="9" r="5.5" />
          <path d="m13.5 13.5 3.5 3.5" strokeLinecap="round" />
        </svg>
        <input
          ref={input}
          id={`${listId}-q`}
          type="search"
          role="combobox"
          aria-expanded={showing}
          aria-controls={`${listId}-results`}
          aria-autocomplete="list"
          autoComplete="off"
          placeholder="Search boards and notes"
          value={q}
          maxLength={200}
          onChange={(e) => setQ(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              e.stopPropagation();
              links()[0]?.focus();
            } else if (e.key === "Escape") {
              e.stopPropagation();
              setQ("");
            } else if (e.key === "Enter") {
              // Enter opens the first result.
              e.preventDefault();
              links()[0]?.click();
            }
          }}
          className="block h-10 w-full rounded-lg border border-stone-300 bg-white pl-9 pr-16 text-sm text-stone-900 shadow-sm outline-none transition placeholder:text-stone-500 focus:border-brand-500 focus:ring-2 focus:ring-brand-500/25 dark:border-stone-700 dark:bg-stone-900 dark:text-stone-100 dark:placeholder:text-stone-400"
        />
        <kbd aria-hidden="true" className="pointer-events-none absolute right-2.5 top-1/2 -translate-y-1/2 rounded border border-stone-300 px-1.5 text-[0.7rem] text-stone-500 max-sm:hidden dark:border-stone-700 dark:text-stone-400">
          Ctrl K
        </kbd>
      </div>
      {showing && (
        <div
          id={`${listId}-results`}
          role="region"
          aria-label="Search results"
          aria-live="polite"
          className="absolute inset-x-0 top-12 z-30 max-h-[60vh] overflow-y-auto rounded-xl border border-stone-200 bg-white shadow-xl dark:border-stone-800 dark:bg-stone-900"
        >
          {found.status === "loading" ? (
            <p className="flex items-center gap-2 px-4 py-3 text-sm text-stone-600 dark:text-stone-300">
              <Spinner /> Searching…
            </p>
          ) : found.status === "error" ? (
            <p role="alert" className="px-4 py-3 text-sm text-red-700 dark:text-red-400">
              {found.message}
            </p>
          ) : found.status === "done" && found.results.length === 0 ? (
            <p className="px-4 py-3 text-sm text-stone-600 dark:text-stone-300">Nothing found for “{found.q}”.</p>
          ) : found.status === "done" ? (
            <ul ref={list} className="divide-y divide-stone-100 dark:divide-stone-800" data-testid="search-results">
              {found.results.map((r) => (
                <li key={`${r.board.id}:${r.note?.id ?? ""}`}>
                  <a
                    data-result
                    href={boardPath(r.board.id, r.note?.id)}
                    className="flex gap-3 px-4 py-2.5 text-left outline-none hover:bg-stone-50 focus-visible:bg-brand-50 focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-brand-500 dark:hover:bg-stone-800/60 dark:focus-visible:bg-stone-800"
                  >
                    <span
                      aria-hidden="true"
                      className={`mt-1 h-3.5 w-3.5 shrink-0 rounded-sm shadow-sm ${r.note ? (noteDot[r.note.color] ?? "bg-yellow-300") : "bg-stone-400 dark:bg-stone-500"}`}
                    />
                    <span className="min-w-0 flex-1">
                      <span className="block truncate text-xs font-medium text-stone-600 dark:text-stone-400">
                        {r.note ? r.board.title : "Board"}
                      </span>
                      <span className="line-clamp-2 break-words text-sm text-stone-900 dark:text-stone-100" dir="auto">
                        <Highlighted snippet={r.snippet} highlights={r.highlights} />
                      </span>
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      )}
    </div>
  );
}
