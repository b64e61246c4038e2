"use client";
import type { NoteColor } from "@/realtime/protocol";
import { noteColors } from "./NoteCard";

/** One side of an edit conflict: the text as it would stay, on the note's colour. */
export function ConflictVersion({ label, text, color }: { label: string; text?: string; color: NoteColor }) {
  return (
    <figure>
      <figcaption className="mb-1.5 text-xs font-medium uppercase tracking-wide text-stone-500 dark:text-stone-400">{label}</figcaption>
      <div
        className={`max-h-56 min-h-24 overflow-y-auto whitespace-pre-wrap rounded-md p-3 text-sm text-stone-900 shadow ${noteColors[color].bg}`}
        style={{ fontFamily: "var(--font-note)" }}
      >
        {text ?? <em className="text-stone-500 dark:text-stone-400">(text unchanged)</em>}
      </div>
    </figure>
  );
}
