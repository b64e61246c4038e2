"use client";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useToast } from "@/components/toasts";
import { avatarColor, Spinner } from "@/components/ui";
import { useBoard, useConnectionState } from "@/hooks/realtime";
import { api } from "@/lib/api";
import { exportBoard, exportFileName } from "@/lib/boardFile";
import { aRole } from "@/lib/members";
import type { NoteColor, User } from "@/realtime/protocol";
import { planRestore, summarizePlan } from "@/realtime/restorePlan";
import type { PlacedCaret } from "./CaretText";
import type { MentionCandidate } from "./Mentions";
import { NoteCard, type NoteActions, type RemoteDragPos } from "./NoteCard";
import { Notices } from "./Notices";
import { ScreenMessage } from "./ScreenMessage";
import { eventByline, HistoryPanel } from "./HistoryPanel";
import { Toolbar } from "./Toolbar";
import { useBoardHistory } from "./useBoardHistory";
import { fitCamera, followCamera, HOME, lerpCamera, viewBoxOf, wheelZoomFactor, zoomAt, type Camera } from "./camera";
import { useCamera } from "./useCamera";

const NO_USERS: User[] = [];
const NO_CARETS: PlacedCaret[] = [];
/** How long the camera takes to catch up with a followed view (ms). */
const FOLLOW_EASE_MS = 220;

/**
 * Per key, the users listed under it, each once. A key whose users are the
 * same as in `prev` keeps `prev`'s array, so its (memoised) note does not
 * redraw when only someone's cursor moved.
 */
function usersBy(entries: Iterable<[string, User]>, prev?: Map<string, User[]>): Map<string, User[]> {
  const m = new Map<string, User[]>();
  for (const [k, u] of entries) {
    const list = m.get(k) ?? [];
    if (!list.some((x) => x.id === u.id)) list.push(u);
    m.set(k, list);
  }
  if (prev) {
    for (const [k, list] of m) {
      const old = prev.get(k);
      if (old && old.length === list.length && old.every((u, i) => u.id === list[i].id)) m.set(k, old);
    }
  }
  return m;
}

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
  const [camera, setCameraRaw] = useCamera(boardId);
  // Following someone: this view tracks their `viewport` signal until this user pans or zooms.
  const [following, setFollowing] = useState<string | null>(null);
  /** A pan or zoom by this user (it ends following). */
  const setCamera = useCallback(
    (u: React.SetStateAction<Camera>) => {
      setFollowing(null);
      setCameraRaw(u);
    },
    [setCameraRaw],
  );
  const cameraRef = useRef(camera);
  useEffect(() => {
    cameraRef.current = camera;
  }, [camera]);
  const [canvasSize, setCanvasSize] = useState<{ w: number; h: number } | null>(null);
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

  const toBoard = useCallback(
    (clientX: number, clientY: number) => {
      const rect = canvasRef.current?.getBoundingClientRect();
      return { x: (clientX - (rect?.left ?? 0) - camera.x) / camera.z, y: (clientY - (rect?.top ?? 0) - camera.y) / camera.z };
    },
    [camera],
  );

  // Board members for @mentions: fetched on first use, again after a member event (joined, role, left).
  const membersVersion = useRef(meta.membersVersion);
  useEffect(() => {
    membersVersion.current = meta.membersVersion;
  }, [meta.membersVersion]);
  const membersCache = useRef<{ version: number; list: Promise<MentionCandidate[]> } | null>(null);
  const members = useCallback((): Promise<MentionCandidate[]> => {
    const v = membersVersion.current;
    if (!membersCache.current || membersCache.current.version !== v) {
      const list = api.members(boardId).then((r) => r.members.map((m) => m.user).filter((u) => u.id !== user.id));
      membersCache.current = { version: v, list };
      list.catch(() => {
        if (membersCache.current?.list === list) membersCache.current = null; // try again next time
      });
    }
    return membersCache.current.list;
  }, [boardId, user.id]);

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
      dragging: (id, x, y) => client?.sendDrag([{ id, x, y }]),
      dragEnd: () => client?.sendDrag([]),
      lastEditor: (id) => client?.store.lastEditor(id) ?? null,
      members,
    }),
    [client, members],
  );

  // Others see this user's selection outlined in this user's colour (a Set, so a multi-select plugs in).
  const selectedIds = useMemo(() => new Set(selected ? [selected] : []), [selected]);
  useEffect(() => {
    client?.setSelected(selectedIds);
  }, [client, selectedIds]);

  // The canvas's size, for the viewport signal and for following.
  useEffect(() => {
    const el = canvasRef.current;
    if (!el) return;
    const measure = () => setCanvasSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [view?.ready]);

  // This user's view, for whoever follows them (the client throttles and skips repeats).
  useEffect(() => {
    if (client && canvasSize && canvasSize.w > 0 && canvasSize.h > 0) client.sendViewport(viewBoxOf(camera, canvasSize.w, canvasSize.h));
  }, [client, camera, canvasSize]);

  // Following: ease towards the followed view each time it changes; stop when they leave.
  const followed = following ? meta.viewports.find((v) => v.user.id === following) : undefined;
  const followedName = following ? (meta.presence.find((p) => p.user.id === following)?.user.username ?? followed?.user.username) : undefined;
  useEffect(() => {
    if (following && !meta.presence.some((p) => p.user.id === following)) setFollowing(null);
  }, [following, meta.presence]);
  const fx = followed?.x;
  const fy = followed?.y;
  const fz = followed?.zoom;
  const fw = followed?.w;
  const fh = followed?.h;
  useEffect(() => {
    if (fx === undefined || fy === undefined || !fz || !fw || !fh || !canvasSize) return;
    const target = followCamera({ x: fx, y: fy, zoom: fz, w: fw, h: fh }, canvasSize.w, canvasSize.h);
    const from = cameraRef.current;
    const reduce = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
    if (reduce) {
      setCameraRaw(target);
      return;
    }
    const t0 = performance.now();
    let raf = requestAnimationFrame(function step(t) {
      const k = Math.min(1, (t - t0) / FOLLOW_EASE_MS);
      setCameraRaw(lerpCamera(from, target, 1 - (1 - k) ** 3));
      if (k < 1) raf = requestAnimationFrame(step);
    });
    return () => cancelAnimationFrame(raf);
  }, [fx, fy, fz, fw, fh, canvasSize, setCameraRaw]);

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

  // Who is editing which note: typing in it, or with their editor (caret) open on it. The previous
  // maps are kept so that unchanged notes get the same arrays (meta is new on every cursor move).
  const prevEditors = useRef<Map<string, User[]>>(undefined);
  const editorsByNote = useMemo(
    () =>
      usersBy(
        [...meta.typing.map((t): [string, User] => [t.note, t.user]), ...meta.selections.map((s): [string, User] => [s.note, s.user])],
        prevEditors.current,
      ),
    [meta.typing, meta.selections],
  );
  const prevSelected = useRef<Map<string, User[]>>(undefined);
  const selectedByNote = useMemo(
    () => usersBy(meta.viewports.flatMap((v) => v.selected.map((id): [string, User] => [id, v.user])), prevSelected.current),
    [meta.viewports],
  );
  // Others' drags in progress: where each note is on their screen.
  const prevDrags = useRef<Map<string, RemoteDragPos>>(undefined);
  const dragByNote = useMemo(() => {
    const m = new Map<string, RemoteDragPos>();
    for (const d of meta.drags) {
      for (const n of d.notes) {
        const old = prevDrags.current?.get(n.id);
        m.set(n.id, old && old.x === n.x && old.y === n.y && old.user.id === d.user.id ? old : { x: n.x, y: n.y, user: d.user });
      }
    }
    return m;
  }, [meta.drags]);
  useEffect(() => {
    prevEditors.current = editorsByNote;
    prevSelected.current = selectedByNote;
    prevDrags.current = dragByNote;
  }, [editorsByNote, selectedByNote, dragByNote]);

  if (meta.status === "not_found")
    return <ScreenMessage title="Board not found" body="It doesn't exist, or you don't have access to it." />;
  if (meta.status === "deleted") return <ScreenMessage title="This board was deleted" body="Its notes are gone for everyone." />;
  if (meta.status === "revoked") {
    const named = title ? `“${title}”` : "this board";
    const by = meta.removedBy;
    if (by && by.id === user.id)
      return <ScreenMessage title="You left this board" body={`You left ${named} (in another tab or window). An invite brings you back.`} />;
    return (
      <ScreenMessage
        title="You were removed from this board"
        body={
          by
            ? `${by.username} removed you from ${named}. Its notes are no longer available to you.`
            : `You no longer have access to ${named}: the owner removed you. Its notes are no longer available to you.`
        }
      />
    );
  }

  return (
    <main className="relative flex min-h-0 flex-1 flex-col">
      <Toolbar
        client={client}
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
        onUndo={() => client?.undo()}
        onRedo={() => client?.redo()}
        historyOpen={historyOpen}
        onHistory={() => (historyOpen ? closeHistory() : setHistoryOpen(true))}
        onExport={exportJson}
        following={following}
        onFollow={setFollowing}
      />
      {following && (
        <div
          role="status"
          data-testid="follow-banner"
          className="flex flex-wrap items-center justify-center gap-x-3 border-b border-sky-300 bg-sky-100 px-4 py-1.5 text-sm text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100"
        >
          <span>
            Following {followedName ?? "…"}
            {!followed && " (waiting for their view)"}
          </span>
          <span aria-hidden="true">·</span>
          <button type="button" className="font-semibold underline" onClick={() => setFollowing(null)}>
            Stop
          </button>
        </div>
      )}
      {meta.roleChange && (
        <div
          role="status"
          data-testid="role-change"
          className="flex flex-wrap items-center justify-center gap-x-3 border-b border-sky-300 bg-sky-100 px-4 py-1.5 text-sm text-sky-950 dark:border-sky-800 dark:bg-sky-950 dark:text-sky-100"
        >
          <span>
            {meta.roleChange.by.username} made you {aRole(meta.roleChange.role)}
            {meta.roleChange.role === "viewer" ? ": this board is read-only for you now." : ": you can edit this board."}
          </span>
          <button type="button" className="font-semibold underline" onClick={() => client?.dismissRoleChange()}>
            Dismiss
          </button>
        </div>
      )}
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
            <div className="flex h-full items-center justify-center text-stone-500 dark:text-stone-400">
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
                    editors={past ? NO_USERS : (editorsByNote.get(n.id) ?? NO_USERS)}
                    selectedBy={past ? NO_USERS : (selectedByNote.get(n.id) ?? NO_USERS)}
                    remoteDrag={past ? null : (dragByNote.get(n.id) ?? null)}
                    carets={past ? NO_CARETS : (caretsByNote.get(n.id) ?? NO_CARETS)}
                    actions={actions}
                  />
                ))}
              </div>
              {/* A dragging user's cursor is their note: not drawn beside it. */}
              {meta.cursors.filter((c) => !meta.drags.some((d) => d.user.id === c.user.id && !d.ended)).map((c) => (
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
                <p className="mt-1 text-sm text-stone-500 dark:text-stone-400">
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
