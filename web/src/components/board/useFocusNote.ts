"use client";
import { useEffect, useRef } from "react";
import { noteParam } from "@/lib/nav";
import type { Note } from "@/realtime/protocol";
import { centerOn, type Camera } from "./camera";

/** How long a board may show without the note before "no longer on this board". */
const MISSING_AFTER_MS = 4000;

function clearParam(): void {
  const url = new URL(window.location.href);
  url.searchParams.delete("note");
  window.history.replaceState(window.history.state, "", url.pathname + url.search + url.hash);
}

/**
 * A board opened on a note (`/boards/{id}/?note=NOTE_ID`, from search or a
 * notification): once the board is drawn, the view is centred on that note,
 * the note takes focus (which selects it) and flashes; the parameter then
 * leaves the address bar, so a reload keeps the user's own view. A note no
 * longer on the board calls `onMissing`.
 */
export function useFocusNote(
  ready: boolean,
  notes: readonly Note[] | undefined,
  canvas: React.RefObject<HTMLDivElement | null>,
  setCamera: React.Dispatch<React.SetStateAction<Camera>>,
  onMissing: () => void,
): void {
  const target = useRef<string | null | undefined>(undefined);
  const giveUp = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (giveUp.current !== null) clearTimeout(giveUp.current);
  }, []);
  useEffect(() => {
    if (target.current === undefined) target.current = noteParam(window.location.search);
    const id = target.current;
    if (!id || !ready || !notes) return;
    const note = notes.find((n) => n.id === id);
    if (!note) {
      // The board may be drawn from this browser's saved copy, older than
      // the note: wait a moment for the live state before giving up.
      if (giveUp.current === null) {
        giveUp.current = setTimeout(() => {
          target.current = null;
          clearParam();
          onMissing();
        }, MISSING_AFTER_MS);
      }
      return;
    }
    if (giveUp.current !== null) clearTimeout(giveUp.current);
    giveUp.current = null;
    target.current = null;
    clearParam();
    const rect = canvas.current?.getBoundingClientRect();
    setCamera((c) => centerOn(c, note, rect?.width ?? 0, rect?.height ?? 0));
    // After the new camera is drawn: focus (selects it) and flash.
    requestAnimationFrame(() => {
      const el = canvas.current?.querySelector<HTMLElement>(`[data-note-id="${CSS.escape(id)}"]`);
      if (!el) return;
      el.focus({ preventScroll: true });
      el.dataset.flash = "true";
      const flash = el.animate?.(
        [
          { boxShadow: "0 0 0 0 rgba(245, 158, 11, 0.9)" },
          { boxShadow: "0 0 0 18px rgba(245, 158, 11, 0)" },
        ],
        { duration: 700, iterations: 3, easing: "ease-out" },
      );
      const done = () => delete el.dataset.flash;
      if (flash) flash.onfinish = done;
      else setTimeout(done, 2100);
    });
  }, [ready, notes, canvas, setCamera, onMissing]);
}
