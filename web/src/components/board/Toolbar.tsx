"use client";
import Link from "next/link";
import { useState } from "react";
import { Button, Input } from "@/components/ui";
import type { BoardClient, BoardMeta } from "@/realtime/board";
import { usePopover } from "@/components/usePopover";
import { NOTE_COLORS, type NoteColor, type User } from "@/realtime/protocol";
import type { BoardView } from "@/realtime/store";
import { MembersPanel } from "./MembersPanel";
import { noteColors } from "./NoteCard";
import { OnlineList } from "./OnlineList";
import { SharePanel } from "./SharePanel";

/** The board's title (renamable by editors), who is online, zoom, members, sharing (owners) and "Add note" (editors). */
export function Toolbar({
  client,
  view,
  meta,
  user,
  canEdit,
  onAdd,
  onRename,
  zoom,
  onZoom,
  onResetZoom,
  onFit,
  onUndo,
  onRedo,
  historyOpen,
  onHistory,
  onExport,
  newColor,
  onNewColor,
  snap,
  onSnap,
  selectArea,
  onSelectArea,
  following,
  onFollow,
}: {
  /** The open board (its member events keep the members panel live). */
  client: BoardClient | null;
  view: BoardView | null;
  meta: BoardMeta;
  user: User;
  canEdit: boolean;
  onAdd(): void;
  onRename(title: string): void;
  zoom: number;
  onZoom(f: number): void;
  onResetZoom(): void;
  /** Pans and zooms so every note is in view. */
  onFit(): void;
  onUndo(): void;
  onRedo(): void;
  historyOpen: boolean;
  /** Opens or closes the history panel. */
  onHistory(): void;
  /** Downloads the board as JSON (`corkboard.board.v1`). */
  onExport(): void;
  /** The colour "Add note" (and double-click) uses, kept per user. */
  newColor: NoteColor;
  onNewColor(c: NoteColor): void;
  /** Snap to a 20 px grid on drop and nudge (kept per user). */
  snap: boolean;
  onSnap(): void;
  /** A drag on the canvas selects an area instead of panning (for touch; Shift+drag does it with a mouse). */
  selectArea: boolean;
  onSelectArea(): void;
  /** The user whose view this one follows, if any. */
  following: string | null;
  onFollow(userId: string | null): void;
}) {
  const [renaming, setRenaming] = useState(false);
  const [draft, setDraft] = useState("");
  const board = view?.board;
  const online = meta.presence.length ? meta.presence : [{ user, connections: 1, since: "" }];

  return (
    <div className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-stone-200 bg-white px-3 py-2 sm:px-5 dark:border-stone-800 dark:bg-stone-950">
      {/* On a phone the title gets a row of its own: the controls wrap below it. */}
      <div className="flex min-w-0 flex-1 basis-full items-center gap-2 sm:basis-auto">
        <Link
          href="/boards/"
          className="hidden rounded-md px-1.5 py-1 text-sm text-stone-500 dark:text-stone-400 hover:bg-stone-100 sm:inline dark:hover:bg-stone-800"
        >
          Boards /
        </Link>
        {renaming ? (
          <form
            className="flex min-w-0 items-center gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              if (draft.trim()) onRename(draft.trim());
              setRenaming(false);
            }}
          >
            <Input
              aria-label="Board title"
              value={draft}
              autoFocus
              maxLength={200}
              className="h-8"
              onChange={(e) => setDraft(e.target.value)}
              onBlur={() => setRenaming(false)}
              onKeyDown={(e) => e.key === "Escape" && setRenaming(false)}
            />
          </form>
        ) : (
          <h1 className="min-w-0 truncate text-base font-semibold">
            {canEdit ? (
              <button
                type="button"
                title="Rename board"
                className="max-w-full truncate rounded-md px-1.5 py-1 hover:bg-stone-100 dark:hover:bg-stone-800"
                onClick={() => {
                  setDraft(board?.title ?? "");
                  setRenaming(true);
                }}
              >
                {board?.title ?? "…"}
              </button>
            ) : (
              <span className="px-1.5">{board?.title ?? "…"}</span>
            )}
          </h1>
        )}
        {board?.role === "viewer" && (
          <span className="shrink-0 rounded-full bg-stone-100 px-2 py-0.5 text-xs font-medium text-stone-600 dark:bg-stone-800 dark:text-stone-300">
            View only
          </span>
        )}
      </div>

      <OnlineList online={online} me={user} following={following} onFollow={onFollow} />

      <div className="flex items-center gap-1 rounded-lg border border-stone-200 p-0.5 dark:border-stone-800">
        <Button size="sm" variant="ghost" aria-label="Zoom out" onClick={() => onZoom(1 / 1.2)}>
          −
        </Button>
        <button
          type="button"
          onClick={onResetZoom}
          className="w-12 text-center text-xs tabular-nums text-stone-600 dark:text-stone-400"
          title="Reset view"
          aria-label={`Zoom ${Math.round(zoom * 100)}%, reset view`}
        >
          {Math.round(zoom * 100)}%
        </button>
        <Button size="sm" variant="ghost" aria-label="Zoom in" onClick={() => onZoom(1.2)}>
          +
        </Button>
        <Button size="sm" variant="ghost" title="Fit to screen: show all notes" onClick={onFit}>
          Fit
        </Button>
      </div>

      {canEdit && (
        <div className="flex items-center gap-0.5 rounded-lg border border-stone-200 p-0.5 dark:border-stone-800">
          <Button size="sm" variant="ghost" aria-label="Undo" title="Undo (Ctrl+Z)" onClick={onUndo} disabled={!meta.canUndo}>
            <svg viewBox="0 0 16 16" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
              <path d="M5.5 3.5 2.5 6.5l3 3M3 6.5h6.5a4 4 0 0 1 0 8H7" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </Button>
          <Button size="sm" variant="ghost" aria-label="Redo" title="Redo (Ctrl+Shift+Z)" onClick={onRedo} disabled={!meta.canRedo}>
            <svg viewBox="0 0 16 16" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true">
              <path d="M10.5 3.5l3 3-3 3M13 6.5H6.5a4 4 0 0 0 0 8H9" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </Button>
        </div>
      )}

      <div className="flex items-center gap-0.5 rounded-lg border border-stone-200 p-0.5 dark:border-stone-800">
        <Button size="sm" variant="ghost" aria-pressed={historyOpen} onClick={onHistory} className={historyOpen ? "bg-stone-200 dark:bg-stone-800" : ""}>
          History
        </Button>
        <Button size="sm" variant="ghost" title="Download this board as JSON (the version shown, when one is)" onClick={onExport} disabled={!view?.ready}>
          Export
        </Button>
      </div>

      {board && <MembersPanel boardId={board.id} user={user} role={board.role} presence={meta.presence} client={client} />}
      {board?.role === "owner" && <SharePanel boardId={board.id} />}

      {canEdit && (
        <div className="flex items-center gap-0.5 rounded-lg border border-stone-200 p-0.5 dark:border-stone-800">
          <Button
            size="sm"
            variant="ghost"
            aria-pressed={selectArea}
            title="Select area: dragging on the board selects notes instead of panning (Shift+drag does it too; Space+drag, the middle button or two fingers still pan)"
            onClick={onSelectArea}
            className={selectArea ? "bg-stone-200 dark:bg-stone-800" : ""}
          >
            Select
          </Button>
          <Button
            size="sm"
            variant="ghost"
            aria-pressed={snap}
            title="Snap to grid: notes land on a 20 px grid when dropped or moved with the arrow keys"
            onClick={onSnap}
            className={snap ? "bg-stone-200 dark:bg-stone-800" : ""}
          >
            Snap
          </Button>
        </div>
      )}

      {canEdit && (
        <div className="flex items-center gap-1">
          <NewNoteColor color={newColor} onChange={onNewColor} />
          <Button variant="primary" size="sm" onClick={onAdd} disabled={!view?.ready}>
            <svg viewBox="0 0 16 16" className="h-3.5 w-3.5" fill="none" stroke="currentColor" strokeWidth="2.2" aria-hidden="true"><path d="M8 3v10M3 8h10" strokeLinecap="round" /></svg> Add note
          </Button>
        </div>
      )}
    </div>
  );
}

/** The colour of new notes: a swatch button opening the six colours (remembered per user). */
function NewNoteColor({ color, onChange }: { color: NoteColor; onChange(c: NoteColor): void }) {
  const { open, toggle, buttonRef, panelRef } = usePopover();
  return (
    <div className="relative">
      <button
        ref={buttonRef}
        type="button"
        aria-haspopup="true"
        aria-expanded={open}
        aria-label={`Colour of new notes: ${noteColors[color].label}`}
        title="Colour of new notes"
        onClick={toggle}
        className="inline-flex h-8 w-8 items-center justify-center rounded-md border border-stone-200 hover:bg-stone-100 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-stone-700 dark:hover:bg-stone-800"
      >
        <span className={`h-4 w-4 rounded-full border border-black/10 ${noteColors[color].swatch}`} aria-hidden="true" />
      </button>
      {open && (
        <div
          ref={panelRef}
          role="group"
          aria-label="Colour of new notes"
          className="absolute right-0 top-full z-50 mt-1 flex gap-1 rounded-lg border border-stone-200 bg-white p-1.5 shadow-lg dark:border-stone-700 dark:bg-stone-900"
        >
          {NOTE_COLORS.map((c) => (
            <button
              key={c}
              type="button"
              aria-pressed={c === color}
              aria-label={noteColors[c].label}
              title={noteColors[c].label}
              autoFocus={c === color}
              onClick={() => {
                onChange(c);
                toggle();
                buttonRef.current?.focus();
              }}
              className={`h-6 w-6 rounded-full border border-black/10 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 ${noteColors[c].swatch} ${
                c === color ? "ring-2 ring-brand-500 ring-offset-1 dark:ring-offset-stone-900" : ""
              }`}
            />
          ))}
        </div>
      )}
    </div>
  );
}
