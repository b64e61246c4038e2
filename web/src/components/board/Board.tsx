"use client";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useToast } from "@/components/toasts";
import { avatarColor, Spinner } from "@/components/ui";
import { useBoard, useConnectionState } from "@/hooks/realtime";
import { api, ApiError, inviteLink } from "@/lib/api";
import { exportBoard, exportFileName } from "@/lib/boardFile";
import type { InviteRole, NoteColor, User } from "@/realtime/protocol";
import { planRestore, summarizePlan } from "@/realtime/restorePlan";
import type { PlacedCaret } from "./CaretText";
import { NoteCard, type NoteActions } from "./NoteCard";
import { Notices } from "./Notices";
import { ScreenMessage } from "./ScreenMessage";
import { eventByline, HistoryPanel } from "./HistoryPanel";
import { Toolbar } from "./Toolbar";
import { useBoardHistory } from "./useBoardHistory";
import { fitCamera, HOME, wheelZoomFactor, zoomAt } from "./camera";
import { useCamera } from "./useCamera";
import { useFocusNote } from "./useFocusNote";

const EMPTY: string[] = [];
const NO_CARETS: PlacedCaret[] = [];

/**
 * One open board: the canvas (pan, zoom, notes, remote cursors), its toolbar
 * and notices. What the user may do follows the live role: a demotion to
 * viewer takes the editing controls away at once.
 */
export function Board({ boardId, user }: { boardId: string; user: User }) {
  const { client, view, meta } = useBoard(boardId);
  const offline = useConnectionState().conn.status !== "live";
  const toast = useToast();
  const [selected, setSelected] = useState<string | null>(null);
  const [editingNote, setEditingNote] = useState<string | null>(null);
  const [camera, setCamera] = useCamera(boardId);
  const [historyOpen, setHistoryOpen] = useState(false);
  const [restoring, setRestoring] = useState(false);
  const history = useBoardHistory(boardId, view?.seq ?? 0, historyOpen, view?.notes);
  // A past version is drawn read-only; the live board keeps updating underneath.
  const past = history.version;
  const role = view?.board?.role;
  const mayEdit = role === "owner" || role === "editor";
  const canEdit = mayEdit && history.chosen === null;
  // A note being edited closes when the user may no longer edit (its text is saved, and refused if so).
  const editing = canEdit ? editingNote : null;
  const title = view?.board?.title ?? "";
  const canvasRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (title) document.title = `${title} · Corkboard`;
  }, [title]);

  // Opened on a note (`?note=`, from search or a notification): show and select it.
  const noteGone = useCallback(() => toast("That note is no longer on this board", "error"), [toast]);
  useFocusNote(!!view?.ready, view?.notes, canvasRef, setCamera, noteGone);

  const toBoard = useCallback(
    (clientX: number, clientY: number) => {
      const rect = canvasRef.current?.getBoundingClientRect();
      return { x: (clientX - (rect?.left ?? 0) - camera.x) / camera.z, y: (clientY - (rect?.top ?? 0) - camera.y) / camera.z };
    },
    [camera],
  );

  const actions: NoteActions = useMemo(
    () => ({
      select: (id) => setSelected(id),
      startEditing: (id) => {
        setSelected(id);
        setEditingNote(id);
      },
      stopEditing: () => setEditingNote(null),
      move: (id, x, y) => void client?.updateNote(id, { x, y }),
      resize: (id, w, h) => void client?.updateNote(id, { w, h }),
      recolor: (id, color) => void client?.updateNote(id, { color }),
      remove: (id) => {
        client?.deleteNote(id);
        setSelected(null);
        setEditingNote(null);
      },
      typing: (id) => client?.sendTyping(id),
      openText: (id) => client?.openTextWhenReady(id) ?? Promise.resolve(null),
      selection: (id, anchor, head) => client?.sendSelection(id, anchor, head),
      undoText: (id) => client?.undoText(id),
      redoText: (id) => client?.redoText(id),
    }),
    [client],
  );

  const addNoteAt = (x: number, y: number, color: NoteColor = "yellow") => {
    if (!client) return;
    const id = client.createNote({ x: Math.round(x), y: Math.round(y), color });
    setSelected(id);
    setEditingNote(id);
  };

  const addNote = () => {
    const rect = canvasRef.current?.getBoundingClientRect();
    if (!rect) return;
    const center = toBoard(rect.left + rect.width / 2, rect.top + rect.height / 2);
    const jitter = () => Math.round((Math.random() - 0.5) * 60);
    addNoteAt(center.x - 100 + jitter(), center.y - 70 + jitter());
  };

  // Keyboard: Delete removes the selected note, Escape leaves editing / deselects,
  // Ctrl/⌘+Z undoes, Ctrl/⌘+Shift+Z and Ctrl+Y redo (the note editor handles its own first).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
      const mod = e.ctrlKey || e.metaKey;
      if (mod && !e.altKey && e.key.toLowerCase() === "z") {
        if (!client || !canEdit) return;
        e.preventDefault();
        if (e.shiftKey) client.redo();
        else client.undo();
      } else if (e.ctrlKey && !e.metaKey && !e.shiftKey && !e.altKey && e.key.toLowerCase() === "y") {
        if (!client || !canEdit) return;
        e.preventDefault();
        client.redo();
      } else if (e.key === "Escape") {
        setEditingNote(null);
        setSelected(null);
      } else if ((e.key === "Delete" || e.key === "Backspace") && selected && !editing) {
        if (!client || !canEdit) return;
        e.preventDefault();
        client.deleteNote(selected);
        setSelected(null);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [client, canEdit, selected, editing]);

  // Wheel: pan; with Ctrl/⌘ (and trackpad pinch): zoom around the pointer.
  useEffect(() => {
    const el = canvasRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      if ((e.target as HTMLElement).closest("textarea")) return;
      e.preventDefault();
      const rect = el.getBoundingClientRect();
      setCamera((c) => {
        if (e.ctrlKey || e.metaKey) return zoomAt(c, wheelZoomFactor(e.deltaY, e.deltaMode), e.clientX - rect.left, e.clientY - rect.top);
        return { ...c, x: c.x - e.deltaX, y: c.y - e.deltaY };
      });
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, [view?.ready, setCamera]);

  const zoomBy = (f: number) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    setCamera((c) => zoomAt(c, f, (rect?.width ?? 0) / 2, (rect?.height ?? 0) / 2));
  };

  /** Fit to screen: every note of what is shown (live or a past version) in view. */
  const fit = () => {
    const rect = canvasRef.current?.getBoundingClientRect();
    setCamera(fitCamera(past?.notes ?? view?.notes ?? [], rect?.width ?? 0, rect?.height ?? 0));
  };

  const invite = async (r: InviteRole, singleUse: boolean) => {
    try {
      const { token } = await api.invite(boardId, r, { singleUse });
      const url = inviteLink(token);
      try {
        await navigator.clipboard.writeText(url);
        toast(`${r === "editor" ? "Editor" : "Viewer"} invite link copied`);
      } catch {
        window.prompt("Copy this invite link:", url);
      }
    } catch (e) {
      toast((e as ApiError).message, "error");
    }
  };

  // The version being viewed when one is shown (the file's seq says which), else the live board.
  const exportJson = () => {
    if (!view?.board) return;
    const shown = past && past.seq === history.chosen ? past : null;
    const file = shown
      ? exportBoard({ title: shown.title, seq: shown.seq }, shown.notes)
      : exportBoard({ title: view.board.title, seq: view.seq }, view.notes);
    const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 2)], { type: "application/json" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = exportFileName(file.title, shown?.seq);
    document.body.append(a);
    a.click();
    a.remove();
    // Revoked only once the browser has surely started the download (revoking at once can cancel it).
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  const versionByline = (seq: number) => {
    if (seq === 0) return " (the board as created)";
    const line = eventByline(history.itemAt(seq));
    return line ? ` by ${line}` : "";
  };

  // Closing the panel goes back to live.
  const { choose } = history;
  const closeHistory = useCallback(() => {
    choose(null);
    setHistoryOpen(false);
  }, [choose]);

  // "Restore this version": the difference to the live board, sent as this user's mutations (one undo step).
  const restore = async () => {
    if (!client || !view || !past) return;
    const plan = planRestore(view.notes, past.notes);
    if (plan.length === 0) {
      toast(`The board already looks like version #${past.seq}.`);
      return;
    }
    const n = plan.length;
    if (!window.confirm(`Restore ${n} change${n === 1 ? "" : "s"} (${summarizePlan(plan)}) to go back to version #${past.seq}?`)) return;
    setRestoring(true);
    const outcome = await client.restoreVersion(plan);
    setRestoring(false);
    history.choose(null);
    if (outcome.failed.length === 0) toast(`Restored version #${past.seq} (${n} change${n === 1 ? "" : "s"}). Undo takes it back.`);
    else
      toast(
        `Restored ${outcome.applied} of ${n} changes; the server refused ${outcome.failed.length}: ${outcome.failed[0].error.message}`,
        "error",
      );
  };

  // Background drag pans (the gesture in progress, not state: it does not render).
  const pan = useRef<{ pointer: number; sx: number; sy: number; cx: number; cy: number } | null>(null);
  const onCanvasPointerDown = (e: React.PointerEvent) => {
    if (e.button !== 0 && e.button !== 1) return;
    setSelected(null);
    setEditingNote(null);
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    pan.current = { pointer: e.pointerId, sx: e.clientX, sy: e.clientY, cx: camera.x, cy: camera.y };
  };
  const onCanvasPointerMove = (e: React.PointerEvent) => {
    const p = toBoard(e.clientX, e.clientY);
    client?.sendCursor(p.x, p.y);
    const g = pan.current;
    if (g && g.pointer === e.pointerId) {
      setCamera((c) => ({ ...c, x: g.cx + e.clientX - g.sx, y: g.cy + e.clientY - g.sy }));
    }
  };
  const onCanvasPointerUp = (e: React.PointerEvent) => {
    if (pan.current?.pointer === e.pointerId) pan.current = null;
  };

  // Others' carets, resolved against each note's current text (relative positions follow the edits).
  const caretsByNote = useMemo(() => {
    const m = new Map<string, PlacedCaret[]>();
    if (!client || !view) return m;
    for (const sel of meta.selections) {
      const n = view.byId.get(sel.note);
      if (!n) continue;
      const [a, h] = client.resolveSelection(sel, n.text.length);
      m.set(sel.note, [...(m.get(sel.note) ?? []), { user: sel.user, from: Math.min(a, h), to: Math.max(a, h), head: h }]);
    }
    return m;
  }, [client, view, meta.selections]);

  const typingByNote = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const t of meta.typing) m.set(t.note, [...(m.get(t.note) ?? []), t.user.username]);
    return m;
  }, [meta.typing]);

  if (meta.status === "not_found")
    return <ScreenMessage title="Board not found" body="It doesn't exist, or you don't have access to it." />;
  if (meta.status === "deleted") return <ScreenMessage title="This board was deleted" body="Its notes are gone for everyone." />;
  if (meta.status === "revoked")
    return <ScreenMessage title="You no longer have access" body="The owner removed you from this board." />;

  return (
    <main className="relative flex min-h-0 flex-1 flex-col">
      <Toolbar
        view={view}
        meta={meta}
        user={user}
        canEdit={canEdit}
        onAdd={addNote}
        onRename={(t) => client?.rename(t)}
        zoom={camera.z}
        onZoom={zoomBy}
        onResetZoom={() => setCamera(HOME)}
        onFit={fit}
        onInvite={invite}
        onUndo={() => client?.undo()}
        onRedo={() => client?.redo()}
        historyOpen={historyOpen}
        onHistory={() => (historyOpen ? closeHistory() : setHistoryOpen(true))}
        onExport={exportJson}
      />
      {history.chosen !== null && (
        <div
          role="status"
          data-testid="history-banner"
          className="flex flex-wrap items-center justify-center gap-x-3 border-b border-amber-300 bg-amber-100 px-4 py-1.5 text-sm text-amber-950 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
        >
          <span>
            {past && past.seq === history.chosen
              ? `Viewing version #${past.seq}${versionByline(past.seq)} — read-only`
              : `Loading version #${history.chosen}…`}
          </span>
          <button type="button" className="font-semibold underline" onClick={() => history.choose(null)}>
            Back to live
          </button>
        </div>
      )}
      <div className="relative flex min-h-0 flex-1 flex-col">
        <div
          ref={canvasRef}
          data-testid="canvas"
          aria-label="Board canvas"
          className="board-grid relative min-h-0 flex-1 touch-none overflow-hidden"
          style={{
            backgroundSize: `${24 * camera.z}px ${24 * camera.z}px`,
            backgroundPosition: `${camera.x}px ${camera.y}px`,
          }}
          onPointerDown={onCanvasPointerDown}
          onPointerMove={onCanvasPointerMove}
          onPointerUp={onCanvasPointerUp}
          onPointerCancel={onCanvasPointerUp}
          onDoubleClick={(e) => {
            if (!canEdit || e.target !== e.currentTarget) return;
            const p = toBoard(e.clientX, e.clientY);
            addNoteAt(p.x - 100, p.y - 70);
          }}
        >
          {!view?.ready ? (
            <div className="flex h-full items-center justify-center text-stone-500">
              <Spinner className="mr-2" /> Opening board…
            </div>
          ) : (
            <div
              className="pointer-events-none absolute left-0 top-0 origin-top-left"
              style={{ transform: `translate(${camera.x}px, ${camera.y}px) scale(${camera.z})` }}
            >
              <div className="pointer-events-auto">
                {(past?.notes ?? view.notes).map((n) => (
                  <NoteCard
                    key={n.id}
                    note={n}
                    zoom={camera.z}
                    selected={selected === n.id}
                    editing={editing === n.id}
                    canEdit={canEdit}
                    dirty={!past && view.dirty.has(n.id)}
                    offline={offline}
                    typingBy={past ? EMPTY : (typingByNote.get(n.id) ?? EMPTY)}
                    carets={past ? NO_CARETS : (caretsByNote.get(n.id) ?? NO_CARETS)}
                    actions={actions}
                  />
                ))}
              </div>
              {meta.cursors.map((c) => (
                <div
                  key={c.user.id}
                  className="pointer-events-none absolute left-0 top-0 z-40 transition-transform duration-75 ease-linear"
                  style={{ transform: `translate(${c.x}px, ${c.y}px) scale(${1 / camera.z})`, transformOrigin: "top left" }}
                  aria-hidden="true"
                >
                  <svg viewBox="0 0 16 16" className={`h-4 w-4 drop-shadow ${avatarColor(c.user.id).replace("bg-", "text-")}`}>
                    <path d="M1 1l5 14 2-6 6-2z" fill="currentColor" stroke="white" strokeWidth="1" />
                  </svg>
                  <span
                    className={`ml-3 inline-block rounded-md px-1.5 py-0.5 text-xs font-medium text-white shadow ${avatarColor(c.user.id)}`}
                  >
                    {c.user.username}
                  </span>
                </div>
              ))}
            </div>
          )}
          {view?.ready && (past?.notes ?? view.notes).length === 0 && (
            <div className="pointer-events-none absolute inset-0 flex items-center justify-center">
              <div className="rounded-2xl bg-white/80 px-6 py-5 text-center shadow-sm backdrop-blur dark:bg-stone-900/80">
                <p className="font-medium">This board is empty</p>
                <p className="mt-1 text-sm text-stone-500">
                  {past
                    ? "No notes in this version."
                    : canEdit
                      ? "Double-click anywhere, or use “Add note”."
                      : "Notes will appear here as people add them."}
                </p>
              </div>
            </div>
          )}
        </div>
        {historyOpen && (
          <HistoryPanel history={history} canRestore={mayEdit} restoring={restoring} onRestore={() => void restore()} onClose={closeHistory} />
        )}
      </div>
      <Notices client={client} notices={meta.notices} onTakeTheirs={(note) => editing === note && setEditingNote(null)} />
    </main>
  );
}
