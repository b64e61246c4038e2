"use client";
import { memo, useEffect, useId, useRef, useState } from "react";
import { avatarRgb } from "@/components/ui";
import { byline } from "@/lib/ago";
import { TextareaBinding } from "@/realtime/binding";
import { SELECTION_REFRESH_MS } from "@/realtime/board";
import { NOTE_COLORS, type Note, type NoteColor, type User } from "@/realtime/protocol";
import type { NoteText, TextStatus } from "@/realtime/text";
import { CaretText, type PlacedCaret } from "./CaretText";
import { MentionMenu, useMentions, type MentionCandidate } from "./Mentions";

export const noteColors: Record<NoteColor, { bg: string; swatch: string; label: string }> = {
  yellow: { bg: "bg-yellow-200 dark:bg-yellow-300", swatch: "bg-yellow-300", label: "Yellow" },
  pink: { bg: "bg-pink-200 dark:bg-pink-300", swatch: "bg-pink-300", label: "Pink" },
  blue: { bg: "bg-sky-200 dark:bg-sky-300", swatch: "bg-sky-300", label: "Blue" },
  green: { bg: "bg-emerald-200 dark:bg-emerald-300", swatch: "bg-emerald-300", label: "Green" },
  purple: { bg: "bg-violet-200 dark:bg-violet-300", swatch: "bg-violet-300", label: "Purple" },
  gray: { bg: "bg-stone-200 dark:bg-stone-300", swatch: "bg-stone-300", label: "Gray" },
};

const MIN_W = 80;
const MIN_H = 60;

export interface NoteActions {
  select(id: string | null): void;
  startEditing(id: string): void;
  stopEditing(): void;
  move(id: string, x: number, y: number): void;
  resize(id: string, w: number, h: number): void;
  recolor(id: string, color: NoteColor): void;
  remove(id: string): void;
  typing(id: string | null): void;
  /** The note's collaborative text document (loaded on first use). */
  openText(id: string): Promise<NoteText | null>;
  /** This user's caret/selection in the note (`null`: stopped editing). */
  selection(id: string | null, anchor?: number, head?: number): void;
  /** Ctrl+Z / Ctrl+Shift+Z in the editor: the note's text first, then the board's history. */
  undoText(id: string): void;
  redoText(id: string): void;
  /** This user's drag of the note is here now (board coordinates), for others to see live. */
  dragging(id: string, x: number, y: number): void;
  /** The drag ended (dropped or cancelled). */
  dragEnd(): void;
  /** Who changed the note last, when this client has seen it (null: unknown). */
  lastEditor(id: string): User | null;
  /** The board's members, for @mention suggestions (loaded on first use, cached). */
  members(): Promise<MentionCandidate[]>;
}

/** Someone else dragging this note right now: where it is on their screen. */
export interface RemoteDragPos {
  x: number;
  y: number;
  user: User;
}

interface Props {
  note: Note;
  zoom: number;
  selected: boolean;
  editing: boolean;
  canEdit: boolean;
  dirty: boolean;
  /** Not connected: unsaved changes wait for the connection instead of "Saving…". */
  offline: boolean;
  /** Other people editing this note's text now (typing, or their editor open on it). */
  editors: User[];
  /** Other people who have this note selected: outlined in their colour. */
  selectedBy: User[];
  /** Someone else is dragging this note: drawn where they have it (null: not dragged, or dragged here). */
  remoteDrag: RemoteDragPos | null;
  /** Other people's carets and selections in this note's text. */
  carets: PlacedCaret[];
  actions: NoteActions;
}

type Gesture = { kind: "move" | "resize"; startX: number; startY: number; pointer: number; moved: boolean };

function NoteCardImpl({ note, zoom, selected, editing, canEdit, dirty, offline, editors, selectedBy, remoteDrag, carets, actions }: Props) {
  const [offset, setOffset] = useState<{ dx: number; dy: number; dw: number; dh: number } | null>(null);
  const gesture = useRef<Gesture | null>(null);
  // Hovered or focused: the byline (author, last editor, when) shows.
  const [hover, setHover] = useState(false);
  const [focused, setFocused] = useState(false);
  const bylineId = useId();

  // A remote drag never overrides this user's own gesture or edit of the note.
  const live = remoteDrag && !offset && !editing ? remoteDrag : null;
  const x = live ? live.x : note.x + (offset?.dx ?? 0);
  const y = live ? live.y : note.y + (offset?.dy ?? 0);
  const w = Math.max(MIN_W, note.w + (offset?.dw ?? 0));
  const h = Math.max(MIN_H, note.h + (offset?.dh ?? 0));

  const onPointerDown = (e: React.PointerEvent, kind: Gesture["kind"]) => {
    if (e.button !== 0) return;
    e.stopPropagation();
    actions.select(note.id);
    if (!canEdit || (editing && kind === "move")) return;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    gesture.current = { kind, startX: e.clientX, startY: e.clientY, pointer: e.pointerId, moved: false };
  };
  const onPointerMove = (e: React.PointerEvent) => {
    const g = gesture.current;
    if (!g || g.pointer !== e.pointerId) return;
    const dx = (e.clientX - g.startX) / zoom;
    const dy = (e.clientY - g.startY) / zoom;
    if (!g.moved && Math.hypot(dx, dy) * zoom < 3) return;
    g.moved = true;
    setOffset(g.kind === "move" ? { dx, dy, dw: 0, dh: 0 } : { dx: 0, dy: 0, dw: dx, dh: dy });
    if (g.kind === "move") actions.dragging(note.id, note.x + dx, note.y + dy);
  };
  const onPointerUp = (e: React.PointerEvent) => {
    const g = gesture.current;
    if (!g || g.pointer !== e.pointerId) return;
    gesture.current = null;
    if (g.moved) {
      if (g.kind === "move") {
        actions.move(note.id, Math.round(x), Math.round(y));
        actions.dragEnd();
      } else actions.resize(note.id, Math.round(w), Math.round(h));
    }
    setOffset(null);
  };
  const onPointerCancel = () => {
    if (gesture.current?.moved && gesture.current.kind === "move") actions.dragEnd();
    gesture.current = null;
    setOffset(null);
  };

  const color = noteColors[note.color] ?? noteColors.yellow;
  const label = note.text.trim() ? `Note: ${note.text.trim().slice(0, 40)}` : "Empty note";
  const showByline = (hover || focused) && !offset && !live;
  const editor = editors[0];
  // Outline: who drags it, else who edits it, else who has it selected (their colour).
  const marker = live?.user ?? editor ?? selectedBy[0];

  return (
    <div
      role="group"
      aria-label={label}
      aria-describedby={showByline ? bylineId : undefined}
      data-note-id={note.id}
      data-dragged-by={live ? live.user.username : undefined}
      data-edited-by={editor ? editor.username : undefined}
      data-selected-by={selectedBy.length ? selectedBy.map((u) => u.username).join(" ") : undefined}
      tabIndex={0}
      onPointerEnter={() => setHover(true)}
      onPointerLeave={() => setHover(false)}
      onFocus={(e) => {
        if (e.target === e.currentTarget) {
          actions.select(note.id);
          setFocused(true);
        }
      }}
      onBlur={(e) => {
        if (e.target === e.currentTarget) setFocused(false);
      }}
      onDoubleClick={(e) => {
        e.stopPropagation();
        if (canEdit) actions.startEditing(note.id);
      }}
      onKeyDown={(e) => {
        if (e.target !== e.currentTarget || !canEdit) return;
        if (e.key === "Enter") {
          e.preventDefault();
          actions.startEditing(note.id);
        }
      }}
      onPointerDown={(e) => onPointerDown(e, "move")}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={onPointerCancel}
      className={`absolute flex touch-none select-none flex-col rounded-md text-stone-900 outline-none transition-shadow ${color.bg} ${
        offset || live ? "z-20 shadow-2xl" : selected ? "z-10 shadow-xl" : "shadow-md hover:shadow-lg"
      } ${selected ? "ring-2 ring-brand-500 ring-offset-2 ring-offset-transparent" : "focus-visible:ring-2 focus-visible:ring-brand-500"} ${
        canEdit && !editing ? "cursor-grab active:cursor-grabbing" : ""
      }`}
      style={{
        left: x,
        top: y,
        width: w,
        height: h,
        // Someone else's mark: an outline in their colour (this user's own selection keeps the brand ring).
        outline: marker ? `${live || editor ? 3 : 2}px ${live || editor ? "solid" : "dashed"} ${avatarRgb(marker.id)}` : undefined,
        outlineOffset: marker ? (selected ? 6 : 3) : undefined,
      }}
    >
      {(marker || showByline) && (
        // Under the note (the selected note's tools are above it), at screen size whatever the zoom.
        <div
          className="pointer-events-none absolute left-0 top-full z-30 mt-1 flex w-max max-w-[18rem] flex-col items-start gap-1 text-xs"
          style={{ transform: `scale(${1 / zoom})`, transformOrigin: "top left" }}
        >
          {marker && (
            <span className="max-w-full truncate rounded-md px-1.5 py-0.5 font-medium text-white shadow" style={{ background: avatarRgb(marker.id) }} data-testid="note-marker">
              {live
                ? `${live.user.username} is moving this`
                : editor
                  ? `${editors.map((u) => u.username).join(", ")} ${editors.length === 1 ? "is" : "are"} editing`
                  : `Selected by ${selectedBy.map((u) => u.username).join(", ")}`}
            </span>
          )}
          {showByline && (
            <span id={bylineId} role="tooltip" className="rounded-md bg-stone-900 px-2 py-1 text-white shadow-lg dark:bg-stone-100 dark:text-stone-900" data-testid="note-byline">
              {byline(note.created_by.username, actions.lastEditor(note.id)?.username ?? null, note.updated_at)}
            </span>
          )}
        </div>
      )}
      {selected && canEdit && !offset && (
        <div
          className="absolute -top-11 left-0 z-30 flex items-center gap-1 rounded-lg border border-stone-200 bg-white p-1 shadow-lg dark:border-stone-700 dark:bg-stone-900"
          style={{ transform: `scale(${1 / zoom})`, transformOrigin: "bottom left" }}
          onPointerDown={(e) => e.stopPropagation()}
          onDoubleClick={(e) => e.stopPropagation()}
        >
          <div role="radiogroup" aria-label="Note colour" className="flex items-center gap-1 px-1">
            {NOTE_COLORS.map((c) => (
              <button
                key={c}
                type="button"
                role="radio"
                aria-checked={note.color === c}
                aria-label={noteColors[c].label}
                title={noteColors[c].label}
                onClick={() => actions.recolor(note.id, c)}
                className={`h-5 w-5 rounded-full border border-black/10 ${noteColors[c].swatch} ${
                  note.color === c ? "ring-2 ring-brand-500 ring-offset-1 dark:ring-offset-stone-900" : ""
                }`}
              />
            ))}
          </div>
          <span className="h-5 w-px bg-stone-200 dark:bg-stone-700" aria-hidden="true" />
          <button
            type="button"
            aria-label="Delete note"
            title="Delete note (Delete)"
            onClick={() => actions.remove(note.id)}
            className="inline-flex h-7 w-7 items-center justify-center rounded-md text-stone-500 dark:text-stone-400 hover:bg-red-50 hover:text-red-600 dark:hover:bg-red-950/40"
          >
            <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
              <path d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </button>
        </div>
      )}

      <div className="h-3 shrink-0 rounded-t-md bg-black/5" aria-hidden="true" />
      {editing ? (
        <NoteEditor note={note} actions={actions} carets={carets} zoom={zoom} />
      ) : note.text ? (
        <CaretText
          text={note.text}
          carets={carets}
          className="min-h-0 flex-1 overflow-hidden px-3 py-2 text-[15px] leading-snug"
        />
      ) : (
        <div className="min-h-0 flex-1 overflow-hidden px-3 py-2 text-[15px] leading-snug" style={{ fontFamily: "var(--font-note)" }}>
          <span className="text-stone-600 dark:text-stone-700">{canEdit ? "Double-click to write…" : ""}</span>
        </div>
      )}
      {dirty && (
        <div className="pointer-events-none flex items-center justify-end gap-2 px-3 pb-1.5 text-[11px] text-stone-700">
          {offline ? (
              <span className="shrink-0 not-italic text-stone-700" title="Offline: saved when the connection is back" data-testid="unsaved">
                Not saved yet
              </span>
            ) : (
              <span className="h-1.5 w-1.5 shrink-0 rounded-full bg-amber-600" role="img" title="Saving…" aria-label="Saving" data-testid="unsaved" />
            )}
        </div>
      )}
      {canEdit && !editing && (
        <div
          aria-hidden="true"
          onPointerDown={(e) => onPointerDown(e, "resize")}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          className="absolute bottom-0 right-0 h-4 w-4 cursor-nwse-resize rounded-br-md bg-[linear-gradient(135deg,transparent_50%,rgba(0,0,0,0.18)_50%)]"
        />
      )}
    </div>
  );
}


const isMod = (e: React.KeyboardEvent) => e.ctrlKey || e.metaKey;

/**
 * The note's text editor: a textarea bound to the note's Yjs document (typing
 * is sent as `note.edit` each frame; others' edits arrive without moving the
 * caret), with others' carets drawn over it and this user's caret sent to them.
 */
function NoteEditor({ note, actions, carets, zoom }: { note: Note; actions: NoteActions; carets: PlacedCaret[]; zoom: number }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const mirror = useRef<HTMLDivElement>(null);
  const binding = useRef<TextareaBinding | null>(null);
  const [status, setStatus] = useState<TextStatus | "none">("loading");
  const lastTyping = useRef(0);

  const sendCaret = () => {
    const el = ref.current;
    if (!el || !binding.current) return;
    const start = el.selectionStart ?? 0;
    const end = el.selectionEnd ?? start;
    const backward = el.selectionDirection === "backward";
    actions.selection(note.id, backward ? end : start, backward ? start : end);
  };
  const typed = () => {
    const now = Date.now();
    if (now - lastTyping.current > 1500) {
      lastTyping.current = now;
      actions.typing(note.id);
    }
  };
  const mentions = useMentions(ref, actions.members, (text, caret) => {
    const el = ref.current;
    if (!el || !binding.current) return;
    el.value = text;
    el.setSelectionRange(caret, caret);
    binding.current.input();
    sendCaret();
    typed();
  });
  const sendCaretRef = useRef(sendCaret);
  useEffect(() => {
    sendCaretRef.current = sendCaret;
  });

  useEffect(() => {
    const el = ref.current;
    let cancelled = false;
    let off = () => {};
    let focused = false;
    const start = (nt: NoteText | null) => {
      if (cancelled) return;
      if (!el || !nt) {
        setStatus("none");
        return;
      }
      off = nt.on({
        status: (s) => {
          setStatus(s);
          if (s === "ready") bind(nt);
        },
      });
      setStatus(nt.status);
      bind(nt);
    };
    const bind = (nt: NoteText) => {
      if (!el || binding.current || nt.status !== "ready") return;
      binding.current = new TextareaBinding(nt, el, () => {
        if (mirror.current) mirror.current.scrollTop = el.scrollTop;
      });
      if (!focused) {
        focused = true;
        el.focus();
        el.setSelectionRange(el.value.length, el.value.length);
      }
      sendCaretRef.current();
    };
    // The text module (Yjs) may still be on its way: the editor is read-only until the document is there.
    void actions.openText(note.id).then(start);
    // Others' copies of this caret expire: repeat it while the editor is open.
    const refresh = setInterval(() => sendCaretRef.current(), SELECTION_REFRESH_MS);
    return () => {
      cancelled = true;
      clearInterval(refresh);
      off();
      binding.current?.destroy();
      binding.current = null;
      actions.selection(null);
      actions.typing(null);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const ready = status === "ready";
  return (
    <div className="relative min-h-0 w-full flex-1">
      <CaretText
        ref={mirror}
        text={note.text}
        carets={carets}
        ghost
        className="absolute inset-0 overflow-hidden px-3 py-2 text-[15px] leading-snug"
      />
      <textarea
        ref={ref}
        aria-label="Note text"
        aria-busy={!ready}
        dir="auto"
        defaultValue={note.text}
        readOnly={!ready}
        maxLength={10_000}
        aria-autocomplete="list"
        aria-controls={mentions.open ? mentions.listId : undefined}
        aria-activedescendant={mentions.open ? mentions.optionId(mentions.open.active) : undefined}
        onInput={() => {
          binding.current?.input();
          sendCaret();
          typed();
          mentions.update();
        }}
        onSelect={sendCaret}
        onKeyUp={(e) => {
          sendCaret();
          if (e.key === "ArrowLeft" || e.key === "ArrowRight" || e.key === "Home" || e.key === "End") mentions.update();
        }}
        onMouseUp={() => {
          sendCaret();
          mentions.update();
        }}
        onScroll={(e) => {
          if (mirror.current) mirror.current.scrollTop = e.currentTarget.scrollTop;
        }}
        onKeyDown={(e) => {
          e.stopPropagation();
          if (mentions.onKeyDown(e)) return;
          if (e.key === "Escape") {
            e.preventDefault();
            actions.stopEditing();
          } else if (isMod(e) && !e.altKey && e.key.toLowerCase() === "z") {
            // The browser's own textarea undo would fight the shared document: ours instead.
            e.preventDefault();
            if (e.shiftKey) actions.redoText(note.id);
            else actions.undoText(note.id);
          } else if (e.ctrlKey && !e.metaKey && !e.shiftKey && e.key.toLowerCase() === "y") {
            e.preventDefault();
            actions.redoText(note.id);
          }
        }}
        onBlur={() => {
          mentions.close();
          actions.stopEditing();
        }}
        onPointerDown={(e) => e.stopPropagation()}
        className="absolute inset-0 h-full w-full resize-none bg-transparent px-3 py-2 text-[15px] leading-snug text-stone-900 outline-none placeholder:text-stone-600 dark:placeholder:text-stone-700"
        style={{ fontFamily: "var(--font-note)" }}
        placeholder={status === "none" || status === "failed" ? "Can't load the text while offline" : ready ? "Write something… @mention someone" : "Loading…"}
      />
      <MentionMenu mentions={mentions} zoom={zoom} />
    </div>
  );
}

export const NoteCard = memo(NoteCardImpl);
