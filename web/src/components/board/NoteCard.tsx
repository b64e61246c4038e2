"use client";
import { memo, useEffect, useRef, useState } from "react";
import { NOTE_COLORS, type Note, type NoteColor } from "@/realtime/protocol";

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
  saveText(id: string, text: string, baseVersion: number): void;
  typing(id: string | null): void;
  confirmedVersion(id: string): number;
}

interface Props {
  note: Note;
  zoom: number;
  selected: boolean;
  editing: boolean;
  canEdit: boolean;
  dirty: boolean;
  typingBy: string[];
  actions: NoteActions;
}

type Gesture = { kind: "move" | "resize"; startX: number; startY: number; pointer: number; moved: boolean };

function NoteCardImpl({ note, zoom, selected, editing, canEdit, dirty, typingBy, actions }: Props) {
  const [offset, setOffset] = useState<{ dx: number; dy: number; dw: number; dh: number } | null>(null);
  const gesture = useRef<Gesture | null>(null);

  const x = note.x + (offset?.dx ?? 0);
  const y = note.y + (offset?.dy ?? 0);
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
  };
  const onPointerUp = (e: React.PointerEvent) => {
    const g = gesture.current;
    if (!g || g.pointer !== e.pointerId) return;
    gesture.current = null;
    if (g.moved) {
      if (g.kind === "move") actions.move(note.id, Math.round(x), Math.round(y));
      else actions.resize(note.id, Math.round(w), Math.round(h));
    }
    setOffset(null);
  };

  const color = noteColors[note.color] ?? noteColors.yellow;
  const label = note.text.trim() ? `Note: ${note.text.trim().slice(0, 40)}` : "Empty note";

  return (
    <div
      role="group"
      aria-label={label}
      data-note-id={note.id}
      tabIndex={0}
      onFocus={(e) => {
        if (e.target === e.currentTarget) actions.select(note.id);
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
      onPointerCancel={() => {
        gesture.current = null;
        setOffset(null);
      }}
      className={`absolute flex touch-none select-none flex-col rounded-md text-stone-900 outline-none transition-shadow ${color.bg} ${
        offset ? "z-20 shadow-2xl" : selected ? "z-10 shadow-xl" : "shadow-md hover:shadow-lg"
      } ${selected ? "ring-2 ring-brand-500 ring-offset-2 ring-offset-transparent" : "focus-visible:ring-2 focus-visible:ring-brand-500"} ${
        canEdit && !editing ? "cursor-grab active:cursor-grabbing" : ""
      }`}
      style={{ left: x, top: y, width: w, height: h }}
    >
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
            className="inline-flex h-7 w-7 items-center justify-center rounded-md text-stone-500 hover:bg-red-50 hover:text-red-600 dark:hover:bg-red-950/40"
          >
            <svg viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
              <path d="M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </button>
        </div>
      )}

      <div className="h-3 shrink-0 rounded-t-md bg-black/5" aria-hidden="true" />
      {editing ? (
        <NoteEditor note={note} actions={actions} />
      ) : (
        <div
          className="min-h-0 flex-1 overflow-hidden whitespace-pre-wrap break-words px-3 py-2 text-[15px] leading-snug"
          style={{ fontFamily: "var(--font-note)" }}
        >
          {note.text || <span className="text-stone-500/70">{canEdit ? "Double-click to write…" : ""}</span>}
        </div>
      )}
      {(typingBy.length > 0 || dirty) && (
        <div className="pointer-events-none flex items-center justify-between gap-2 px-3 pb-1.5 text-[11px] text-stone-600">
          <span className="truncate italic">
            {typingBy.length > 0 && `${typingBy.join(", ")} ${typingBy.length === 1 ? "is" : "are"} typing…`}
          </span>
          {dirty && <span className="h-1.5 w-1.5 shrink-0 rounded-full bg-amber-600" title="Saving…" aria-label="Saving" />}
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

function NoteEditor({ note, actions }: { note: Note; actions: NoteActions }) {
  const [text, setText] = useState(note.text);
  const base = useRef(actions.confirmedVersion(note.id));
  const saved = useRef(note.text);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const lastTyping = useRef(0);
  const ref = useRef<HTMLTextAreaElement>(null);
  const latest = useRef(text);

  const flush = () => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    if (latest.current !== saved.current) {
      saved.current = latest.current;
      actions.saveText(note.id, latest.current, base.current);
    }
  };
  const flushRef = useRef(flush);
  useEffect(() => {
    flushRef.current = flush;
  });

  useEffect(() => {
    const el = ref.current;
    el?.focus();
    el?.setSelectionRange(el.value.length, el.value.length);
    const id = note.id;
    return () => {
      flushRef.current();
      actions.typing(null);
      void id;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <textarea
      ref={ref}
      aria-label="Note text"
      value={text}
      maxLength={10_000}
      onChange={(e) => {
        setText(e.target.value);
        latest.current = e.target.value;
        if (timer.current) clearTimeout(timer.current);
        timer.current = setTimeout(flush, 400);
        const now = Date.now();
        if (now - lastTyping.current > 1500) {
          lastTyping.current = now;
          actions.typing(note.id);
        }
      }}
      onKeyDown={(e) => {
        e.stopPropagation();
        if (e.key === "Escape") {
          e.preventDefault();
          flush();
          actions.stopEditing();
        }
      }}
      onBlur={() => {
        flush();
        actions.stopEditing();
      }}
      onPointerDown={(e) => e.stopPropagation()}
      className="min-h-0 w-full flex-1 resize-none bg-transparent px-3 py-2 text-[15px] leading-snug text-stone-900 outline-none placeholder:text-stone-500/70"
      style={{ fontFamily: "var(--font-note)" }}
      placeholder="Write something… @mention someone"
    />
  );
}

export const NoteCard = memo(NoteCardImpl);
