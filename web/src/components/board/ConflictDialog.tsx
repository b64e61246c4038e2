"use client";
import { useRef } from "react";
import { Button } from "@/components/ui";
import { useModalFocus } from "@/components/useModalFocus";
import type { Notice } from "@/realtime/board";
import { ConflictVersion } from "./ConflictVersion";

type Conflict = Extract<Notice, { kind: "conflict" }>;

/**
 * An edit conflict as a real modal: focus moves into it (so typing no longer
 * changes the note behind), stays inside, and returns to the note when it
 * closes. It names who changed the note when the board has seen it. Escape
 * keeps the current version, which is what the board already shows.
 */
export function ConflictDialog({
  conflict,
  onKeepMine,
  onTakeTheirs,
}: {
  conflict: Conflict;
  onKeepMine(): void;
  onTakeTheirs(): void;
}) {
  const panel = useRef<HTMLDivElement>(null);
  const onKeyDown = useModalFocus(panel, onTakeTheirs);
  const who = conflict.by ?? "theirs";
  return (
    <div className="fixed inset-0 z-50 flex items-end justify-center bg-black/30 p-4 sm:items-center">
      <div
        ref={panel}
        role="dialog"
        aria-modal="true"
        aria-labelledby="conflict-title"
        aria-describedby="conflict-message"
        onKeyDown={onKeyDown}
        className="w-full max-w-2xl rounded-2xl bg-white p-5 shadow-2xl dark:bg-stone-900"
      >
        <h2 id="conflict-title" className="text-lg font-semibold">
          Edit conflict
        </h2>
        <p id="conflict-message" className="mt-1 text-sm text-stone-500 dark:text-stone-400">
          {conflict.message} Which version should stay?
        </p>
        <div className="mt-4 grid gap-3 sm:grid-cols-2">
          <ConflictVersion label="Yours" text={conflict.mine.text} color={conflict.mine.color ?? conflict.theirs.color} />
          <ConflictVersion label={`Current (${who})`} text={conflict.theirs.text} color={conflict.theirs.color} />
        </div>
        <div className="mt-5 flex flex-col-reverse gap-2 sm:flex-row sm:items-center sm:justify-end">
          <span className="text-xs text-stone-500 dark:text-stone-400 sm:mr-auto">Esc keeps the current version.</span>
          <Button onClick={onTakeTheirs}>{conflict.by ? `Take ${conflict.by}'s` : "Take theirs"}</Button>
          <Button variant="primary" onClick={onKeepMine} data-autofocus>
            Keep mine
          </Button>
        </div>
      </div>
    </div>
  );
}
