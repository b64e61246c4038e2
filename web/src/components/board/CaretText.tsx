"use client";
import { Fragment, forwardRef } from "react";
import { avatarRgb } from "@/components/ui";
import type { User } from "@/realtime/protocol";

/** Someone else's caret (`head`) and selection (`from`–`to`) in a note's text, as indexes into it. */
export interface PlacedCaret {
  user: User;
  from: number;
  to: number;
  head: number;
}

/**
 * A note's text with other people's selections highlighted and their carets
 * drawn (a thin bar in their colour with their name). With `ghost`, the text
 * itself is transparent: the layer sits exactly over the editor's textarea,
 * with the same font, padding and wrapping, and only the marks show.
 */
export const CaretText = forwardRef<
  HTMLDivElement,
  { text: string; carets: PlacedCaret[]; ghost?: boolean; className?: string; onScroll?: () => void; "data-note-scroll"?: string }
>(function CaretText({ text, carets, ghost = false, className = "", onScroll, "data-note-scroll": scroll }, ref) {
    const cuts = new Set<number>([0, text.length]);
    for (const c of carets) {
      cuts.add(c.from);
      cuts.add(c.to);
      cuts.add(c.head);
    }
    const points = [...cuts].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
    const parts: React.ReactNode[] = [];
    for (let i = 0; i < points.length; i++) {
      const p = points[i];
      for (const c of carets) {
        if (c.head !== p) continue;
        parts.push(
          <span key={`caret-${c.user.id}`} className="relative" data-caret={c.user.username}>
            <span
              className="absolute -top-px bottom-0 w-0.5 rounded-full"
              style={{ left: -1, background: avatarRgb(c.user.id), height: "1.2em" }}
              aria-hidden="true"
            />
            <span
              className="absolute -top-4 left-0 whitespace-nowrap rounded px-1 text-[10px] font-medium leading-4 text-white"
              style={{ background: avatarRgb(c.user.id) }}
            >
              {c.user.username}
            </span>
          </span>,
        );
      }
      const next = points[i + 1];
      if (next === undefined || next === p) continue;
      const slice = text.slice(p, next);
      const over = carets.find((c) => c.from <= p && next <= c.to && c.from < c.to);
      parts.push(
        over ? (
          <mark key={`seg-${p}`} style={{ background: avatarRgb(over.user.id, 0.3), color: "inherit" }} data-selection={over.user.username}>
            {slice}
          </mark>
        ) : (
          <Fragment key={`seg-${p}`}>{slice}</Fragment>
        ),
      );
    }
    return (
      <div
        ref={ref}
        dir="auto"
        className={`whitespace-pre-wrap break-words ${ghost ? "pointer-events-none text-transparent" : ""} ${className}`}
        style={{ fontFamily: "var(--font-note)" }}
        aria-hidden={ghost || undefined}
        onScroll={onScroll}
        data-note-scroll={scroll}
        // a scrolling note text is not a Tab stop of its own (Chrome makes scrollers focusable): the note is
        tabIndex={scroll !== undefined ? -1 : undefined}
      >
        {parts}
        {/* a trailing newline needs a character after it to take up its line, as in the textarea */}
        {text.endsWith("\n") ? " " : null}
      </div>
    );
  },
);
