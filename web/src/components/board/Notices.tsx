"use client";
import { useEffect } from "react";
import { Button } from "@/components/ui";
import type { BoardClient, Notice } from "@/realtime/board";
import { ConflictDialog } from "./ConflictDialog";

/** The board client's notices: rolled-back changes as toasts that fade, an edit conflict as a dialog. */
export function Notices({
  client,
  notices,
  onTakeTheirs,
}: {
  client: BoardClient | null;
  notices: Notice[];
  onTakeTheirs(note: string): void;
}) {
  const errors = notices.filter((n) => n.kind === "error" || n.kind === "info");
  const lost = notices.filter((n) => n.kind === "lost");
  const conflict = notices.find((n) => n.kind === "conflict");

  // Keyed on which errors show, not on the array (a new one with every cursor move), so they do fade.
  const errorIds = errors.map((n) => n.id).join(" ");
  useEffect(() => {
    if (!errorIds || !client) return;
    const t = setTimeout(() => errorIds.split(" ").forEach((id) => client.dismiss(id)), 6000);
    return () => clearTimeout(t);
  }, [errorIds, client]);

  return (
    <>
      <div aria-live="polite" className="pointer-events-none absolute bottom-4 left-4 z-40 flex max-w-sm flex-col gap-2">
        {errors.map((n) => (
          <div
            key={n.id}
            role={n.kind === "error" ? "alert" : "status"}
            className={`animate-toast pointer-events-auto flex items-start gap-3 rounded-lg px-3.5 py-2.5 text-sm shadow-lg ${
              n.kind === "error" ? "bg-red-600 text-white" : "bg-stone-900 text-white dark:bg-stone-100 dark:text-stone-900"
            }`}
          >
            <span className="flex-1">
              {n.message}
              {n.kind === "error" ? " Your change was undone." : ""}
            </span>
            <button type="button" aria-label="Dismiss" onClick={() => client?.dismiss(n.id)} className="opacity-80 hover:opacity-100">
              ✕
            </button>
          </div>
        ))}
        {lost.map(
          (n) =>
            n.kind === "lost" && (
              // Stays until dismissed: it holds the user's words.
              <div
                key={n.id}
                role="alert"
                aria-label="Text not saved"
                className="animate-toast pointer-events-auto flex flex-col gap-2 rounded-lg bg-amber-100 px-3.5 py-2.5 text-sm text-stone-900 shadow-lg ring-1 ring-amber-300"
              >
                <span>{n.message} Here it is:</span>
                <pre className="max-h-32 overflow-auto whitespace-pre-wrap break-words rounded bg-white/70 p-2 font-sans text-xs" data-testid="lost-text">
                  {n.text}
                </pre>
                <div className="flex justify-end gap-2">
                  <Button
                    size="sm"
                    onClick={() => {
                      void navigator.clipboard?.writeText(n.text).catch(() => window.prompt("Copy your text:", n.text));
                    }}
                  >
                    Copy
                  </Button>
                  <Button size="sm" onClick={() => client?.restoreLostText(n.id)}>
                    {n.reason === "gone" ? "Restore note" : "Restore"}
                  </Button>
                  <Button size="sm" variant="ghost" onClick={() => client?.dismiss(n.id)}>
                    Dismiss
                  </Button>
                </div>
              </div>
            ),
        )}
      </div>
      {conflict && conflict.kind === "conflict" && (
        <ConflictDialog
          key={conflict.id}
          conflict={conflict}
          onKeepMine={() => client?.resolveConflict(conflict.id, "mine")}
          onTakeTheirs={() => {
            onTakeTheirs(conflict.note);
            client?.resolveConflict(conflict.id, "theirs");
          }}
        />
      )}
    </>
  );
}
