"use client";
import { forwardRef } from "react";
import { NOTE_COLORS, type NoteColor } from "@/realtime/protocol";
import { noteColors } from "./NoteCard";

/**
 * The toolbar of the selected notes (one or many): colour, duplicate, bring to
 * front, send to back, delete. One Tab stop (arrow keys move between its buttons, a roving
 * tabindex); Escape goes back to the notes. Drawn above the selection, in
 * screen pixels, so it keeps its size at every zoom.
 */
export const SelectionBar = forwardRef<
  HTMLDivElement,
  {
    count: number;
    /** The colour every selected note has, or null when they differ. */
    color: NoteColor | null;
    left: number;
    top: number;
    onColor(c: NoteColor): void;
    onDuplicate(): void;
    onFront(): void;
    onBack(): void;
    onDelete(): void;
    /** Escape: focus back to the selection. */
    onLeave(): void;
  }
>(function SelectionBar({ count, color, left, top, onColor, onDuplicate, onFront, onBack, onDelete, onLeave }, ref) {
  const onKeyDown = (e: React.KeyboardEvent<HTMLDivElement>) => {
    const items = [...e.currentTarget.querySelectorAll<HTMLButtonElement>("button")];
    const i = items.indexOf(document.activeElement as HTMLButtonElement);
    let next = -1;
    if (e.key === "ArrowRight" || e.key === "ArrowDown") next = (i + 1) % items.length;
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") next = (i - 1 + items.length) % items.length;
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = items.length - 1;
    else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      onLeave();
      return;
    } else return;
    e.preventDefault();
    e.stopPropagation();
    for (const b of items) b.tabIndex = -1;
    items[next].tabIndex = 0;
    items[next].focus();
  };
  const what = count === 1 ? "note" : `${count} notes`;
  const btn =
    "inline-flex h-7 items-center justify-center rounded-md px-1.5 text-xs font-medium text-stone-700 hover:bg-stone-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:text-stone-200 dark:hover:bg-stone-800";
  return (
    <div
      ref={ref}
      role="toolbar"
      aria-label={count === 1 ? "Selected note" : `${count} selected notes`}
      data-testid="selection-bar"
      className="absolute z-30 flex max-w-[calc(100%-8px)] items-center gap-1 overflow-x-auto rounded-lg border border-stone-200 bg-white p-1 shadow-lg dark:border-stone-700 dark:bg-stone-900"
      style={{ left, top }}
      onKeyDown={onKeyDown}
      onPointerDown={(e) => e.stopPropagation()}
      onDoubleClick={(e) => e.stopPropagation()}
    >
      {count > 1 && <span className="px-1 text-xs tabular-nums text-stone-500 dark:text-stone-400">{count}</span>}
      <div role="radiogroup" aria-label="Note colour" className="flex items-center gap-1 px-1">
        {NOTE_COLORS.map((c, i) => (
          <button
            key={c}
            type="button"
            role="radio"
            tabIndex={i === 0 ? 0 : -1}
            aria-checked={color === c}
            aria-label={`${noteColors[c].label}`}
            title={`Colour: ${noteColors[c].label}`}
            onClick={() => onColor(c)}
            className={`h-5 w-5 shrink-0 rounded-full border border-black/10 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 ${noteColors[c].swatch} ${
              color === c ? "ring-2 ring-brand-500 ring-offset-1 dark:ring-offset-stone-900" : ""
            }`}
          />
        ))}
      </div>
      <span className="h-5 w-px shrink-0 bg-stone-200 dark:bg-stone-700" aria-hidden="true" />
      <button type="button" tabIndex={-1} className={btn} title={`Duplicate ${what} (Ctrl+D)`} onClick={onDuplicate}>
        Duplicate
      </button>
      <button type="button" tabIndex={-1} className={btn} title={`Bring ${what} to front (])`} onClick={onFront}>
        To front
      </button>
      <button type="button" tabIndex={-1} className={btn} title={`Send ${what} to back ([)`} onClick={onBack}>
        To back
      </button>
      <button
        type="button"
        tabIndex={-1}
        aria-label={count === 1 ? "Delete note" : `Delete ${count} notes`}
        title={`Delete ${what} (Delete)`}
        onClick={onDelete}
        className="inline-flex h-7 w-7 shrink-0 items-center justify-center rounded-md text-stone-500 hover:bg-red-50 hover:text-red-600 focus-visible:outline-2 focus-visible:outline-sky-600 dark:hover:bg-red-950/40"
      >
        <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
          <path d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      </button>
    </div>
  );
});
