"use client";
import { memo, useEffect, useId, useLayoutEffect, useRef, useState } from "react";
import { avatarRgb } from "@/components/ui";
import { byline } from "@/lib/ago";
import { TextareaBinding } from "@/realtime/binding";
import { SELECTION_REFRESH_MS } from "@/realtime/board";
import type { Note, NoteColor, User } from "@/realtime/protocol";
import type { NoteText, TextStatus } from "@/realtime/text";
import { MAX_TEXT } from "@/lib/noteClipboard";
import { CaretText, type PlacedCaret } from "./CaretText";
import { MentionMenu, useMentions, type MentionCandidate } from "./Mentions";
import { Z_PENDING } from "./selection";

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
  /** A pointer went down on the note's body: selection (Shift/Ctrl/⌘ toggles) and the start of a drag of the selection. */
  pointerDown(id: string, e: React.PointerEvent): void;
  /** The note got keyboard focus: it joins (or becomes) the selection. */
  focused(id: string): void;
  /** Shift+F10 or the context-menu key on a focused note: focus the selection's toolbar. */
  openMenu(id: string): void;
  startEditing(id: string): void;
  stopEditing(): void;
  resize(id: string, w: number, h: number): void;
  typing(id: string | null): void;
  /** The note's collaborative text document (loaded on first use). */
  openText(id: string): Promise<NoteText | null>;
  /** This user's caret/selection in the note (`null`: stopped editing). */
  selection(id: string | null, anchor?: number, head?: number): void;
  /** Ctrl+Z / Ctrl+Shift+Z in the editor: the note's text first, then the board's history. */
  undoText(id: string): void;
  redoText(id: string): void;
  /** A message for the user (e.g. a paste cut to the length limit). */
  notify(message: string): void;
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
  /** Stacking (see `zIndexOf`). */
  z: number;
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

type Resize = { startX: number; startY: number; pointer: number; moved: boolean };

/** The note's accessible name: "Note: " and its first words. */
export function noteLabel(text: string): string {
  const t = text.trim().replace(/\s+/g, " ");
  if (!t) return "Note: empty";
  const words = t.slice(0, 60);
  return `Note: ${words.length < t.length ? `${words.replace(/\s+\S*$/, "")}…` : words}`;
}

/**
 * One note: a single Tab stop (its colour, delete and the rest are in the
 * selection's toolbar, see `SelectionBar`), Enter edits, Escape in the editor
 * comes back to the note. Moving is the board's (a drag moves the whole
 * selection, outside React); resizing is the note's own gesture.
 */
function NoteCardImpl({ note, zoom, z, selected, editing, canEdit, dirty, offline, editors, selectedBy, remoteDrag, carets, actions }: Props) {
  const [size, setSize] = useState<{ dw: number; dh: number } | null>(null);
  const gesture = useRef<Resize | null>(null);
  const root = useRef<HTMLDivElement>(null);
  /** A pointer went down on the note: the focus that follows comes from it, not from the keyboard. */
  const pointerFocus = useRef(false);
  // Hovered or focused: the byline (author, last editor, when) shows.
  const [hover, setHover] = useState(false);
  const [focused, setFocused] = useState(false);
  const bylineId = useId();

  // A remote drag never overrides this user's own edit of the note.
  const live = remoteDrag && !size && !editing ? remoteDrag : null;
  const x = live ? live.x : note.x;
  const y = live ? live.y : note.y;
  const w = Math.max(MIN_W, note.w + (size?.dw ?? 0));
  const h = Math.max(MIN_H, note.h + (size?.dh ?? 0));

  const onResizeDown = (e: React.PointerEvent) => {
    if (e.button !== 0) return;
    e.stopPropagation();
    if (!canEdit) return;
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    gesture.current = { startX: e.clientX, startY: e.clientY, pointer: e.pointerId, moved: false };
  };
  const onResizeMove = (e: React.PointerEvent) => {
    const g = gesture.current;
    if (!g || g.pointer !== e.pointerId) return;
    const dw = (e.clientX - g.startX) / zoom;
    const dh = (e.clientY - g.startY) / zoom;
    if (!g.moved && Math.hypot(dw, dh) * zoom < 3) return;
    g.moved = true;
    setSize({ dw, dh });
  };
  const onResizeUp = (e: React.PointerEvent) => {
    const g = gesture.current;
    if (!g || g.pointer !== e.pointerId) return;
    gesture.current = null;
    if (g.moved) actions.resize(note.id, Math.round(w), Math.round(h));
    setSize(null);
  };
  const leaveEditor = () => {
    actions.stopEditing();
    root.current?.focus();
  };

  const color = noteColors[note.color] ?? noteColors.yellow;
  const showByline = (hover || focused) && !size && !live;
  const describedBy = [canEdit ? "note-keys" : "", showByline ? bylineId : ""].filter(Boolean).join(" ");
  const editor = editors[0];
  // Outline: who drags it, else who edits it, else who has it selected (their colour).
  const marker = live?.user ?? editor ?? selectedBy[0];

  return (
    <div
      ref={root}
      role="group"
      aria-label={`${noteLabel(note.text)}${selected ? " (selected)" : ""}`}
      aria-roledescription="note"
      aria-describedby={describedBy || undefined}
      data-note-id={note.id}
      data-selected={selected || undefined}
      data-dragged-by={live ? live.user.username : undefined}
      data-edited-by={editor ? editor.username : undefined}
      data-selected-by={selectedBy.length ? selectedBy.map((u) => u.username).join(" ") : undefined}
      tabIndex={0}
      onPointerEnter={() => setHover(true)}
      onPointerLeave={() => setHover(false)}
      onFocus={(e) => {
        if (e.target !== e.currentTarget) return;
        setFocused(true);
        // Focus by keyboard (or script) selects the note; a click has already chosen the selection (Shift-click may have just removed it).
        if (!pointerFocus.current) actions.focused(note.id);
        pointerFocus.current = false;
      }}
      onBlur={(e) => {
        if (e.target === e.currentTarget) setFocused(false);
      }}
      onDoubleClick={(e) => {
        e.stopPropagation();
        if (canEdit) actions.startEditing(note.id);
      }}
      onKeyDown={(e) => {
        if (e.target !== e.currentTarget) return;
        if (e.key === "Enter" && canEdit) {
          e.preventDefault();
          actions.startEditing(note.id);
        } else if (e.key === "ContextMenu" || (e.key === "F10" && e.shiftKey)) {
          e.preventDefault();
          actions.openMenu(note.id);
        }
      }}
      onPointerDown={(e) => {
        pointerFocus.current = true;
        setTimeout(() => (pointerFocus.current = false), 0); // the focus it causes comes in the same input event
        if (!editing) actions.pointerDown(note.id, e);
        else e.stopPropagation();
      }}
      className={`absolute flex touch-none select-none flex-col rounded-md text-stone-900 outline-none transition-shadow ${color.bg} ${
        live ? "shadow-2xl" : selected ? "shadow-xl" : "shadow-md hover:shadow-lg"
      } ${selected ? "ring-2 ring-brand-500 ring-offset-2 ring-offset-transparent" : ""} focus-visible:outline-2 focus-visible:outline-offset-4 focus-visible:outline-sky-600 dark:focus-visible:outline-sky-400 ${
        canEdit && !editing ? "cursor-grab active:cursor-grabbing" : ""
      }`}
      style={{
        left: x,
        top: y,
        width: w,
        height: h,
        // someone else's drag is drawn on top, as the dragger sees it
        zIndex: live ? Z_PENDING + 1 : z,
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
      <div className="h-3 shrink-0 rounded-t-md bg-black/5" aria-hidden="true" />
      {editing ? (
        <NoteEditor note={note} actions={actions} carets={carets} zoom={zoom} onLeave={leaveEditor} />
      ) : note.text ? (
        <NoteBody text={note.text} carets={carets} w={w} h={h} />
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
          onPointerDown={onResizeDown}
          onPointerMove={onResizeMove}
          onPointerUp={onResizeUp}
          onPointerCancel={() => {
            gesture.current = null;
            setSize(null);
          }}
          className="absolute bottom-0 right-0 h-4 w-4 cursor-nwse-resize rounded-br-md bg-[linear-gradient(135deg,transparent_50%,rgba(0,0,0,0.18)_50%)]"
        />
      )}
    </div>
  );
}


/**
 * A note's text when not editing. Text longer than the note scrolls inside it
 * (wheel over it, or the editor), with a fade and a "more" mark at the bottom
 * while there is more below.
 */
function NoteBody({ text, carets, w, h }: { text: string; carets: PlacedCaret[]; w: number; h: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const [more, setMore] = useState(false);
  const measure = () => {
    const el = ref.current;
    if (el) setMore(el.scrollHeight - el.scrollTop - el.clientHeight > 2);
  };
  useLayoutEffect(measure, [text, w, h]);
  return (
    <div className="relative min-h-0 flex-1">
      <CaretText
        ref={ref}
        text={text}
        carets={carets}
        data-note-scroll=""
        onScroll={measure}
        className="absolute inset-0 touch-none overflow-y-auto overscroll-contain px-3 py-2 text-[15px] leading-snug [scrollbar-width:thin]"
      />
      {more && (
        <div className="pointer-events-none absolute inset-x-0 bottom-0 flex h-8 items-end justify-center bg-gradient-to-t from-black/15 to-transparent pb-0.5" data-testid="note-more">
          <span className="rounded-full bg-white/80 px-1.5 text-[10px] font-medium text-stone-700">more ↓</span>
        </div>
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
function NoteEditor({ note, actions, carets, zoom, onLeave }: { note: Note; actions: NoteActions; carets: PlacedCaret[]; zoom: number; onLeave(): void }) {
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
        maxLength={MAX_TEXT}
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
            onLeave();
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
        onPaste={(e) => {
          // The textarea's maxLength cuts a paste silently: say how much was left out.
          const el = e.currentTarget;
          const pasted = e.clipboardData.getData("text/plain").length;
          const kept = el.value.length - (el.selectionEnd - el.selectionStart);
          const over = kept + pasted - MAX_TEXT;
          if (over > 0)
            actions.notify(
              `The pasted text was cut: ${over.toLocaleString("en")} character${over === 1 ? "" : "s"} over the ${MAX_TEXT.toLocaleString("en")}-character limit of a note were left out.`,
            );
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
